"""The versioned question bank: frozen dataclasses, loading and (round-trippable) serialisation.

A bank file (``data/bank-<version>.yaml``) is checked in two steps: against
``bank_schema.json`` (structure) and then semantically (see :mod:`.bank_checks`). Every problem
is reported as ``<file>: question '<id>' field '<field>': <what is wrong>``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .expressions import Expr

SCHEMA_PATH = Path(__file__).with_name("bank_schema.json")
DATA_DIR = Path(__file__).with_name("data")
LANGUAGES = ("da", "en")
QUESTION_TYPES = ("yes_no", "single", "multi", "integer", "month", "text", "contact")
CONTACT_FIELDS = ("name", "email", "phone")


class BankError(ValueError):
    """A bank file is invalid. ``problems`` lists every problem, one message each."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Text:
    da: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.da

    def to_dict(self) -> dict[str, str]:
        return {"da": self.da, "en": self.en}


@dataclass(frozen=True)
class Option:
    code: int
    label: Text
    other_text: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "label": self.label.to_dict()}
        if self.other_text:
            out["other_text"] = True
        return out


@dataclass(frozen=True)
class ContactField:
    name: str  # name | email | phone
    label: Text
    required: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label.to_dict(), "required": self.required}


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: Text
    required: bool
    help: Text | None = None
    options: tuple[Option, ...] = ()
    fields: tuple[ContactField, ...] = ()
    shown_when: str | None = None
    ends_survey_when: str | None = None
    min: int | None = None
    max: int | str | None = None
    dont_know: bool = False
    dont_know_label: Text | None = None
    max_length: int | None = None
    # Parsed forms of shown_when / ends_survey_when, filled in by parse_bank.
    shown_expr: Expr | None = field(default=None, compare=False, repr=False)
    ends_expr: Expr | None = field(default=None, compare=False, repr=False)

    def option(self, code: Any) -> Option | None:
        return next((o for o in self.options if o.code == code and _is_int(code)), None)

    @property
    def other_codes(self) -> frozenset[int]:
        return frozenset(o.code for o in self.options if o.other_text)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "text": self.text.to_dict()}
        if self.help is not None:
            out["help"] = self.help.to_dict()
        if self.options:
            out["options"] = [o.to_dict() for o in self.options]
        if self.fields:
            out["fields"] = [f.to_dict() for f in self.fields]
        out["required"] = self.required
        for name in ("shown_when", "ends_survey_when", "min", "max", "max_length"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.dont_know:
            out["dont_know"] = True
        if self.dont_know_label is not None:
            out["dont_know_label"] = self.dont_know_label.to_dict()
        return out


@dataclass(frozen=True)
class Page:
    id: str
    questions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "questions": list(self.questions)}


@dataclass(frozen=True)
class Bank:
    version: str
    title: Text
    intro: Text
    pages: tuple[Page, ...]
    questions: tuple[Question, ...]
    notice: Text | None = None
    source: str = field(default="<bank>", compare=False)

    @cached_property
    def _question_by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def question(self, qid: str) -> Question:
        try:
            return self._question_by_id[qid]
        except KeyError:
            raise KeyError(qid) from None

    def page(self, page_id: str) -> Page:
        for p in self.pages:
            if p.id == page_id:
                return p
        raise KeyError(page_id)

    def page_of(self, qid: str) -> Page:
        for p in self.pages:
            if qid in p.questions:
                return p
        raise KeyError(qid)

    @cached_property
    def routing_memo(self) -> dict:
        """Room for what routing works out from this bank and remembers (see routing.py)."""
        return {}

    @cached_property
    def _ordered_questions(self) -> tuple[Question, ...]:
        return tuple(self.question(qid) for p in self.pages for qid in p.questions)

    def ordered_questions(self) -> tuple[Question, ...]:
        """All questions in page order (the order routing walks them); a bank never changes,
        so the order is worked out once."""
        return self._ordered_questions

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": self.version,
            "title": self.title.to_dict(),
            "intro": self.intro.to_dict(),
        }
        if self.notice is not None:
            out["notice"] = self.notice.to_dict()
        out["pages"] = [p.to_dict() for p in self.pages]
        out["questions"] = [q.to_dict() for q in self.questions]
        return out

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON form; equal banks have equal hashes."""
        canonical = json.dumps(
            self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- loading


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_schema_cache: dict[str, Any] = {}


def bank_schema() -> dict[str, Any]:
    if "schema" not in _schema_cache:
        _schema_cache["schema"] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return _schema_cache["schema"]


def where(source: str, data: Any, path: list[Any]) -> str:
    """Describe a JSON path as ``question 'id' field 'x'`` (or page / top-level field)."""
    parts = [source + ":"]
    if len(path) >= 2 and path[0] in ("questions", "pages") and isinstance(path[1], int):
        kind = "question" if path[0] == "questions" else "page"
        try:
            ident = data[path[0]][path[1]].get("id")
        except (AttributeError, IndexError, KeyError, TypeError):
            ident = None
        parts.append(f"{kind} {ident!r}" if isinstance(ident, str) else f"{kind} #{path[1] + 1}")
        rest = path[2:]
    else:
        rest = path
    if rest:
        parts.append("field " + repr(".".join(str(p) for p in rest)))
    return " ".join(parts)


def _schema_problems(data: Any, source: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(bank_schema())
    problems = []
    for err in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path]):
        path = list(err.absolute_path)
        message = err.message
        if err.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", err.message)
            path = path + missing[:1]
        elif err.validator == "additionalProperties":
            extra = re.findall(r"'([^']+)'", err.message)
            path = path + extra[:1]
        elif err.validator == "not" and list(err.validator_value) == ["required"]:
            name = err.validator_value["required"][0]
            kind = err.instance.get("type") if isinstance(err.instance, dict) else None
            path = path + [name]
            message = f"not allowed for a question of type {kind!r}"
        if len(message) > 300:
            message = message[:297] + "..."
        problems.append(f"{where(source, data, path)}: {message}")
    return problems


def _text(raw: dict[str, str] | None) -> Text | None:
    return None if raw is None else Text(da=raw["da"], en=raw["en"])


def _question(raw: dict[str, Any]) -> Question:
    return Question(
        id=raw["id"],
        type=raw["type"],
        text=Text(**raw["text"]),
        required=raw["required"],
        help=_text(raw.get("help")),
        options=tuple(
            Option(o["code"], Text(**o["label"]), o.get("other_text", False))
            for o in raw.get("options", ())
        ),
        fields=tuple(
            ContactField(f["name"], Text(**f["label"]), f.get("required", False))
            for f in raw.get("fields", ())
        ),
        shown_when=raw.get("shown_when"),
        ends_survey_when=raw.get("ends_survey_when"),
        min=raw.get("min"),
        max=raw.get("max"),
        dont_know=raw.get("dont_know", False),
        dont_know_label=_text(raw.get("dont_know_label")),
        max_length=raw.get("max_length"),
    )


def parse_bank(data: dict[str, Any], source: str = "<bank>") -> Bank:
    """Build a :class:`Bank` from already-loaded data, or raise :class:`BankError`."""
    from .bank_checks import attach_expressions, semantic_problems

    problems = _schema_problems(data, source)
    if problems:
        raise BankError(problems)
    bank = Bank(
        version=data["version"],
        title=Text(**data["title"]),
        intro=Text(**data["intro"]),
        notice=_text(data.get("notice")),
        pages=tuple(Page(p["id"], tuple(p["questions"])) for p in data["pages"]),
        questions=tuple(_question(q) for q in data["questions"]),
        source=source,
    )
    problems = semantic_problems(bank)
    if problems:
        raise BankError(problems)
    return attach_expressions(bank)


def load_bank(path: str | Path) -> Bank:
    """Read and validate a YAML (or JSON) bank file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BankError(f"{path.name}: cannot read file: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise BankError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise BankError(f"{path.name}: the file must hold a mapping at top level")
    return parse_bank(data, path.name)


def default_bank_path(version: str = "2026.1") -> Path:
    return DATA_DIR / f"bank-{version}.yaml"


def check_successor(old: Bank, new: Bank) -> None:
    """Raise :class:`BankError` if ``new`` may not replace ``old``.

    A question id kept from ``old`` must keep its type (answers stored under that id would
    otherwise change meaning); re-using a published version number for other content is refused.
    """
    problems = []
    if new.version == old.version and new.content_hash != old.content_hash:
        problems.append(
            f"{new.source}: field 'version': version {new.version!r} is already published with "
            "different content; give the new bank a new version"
        )
    old_by_id = {q.id: q for q in old.questions}
    for q in new.questions:
        before = old_by_id.get(q.id)
        if before is not None and before.type != q.type:
            problems.append(
                f"{new.source}: question {q.id!r} field 'type': changed from {before.type!r} "
                f"in version {old.version} to {q.type!r}; use a new question id instead"
            )
    if problems:
        raise BankError(problems)
