"""Streaming parser for the postings feed (CSV or JSON lines, UTF-8).

* ``check_file(fileobj, fmt)`` inspects the head of a binary, seekable file and raises
  ``FeedFormatError`` for problems that make the whole file unusable (empty, binary, not UTF-8,
  no header, missing required columns). It seeks back to where it started.
* ``iter_records(fileobj, fmt, source=...)`` yields one ``GoodRow`` or ``BadRow`` per data row,
  reading the file line by line (never the whole file). Row numbers are physical line numbers:
  for CSV the header is line 1 and a row with quoted newlines is numbered by its first line.
  A decode error further down the file raises ``FeedFormatError`` naming the line.

Field rules are in ``feed_fields.parse_record``; the record keys are ``RECORD_KEYS``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from survey_app.sampling.feed_fast import compile_plan, parse_csv_row
from survey_app.sampling.feed_fields import (
    KNOWN_COLUMNS,
    RECORD_KEYS,
    FieldError,
    has_usable_contact,
    is_partner_visible,
    parse_record,
)

__all__ = [
    "KNOWN_COLUMNS",
    "RECORD_KEYS",
    "REQUIRED_COLUMNS",
    "BadRow",
    "FeedFormatError",
    "FieldError",
    "GoodRow",
    "RowResult",
    "check_file",
    "has_usable_contact",
    "is_partner_visible",
    "iter_records",
    "parse_record",
]

FORMATS = ("csv", "jsonl", "auto")
HEAD_BYTES = 64 * 1024
BOM = b"\xef\xbb\xbf"
# Columns a CSV header must name. posted_on is also required unless the file has a `kind`
# column (job orders may omit the date).
REQUIRED_COLUMNS = ("source_posting_id", "job_title", "cvr", "company_name")


class FeedFormatError(ValueError):
    """The file as a whole cannot be read; ``message`` says why, in plain English."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        #: the failed ImportBatch recorded for it, once the importer has stored one
        self.batch_id: int | None = None


@dataclass(frozen=True, slots=True)
class GoodRow:
    row_number: int
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadRow:
    row_number: int
    errors: list[FieldError]
    raw: dict[str, Any] = field(default_factory=dict)


RowResult = GoodRow | BadRow


# --- head inspection ---------------------------------------------------------------------


def _norm_key(key: object) -> str:
    return str(key).strip().lstrip("\ufeff").strip().casefold().replace(" ", "_").replace("-", "_")


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _resolve_fmt(fmt: str, first_text: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    if fmt != "auto":
        return fmt
    return "jsonl" if first_text.lstrip().startswith("{") else "csv"


def _check_header(columns: list[str]) -> None:
    names = [_norm_key(c) for c in columns]
    if not any(n in KNOWN_COLUMNS for n in names):
        shown = ", ".join(repr(c) for c in columns[:5])
        raise FeedFormatError(
            "the file has no header row: line 1 should name the columns (e.g. source_posting_id,"
            f" job_title, cvr, company_name) but starts with {shown}"
        )
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise FeedFormatError(f"the header names column '{n}' more than once")
        seen.add(n)
    required = list(REQUIRED_COLUMNS) + ([] if "kind" in seen else ["posted_on"])
    missing = [c for c in required if c not in seen]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise FeedFormatError(
            f"the header is missing required column{plural}: {', '.join(missing)}"
        )


def _decode_error(data: bytes, exc: UnicodeDecodeError, line_no: int | None = None) -> str:
    bad = data[exc.start]
    if line_no is None:  # position within a block of lines
        line_no = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    else:
        col = exc.start + 1
    return (
        f"the file is not valid UTF-8: line {line_no}, byte {col} of that line is 0x{bad:02X}"
        " (the file may be Latin-1/Windows-1252; save it as UTF-8)"
    )


def check_file(fileobj: BinaryIO, fmt: str = "auto") -> str:
    """Check the head of the file; return the resolved format ("csv" or "jsonl").

    Raises FeedFormatError with one clear message. The stream position is restored.
    """
    start = fileobj.tell()
    try:
        head = fileobj.read(HEAD_BYTES)
    finally:
        fileobj.seek(start)
    if not isinstance(head, bytes):
        raise TypeError("check_file needs a binary file object (open the file with 'rb')")
    body = head[len(BOM) :] if head.startswith(BOM) else head
    if not body.strip():
        raise FeedFormatError("the file is empty")
    nul = head.find(b"\x00")
    if nul >= 0:
        line = head.count(b"\n", 0, nul) + 1
        raise FeedFormatError(
            f"the file looks binary, not CSV or JSON lines text: it contains a NUL byte"
            f" (line {line}, file offset {nul})"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        truncated = len(head) == HEAD_BYTES and exc.reason == "unexpected end of data"
        if not truncated:
            raise FeedFormatError(_decode_error(body, exc)) from None
        text = body[: exc.start].decode("utf-8")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    resolved = _resolve_fmt(fmt, first)
    if resolved == "csv":
        lines = text.splitlines(keepends=True)
        if len(head) == HEAD_BYTES and lines:
            lines = lines[:-1] or lines  # the last line may be cut off
        rows = csv.reader(lines, delimiter=_sniff_delimiter(first))
        header = next((r for r in rows if any(c.strip() for c in r)), [])
        _check_header(header)
    else:
        try:
            obj = json.loads(first)
        except json.JSONDecodeError as exc:
            raise FeedFormatError(
                f"the file is not JSON lines: the first line is not valid JSON ({exc.msg})"
            ) from None
        if not isinstance(obj, dict):
            raise FeedFormatError("the file is not JSON lines: the first line is not a JSON object")
    return resolved


# --- streaming -----------------------------------------------------------------------------


def _lines(fileobj: BinaryIO) -> Iterator[tuple[int, str]]:
    """(line number, decoded line) for each physical line, decoding strictly one line at a time."""
    for number, raw in enumerate(fileobj, start=1):
        if not isinstance(raw, bytes):
            raise TypeError("iter_records needs a binary file object (open the file with 'rb')")
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        if b"\x00" in raw:
            raise FeedFormatError(f"line {number} contains a NUL byte: the file looks binary")
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FeedFormatError(_decode_error(raw, exc, number)) from None


def _row_result(row_number: int, raw: dict[str, Any], source: str | None) -> RowResult:
    record, errors = parse_record(raw, source=source)
    if errors:
        return BadRow(row_number, errors, raw)
    return GoodRow(row_number, record)


def _iter_csv(first: tuple[int, str], rest: Iterator[tuple[int, str]], source: str | None):
    delimiter = _sniff_delimiter(first[1])
    last_line = first[0] - 1  # lines before the header were blank

    def texts() -> Iterator[str]:
        yield first[1]
        for _, text in rest:
            yield text

    reader = csv.reader(texts(), delimiter=delimiter)
    try:
        header = next(reader)
        _check_header(header)
        columns = [_norm_key(c) for c in header]
        last_line += reader.line_num
        yield from csv_rows(reader, columns, first[0] - 1, last_line, source)
    except csv.Error as exc:
        raise FeedFormatError(
            f"line {first[0] - 1 + reader.line_num}: the CSV cannot be parsed ({exc})"
        ) from None


def csv_rows(
    reader, columns: list[str], base: int, last_line: int, source: str | None
) -> Iterator[RowResult]:
    """The results of the records ``reader`` yields; ``base`` is the line number before the
    reader's first line and ``last_line`` the line the previous record ended on."""
    plan = compile_plan(columns)
    width = len(columns)
    for row in reader:
        row_number, last_line = last_line + 1, base + reader.line_num
        if len(row) == width:
            record = parse_csv_row(row, plan, source)  # the common case, else parse_record
            if record is not None:
                yield GoodRow(row_number, record)
                continue
        if not any(cell.strip() for cell in row):
            continue
        raw = dict(zip(columns, row, strict=False))
        if len(row) != width:
            reason = f"the row has {len(row)} fields but the header has {width}"
            yield BadRow(row_number, [FieldError("_row", None, reason)], raw)
            continue
        yield _row_result(row_number, raw, source)


def _iter_jsonl(lines: Iterable[tuple[int, str]], source: str | None) -> Iterator[RowResult]:
    for number, text in lines:
        text = text.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            reason = f"the line is not valid JSON: {exc.msg} at column {exc.colno}"
            yield BadRow(number, [FieldError("_line", text[:80], reason)], {})
            continue
        if not isinstance(obj, dict):
            reason = f"the line is a JSON {type(obj).__name__}, not an object"
            yield BadRow(number, [FieldError("_line", text[:80], reason)], {})
            continue
        yield _row_result(number, {_norm_key(k): v for k, v in obj.items()}, source)


def iter_records(
    fileobj: BinaryIO, fmt: str = "auto", source: str | None = None
) -> Iterator[RowResult]:
    """Yield a GoodRow or BadRow for every data row of the feed, streaming.

    ``source`` is the expected feed source: a row whose ``source`` differs gets a FieldError,
    and rows without one get it filled in.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    return _iter_records(fileobj, fmt, source)


def open_feed(fileobj: BinaryIO, fmt: str):
    """Check the file, find its first non-blank line and its format: ``(kind, first, lines)``
    with ``kind`` "csv" or "jsonl", ``first`` the (line number, text) of that line and ``lines``
    the rest of the numbered lines, still unread."""
    if fileobj.seekable():
        fmt = check_file(fileobj, fmt)
    lines = _lines(fileobj)
    first = None
    for number, text in lines:
        if text.strip():
            first = (number, text)
            break
    if first is None:
        raise FeedFormatError("the file is empty")
    return _resolve_fmt(fmt, first[1]), first, lines


def _iter_records(fileobj: BinaryIO, fmt: str, source: str | None) -> Iterator[RowResult]:
    kind, first, lines = open_feed(fileobj, fmt)
    if kind == "csv":
        yield from _iter_csv(first, lines, source)
    else:
        yield from _iter_jsonl(_chain(first, lines), source)


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]):
    yield first
    yield from rest
