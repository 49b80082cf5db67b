"""On PostgreSQL the COPY path (staging table, set-based upserts) and the executemany path store
exactly the same companies, P-units and postings for the same file, re-deliveries included."""

from __future__ import annotations

import io

import pytest

from survey_app.core.db import db
from survey_app.partners.services import add_organisation, ensure_star
from survey_app.sampling.importer import import_postings
from survey_app.sampling.models import Company, Posting, ProductionUnit

from .helpers import cvr

pytestmark = pytest.mark.postgres_only

HEADER = (
    "source_posting_id,kind,status,responsible_unit,internal,posted_on,application_deadline,"
    "job_title,occupation_code,cvr,p_number,company_name,sector,municipality_code,positions,"
    "long_running,contact_name,contact_email,contact_phone,url"
)


def feed(version: int) -> bytes:
    lines = [HEADER]
    for i in range(60):
        company = i % 25  # several postings per company and per P-unit
        name = f"Firma {company} v{version if company % 3 == 0 else 0}"
        email = f"k{i}@firma{company}.example" if i % 7 else ""
        phone = f"+45 20 12 {i:04d}" if i % 5 else ""
        lines.append(
            f"p-{i},posting,,,,2026-05-{1 + i % 28:02d},,Tømrer {i % 4},"
            f"{'' if i % 6 == 0 else '7125'},{cvr(company)},"
            f"{'' if i % 4 == 0 else 4000000000 + company},{name},privat,101,{1 + i % 3},,"
            f"Kontakt {i},{email},{phone},https://job.example/{i}"
        )
    lines += [
        "jo-1,jobordre,lukket,Jobcenter Odense,ja,,,Kok,,12345674,,Kantine ApS,,461,,ja,,,,",
        "p-3,posting,,,,2026-05-20,2026-06-01,Tømrer sidste version,,"
        f"{cvr(3)},,Firma 3 sidst,,101,1,,,sidst@firma3.example,,",  # a posting id twice
        "p-bad,posting,,,,2026-05-01,,Kok,,12345678,,X,,101,,,,x@y.example,,",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def snapshot() -> dict:
    companies = {
        c.id: c.cvr
        for c in db.session.scalars(db.select(Company).execution_options(populate_existing=True))
    }
    units = {u.id: u.p_number for u in db.session.scalars(db.select(ProductionUnit))}
    skip = {"id", "company_id", "production_unit_id", "source_id", "imported_at", "updated_at"}
    postings = {}
    for p in db.session.scalars(db.select(Posting).execution_options(populate_existing=True)):
        row = {c.name: getattr(p, c.key) for c in Posting.__table__.columns if c.name not in skip}
        row["cvr"] = companies[p.company_id]
        row["p_number"] = units.get(p.production_unit_id)
        postings[(p.source.code, p.source_posting_id)] = row
    return {
        "companies": sorted(
            (c.cvr, c.name, c.sole_proprietorship, c.industry_code, c.sector)
            for c in db.session.scalars(db.select(Company))
        ),
        "units": sorted(
            (u.p_number, companies[u.company_id], u.municipality_code)
            for u in db.session.scalars(db.select(ProductionUnit))
        ),
        "postings": postings,
    }


def run(method: str) -> tuple[dict, list]:
    ensure_star()
    partner = add_organisation("jobportalen", "Jobportalen")
    results = []
    for version in (1, 2):
        result = import_postings(io.BytesIO(feed(version)), partner, "f.csv", "csv", method=method)
        results.append(
            (result.total, result.inserted, result.updated, result.rejected, result.duplicates)
        )
    db.session.commit()
    return snapshot(), results


def test_copy_and_executemany_store_identical_tables(app):
    from tests.conftest import _clean

    with app.app_context():
        copied, copy_counts = run("copy")
    _clean(app)
    with app.app_context():
        executed, many_counts = run("executemany")
    assert copy_counts == many_counts
    assert copy_counts[0][:4] == (63, 61, 0, 1) and copy_counts[1][:4] == (63, 0, 61, 1)
    assert copied == executed
    assert copied["postings"][("jobportalen", "p-3")]["job_title"] == "Tømrer sidste version"
    order = copied["postings"][("jobportalen", "jo-1")]
    assert (order["kind"], order["job_order_status"], order["internal"]) == (
        "job_order",
        "closed",
        True,
    )
