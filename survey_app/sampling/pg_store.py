"""Storing validated feed records on PostgreSQL: COPY into a staging table, then set-based upserts.

Validated records are copied (psycopg 3 ``cursor.copy``) in blocks into a temporary table of the
import; ``finish`` then upserts companies, P-units and postings each with one
``INSERT ... SELECT ... ON CONFLICT`` (the last row of a file wins for a posting id, a CVR or a
P-number, as on the executemany path used for SQLite), and records the posting ids it stored in a
second temporary table for the duplicate merge. Both tables live only in the import's transaction.

A large load (``bulk_rows`` staged rows or more, and at least half as many as the postings table
holds) drops the secondary indexes and foreign keys of ``postings`` and ``production_units``
inside the transaction, inserts, and builds them again from the models' definitions: one sort
per index and one join per foreign key instead of an index insertion and a trigger call per row.
Until the import commits, other sessions wait for these tables; a failed import rolls the drop
back with everything else.
"""

# The SQL below is assembled only from constant column names and the integer batch id.
# ruff: noqa: S608

from __future__ import annotations

from sqlalchemy.schema import AddConstraint, CreateIndex

from survey_app.core.db import db, utcnow

from .models import Posting, ProductionUnit

STAGE_COLUMNS = (
    ("ord", "bigint"), ("source_posting_id", "text"), ("cvr", "text"), ("company_name", "text"),
    ("sole_proprietorship", "boolean"), ("industry_code", "text"), ("sector", "text"),
    ("p_number", "text"), ("kind", "text"), ("posted_on", "date"),
    ("application_deadline", "date"), ("job_title", "text"), ("occupation_code", "text"),
    ("occupation_source", "text"), ("municipality_code", "text"), ("rar_area", "text"),
    ("positions", "integer"), ("long_running", "boolean"), ("contact_name", "text"),
    ("contact_email", "text"), ("contact_phone", "text"), ("url", "text"), ("text", "text"),
    ("close_reason", "text"), ("responsible_unit", "text"), ("responsible_unit_type", "text"),
    ("internal", "boolean"), ("job_order_status", "text"), ("quality", "integer"),
)  # fmt: skip
NAMES = tuple(name for name, _type in STAGE_COLUMNS)
# Posting columns taken from the staging table as they are.
POSTING_COPIED = (
    "kind", "posted_on", "application_deadline", "job_title", "occupation_code",
    "occupation_source", "municipality_code", "rar_area", "positions", "long_running",
    "contact_name", "contact_email", "contact_phone", "url", "text", "close_reason",
    "responsible_unit", "responsible_unit_type", "internal", "job_order_status", "quality",
)  # fmt: skip
BLOCK = 20_000
WORK_MEM = "64MB"
MAINTENANCE_WORK_MEM = "128MB"
#: staged rows from which a load may drop and rebuild the postings table's indexes
BULK_ROWS = 100_000
ANALYZE_ROWS = 10_000


def stage_row(order: int, record: dict, quality: int) -> tuple:
    """A validated record as a row of the staging table (``NAMES``); ``order`` grows through
    the file, so the last row for a posting id, a CVR or a P-number wins."""
    r = record
    return (
        order, r["source_posting_id"], r["cvr"], r["company_name"],
        bool(r.get("sole_proprietorship")), r.get("industry_code"), r.get("sector"),
        r.get("p_number"), r["kind"], r.get("posted_on"), r.get("application_deadline"),
        r["job_title"], r.get("occupation_code"), r.get("occupation_source"),
        r.get("municipality_code"), r.get("rar_area"), r.get("positions"),
        bool(r.get("long_running")), r.get("contact_name"), r.get("contact_email"),
        r.get("contact_phone"), r.get("url"), r.get("text"), r.get("close_reason"),
        r.get("responsible_unit"), r.get("responsible_unit_type"),
        bool(r.get("internal")), r.get("status"), quality,
    )  # fmt: skip


class PgStore:
    def __init__(self, source_id: int, batch_id: int, bulk_rows: int = BULK_ROWS) -> None:
        self.source_id = source_id
        self.bulk_rows = bulk_rows
        #: whether the last finish dropped and rebuilt the postings indexes
        self.bulk = False
        self.stage = f"feed_stage_{batch_id}"
        self.touched = f"feed_touched_{batch_id}"
        self.rows: list[tuple] = []
        self.count = 0
        cols = ", ".join(f"{name} {type_}" for name, type_ in STAGE_COLUMNS)
        self._exec(f"CREATE TEMPORARY TABLE {self.stage} ({cols}) ON COMMIT DROP")
        self._exec(
            f"CREATE TEMPORARY TABLE {self.touched} (posting_id integer PRIMARY KEY,"
            " inserted boolean NOT NULL) ON COMMIT DROP"
        )

    @staticmethod
    def _conn():
        return db.session.connection().connection.driver_connection

    def _exec(self, sql: str, params: dict | None = None):
        cur = self._conn().cursor()
        cur.execute(sql, params)
        return cur

    def add(self, record: dict, quality: int) -> None:
        self.count += 1
        self.rows.append(stage_row(self.count, record, quality))
        if len(self.rows) >= BLOCK:
            self.flush()

    def add_copy_data(self, data: bytes, rows: int) -> None:
        """Staged rows already in COPY text format (``stage_row`` values, in file order after
        the rows added so far)."""
        self.flush()
        if not rows:
            return
        self.count += rows
        cur = self._conn().cursor()
        with cur.copy(f"COPY {self.stage} ({', '.join(NAMES)}) FROM STDIN") as copy:
            copy.write(data)

    def flush(self) -> None:
        if not self.rows:
            return
        cur = self._conn().cursor()
        with cur.copy(f"COPY {self.stage} ({', '.join(NAMES)}) FROM STDIN") as copy:
            for row in self.rows:
                copy.write_row(row)
        self.rows = []

    def finish(self) -> tuple[int, int]:
        """Upsert everything staged; returns (inserted, updated) postings."""
        self.flush()
        if not self.count:
            return 0, 0
        stage = self.stage
        self._exec(f"ANALYZE {stage}")
        # The DISTINCT ON sorts below spill to disk with the default 4 MB on large files.
        self._exec(f"SET LOCAL work_mem = '{WORK_MEM}'")
        self.bulk = self._is_bulk()
        deferred = []
        if self.bulk:
            deferred = self._drop_indexes(ProductionUnit) + self._drop_indexes(Posting)
        self._exec(
            f"""
            INSERT INTO companies (cvr, name, sole_proprietorship, industry_code, sector)
            SELECT DISTINCT ON (cvr) cvr, company_name, sole_proprietorship, industry_code, sector
            FROM {stage} ORDER BY cvr, ord DESC
            ON CONFLICT (cvr) DO UPDATE SET name = EXCLUDED.name,
                sole_proprietorship = EXCLUDED.sole_proprietorship,
                industry_code = EXCLUDED.industry_code, sector = EXCLUDED.sector
            WHERE (companies.name, companies.sole_proprietorship, companies.industry_code,
                   companies.sector) IS DISTINCT FROM
                  (EXCLUDED.name, EXCLUDED.sole_proprietorship, EXCLUDED.industry_code,
                   EXCLUDED.sector)
            """
        )
        self._exec(
            f"""
            INSERT INTO production_units (p_number, company_id, municipality_code)
            SELECT DISTINCT ON (s.p_number) s.p_number, c.id, s.municipality_code
            FROM {stage} s JOIN companies c ON c.cvr = s.cvr
            WHERE s.p_number IS NOT NULL ORDER BY s.p_number, s.ord DESC
            ON CONFLICT (p_number) DO UPDATE SET company_id = EXCLUDED.company_id,
                municipality_code = EXCLUDED.municipality_code
            WHERE (production_units.company_id, production_units.municipality_code)
                  IS DISTINCT FROM (EXCLUDED.company_id, EXCLUDED.municipality_code)
            """
        )
        columns = ", ".join(POSTING_COPIED)
        selected = ", ".join(f"s.{c}" for c in POSTING_COPIED)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in POSTING_COPIED)
        now = utcnow()
        self._exec(
            f"""
            WITH up AS (
                INSERT INTO postings (source_id, source_posting_id, company_id,
                    production_unit_id, {columns}, imported_at, updated_at)
                SELECT DISTINCT ON (s.source_posting_id) %(source)s, s.source_posting_id, c.id,
                    u.id, {selected}, %(now)s, %(now)s
                FROM {stage} s
                JOIN companies c ON c.cvr = s.cvr
                LEFT JOIN production_units u ON u.p_number = s.p_number
                ORDER BY s.source_posting_id, s.ord DESC
                ON CONFLICT (source_id, source_posting_id) DO UPDATE SET
                    company_id = EXCLUDED.company_id,
                    production_unit_id = EXCLUDED.production_unit_id,
                    {updates}, updated_at = EXCLUDED.updated_at
                RETURNING id, xmax = 0 AS inserted
            )
            INSERT INTO {self.touched} (posting_id, inserted) SELECT id, inserted FROM up
            """,
            {"source": self.source_id, "now": now},
        )
        if deferred:
            self._rebuild(deferred)
        elif self.count >= ANALYZE_ROWS:
            self._exec("ANALYZE postings")  # the draw's plans need the new rows' statistics
        self._exec(f"ANALYZE {self.touched}")
        inserted, updated = self._exec(
            f"SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)"
            f" FROM {self.touched}"
        ).fetchone()
        self._exec(f"TRUNCATE {stage}")
        return inserted, updated

    def _is_bulk(self) -> bool:
        if not self.bulk_rows or self.count < self.bulk_rows:
            return False
        (estimate,) = self._exec(
            "SELECT reltuples FROM pg_class WHERE oid = 'postings'::regclass"
        ).fetchone()
        if estimate < 0:  # never analysed
            (estimate,) = self._exec("SELECT count(*) FROM postings").fetchone()
        return self.count * 2 >= estimate

    def _drop_indexes(self, model) -> list:
        """Drop the model's foreign keys and secondary indexes that exist; return the DDL that
        builds them again."""
        table = model.__table__
        present = {
            row[0]
            for row in self._exec(
                "SELECT indexname FROM pg_indexes WHERE tablename = %(t)s UNION SELECT conname"
                " FROM pg_constraint WHERE conrelid = CAST(%(t)s AS regclass)",
                {"t": table.name},
            ).fetchall()
        }
        keys = sorted((fk for fk in table.foreign_key_constraints if fk.name in present), key=_name)
        indexes = sorted((ix for ix in table.indexes if ix.name in present), key=_name)
        for fk in keys:
            self._exec(f'ALTER TABLE {table.name} DROP CONSTRAINT "{fk.name}"')
        for ix in indexes:
            self._exec(f'DROP INDEX "{ix.name}"')
        return [CreateIndex(ix) for ix in indexes] + [AddConstraint(fk) for fk in keys]

    def _rebuild(self, ddl: list) -> None:
        dialect = db.session.get_bind().dialect
        self._exec(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        for statement in ddl:
            self._exec(str(statement.compile(dialect=dialect)))
        self._exec("ANALYZE production_units")
        self._exec("ANALYZE postings")


def _name(item) -> str:
    return str(item.name)
