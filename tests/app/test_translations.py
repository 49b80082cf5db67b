"""Danish is complete: every message in the code and templates has a Danish translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def test_every_message_has_a_danish_translation():
    with (ROOT / "translations/messages.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    with (ROOT / "translations/da/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f, locale="da")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert template, "the message template is empty"
    assert template - translated == set()


def test_template_is_current_with_the_sources(tmp_path):
    """`make translations` has been run: no message in code or templates is missing."""
    from babel.messages.extract import extract_from_dir

    found = set()
    method_map = [("survey_app/**.py", "python"), ("survey_app/**/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    with (ROOT / "translations/messages.pot").open("rb") as f:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert found - template == set()
