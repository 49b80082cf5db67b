"""On PostgreSQL a large file is validated in worker processes: the stored rows, the counts and
every row error (line number, field, value, reason) are those of the sequential path, for CSV
with quoted line breaks, blank lines, odd line separators and bad rows, and for JSON lines."""

from __future__ import annotations

import json

import pytest

from survey_app.core.db import db
from survey_app.partners.services import add_organisation, ensure_star
from survey_app.sampling import feed_parallel
from survey_app.sampling.importer import import_postings, row_errors

from .test_import_paths import feed, snapshot

pytestmark = pytest.mark.postgres_only


def tricky_csv() -> bytes:
    body = feed(1).decode("utf-8").replace("\n", "\r\n", 5)
    lines = body.splitlines(keepends=True)
    extra = [
        '"q-1",posting,,,,2026-05-02,,"Kok\nmed linjeskift",,12345674,,"Kantine\tApS",,461,,'
        ',"Navn \\\\ med backslash",q1@kantine.example,,\n',
        "\n",
        "q-2,posting,,,,2026-05-02,,Kok\u2028ny linje,,12345674,,Kantine ApS,,461,,,,,,\n",
        "q-3,posting,,,,2026-05-02,,Kok,,12345674,,Kantine ApS,,461\n",  # too few fields
        "q-4,posting,,,,2026-13-02,,Kok,,12345670,,Kantine ApS,,9999,,,,x@,+45 1,\n",
    ]
    return "".join(lines[:20] + extra + lines[20:]).encode("utf-8")


def tricky_jsonl() -> bytes:
    rows = [
        {"source_posting_id": f"j-{i}", "posted_on": "2026-05-03", "job_title": "Kok\ti køkken",
         "cvr": "12345674", "company_name": "Kantine ApS", "municipality_code": "461",
         "contact_email": f"k{i}@kantine.example"}
        for i in range(30)
    ]  # fmt: skip
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines[7] = "{not json"
    lines[9] = "[1, 2]"
    lines[11] = json.dumps({**rows[11], "cvr": "12345678", "positions": [1]})
    lines.insert(15, "")
    return ("\n".join(lines) + "\n").encode("utf-8")


def run(app, body: bytes, fmt: str, parallel: bool, tmp_path):
    from tests.conftest import _clean

    path = tmp_path / f"feed.{fmt}"
    path.write_bytes(body)  # workers only for files on disk
    _clean(app)
    if parallel:
        app.config.update(IMPORT_PARALLEL_BYTES=0, IMPORT_WORKERS=2)
    try:
        with app.app_context():
            ensure_star()
            partner = add_organisation("jobportalen", "Jobportalen")
            with path.open("rb") as fh:
                result = import_postings(fh, partner, "f", fmt, method="copy")
            db.session.commit()
            errors = [
                (e.row_number, e.field, e.value, e.reason) for e in row_errors(result.batch_id)
            ]
            counts = (result.total, result.inserted, result.updated, result.rejected)
            return snapshot(), counts, errors
    finally:
        app.config.pop("IMPORT_PARALLEL_BYTES", None)
        app.config.pop("IMPORT_WORKERS", None)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_workers_store_and_report_exactly_what_the_sequential_path_does(
    app, fmt, monkeypatch, tmp_path
):
    monkeypatch.setattr(feed_parallel, "BLOCK_ROWS", 7)  # many blocks, records across lines
    body = tricky_csv() if fmt == "csv" else tricky_jsonl()
    calls = []
    real = feed_parallel.validated_blocks
    monkeypatch.setattr(
        "survey_app.sampling.importer.validated_blocks",
        lambda *a: calls.append(a[-1]) or real(*a),
    )
    sequential = run(app, body, fmt, parallel=False, tmp_path=tmp_path)
    assert calls == []
    parallel = run(app, body, fmt, parallel=True, tmp_path=tmp_path)
    assert calls == [2]
    assert parallel == sequential
    _tables, counts, errors = parallel
    assert counts[3] >= 3 and len(errors) >= 3
    if fmt == "csv":
        assert parallel[0]["postings"][("jobportalen", "q-1")]["job_title"] == "Kok med linjeskift"
        assert {e[0] for e in errors} >= {25, 26}  # q-3 and q-4 after a two-line record


def test_a_decode_error_in_a_later_block_fails_the_whole_file(app, monkeypatch, tmp_path):
    monkeypatch.setattr(feed_parallel, "BLOCK_ROWS", 5)
    app.config.update(IMPORT_PARALLEL_BYTES=0, IMPORT_WORKERS=2)
    try:
        with app.app_context():
            ensure_star()
            partner = add_organisation("jobportalen", "Jobportalen")
            db.session.commit()
            body = feed(1) + b"p-x,posting,,,,2026-05-01,,Kok,,12345674,,\xff,,101,,,,,,\n"
            from survey_app.sampling.feed import FeedFormatError

            path = tmp_path / "f.csv"
            path.write_bytes(body)
            with pytest.raises(FeedFormatError, match="line 65"), path.open("rb") as fh:
                import_postings(fh, partner, "f.csv", "csv", method="copy")
            assert snapshot()["postings"] == {}
    finally:
        app.config.pop("IMPORT_PARALLEL_BYTES")
        app.config.pop("IMPORT_WORKERS")
