"""Postings feed: whole-file problems (FeedFormatError) and streaming."""

import io
import tracemalloc

import pytest

from survey_app.sampling.feed import (
    HEAD_BYTES,
    FeedFormatError,
    GoodRow,
    check_file,
    iter_records,
)

from .feed_helpers import BASE, CVR_BAD_CHECK, CVR_OK, csv_bytes, run

# --- whole-file problems ---------------------------------------------------------------------


def error_of(data: bytes, fmt="auto") -> str:
    with pytest.raises(FeedFormatError) as check:
        check_file(io.BytesIO(data), fmt)
    with pytest.raises(FeedFormatError) as streaming:
        run(data, fmt)
    assert check.value.message == streaming.value.message
    return check.value.message


def test_empty_file():
    assert error_of(b"") == "the file is empty"
    assert error_of(b"\xef\xbb\xbf\n\n  \n") == "the file is empty"


def test_binary_file():
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    assert error_of(data).startswith("the file looks binary")


def test_latin1_file_names_the_line_and_byte():
    plain = dict(BASE, job_title="Smed")
    rows = [plain, dict(plain, company_name="Bøgh og Søn")]
    data = csv_bytes(rows).decode().encode("latin-1")
    message = error_of(data)
    # line 3 is "jobnet,A-1,2024-03-01,Smed,10150817,Bøgh og Søn,751": the ø is byte 38
    assert message.startswith("the file is not valid UTF-8: line 3, byte 38 of that line")
    assert "0xF8" in message
    assert "Latin-1" in message


def test_missing_required_columns_are_named():
    cols = [c for c in BASE if c not in ("cvr", "company_name")]
    message = error_of(csv_bytes([BASE], columns=cols))
    assert message == "the header is missing required columns: cvr, company_name"
    one = [c for c in BASE if c != "posted_on"]
    assert error_of(csv_bytes([BASE], columns=one)) == (
        "the header is missing required column: posted_on"
    )


def test_posted_on_column_optional_when_kind_column_present():
    cols = ["kind", *(c for c in BASE if c != "posted_on")]
    row = dict(BASE, kind="job_order")
    assert check_file(io.BytesIO(csv_bytes([row], columns=cols)), "csv") == "csv"


def test_missing_header_row():
    data = csv_bytes([BASE])
    headless = data.split(b"\n", 1)[1]
    assert error_of(headless).startswith("the file has no header row")


def test_repeated_header_column():
    assert error_of(b"cvr,job_title,cvr\n") == "the header names column 'cvr' more than once"


def test_jsonl_that_is_not_json():
    assert error_of(b"{broken\n", "jsonl").startswith("the file is not JSON lines")
    assert error_of(b'"a string"\n', "jsonl") == (
        "the file is not JSON lines: the first line is not a JSON object"
    )


def test_check_file_restores_the_position():
    data = b"junk-prefix\n" + csv_bytes([BASE])
    stream = io.BytesIO(data)
    stream.seek(12)
    assert check_file(stream, "csv") == "csv"
    assert stream.tell() == 12
    assert stream.read() == data[12:]


def test_unknown_fmt_is_a_programming_error():
    with pytest.raises(ValueError):
        iter_records(io.BytesIO(b""), "xml")


def test_bad_byte_mid_file_raises_naming_the_line_after_good_rows():
    rows = [dict(BASE, source_posting_id=str(i), text="y" * 100) for i in range(1000)]
    data = csv_bytes(rows)
    assert len(data) > HEAD_BYTES  # the head check cannot see the bad byte
    lines = data.split(b"\n")
    lines[900] = lines[900].replace(b"Byg ApS", b"Byg \xe6pS")  # file line 901
    data = b"\n".join(lines)
    check_file(io.BytesIO(data), "csv")
    seen = []
    with pytest.raises(FeedFormatError) as exc:
        for result in iter_records(io.BytesIO(data), "csv", source="jobnet"):
            seen.append(result.row_number)
    assert seen == list(range(2, 901))
    assert exc.value.message.startswith("the file is not valid UTF-8: line 901, byte ")


def test_nul_byte_mid_file():
    rows = [dict(BASE, source_posting_id=str(i), text="y" * 100) for i in range(1000)]
    lines = csv_bytes(rows).split(b"\n")
    lines[950] += b"\x00"
    with pytest.raises(FeedFormatError, match="line 951 contains a NUL byte"):
        run(b"\n".join(lines), "csv")


# --- streaming ---------------------------------------------------------------------------------


class GeneratedFeed(io.RawIOBase):
    """A non-seekable byte stream produced by a generator; counts the bytes handed out."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._pending = b""
        self.bytes_read = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        while len(self._pending) < len(buffer):
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending += chunk
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self.bytes_read += n
        return n


def test_generated_stream_is_consumed_lazily():
    rows = (f"{i},2024-03-01,Tømrer,{CVR_OK},Firma {i},101\n".encode() for i in range(200_000))
    cols = [c for c in BASE if c != "source"]
    header = ",".join(cols).encode() + b"\n"
    raw = GeneratedFeed(_chain(header, rows))
    results = iter_records(io.BufferedReader(raw), "csv", source="jobnet")
    first = next(results)
    assert isinstance(first, GoodRow)
    assert raw.bytes_read < 64 * 1024  # only the first buffer has been read


def _chain(first, rest):
    yield first
    yield from rest


def test_large_file_streams_in_small_memory(tmp_path):
    rows_total = 200_000
    path = tmp_path / "big.csv"
    cols = [c for c in BASE if c != "source"]
    with path.open("wb") as out:
        out.write(",".join(cols).encode() + b"\n")
        for i in range(rows_total):
            cvr = CVR_OK if i % 1000 else CVR_BAD_CHECK
            out.write(f"{i},2024-03-01,Tømrer,{cvr},Firma {i},101\n".encode())
    size = path.stat().st_size
    assert size > 8_000_000

    good = bad = 0
    traced_rows = 40_000  # traced prefix: any up-front load or per-row growth shows here
    with path.open("rb") as stream:
        results = iter_records(stream, "csv", source="jobnet")
        tracemalloc.start()
        try:
            for result in results:
                if isinstance(result, GoodRow):
                    good += 1
                else:
                    bad += 1
                if good + bad == traced_rows:
                    break
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        for result in results:  # the rest, untraced, to keep the test fast
            if isinstance(result, GoodRow):
                good += 1
            else:
                bad += 1
    assert (good, bad) == (rows_total - 200, 200)
    assert peak < 2_000_000, peak  # the file is > 8 MB; 40k records held would be far more
