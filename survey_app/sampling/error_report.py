"""The row-numbered error report of an import batch as CSV: row, field, value, reason.

Cells are made formula-safe (``core.csvsafe``): a rejected value such as ``=HYPERLINK(...)``
comes back as text, never as a formula in the operator's spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from survey_app.core.csvsafe import safe_cell
from survey_app.core.db import db

from .models import ImportRowError

HEADER = ("row", "field", "value", "reason")
PAGE = 2000


def iter_errors(batch_id: int, limit: int | None = None) -> Iterator[ImportRowError]:
    """The batch's errors in row order, fetched page by page."""
    last = (0, 0)
    sent = 0
    while True:
        query = (
            db.select(ImportRowError)
            .where(
                ImportRowError.batch_id == batch_id,
                db.tuple_(ImportRowError.row_number, ImportRowError.id) > last,
            )
            .order_by(ImportRowError.row_number, ImportRowError.id)
            .limit(PAGE if limit is None else min(PAGE, limit - sent))
        )
        page = list(db.session.scalars(query))
        if not page:
            return
        yield from page
        sent += len(page)
        if limit is not None and sent >= limit:
            return
        last = (page[-1].row_number, page[-1].id)


def csv_rows(batch_id: int) -> Iterator[list[str]]:
    yield list(HEADER)
    for e in iter_errors(batch_id):
        yield [safe_cell(e.row_number), safe_cell(e.field), safe_cell(e.value), safe_cell(e.reason)]


def write_csv(batch_id: int, out) -> None:
    writer = csv.writer(out)
    for row in csv_rows(batch_id):
        writer.writerow(row)


def stream_csv(batch_id: int) -> Iterator[str]:
    """The report as CSV text in pieces (for a streamed download)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for n, row in enumerate(csv_rows(batch_id), start=1):
        writer.writerow(row)
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
