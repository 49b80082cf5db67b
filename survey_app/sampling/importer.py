"""Importing a postings feed: stream, validate row by row, upsert in batches, report bad rows.

A file that cannot be read as a whole (binary, wrong encoding, no header) changes nothing: the
whole import runs in one transaction and is rolled back; the failed batch is recorded on its own.
Re-importing the same file is idempotent: postings are upserted on (source, source_posting_id).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import insert

from survey_app.core import audit
from survey_app.core.db import db, upsert, utcnow
from survey_app.partners.models import Organisation

from .duplicates import Touched, merge_duplicates
from .feed import BadRow, FeedFormatError, check_file, iter_records
from .feed_parallel import file_size, validated_blocks
from .models import Company, ImportBatch, ImportRowError, Posting, ProductionUnit
from .pg_store import BULK_ROWS, PgStore
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
    duplicates: int = 0

    @property
    def accepted(self) -> int:
        return self.total - self.rejected


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


def _store_chunk(source: Organisation, records: list[dict]) -> tuple[int, int, list[int]]:
    # The last row for a posting id wins within a file, as it would across files.
    latest = {r["source_posting_id"]: r for r in records}
    # Companies and P-units take the values of the last row that names them, in file order.
    companies = _company_ids(records)
    units = _unit_ids(records, companies)
    records = list(latest.values())
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
    ids = list(
        db.session.scalars(
            db.select(Posting.id).where(
                Posting.source_id == source.id, Posting.source_posting_id.in_(list(latest))
            )
        )
    )
    return len(records) - len(existing), len(existing), ids


class _ChunkStore:
    """executemany upserts in chunks of CHUNK records (SQLite, and PostgreSQL when asked)."""

    def __init__(self, source: Organisation) -> None:
        self.source, self.chunk, self.ids = source, [], []
        self.inserted = self.updated = 0

    def add(self, record: dict) -> None:
        self.chunk.append(record)
        if len(self.chunk) >= CHUNK:
            self._store()

    def _store(self) -> None:
        if self.chunk:
            i, u, ids = _store_chunk(self.source, self.chunk)
            self.inserted, self.updated, self.chunk = self.inserted + i, self.updated + u, []
            self.ids.extend(ids)

    def finish(self) -> tuple[int, int, Touched]:
        self._store()
        return self.inserted, self.updated, Touched(ids=sorted(set(self.ids)))


class _CopyStore:
    """COPY into a staging table and set-based upserts (PostgreSQL)."""

    def __init__(self, source: Organisation, batch_id: int) -> None:
        bulk_rows = int(current_app.config.get("IMPORT_BULK_ROWS", BULK_ROWS))
        self.pg = PgStore(source.id, batch_id, bulk_rows)

    def add(self, record: dict) -> None:
        self.pg.add(record, quality_score(record))

    def finish(self) -> tuple[int, int, Touched]:
        inserted, updated = self.pg.finish()
        return inserted, updated, Touched(table=self.pg.touched)


def _store_for(source: Organisation, batch_id: int, method: str):
    if method == "auto":
        dialect = db.session.get_bind().dialect.name
        method = "copy" if dialect == "postgresql" else "executemany"
    if method == "copy":
        return _CopyStore(source, batch_id)
    return _ChunkStore(source)


def _default_workers() -> int:
    # Measured on a shared 2-core machine, worker processes were slower than validating in the
    # importing process (they compete with it and PostgreSQL for the same cores); from 3 cores on
    # they take the field rules off the importing process.
    cpus = os.cpu_count() or 1
    return 0 if cpus <= 2 else min(4, cpus - 1)


def _workers(fileobj: BinaryIO, store, channel: str) -> int:
    """Worker processes for validating this file: only for files on disk imported from the
    command line on the COPY path; none below ``IMPORT_PARALLEL_BYTES`` (default 8 MB);
    ``IMPORT_WORKERS`` of them (0 switches them off; default ``_default_workers``)."""
    if not isinstance(store, _CopyStore) or channel != "cli":
        return 0
    size = file_size(fileobj)
    if size is None or size < int(current_app.config.get("IMPORT_PARALLEL_BYTES", 8 << 20)):
        return 0
    return max(0, int(current_app.config.get("IMPORT_WORKERS", _default_workers())))


def _error_rows(batch_id: int, bad: BadRow) -> list[dict]:
    return [
        {
            "batch_id": batch_id,
            "row_number": bad.row_number,
            "field": e.field[:64],
            "value": None if e.value is None else str(e.value)[:500],
            "reason": e.reason[:300],
        }
        for e in bad.errors
    ]


def import_postings(
    fileobj: BinaryIO,
    source: Organisation,
    filename: str,
    fmt: str = "auto",
    channel: str = "cli",
    method: str = "auto",
) -> ImportResult:
    """Import one feed file. Raises FeedFormatError (after recording a failed batch) if the
    file is unreadable as a whole; bad rows are stored as ImportRowError, good rows kept.

    ``method``: "copy" (PostgreSQL only), "executemany", or "auto" (COPY on PostgreSQL)."""
    batch = ImportBatch(
        source_id=source.id, filename=Path(filename).name[:300], fmt=fmt, channel=channel
    )
    try:
        batch.fmt = check_file(fileobj, fmt)
        db.session.add(batch)
        db.session.flush()
        store = _store_for(source, batch.id, method)
        total = rejected = 0
        errors: list[dict] = []

        def reject(bad: BadRow) -> None:
            nonlocal errors
            errors.extend(_error_rows(batch.id, bad))
            if len(errors) >= CHUNK:
                db.session.execute(insert(ImportRowError), errors)
                errors = []

        workers = _workers(fileobj, store, channel)
        if workers:
            for block in validated_blocks(fileobj, batch.fmt, source.code, workers):
                total += block.good + len(block.bad)
                rejected += len(block.bad)
                for bad in block.bad:
                    reject(bad)
                store.pg.add_copy_data(block.copy_data, block.good)
        else:
            for result in iter_records(fileobj, batch.fmt, source=source.code):
                total += 1
                if isinstance(result, BadRow):
                    rejected += 1
                    reject(result)
                    continue
                store.add(result.record)
        if errors:
            db.session.execute(insert(ImportRowError), errors)
        inserted, updated, touched = store.finish()
        duplicates = merge_duplicates(touched)
    except FeedFormatError as exc:
        db.session.rollback()
        failed = ImportBatch(
            source_id=source.id,
            filename=Path(filename).name[:300],
            fmt=fmt,
            channel=channel,
            status="failed",
            error=exc.message,
            finished_at=utcnow(),
        )
        db.session.add(failed)
        db.session.commit()
        exc.batch_id = failed.id
        raise
    batch.rows_total, batch.rows_inserted = total, inserted
    batch.rows_updated, batch.rows_rejected = updated, rejected
    batch.rows_duplicates = duplicates
    batch.status, batch.finished_at = "done", utcnow()
    audit.record(
        "postings.imported",
        "import_batch",
        batch.id,
        source=source.code,
        channel=channel,
        total=total,
        inserted=inserted,
        updated=updated,
        rejected=rejected,
        duplicates=duplicates,
    )
    return ImportResult(batch.id, total, inserted, updated, rejected, duplicates)


def row_errors(batch_id: int):
    return db.session.scalars(
        db.select(ImportRowError)
        .filter_by(batch_id=batch_id)
        .order_by(ImportRowError.row_number, ImportRowError.id)
    )
