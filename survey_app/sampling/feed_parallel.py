"""Validating a large feed file in worker processes (PostgreSQL's COPY path).

The importing process reads the file as ``feed.iter_records`` does — line by line, decoding
strictly, with the CSV reader finding where each record ends — and cuts it into blocks of whole
records, each with the number of its first line. Worker processes (``spawn``, so they share
nothing with the importer's database connections) run the same field rules on a block
(``feed.csv_rows`` and ``feed._iter_jsonl`` with ``feed_fields.parse_record``) and return the
good rows already in PostgreSQL's COPY text format for the staging table, with the bad rows and
their errors. Blocks come back in file order, and at most ``2 x workers`` are in flight, so memory
stays bounded whatever the file's size. Row numbers, errors and stored values are those of the
sequential path (a test compares the two).
"""

from __future__ import annotations

import csv
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from typing import BinaryIO

from .feed import (
    BadRow,
    FeedFormatError,
    GoodRow,
    _check_header,
    _iter_jsonl,
    _norm_key,
    _sniff_delimiter,
    csv_rows,
    open_feed,
)
from .pg_store import stage_row
from .quality import quality_score

BLOCK_ROWS = 5000


@dataclass(frozen=True, slots=True)
class Block:
    fmt: str
    first_line: int
    text: str
    delimiter: str = ","
    columns: tuple[str, ...] = ()


@dataclass(slots=True)
class Validated:
    #: the good rows as COPY text lines for the staging table (``pg_store.NAMES``)
    copy_data: bytes
    good: int
    bad: list[BadRow]


def file_size(fileobj: BinaryIO) -> int | None:
    try:
        return os.fstat(fileobj.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None


# --- in the importing process: cutting the file into blocks -------------------------------------


def blocks(fileobj: BinaryIO, fmt: str, rows: int | None = None) -> Iterator[Block]:
    rows = rows or BLOCK_ROWS
    kind, first, lines = open_feed(fileobj, fmt)
    if kind == "csv":
        yield from _csv_blocks(first, lines, rows)
    else:
        yield from _jsonl_blocks(first, lines, rows)


def _csv_blocks(first: tuple[int, str], rest, rows: int) -> Iterator[Block]:
    delimiter = _sniff_delimiter(first[1])
    base = first[0] - 1
    held: list[str] = []

    def texts() -> Iterator[str]:
        yield first[1]
        for _, text in rest:
            held.append(text)
            yield text

    reader = csv.reader(texts(), delimiter=delimiter)
    try:
        header = next(reader)
        _check_header(header)
        columns = tuple(_norm_key(c) for c in header)
        held.clear()
        start, count = base + reader.line_num + 1, 0
        # The reader asks for a line only when it needs one, so after each record the held
        # lines are exactly the records read so far.
        for _row in reader:
            count += 1
            if count >= rows:
                yield Block("csv", start, "".join(held), delimiter, columns)
                held.clear()
                start, count = base + reader.line_num + 1, 0
    except csv.Error as exc:
        raise FeedFormatError(
            f"line {base + reader.line_num}: the CSV cannot be parsed ({exc})"
        ) from None
    if held:
        yield Block("csv", start, "".join(held), delimiter, columns)


def _jsonl_blocks(first: tuple[int, str], rest, rows: int) -> Iterator[Block]:
    start, held = first[0], [first[1]]
    for number, text in rest:
        if len(held) >= rows:
            yield Block("jsonl", start, "".join(held))
            start, held = number, []
        held.append(text)
    yield Block("jsonl", start, "".join(held))


# --- in a worker process ------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def validate_block(block: Block, source: str | None) -> Validated:
    # Lines end at "\n" only, as when the file is read (str.splitlines also splits at "\x0c",
    # "\u2028" and others, which may stand inside a field).
    parts = block.text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    if block.fmt == "csv":
        reader = csv.reader(lines, delimiter=block.delimiter)
        base = block.first_line - 1
        results = csv_rows(reader, list(block.columns), base, base, source)
    else:
        results = _iter_jsonl(enumerate(lines, start=block.first_line), source)
    out: list[str] = []
    bad: list[BadRow] = []
    for result in results:
        if isinstance(result, GoodRow):
            record = result.record
            row = stage_row(result.row_number, record, quality_score(record))
            out.append("\t".join(map(_copy_value, row)))
        else:
            bad.append(BadRow(result.row_number, result.errors))
    data = ("\n".join(out) + "\n").encode("utf-8") if out else b""
    return Validated(data, len(out), bad)


# --- the pool ---------------------------------------------------------------------------------


def validated_blocks(
    fileobj: BinaryIO, fmt: str, source: str | None, workers: int
) -> Iterator[Validated]:
    """The file's blocks validated by ``workers`` processes, in file order."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        pending: deque[Future] = deque()
        try:
            for block in blocks(fileobj, fmt):
                pending.append(pool.submit(validate_block, block, source))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
