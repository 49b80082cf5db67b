"""Writing a drawn sample: one response (with its access token) and one case per chosen posting.

On PostgreSQL the ids of the responses are taken from their sequence in one statement and the
responses and cases are written with COPY (psycopg 3 ``cursor.copy``), two statements for the
whole sample; elsewhere, a multi-row INSERT ... RETURNING per batch. Columns left out get the
model's defaults in both ways (``_defaults``), so the rows are the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import insert

from survey_app.core.db import db
from survey_app.questionnaire.models import Response

from .models import Case

BATCH = 1000


def _defaults(table, given: Iterable[str]) -> dict:
    """The model-side defaults of the columns not given (scalars, and callables such as utcnow,
    evaluated once for the whole sample)."""
    out = {}
    given = set(given)
    for column in table.columns:
        default = column.default
        if column.name in given or column.primary_key or default is None:
            continue
        if default.is_scalar:
            out[column.name] = default.arg
        elif default.is_callable:
            out[column.name] = default.arg(None)
    return out


def _executemany(responses: list[dict], cases: list[dict]) -> None:
    for start in range(0, len(responses), BATCH):
        ids = db.session.scalars(
            insert(Response).returning(Response.id, sort_by_parameter_order=True),
            responses[start : start + BATCH],
        ).all()
        rows = cases[start : start + BATCH]
        db.session.execute(
            insert(Case), [{**case, "response_id": i} for case, i in zip(rows, ids, strict=True)]
        )


def _copy(cursor, table, rows: list[dict]) -> None:
    names = list(rows[0])
    extra = _defaults(table, names)
    names += list(extra)
    json_columns = {c.name for c in table.columns if isinstance(c.type, db.JSON)}
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    with cursor.copy(statement) as copy:
        for row in rows:
            values = [*row.values(), *extra.values()]
            copy.write_row(
                [
                    json.dumps(v) if n in json_columns else v
                    for n, v in zip(names, values, strict=True)
                ]
            )


def _copy_all(responses: list[dict], cases: list[dict]) -> None:
    conn = db.session.connection().connection.driver_connection
    cur = conn.cursor()
    cur.execute(
        "SELECT nextval(pg_get_serial_sequence('responses', 'id')) FROM generate_series(1, %s)",
        (len(responses),),
    )
    ids = [row[0] for row in cur.fetchall()]
    _copy(cur, Response.__table__, [{"id": i, **r} for i, r in zip(ids, responses, strict=True)])
    _copy(cur, Case.__table__, [{**c, "response_id": i} for c, i in zip(cases, ids, strict=True)])


def store_sample(responses: list[dict], cases: list[dict]) -> None:
    """Insert the responses and, pairwise, their cases (``response_id`` is filled in)."""
    if not responses:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.flush()
        _copy_all(responses, cases)
    else:
        _executemany(responses, cases)
