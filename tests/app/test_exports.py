"""The round dataset in every format: provenance, labels, codebook, scoping, queued exports."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pyarrow.parquet as pq
import pyreadstat
import pytest

from survey_app.core.audit import AuditEvent
from survey_app.core.db import db
from survey_app.demo import ROUND
from survey_app.questionnaire.services import bank_of
from survey_app.sampling.models import Case
from survey_app.stats.codebook import DONT_KNOW_CODE
from survey_app.stats.export import Dataset
from survey_app.stats.formats import write
from survey_app.stats.models import Export

from .export_fixtures import (
    NOT_FILLED,
    OTHER_PROFILE,
    REFERRED,
    fill,
    first_case,
    login,
    request_export,
    run_exports_queue,
    the_round,
)

FORMATS = ("csv", "parquet", "sav", "dta", "bundle")


@pytest.fixture
def answered(demo):
    """Three answered cases: STAR (web, other profile), Jobportalen (phone), KarriereNet."""
    star, portal, karriere = (
        first_case("star"),
        first_case("jobportalen"),
        first_case("karrierenet"),
    )
    fill(star, OTHER_PROFILE)
    fill(portal, NOT_FILLED, mode="phone")
    fill(karriere, REFERRED, mode="embed", lang="en")
    return {"star": star.id, "jobportalen": portal.id, "karrierenet": karriere.id}


def test_csv_has_provenance_answers_and_formula_guard(answered, tmp_path):
    rows = write(Dataset(the_round()), "csv", tmp_path / "r.csv")
    assert rows == 120
    table = {int(r["case_id"]): r for r in csv.DictReader((tmp_path / "r.csv").open())}
    star = table[answered["star"]]
    assert star["round"] == ROUND and star["bank_version"] == "2026.1"
    assert star["brand"] == "star" and star["organisation"] == "star"
    assert star["mode"] == "web" and star["channel"] == "web" and star["language"] == "da"
    assert star["notice_version"] == "2026-1" and star["notice_shown_at"]
    assert star["started_at"] and star["completed_at"] and star["updated_at"]
    assert star["classification"] == "other_profile" and star["response_status"] == "completed"
    assert float(star["selection_prob"]) > 0 and star["stratum"]
    assert abs(float(star["design_weight"]) * float(star["selection_prob"]) - 1) < 1e-9
    assert star["applicants"] == "dont_know" and star["qualified_applicants"] == ""
    assert star["profile_gap"] == "1;6" and star["profile_gap_1"] == "1"
    assert star["profile_gap_2"] == "0" and star["profile_gap_other"] == "Kørekort"
    assert star["unfilled_reason_1"] == ""  # routed past: missing, not "not selected"
    assert star["comment"] == '\'=HYPERLINK("http://evil.example","klik")'
    portal = table[answered["jobportalen"]]
    assert portal["mode"] == "phone" and portal["channel"] == "phone"
    assert portal["organisation"] == "jobportalen" and portal["classification"] == "not_filled"
    referred = table[answered["karrierenet"]]
    assert referred["channel"] == "embed" and referred["language"] == "en"
    assert referred["referral_name"] == "Ida Holm" and referred["referral_email"]
    assert json.loads(referred["referral"])["name"] == "Ida Holm"
    untouched = [r for k, r in table.items() if k not in answered.values()]
    assert {r["response_status"] for r in untouched} == {"not_started"}
    assert {r["mode"] for r in untouched} == {""}


def test_parquet_round_trip_is_typed_and_labelled(answered, tmp_path):
    write(Dataset(the_round()), "parquet", tmp_path / "r.parquet")
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.num_rows == 120
    assert str(table.schema.field("outcome").type) == "int64"
    assert str(table.schema.field("selection_prob").type) == "double"
    assert str(table.schema.field("completed_at").type) == "timestamp[us]"
    meta = table.schema.field("outcome").metadata
    assert meta[b"label_da"].decode() == "Fik I ansat en person i stillingen?"
    labels = json.loads(meta[b"value_labels"])
    assert labels["3"]["da"] == "Nej, stillingen blev ikke besat"
    rows = {r["case_id"]: r for r in table.to_pylist()}
    star = rows[answered["star"]]
    assert star["outcome"] == 2 and star["respondent_role"] == 1
    assert star["applicants"] == DONT_KNOW_CODE and star["channels_3"] == 1
    assert star["channels_2"] == 0 and star["unfilled_reason_1"] is None
    assert rows[answered["jobportalen"]]["qualified_applicants"] == 0


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_spss_and_stata_round_trip_with_danish_labels(answered, tmp_path, fmt):
    path = tmp_path / f"r.{fmt}"
    assert write(Dataset(the_round()), fmt, path) == 120
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    frame, meta = reader(str(path), user_missing=True) if fmt == "sav" else reader(str(path))
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["outcome"] == "Fik I ansat en person i stillingen?"
    assert labels["channels_4"].startswith("Hvilke kanaler brugte I til at finde kandidater?")
    assert meta.variable_value_labels["outcome"][3.0] == "Nej, stillingen blev ikke besat"
    assert meta.variable_value_labels["respondent_role"] == {1.0: "Ja", 0.0: "Nej"}
    assert meta.variable_value_labels["applicants"][float(DONT_KNOW_CODE)] == "Ved ikke"
    assert meta.variable_value_labels["channels_1"][1.0] == "Valgt"
    if fmt == "dta":
        assert all(len(label) <= 80 for label in meta.column_labels if label)
    assert all(len(n) <= 32 for n in meta.column_names)
    star = frame[frame["case_id"] == answered["star"]].iloc[0]
    assert star["outcome"] == 2 and star["applicants"] == DONT_KNOW_CODE
    assert star["brand"] == "star" and star["profile_gap_other"] == "Kørekort"
    assert star["classification"] == "other_profile"
    stored = db.session.get(Case, answered["star"]).response.completed_at
    assert abs((star["completed_at"].to_pydatetime() - stored).total_seconds()) < 1
    if fmt == "sav":
        assert meta.missing_ranges["applicants"] == [{"lo": -9.0, "hi": -9.0}]


def test_bundle_holds_every_format_and_a_codebook_with_routing(answered, tmp_path):
    path = tmp_path / "r.zip"
    write(Dataset(the_round()), "bundle", path, scope="all")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert names == {f"{ROUND}.{x}" for x in ("csv", "parquet", "sav", "dta")} | {
            "codebook.json",
            "codebook.md",
        }
        book = json.loads(zf.read("codebook.json"))
        markdown = zf.read("codebook.md").decode()
        rows = list(csv.reader(io.StringIO(zf.read(f"{ROUND}.csv").decode())))
        for ext, reader in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
            (tmp_path / f"b.{ext}").write_bytes(zf.read(f"{ROUND}.{ext}"))
            frame, meta = reader(str(tmp_path / f"b.{ext}"))
            assert len(frame) == 120
            assert meta.variable_value_labels["outcome"][2.0].startswith("Ja, men med en anden")
    bank = bank_of(the_round().bank_version)
    assert book["bank_version"] == "2026.1" and book["rows"] == 120 == len(rows) - 1
    assert [q["id"] for q in book["questions"]] == [q.id for q in bank.ordered_questions()]
    by_id = {q["id"]: q for q in book["questions"]}
    for q in bank.questions:
        assert by_id[q.id]["shown_when"] == q.shown_when
        assert by_id[q.id]["ends_survey_when"] == q.ends_survey_when
        assert f"`{q.id}`" in markdown
    assert "`outcome in {1, 2} and positions > 1`" in markdown
    variables = {v["name"]: v for v in book["variables"]}
    assert set(variables) == set(rows[0])
    assert variables["outcome"]["label"] == {
        "da": "Fik I ansat en person i stillingen?",
        "en": "Did you hire someone for the position?",
    }
    assert {"value": 1, "da": "Ja", "en": "Yes"} in variables["respondent_role"]["value_labels"]
    assert all(v["stat_name"] for v in book["variables"])


def test_long_or_invalid_names_are_mapped_for_stata():
    from survey_app.stats.codebook import Variable, assign_stat_names

    variables = [
        Variable("qualified_applicants_with_a_very_long_identifier_1", "integer", "a", "a"),
        Variable("qualified_applicants_with_a_very_long_identifier_2", "integer", "b", "b"),
        Variable("2nd-choice", "string", "c", "c"),
        Variable("round", "string", "d", "d"),
    ]
    assign_stat_names(variables)
    names = [v.stat_name for v in variables]
    assert len(set(names)) == 4 and names[3] == "round"
    assert all(len(n) <= 32 and n[0].isalpha() for n in names)
    assert all(all(c.isalnum() or c == "_" for c in n) for n in names)
    assert names[2] == "v_2nd_choice"


def read_cases(fmt: str, data: bytes, tmp_path) -> list[int]:
    path = tmp_path / f"download.{fmt}"
    path.write_bytes(data)
    if fmt == "csv":
        return [int(r["case_id"]) for r in csv.DictReader(io.StringIO(data.decode()))]
    if fmt == "parquet":
        return pq.read_table(path).column("case_id").to_pylist()
    if fmt in ("sav", "dta"):
        reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        return [int(x) for x in reader(str(path))[0]["case_id"]]
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".csv"))
        return [int(r["case_id"]) for r in csv.DictReader(io.StringIO(zf.read(name).decode()))]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_role_gets_only_its_scope_in_every_format(app, answered, tmp_path, fmt):
    brand_of = {c.id: c.brand.code for c in db.session.scalars(db.select(Case))}
    expected = {
        "analyst@star.example": {"star", "jobportalen", "karrierenet"},
        "admin@star.example": {"star", "jobportalen", "karrierenet"},
        "operator@jobportalen.example": {"jobportalen"},
        "operator@karrierenet.example": {"karrierenet"},
    }
    downloads = {}
    for email, brands in expected.items():
        client = login(app, email)
        r = request_export(client, fmt)
        assert r.status_code == 303, (email, r.status_code)
        run_exports_queue(app)
        db.session.expire_all()
        export = db.session.scalars(db.select(Export).order_by(Export.id.desc())).first()
        assert export.state == "ready", export.error
        page = client.get(r.location).get_data(as_text=True)
        assert f"/staff/exports/{export.id}/download" in page
        got = client.get(f"/staff/exports/{export.id}/download")
        assert got.status_code == 200
        cases = read_cases(fmt, got.data, tmp_path)
        assert {brand_of[c] for c in cases} == brands, email
        assert len(cases) == sum(1 for b in brand_of.values() if b in brands)
        downloads[email] = (client, export.id)
    # Neither partner reaches the other's export, nor STAR's; STAR reaches both.
    portal, portal_export = downloads["operator@jobportalen.example"]
    karriere, karriere_export = downloads["operator@karrierenet.example"]
    star_export = downloads["analyst@star.example"][1]
    for other in (karriere_export, star_export):
        assert portal.get(f"/staff/exports/{other}/download").status_code == 404
        listing = portal.get(f"/staff/rounds/{ROUND}/exports").get_data(as_text=True)
        assert f'export-{other}"' not in listing
    assert karriere.get(f"/staff/exports/{portal_export}/download").status_code == 404
    analyst = downloads["analyst@star.example"][0]
    assert analyst.get(f"/staff/exports/{portal_export}/download").status_code == 200


@pytest.mark.parametrize("email", ["supervisor@callcentre.example", "agent@callcentre.example"])
def test_other_roles_cannot_export(app, demo, email):
    from .helpers import csrf_token

    client = login(app, email)
    assert client.get(f"/staff/rounds/{ROUND}/exports").status_code == 403
    token = csrf_token(client.get("/staff").get_data(as_text=True))
    r = client.post(f"/staff/rounds/{ROUND}/exports", data={"format": "csv", "csrf_token": token})
    assert r.status_code == 403
    assert client.get("/staff/exports/1/download").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(f"/staff/rounds/{ROUND}/exports").status_code == 302


def test_queued_export_records_file_hash_audit_and_download(app, answered):
    import hashlib

    client = login(app, "analyst@star.example")
    assert client.get("/staff/rounds/NO-SUCH/exports").status_code == 404
    r = request_export(client, "parquet")
    assert r.status_code == 303
    db.session.expire_all()
    export = db.session.scalars(db.select(Export)).one()
    if not app.config["EMBEDDED_QUEUE"]:
        assert export.state == "queued"  # the request only enqueued
    run_exports_queue(app)
    db.session.expire_all()
    export = db.session.scalars(db.select(Export)).one()
    assert export.state == "ready" and export.row_count == 120
    assert export.requested_by.email == "analyst@star.example" and export.organisation_id is None
    assert export.created_at <= export.started_at <= export.finished_at
    body = client.get(f"/staff/exports/{export.id}/download").data
    assert hashlib.sha256(body).hexdigest() == export.sha256 and len(body) == export.size_bytes
    actions = [
        e.action
        for e in db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.object_type == "export").order_by(AuditEvent.id)
        )
    ]
    assert actions == ["export.requested", "export.created", "export.downloaded"]
    assert client.post(f"/staff/rounds/{ROUND}/exports", data={"format": "xlsx"}).status_code == 400


def test_failed_export_is_recorded(app, answered, monkeypatch):
    from survey_app.stats import jobs

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(jobs, "write", broken)
    export = jobs.create_export(the_round(), "csv", actor_label="test")
    db.session.commit()
    jobs.run_export(export.id)
    db.session.expire_all()
    export = db.session.get(Export, export.id)
    assert export.state == "failed" and "disk full" in export.error
    assert jobs.file_of(export) is None


@pytest.mark.parametrize("fmt", ["parquet", "sav", "dta", "bundle"])
def test_cli_writes_every_format(runner, answered, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(args=["export", "--round", ROUND, "--format", fmt, "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 120 cases" in result.output
    assert sorted(read_cases(fmt, out.read_bytes(), tmp_path)) == sorted(
        db.session.scalars(db.select(Case.id))
    )


def test_cli_refuses_binary_format_on_stdout(runner, demo):
    result = runner.invoke(args=["export", "--round", ROUND, "--format", "sav"])
    assert result.exit_code != 0 and "--output is required" in result.output
    result = runner.invoke(args=["export", "--round", "NOPE", "--format", "csv"])
    assert result.exit_code != 0


def test_batches_stream_in_keyset_pages(answered):
    ds = Dataset(the_round(), batch=7)
    sizes = [len(b) for b in ds.batches()]
    assert sum(sizes) == 120 and max(sizes) == 7
    ids = [rec.provenance["case_id"] for b in Dataset(the_round(), batch=7).batches() for rec in b]
    assert ids == sorted(ids) and len(set(ids)) == 120


def test_aapor_disposition_is_exported_when_the_call_centre_keeps_it(answered, tmp_path):
    from survey_app.stats.export import disposition_table

    table = disposition_table()
    if table is None:
        pytest.skip("the call centre's case_dispositions table is not loaded in this app")
    db.session.execute(
        table.insert().values(
            case_id=answered["star"], code="1.1", rate_group="I", derived_at=the_round().created_at
        )
    )
    db.session.commit()
    write(Dataset(the_round()), "csv", tmp_path / "r.csv")
    rows = {int(r["case_id"]): r for r in csv.DictReader((tmp_path / "r.csv").open())}
    assert rows[answered["star"]]["disposition"] == "1.1"
    assert rows[answered["jobportalen"]]["disposition"] == ""
