"""Drawing a round's sample: strata, contact rules, partner quotas, the operator's report page."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date

import pytest

from survey_app.auth.services import add_user
from survey_app.core.db import db
from survey_app.partners.services import add_organisation, ensure_star
from survey_app.questionnaire.bank import default_bank_path
from survey_app.questionnaire.services import load_bank_version
from survey_app.sampling.allocation import allocate, stratum_key
from survey_app.sampling.draw import DrawError, draw_sample
from survey_app.sampling.importer import import_postings
from survey_app.sampling.models import Case, Posting
from survey_app.sampling.rounds import create_round

from .helpers import cvr, staff_login

COLUMNS = (
    "source_posting_id", "kind", "status", "responsible_unit", "internal", "posted_on",
    "job_title", "occupation_code", "cvr", "p_number", "company_name", "municipality_code",
    "contact_name", "contact_email", "contact_phone",
)  # fmt: skip
OCCUPATIONS = ("2221", "7125", "5120", "9112")
MUNICIPALITIES = ("101", "461", "751")  # Hovedstaden, Fyn, Østjylland
PASSWORD = "a-long-test-password-1"


def posting(i: int, **fields) -> dict:
    row = {
        "source_posting_id": f"p-{i}",
        "kind": "posting",
        "posted_on": "2026-05-10",
        "job_title": "Medarbejder",
        "occupation_code": OCCUPATIONS[i % 4],
        "cvr": cvr(i),
        "p_number": str(4000000000 + i),
        "company_name": f"Firma {i} ApS",
        "municipality_code": MUNICIPALITIES[(i // 4) % 3],
        "contact_name": f"Kontakt {i}",
        "contact_email": f"kontakt{i}@firma{i}.example",
        "contact_phone": f"+452012{i:04d}",
    }
    row.update(fields)
    return row


def load(source: str, rows: list[dict]) -> None:
    from survey_app.partners.services import require_organisation

    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    result = import_postings(
        io.BytesIO(out.getvalue().encode("utf-8")), require_organisation(source), "f.csv", "csv"
    )
    assert result.rejected == 0, [(e.field, e.reason) for e in _errors(result.batch_id)]


def _errors(batch_id):
    from survey_app.sampling.importer import row_errors

    return list(row_errors(batch_id))


def setup(partner: bool = False) -> None:
    ensure_star()
    if partner:
        add_organisation("jobportalen", "Jobportalen")
    load_bank_version(default_bank_path())


def new_round(code: str, start=date(2026, 5, 1), end=date(2026, 5, 31), **settings):
    return create_round(code, code, start, end, settings=settings)


def cases(rnd) -> list[Case]:
    return db.session.scalars(db.select(Case).filter_by(round_id=rnd.id).order_by(Case.id)).all()


def drawn_ids(rnd) -> set[str]:
    return {c.posting.source_posting_id for c in cases(rnd)}


def test_draw_is_reproducible_from_the_seed_and_stratified(ctx):
    setup()
    # uneven strata: the first 80 postings spread over 4 groups x 3 areas, 40 more in group 2
    load("star", [posting(i) for i in range(80)])
    load("star", [posting(i, occupation_code="2221") for i in range(80, 120)])
    rnd = new_round("R1")
    result = draw_sample(rnd, size=30, seed=11)
    db.session.commit()
    assert (result.frame, result.eligible, result.drawn, result.seed) == (120, 120, 30, 11)
    first = drawn_ids(rnd)

    report = rnd.settings["last_draw"]
    postings = db.session.scalars(db.select(Posting)).all()
    populations = Counter(stratum_key(p.occupation_code, p.rar_area) for p in postings)
    assert {s["stratum"]: s["N"] for s in report["strata"]} == dict(populations)
    expected = allocate(populations, 30)
    assert {s["stratum"]: s["n"] for s in report["strata"]} == expected
    assert Counter(c.stratum for c in cases(rnd)) == +Counter(expected)
    for case in cases(rnd):
        assert case.stratum == stratum_key(case.posting.occupation_code, case.posting.rar_area)
        assert case.selection_prob == pytest.approx(
            expected[case.stratum] / populations[case.stratum]
        )
    assert report["seed"] == 11 and report["frame"] == 120 and report["drawn"] == 30
    assert report["by_brand"] == {"star": 30}

    # the same seed on the same frame draws the same postings; another seed others
    db.session.execute(db.delete(Case).where(Case.round_id == rnd.id))
    db.session.commit()
    again = new_round("R2", rest_days_p_unit=0)
    draw_sample(again, size=30, seed=11)
    assert drawn_ids(again) == first
    db.session.execute(db.delete(Case).where(Case.round_id == again.id))
    other = new_round("R3", rest_days_p_unit=0)
    draw_sample(other, size=30, seed=12)
    assert drawn_ids(other) != first


def test_minimum_allocation_reaches_small_strata(ctx):
    setup()
    rows = [posting(i, occupation_code="2221", municipality_code="101") for i in range(100)]
    rows += [posting(i, occupation_code="7125", municipality_code="400") for i in range(100, 102)]
    rows += [posting(i, occupation_code="9112", municipality_code="851") for i in range(102, 110)]
    load("star", rows)
    rnd = new_round("R1", allocation="minimum", min_per_stratum=4)
    draw_sample(rnd, size=20, seed=3)
    strata = {s["stratum"]: s for s in rnd.settings["last_draw"]["strata"]}
    assert strata["7|RAR Bornholm"]["n"] == 2 and strata["7|RAR Bornholm"]["prob"] == 1.0
    assert strata["9|RAR Nordjylland"]["n"] >= 4
    assert sum(s["n"] for s in strata.values()) == 20
    proportional = new_round("R2", rest_days_p_unit=0)
    db.session.execute(db.delete(Case).where(Case.round_id == rnd.id))
    draw_sample(proportional, size=20, seed=3)
    small = {s["stratum"]: s["n"] for s in proportional.settings["last_draw"]["strata"]}
    assert small["7|RAR Bornholm"] == 0


def test_each_contact_rule_excludes_the_right_postings(ctx):
    setup()
    rows = [
        posting(1, contact_email="", contact_phone=""),  # no usable contact
        # one company (CVR of 2), three postings: the complete one is kept
        posting(2, source_posting_id="b-best"),
        posting(3, source_posting_id="b-mid", cvr=cvr(2), contact_name="", p_number=""),
        posting(4, source_posting_id="b-low", cvr=cvr(2), contact_name="", contact_email=""),
        # two companies sharing one P-unit: the better posting is kept
        posting(5, source_posting_id="p-best", p_number="4999999999"),
        posting(6, source_posting_id="p-low", p_number="4999999999", contact_name=""),
        # frame: an open job order is out, a closed one in; outside the window is out
        posting(7, kind="job_order", status="open", responsible_unit="Jobcenter Odense"),
        posting(8, kind="job_order", status="closed", responsible_unit="Jobcenter Odense"),
        posting(9, posted_on="2026-06-01"),
        posting(10),
    ]
    load("star", rows)
    duplicate = db.session.execute(
        db.select(Posting).filter_by(source_posting_id="p-10")
    ).scalar_one()
    duplicate.duplicate_of_id = db.session.execute(
        db.select(Posting.id).filter_by(source_posting_id="p-8")
    ).scalar_one()
    rnd = new_round("R1")
    result = draw_sample(rnd, seed=1)
    assert result.frame == 7  # p-1, b-best, b-mid, b-low, p-best, p-low, p-8
    assert dict(result.excluded) == {
        "no usable contact": 1,
        "P-unit in rest period": 0,
        "company limit": 2,
        "P-unit limit": 1,
    }
    assert drawn_ids(rnd) == {"b-best", "p-best", "p-8"}
    assert rnd.settings["last_draw"]["excluded"] == dict(result.excluded)


def test_rest_period_across_two_rounds(ctx):
    setup()
    load("star", [posting(i) for i in range(6)])
    first = new_round("R1")
    draw_sample(first, seed=1)
    assert len(cases(first)) == 6
    # the same P-units post again in June; two new P-units too
    june = [
        posting(i + 100, p_number=str(4000000000 + i), posted_on="2026-06-05") for i in range(6)
    ]
    june += [posting(i, posted_on="2026-06-05") for i in range(200, 202)]
    load("star", june)
    june_window = {"start": date(2026, 6, 1), "end": date(2026, 6, 30)}
    rested = new_round("R2", **june_window, rest_days_p_unit=90)
    result = draw_sample(rested, seed=1)
    assert result.excluded["P-unit in rest period"] == 6
    assert drawn_ids(rested) == {"p-200", "p-201"}
    db.session.execute(db.delete(Case).where(Case.round_id == rested.id))
    no_rest = new_round("R3", **june_window, rest_days_p_unit=0)
    assert draw_sample(no_rest, seed=1).drawn == 8


def test_more_than_one_case_per_company_is_refused(ctx):
    setup()
    load("star", [posting(i) for i in range(3)])
    with pytest.raises(DrawError, match="max_cases_per_company"):
        draw_sample(new_round("R1", max_cases_per_company=2), seed=1)
    with pytest.raises(DrawError, match="allocation"):
        draw_sample(new_round("R2", allocation="neyman"), seed=1)


def test_partner_quota_and_internal_job_orders(ctx):
    setup(partner=True)
    load("star", [posting(i) for i in range(10)])
    partner_rows = [posting(i) for i in range(100, 110)]
    partner_rows += [
        posting(i, kind="job_order", status="closed", internal="true", responsible_unit="Jobcenter")
        for i in range(110, 113)
    ]
    load("jobportalen", partner_rows)
    rnd = new_round("R1", partner_quotas={"jobportalen": 4})
    result = draw_sample(rnd, seed=5)
    assert result.drawn == 23
    assert dict(result.by_brand) == {"jobportalen": 4, "star": 19}
    all_cases = cases(rnd)
    assert len({c.company_id for c in all_cases}) == len(all_cases)  # one brand per company
    for case in all_cases:
        if case.brand.code == "jobportalen":
            assert case.posting.source.code == "jobportalen" and not case.posting.internal
        if case.posting.internal or case.posting.source.code == "star":
            assert case.brand.code == "star"
    assert rnd.settings["last_draw"]["by_brand"] == {"jobportalen": 4, "star": 19}


def login(client, email):
    staff_login(client, email, PASSWORD)  # then the second factor where the role needs one


@pytest.fixture
def sampled(ctx):
    setup(partner=True)
    load("star", [posting(i) for i in range(40)])
    load("jobportalen", [posting(i) for i in range(100, 110)])
    rnd = new_round("R1", partner_quotas={"jobportalen": 3})
    draw_sample(rnd, size=20, seed=1)
    add_user("admin@star.example", "admin", None, PASSWORD)
    add_user("agent@callcentre.example", "agent", None, PASSWORD)
    add_user("op@jobportalen.example", "partner_operator", "jobportalen", PASSWORD)
    db.session.commit()
    return rnd


def test_sample_page_and_csv_for_staff_only(app, sampled):
    admin = app.test_client()
    login(admin, "admin@star.example")
    r = admin.get("/staff/rounds/R1/sample")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for stratum in sampled.settings["last_draw"]["strata"]:
        assert stratum["stratum"] in html
    assert "jobportalen" in html and "/staff/rounds/R1/sample.csv" in html
    r = admin.get("/staff/rounds/R1/sample.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    body = r.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 20
    assert set(rows[0]) == {
        "case_id", "stratum", "selection_prob", "brand", "posting_source", "occupation_code",
        "rar_area",
    }  # fmt: skip
    assert Counter(r["brand"] for r in rows) == {"star": 17, "jobportalen": 3}
    assert "@" not in body and "+45" not in body and "Kontakt" not in body
    assert admin.get("/staff/rounds/NOPE/sample").status_code == 404
    for email in ("agent@callcentre.example", "op@jobportalen.example"):
        other = app.test_client()
        login(other, email)
        assert other.get("/staff/rounds/R1/sample").status_code == 403
        assert other.get("/staff/rounds/R1/sample.csv").status_code == 403
    assert app.test_client().get("/staff/rounds/R1/sample").status_code == 302
