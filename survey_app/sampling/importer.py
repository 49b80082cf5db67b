"""Importing a postings feed: stream, validate row by row, upsert in batches, report bad rows.

A file that cannot be read as a whole (binary, wrong encoding, no header) changes nothing: the
whole import runs in one transaction and is rolled back; the failed batch is recorded on its own.
Re-importing the same file is idempotent: postings are upserted on (source, source_posting_id).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from survey_app.core import audit
from survey_app.core.db import db, upsert, utcnow
from survey_app.partners.models import Organisation

from .feed import BadRow, FeedFormatError, check_file, iter_records
from .models import Company, ImportBatch, ImportRowError, Posting, ProductionUnit
from .quality import quality_score

CHUNK = 1000

POSTING_FIELDS = (
    "kind", "posted_on", "application_deadline", "job_title", "occupation_code",
    "occupation_source", "municipality_code", "rar_area", "positions", "long_running",
    "contact_name", "contact_email", "contact_phone", "url", "text", "close_reason",
    "responsible_unit", "responsible_unit_type", "internal",
)  # fmt: skip


@dataclass
class ImportResult:
    batch_id: int
    total: int
    inserted: int
    updated: int
    rejected: int


def _company_ids(records: list[dict]) -> dict[str, int]:
    by_cvr: dict[str, dict] = {}
    for r in records:
        by_cvr[r["cvr"]] = {
            "cvr": r["cvr"],
            "name": r["company_name"],
            "sole_proprietorship": bool(r.get("sole_proprietorship")),
            "industry_code": r.get("industry_code"),
            "sector": r.get("sector"),
        }
    upsert(
        Company,
        list(by_cvr.values()),
        ["cvr"],
        ["name", "sole_proprietorship", "industry_code", "sector"],
    )
    rows = db.session.execute(
        db.select(Company.cvr, Company.id).where(Company.cvr.in_(list(by_cvr)))
    )
    return dict(rows.all())


def _unit_ids(records: list[dict], companies: dict[str, int]) -> dict[str, int]:
    units = {
        r["p_number"]: {
            "p_number": r["p_number"],
            "company_id": companies[r["cvr"]],
            "municipality_code": r.get("municipality_code"),
        }
        for r in records
        if r.get("p_number")
    }
    if not units:
        return {}
    upsert(ProductionUnit, list(units.values()), ["p_number"], ["company_id", "municipality_code"])
    rows = db.session.execute(
        db.select(ProductionUnit.p_number, ProductionUnit.id).where(
            ProductionUnit.p_number.in_(list(units))
        )
    )
    return dict(rows.all())


def _store_chunk(source: Organisation, records: list[dict]) -> tuple[int, int]:
    # The last row for a posting id wins within a file, as it would across files.
    latest = {r["source_posting_id"]: r for r in records}
    records = list(latest.values())
    companies = _company_ids(records)
    units = _unit_ids(records, companies)
    existing = set(
        db.session.scalars(
            db.select(Posting.source_posting_id).where(
                Posting.source_id == source.id,
                Posting.source_posting_id.in_(list(latest)),
            )
        )
    )
    now = utcnow()
    rows = []
    for r in records:
        row = {f: r.get(f) for f in POSTING_FIELDS}
        row.update(
            source_id=source.id,
            source_posting_id=r["source_posting_id"],
            company_id=companies[r["cvr"]],
            production_unit_id=units.get(r.get("p_number") or ""),
            job_order_status=r.get("status"),
            quality=quality_score(r),
            internal=bool(r.get("internal")),
            long_running=bool(r.get("long_running")),
            imported_at=now,
            updated_at=now,
        )
        rows.append(row)
    update = [c for c in rows[0] if c not in ("source_id", "source_posting_id", "imported_at")]
    upsert(Posting, rows, ["source_id", "source_posting_id"], update)
    return len(records) - len(existing), len(existing)


def import_postings(
    fileobj: BinaryIO, source: Organisation, filename: str, fmt: str = "auto"
) -> ImportResult:
    """Import one feed file. Raises FeedFormatError (after recording a failed batch) if the
    file is unreadable as a whole; bad rows are stored as ImportRowError, good rows kept."""
    batch = ImportBatch(source_id=source.id, filename=Path(filename).name[:300], fmt=fmt)
    try:
        batch.fmt = check_file(fileobj, fmt)
        db.session.add(batch)
        db.session.flush()
        total = inserted = updated = rejected = 0
        chunk: list[dict] = []
        for result in iter_records(fileobj, batch.fmt, source=source.code):
            total += 1
            if isinstance(result, BadRow):
                rejected += 1
                db.session.add_all(
                    ImportRowError(
                        batch_id=batch.id,
                        row_number=result.row_number,
                        field=e.field,
                        value=None if e.value is None else str(e.value)[:500],
                        reason=e.reason[:300],
                    )
                    for e in result.errors
                )
                continue
            chunk.append(result.record)
            if len(chunk) >= CHUNK:
                i, u = _store_chunk(source, chunk)
                inserted, updated, chunk = inserted + i, updated + u, []
        if chunk:
            i, u = _store_chunk(source, chunk)
            inserted, updated = inserted + i, updated + u
    except FeedFormatError as exc:
        db.session.rollback()
        failed = ImportBatch(
            source_id=source.id,
            filename=Path(filename).name[:300],
            fmt=fmt,
            status="failed",
            error=exc.message,
            finished_at=utcnow(),
        )
        db.session.add(failed)
        db.session.commit()
        raise
    batch.rows_total, batch.rows_inserted = total, inserted
    batch.rows_updated, batch.rows_rejected = updated, rejected
    batch.status, batch.finished_at = "done", utcnow()
    audit.record(
        "postings.imported",
        "import_batch",
        batch.id,
        source=source.code,
        total=total,
        inserted=inserted,
        updated=updated,
        rejected=rejected,
    )
    return ImportResult(batch.id, total, inserted, updated, rejected)


def row_errors(batch_id: int):
    return db.session.scalars(
        db.select(ImportRowError)
        .filter_by(batch_id=batch_id)
        .order_by(ImportRowError.row_number, ImportRowError.id)
    )
