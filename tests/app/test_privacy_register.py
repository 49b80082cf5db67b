"""The register of personal data: every table registered, nothing personal left uncovered;
the administrators' page, the dry-run button and the CLI."""

from __future__ import annotations

import re

from survey_app.core import periodic
from survey_app.core.audit import AuditEvent
from survey_app.core.db import db
from survey_app.core.personal_data import exemptions, rules, tables
from survey_app.privacy.models import RetentionRun

from .helpers import csrf_token, staff_login

#: name parts that suggest a column holds something about a person
HINTS = {
    "name",
    "email",
    "phone",
    "address",
    "ip",
    "text",
    "body",
    "note",
    "comment",
    "contact",
    "referred",
    "pdf",
    "payload",
}
#: columns the heuristics flag that hold nothing about a person, and why
NOT_PERSONAL = {
    "organisations.name": "a job database's (a company's) name",
    "brands.name": "a job database's brand",
    "rounds.name": "a fielding round's title",
    "reminders.note": "a system reason such as 'email contact bad'",
    "call_list.reason": "a system reason",
    "bank_versions.source_file": "a file name of the bank",
    "import_batches.filename": "the delivered file's name",
    "subject_requests.value_hash": "a keyed hash, not the address",
    "subject_restrictions.value_hash": "a keyed hash, not the address",
}


def _looks_personal(column: str) -> bool:
    column = column.lower()
    if column.endswith(("_id", "_hash", "_at")):  # references, hashes and times
        return False
    return column == "user_agent" or bool(set(column.split("_")) & HINTS)


def test_every_table_is_registered_with_purpose_and_retention(app):
    registered = tables()
    missing = sorted(t for t in db.metadata.tables if t not in registered)
    assert not missing, (
        f"tables not in the privacy register (add them to <module>/privacy.py): {missing}"
    )
    stale = sorted(t for t in registered if t not in db.metadata.tables)
    assert not stale, f"registered tables that do not exist: {stale}"
    for name, entry in registered.items():
        assert entry.purpose.strip() and entry.retention.strip(), name
        columns = set(db.metadata.tables[name].columns.keys())
        unknown = set(entry.personal_columns) - columns
        assert not unknown, f"{name}: personal columns that do not exist: {unknown}"


def test_columns_that_look_personal_are_declared_personal(app):
    undeclared = []
    for name, table in db.metadata.tables.items():
        declared = set(tables()[name].personal_columns)
        for column in (c.name for c in table.columns):
            key = f"{name}.{column}"
            if _looks_personal(column) and column not in declared and key not in NOT_PERSONAL:
                undeclared.append(key)
    assert not undeclared, (
        "columns that look personal but are not declared (declare them in <module>/privacy.py "
        f"or explain them in NOT_PERSONAL here): {sorted(undeclared)}"
    )


def test_every_personal_column_is_cleared_by_a_rule_or_exempt_with_a_reason(app):
    covered = {c for rule in rules().values() for c in rule.columns}
    exempt = exemptions()
    uncovered = sorted(
        f"{name}.{column}"
        for name, entry in tables().items()
        for column in entry.personal_columns
        if f"{name}.{column}" not in covered and f"{name}.{column}" not in exempt
    )
    assert not uncovered, f"personal columns no retention rule clears: {uncovered}"
    assert all(reason.strip() for reason in exempt.values())
    declared = {f"{n}.{c}" for n, e in tables().items() for c in e.personal_columns}
    strays = sorted((covered | set(exempt)) - declared)
    assert not strays, f"rules or exemptions name columns not declared personal: {strays}"


def test_the_heuristics_catch_a_contact_column():
    assert _looks_personal("contact_email") and _looks_personal("from_address")
    assert _looks_personal("ip") and _looks_personal("user_agent")
    assert not _looks_personal("created_at") and not _looks_personal("status")


def test_retention_is_a_periodic_job(app):
    jobs = {p.name: p for p in periodic.registered()}
    assert jobs["privacy-retention"].func_path == "survey_app.privacy.retention.retention_job"
    assert jobs["privacy-retention"].every_seconds == 24 * 3600


def test_the_register_page_shows_every_table_and_a_dry_run_is_audited(demo):
    client = demo.test_client()
    staff_login(client, "admin@star.example")
    client.get("/lang/en")
    html = client.get("/staff/privacy").get_data(as_text=True)
    for name in db.metadata.tables:
        assert f'id="table-{name}"' in html, name
    assert "contact-persons" in html and "No runs yet." in html
    assert "not covered" not in html
    r = client.post("/staff/privacy/dry-run", data={"csrf_token": csrf_token(html)})
    assert r.status_code == 302
    run = db.session.scalars(db.select(RetentionRun)).one()
    assert run.dry_run and run.trigger == "staff" and run.status == "done"
    assert {r.rule for r in run.reports} == set(rules())
    event = db.session.scalars(
        db.select(AuditEvent).filter_by(action="privacy.retention_dry_run")
    ).one()
    assert event.object_id == str(run.id) and event.actor_label == "admin@star.example"
    html = client.get("/staff/privacy").get_data(as_text=True)
    assert f'id="run-{run.id}"' in html and "dry run" in html
    # without the CSRF token nothing runs
    assert client.post("/staff/privacy/dry-run", data={}).status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(RetentionRun)) == 1


#: register texts as (English msgid, Danish): a table's purpose and a rule's description
REGISTER_TEXTS = (
    (
        "Who saw or changed personal data or a case, and every export: proof of lawful access.",
        "Hvem der har set eller ændret persondata eller en sag, samt hvert udtræk: dokumentation "
        "for lovlig adgang.",
    ),
    (
        "Client addresses in the audit log are cleared after the IP limit.",
        "Klientadresser i revisionsloggen slettes efter IP-fristen.",
    ),
)


def test_every_register_text_is_translatable(app):
    from flask_babel.speaklater import LazyString

    texts = [(n, "purpose", e.purpose) for n, e in tables().items()]
    texts += [(n, "retention", e.retention) for n, e in tables().items()]
    texts += [(n, "description", r.description) for n, r in rules().items()]
    texts += [(c, "exemption", reason) for c, reason in exemptions().items()]
    plain = [(name, kind) for name, kind, text in texts if not isinstance(text, LazyString)]
    assert not plain, f"register texts not wrapped in lazy_gettext (_l): {plain}"


def test_the_register_texts_are_danish_by_default_and_english_after_switching(demo):
    client = demo.test_client()
    staff_login(client, "admin@star.example")
    danish = client.get("/staff/privacy").get_data(as_text=True)
    client.get("/lang/en")
    english = client.get("/staff/privacy").get_data(as_text=True)
    assert "<th>Purpose</th>" in english
    for en, da in REGISTER_TEXTS:
        assert en in english and da not in english
    assert "<th>Formål</th>" in danish
    for en, da in REGISTER_TEXTS:
        assert da in danish and en not in danish


def test_the_page_is_for_administrators_only(demo):
    client = demo.test_client()
    staff_login(client, "analyst@star.example")
    assert client.get("/staff/privacy").status_code == 403
    assert client.post("/staff/privacy/dry-run").status_code in (400, 403)
    assert db.session.scalar(db.select(db.func.count()).select_from(RetentionRun)) == 0


def test_cli_prints_the_report_and_stores_the_run(demo, runner):
    result = runner.invoke(args=["privacy", "retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run (nothing changed)" in result.output
    for name in rules():
        assert re.search(rf"^\s+{re.escape(name)}\s+affected \d+", result.output, re.M), name
    result = runner.invoke(args=["privacy", "retention"])
    assert result.exit_code == 0, result.output
    runs = db.session.scalars(db.select(RetentionRun).order_by(RetentionRun.id)).all()
    assert [r.dry_run for r in runs] == [True, False]
    assert all(r.trigger == "cli" for r in runs)


def test_a_failing_rule_is_reported_and_a_dry_run_is_rolled_back_whatever_a_rule_does(
    demo, monkeypatch
):
    from survey_app.core import personal_data
    from survey_app.core.personal_data import RetentionReport, RetentionRule
    from survey_app.privacy.retention import format_report, run
    from survey_app.stats.api_models import ApiClient

    def broken(now, dry_run):
        raise RuntimeError("disk on fire")

    def careless(now, dry_run):  # writes even in a dry run: the runner must undo it
        db.session.add(ApiClient(organisation="Careless", contact_email="c@c.example"))
        db.session.flush()
        return RetentionReport("zz-careless", dry_run, affected=1)

    monkeypatch.setitem(
        personal_data._rules, "aa-broken", RetentionRule("aa-broken", "x", (), (), broken)
    )
    monkeypatch.setitem(
        personal_data._rules, "zz-careless", RetentionRule("zz-careless", "x", (), (), careless)
    )
    row = run(dry_run=True)
    assert row.status == "failed"
    reports = {r.rule: r for r in row.reports}
    assert "disk on fire" in reports["aa-broken"].error
    assert reports["zz-careless"].affected == 1 and reports["contact-persons"].error is None
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiClient)) == 0
    assert "aa-broken                  FAILED RuntimeError: disk on fire" in format_report(row)


def test_months_are_calendar_months_and_a_half_is_fifteen_days():
    from datetime import datetime

    from survey_app.core.personal_data import months_before

    assert months_before(datetime(2028, 6, 1, 12), 18.5) == datetime(2026, 11, 16, 12)
    assert months_before(datetime(2028, 6, 1), 18) == datetime(2026, 12, 1)
    assert months_before(datetime(2028, 8, 31), 18) == datetime(2027, 2, 28)  # clamped
