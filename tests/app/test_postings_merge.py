"""Duplicates across sources are merged during the import (the best record stays in the frame),
and job orders arrive as the second record kind: status, responsible unit, only closed ones drawn,
internal ones never under a partner's brand or in a partner's export."""

from __future__ import annotations

import csv
import io

from survey_app.auth.services import add_user
from survey_app.core.db import db
from survey_app.partners.services import add_organisation, require_organisation
from survey_app.sampling.draw import draw_sample
from survey_app.sampling.importer import import_postings
from survey_app.sampling.models import ImportBatch, Posting

from .helpers import cvr, staff_login
from .test_sampling_draw import COLUMNS, PASSWORD, cases, new_round, posting, setup


def deliver(source: str, rows: list[dict]):
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    result = import_postings(
        io.BytesIO(out.getvalue().encode("utf-8")), require_organisation(source), "f.csv", "csv"
    )
    assert result.rejected == 0
    db.session.flush()
    return result


def marks() -> dict[tuple[str, str], tuple[str, str] | None]:
    """(source, posting id) -> the (source, posting id) it is a duplicate of, or None."""
    by_id = {
        p.id: (p.source.code, p.source_posting_id) for p in db.session.scalars(db.select(Posting))
    }
    return {
        by_id[p.id]: by_id.get(p.duplicate_of_id)
        for p in db.session.scalars(db.select(Posting).execution_options(populate_existing=True))
    }


def test_jobnet_and_partner_copy_of_one_job_are_merged_and_the_best_is_kept(ctx):
    setup(partner=True)
    add_organisation("karrierenet", "KarriereNet")
    # Jobnet (STAR's source): no P-number, no contact name -> lower quality
    jobnet = deliver("star", [posting(1, p_number="", contact_name="", job_title="Tømrer")])
    assert jobnet.duplicates == 0
    partner = deliver(
        "jobportalen",
        [
            posting(1, job_title="Tømrer (m/k)", posted_on="2026-05-13"),
            # the same company, but another job: not a duplicate
            posting(2, cvr=cvr(1), p_number="", job_title="Sygeplejerske"),
            # the same job title, but posted 30 days later: not a duplicate
            posting(3, cvr=cvr(1), p_number="", posted_on="2026-06-09", job_title="Tømrer"),
        ],
    )
    assert partner.duplicates == 1
    assert db.session.get(ImportBatch, partner.batch_id).rows_duplicates == 1
    m = marks()
    assert m[("star", "p-1")] == ("jobportalen", "p-1")
    assert m[("jobportalen", "p-1")] is None
    assert m[("jobportalen", "p-2")] is None and m[("jobportalen", "p-3")] is None

    # A third copy as good as the best one, posted earlier, takes over; old marks are re-pointed.
    deliver("karrierenet", [posting(1, job_title="Tømrer", posted_on="2026-05-11")])
    m = marks()
    # jobportalen and karrierenet have the same score; the earlier posted one (05-11) wins
    assert m[("karrierenet", "p-1")] is None
    assert m[("jobportalen", "p-1")] == ("karrierenet", "p-1")
    assert m[("star", "p-1")] == ("karrierenet", "p-1")

    # The draw leaves the merged copies out: one case for the job, from the best copy.
    rnd = new_round("R1")
    result = draw_sample(rnd, seed=3)
    drawn = {(c.posting.source.code, c.posting.source_posting_id) for c in cases(rnd)}
    assert ("star", "p-1") not in drawn and ("jobportalen", "p-1") not in drawn
    assert result.frame == 2  # karrierenet p-1 and jobportalen p-2 (p-3 is after the window)
    assert len(drawn) == 1  # one company, one case


def test_a_worse_redelivery_hands_the_job_back_and_one_source_is_never_merged(ctx):
    setup(partner=True)
    deliver("star", [posting(1, p_number="", contact_name="")])
    deliver("jobportalen", [posting(1)])
    assert marks()[("star", "p-1")] == ("jobportalen", "p-1")
    # the partner re-delivers its posting without contact data: STAR's copy is now the best
    again = deliver(
        "jobportalen", [posting(1, contact_email="", contact_phone="", contact_name="")]
    )
    assert again.duplicates == 1 and again.updated == 1
    m = marks()
    assert m[("jobportalen", "p-1")] == ("star", "p-1") and m[("star", "p-1")] is None
    # re-delivering the same file again changes nothing
    deliver("jobportalen", [posting(1, contact_email="", contact_phone="", contact_name="")])
    assert marks() == m
    # two postings of one source for the same title and company are two vacancies
    deliver("star", [posting(5), posting(6, cvr=cvr(5), p_number=str(4000000005))])
    m = marks()
    assert m[("star", "p-5")] is None and m[("star", "p-6")] is None
    # another P-unit of the same company is another workplace
    deliver("jobportalen", [posting(7, p_number="4000000099", cvr=cvr(5))])
    assert marks()[("jobportalen", "p-7")] is None


def test_job_orders_import_with_status_and_unit_and_only_closed_ones_are_drawn(ctx):
    setup(partner=True)
    orders = [
        posting(1, kind="jobordre", status="åben", responsible_unit="Jobcenter Aarhus"),
        posting(2, kind="job_order", status="midlertidig inaktiv", responsible_unit="3F A-kasse"),
        posting(3, kind="job_order", status="lukket", responsible_unit="Jobcenter Odense"),
        posting(
            4,
            kind="job_order",
            status="closed",
            internal="ja",
            responsible_unit="Jobcenter Odense",
        ),
    ]
    deliver("star", orders)
    stored = {
        p.source_posting_id: p
        for p in db.session.scalars(db.select(Posting).filter_by(kind="job_order"))
    }
    assert {k: p.job_order_status for k, p in stored.items()} == {
        "p-1": "open",
        "p-2": "temporarily_inactive",
        "p-3": "closed",
        "p-4": "closed",
    }
    assert stored["p-2"].responsible_unit_type == "a_kasse"
    assert stored["p-3"].responsible_unit == "Jobcenter Odense"
    assert stored["p-3"].responsible_unit_type == "jobcentre"
    assert stored["p-4"].internal and not stored["p-3"].internal
    deliver("jobportalen", [posting(i) for i in range(10, 16)])

    rnd = new_round("R1", partner_quotas={"jobportalen": 100})
    result = draw_sample(rnd, seed=1)
    drawn = {(c.posting.source.code, c.posting.source_posting_id): c for c in cases(rnd)}
    assert result.frame == 8  # the 2 closed job orders and the 6 partner postings
    assert ("star", "p-1") not in drawn and ("star", "p-2") not in drawn
    assert drawn[("star", "p-4")].brand.code == "star"
    assert drawn[("star", "p-3")].brand.code == "star"
    assert {c.brand.code for k, c in drawn.items() if k[0] == "jobportalen"} == {"jobportalen"}

    # The partner's operator exports the round: its own cases only, no internal job order.
    add_user("op@jobportalen.example", "partner_operator", "jobportalen", PASSWORD)
    db.session.commit()
    client = ctx.test_client()
    staff_login(client, "op@jobportalen.example", PASSWORD)
    r = client.get("/staff/rounds/R1/export.csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    exported = {int(row["case_id"]) for row in rows}
    assert exported == {c.id for k, c in drawn.items() if k[0] == "jobportalen"}
    assert drawn[("star", "p-4")].id not in exported
    assert client.get("/staff/rounds/R1/sample").status_code == 403
    # nor does its import list show STAR's batches
    page = client.get("/staff/imports").get_data(as_text=True)
    batch_ids = dict(
        db.session.execute(
            db.select(ImportBatch.source_id, db.func.max(ImportBatch.id)).group_by(
                ImportBatch.source_id
            )
        ).all()
    )
    star_batch = batch_ids[require_organisation("star").id]
    portal_batch = batch_ids[require_organisation("jobportalen").id]
    assert f'href="/staff/imports/{portal_batch}"' in page
    assert f'href="/staff/imports/{star_batch}"' not in page
