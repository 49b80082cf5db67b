"""The thin path through the system, by the CLI: partners, postings, rounds, sample, export."""

from __future__ import annotations

import csv

from survey_app.core.db import db
from survey_app.questionnaire.bank import default_bank_path
from survey_app.questionnaire.models import Answer, BankVersion
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case, ImportBatch, Posting

from .helpers import HEADER, answer_survey, cvr, feed_csv


def run(runner, *args):
    result = runner.invoke(args=list(args))
    return result.exit_code, result.output


def setup_sources(runner, tmp_path, rows=30):
    assert run(runner, "partners", "add", "jobportalen", "--name", "Jobportalen")[0] == 0
    path = tmp_path / "star.csv"
    path.write_bytes(feed_csv("star", rows))
    code, out = run(runner, "postings", "import", str(path), "--source", "star")
    assert code == 0, out
    path = tmp_path / "partner.csv"
    path.write_bytes(feed_csv("jobportalen", 10, start=1000))
    assert run(runner, "postings", "import", str(path), "--source", "jobportalen")[0] == 0
    assert run(runner, "bank", "load", str(default_bank_path()))[0] == 0
    code, out = run(
        runner,
        "rounds",
        "create",
        "R1",
        "--window-start",
        "2026-04-01",
        "--window-end",
        "2026-06-30",
    )
    assert code == 0, out


def test_partners_add_registers_org_with_default_brand_and_rejects_bad_input(runner, ctx):
    code, out = run(runner, "partners", "add", "jobportalen", "--name", "Jobportalen")
    assert code == 0 and "brand jobportalen" in out
    code, out = run(runner, "partners", "add", "jobportalen", "--name", "Again")
    assert code != 0 and "already exists" in out
    code, out = run(runner, "partners", "add", "Bad Code!", "--name", "X")
    assert code != 0 and "lower-case" in out
    code, out = run(runner, "partners", "add", "star", "--name", "Fake STAR")
    assert code != 0 and "STAR's own source" in out
    code, out = run(runner, "partners", "list")
    assert "star" in out and "jobportalen" in out


def test_import_from_unknown_source_is_a_clear_error(runner, ctx, tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(feed_csv("nosuch", 2))
    code, out = run(runner, "postings", "import", str(path), "--source", "nosuch")
    assert code != 0
    assert "unknown source 'nosuch'" in out
    assert db.session.scalar(db.select(db.func.count(Posting.id))) == 0


def test_import_keeps_good_rows_reports_bad_ones_and_is_idempotent(runner, ctx, tmp_path):
    run(runner, "partners", "add", "jobportalen", "--name", "Jobportalen")
    good = feed_csv("star", 3).decode().rstrip("\n").split("\n")
    bad = "star,star-bad,2026-05-10,Tømrer,12345678,,Firma ApS,999,1,K,not-an-email,+4520120000"
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(good + [bad]) + "\n", encoding="utf-8")
    report = tmp_path / "errors.csv"
    code, out = run(
        runner, "postings", "import", str(path), "--source", "star", "--errors", str(report)
    )
    assert code == 0, out
    assert "4 rows: 3 new, 0 updated, 1 rejected" in out
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert {r["row"] for r in rows} == {"5"}
    assert {r["field"] for r in rows} >= {"cvr", "municipality_code", "contact_email"}
    assert all(r["reason"] for r in rows)
    code, out = run(runner, "postings", "import", str(path), "--source", "star")
    assert "4 rows: 0 new, 3 updated, 1 rejected" in out
    assert db.session.scalar(db.select(db.func.count(Posting.id))) == 3


def test_malformed_file_changes_nothing(runner, ctx, tmp_path):
    run(runner, "postings", "import", str(tmp_path), "--source", "star")  # a directory: refused
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        feed_csv("star", 2)
        + f"star,x,2026-05-01,Smed,{cvr(99)},,Brødrene ApS,101,1\n".encode("latin-1")
    )
    run(runner, "partners", "list")  # creates nothing
    from survey_app.partners.services import ensure_star

    ensure_star()
    db.session.commit()
    code, out = run(runner, "postings", "import", str(path), "--source", "star")
    assert code != 0 and "nothing was imported" in out
    assert "UTF-8" in out or "utf-8" in out
    assert db.session.scalar(db.select(db.func.count(Posting.id))) == 0
    batch = db.session.scalars(db.select(ImportBatch)).one()
    assert batch.status == "failed" and batch.error


def test_round_pins_bank_version_and_draw_is_reproducible(runner, ctx, tmp_path):
    setup_sources(runner, tmp_path)
    code, out = run(
        runner,
        "rounds",
        "create",
        "R1",
        "--window-start",
        "2026-04-01",
        "--window-end",
        "2026-06-30",
    )
    assert code != 0 and "already exists" in out
    code, out = run(
        runner,
        "rounds",
        "create",
        "R2",
        "--window-start",
        "2026-07-01",
        "--window-end",
        "2026-03-01",
    )
    assert code != 0 and "before window start" in out
    code, out = run(runner, "sample", "draw", "--round", "R1", "--size", "12", "--seed", "7")
    assert code == 0, out
    assert "drawn 12 (seed 7)" in out
    first = [c.posting_id for c in db.session.scalars(db.select(Case).order_by(Case.id))]
    code, out = run(runner, "sample", "draw", "--round", "R1", "--size", "12")
    assert code != 0 and "already has a sample" in out

    # The same seed on the same frame draws the same postings.
    run(
        runner,
        "rounds",
        "create",
        "R3",
        "--window-start",
        "2026-04-01",
        "--window-end",
        "2026-06-30",
    )
    db.session.execute(db.delete(Case).where(Case.round_id == 1))
    db.session.commit()
    run(runner, "sample", "draw", "--round", "R3", "--size", "12", "--seed", "7")
    again = [c.posting_id for c in db.session.scalars(db.select(Case).order_by(Case.id))]
    assert sorted(again) == sorted(first)
    cases = db.session.scalars(db.select(Case)).all()
    assert len({c.company_id for c in cases}) == len(cases)  # never two cases for one company
    version = db.session.scalars(db.select(BankVersion)).one()
    assert all(c.response.bank_version_id == version.id for c in cases)
    assert all(abs(c.selection_prob - 12 / 40) < 1e-9 for c in cases)


def test_export_contains_the_answers_given(runner, app, ctx, tmp_path):
    setup_sources(runner, tmp_path)
    run(runner, "sample", "draw", "--round", "R1", "--size", "5", "--seed", "1")
    case = db.session.scalars(db.select(Case).order_by(Case.id)).first()
    answer_survey(app.test_client(), link_token(case.response))
    out = tmp_path / "r1.csv"
    code, msg = run(runner, "export", "--round", "R1", "--format", "csv", "--output", str(out))
    assert code == 0, msg
    rows = {r["case_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert len(rows) == 5
    row = rows[str(case.id)]
    assert row["response_status"] == "completed"
    assert row["classification"] == "other_profile"
    assert row["outcome"] == "2" and row["positions"] == "3" and row["positions_filled"] == "2"
    assert row["channels"] == "1;3"
    assert row["comment"] == "Svært at finde folk"
    assert row["notice_version"] == "2026-1"
    assert row["expected_close"] == ""  # routed past
    others = [r for k, r in rows.items() if k != str(case.id)]
    assert all(r["response_status"] == "not_started" for r in others)
    stored = db.session.scalars(db.select(Answer).filter_by(response_id=case.response_id)).all()
    assert len({a.question_id for a in stored}) == len(stored)


def test_export_neutralises_spreadsheet_formulas():
    from survey_app.stats.export import safe_cell

    assert safe_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert safe_cell("+45 20 12") == "'+45 20 12"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell([1, 3]) == "1;3"
    assert safe_cell("plain") == "plain"


def test_users_add_checks_role_and_organisation(runner, ctx):
    run(runner, "partners", "add", "jobportalen", "--name", "Jobportalen")
    code, out = run(runner, "users", "add", "op@jp.example", "--role", "partner_operator")
    assert code != 0 and "--org" in out
    code, out = run(
        runner,
        "users",
        "add",
        "op@jp.example",
        "--role",
        "partner_operator",
        "--org",
        "jobportalen",
    )
    assert code == 0 and "password:" in out
    code, out = run(runner, "users", "add", "a@star.example", "--role", "agent", "--org", "star")
    assert code != 0
    code, out = run(runner, "users", "add", "not-an-email", "--role", "admin")
    assert code != 0 and "not valid" in out


def test_bank_validate_names_file_and_problem(runner, ctx, tmp_path):
    code, out = run(runner, "bank", "validate", str(default_bank_path()))
    assert code == 0 and "is valid" in out
    broken = tmp_path / "bank-9.9.yaml"
    broken.write_text(
        default_bank_path()
        .read_text(encoding="utf-8")
        .replace('version: "2026.1"', 'version: "9.9"')
        .replace("type: integer", "type: number", 1),
        encoding="utf-8",
    )
    code, out = run(runner, "bank", "validate", str(broken))
    assert code != 0
    assert "bank-9.9.yaml" in out and "type" in out


def test_demo_loads_and_prints_links_per_brand(runner, ctx):
    code, out = run(runner, "demo")
    assert code == 0, out
    for brand in ("star", "jobportalen", "karrierenet"):
        assert f"  {brand}:" in out
    assert out.count("/s/") >= 9
    for role in (
        "STAR administrator",
        "STAR analyst",
        "Partner operator",
        "Call-centre supervisor",
        "Call-centre agent",
    ):
        assert role in out
    code, out = run(runner, "demo")
    assert code != 0 and "already has data" in out
    code, out = run(runner, "demo", "--if-empty")
    assert code == 0 and "/s/" in out and "loaded" not in out.split("Respondent")[0]


def test_header_constant_matches_feed():
    assert HEADER.split(",")[0] == "source"
