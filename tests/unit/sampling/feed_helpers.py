"""Shared inputs of the feed tests: valid and invalid CVR numbers, a base row, file builders."""

import io

from survey_app.sampling.feed import iter_records

CVR_OK = "10150817"
CVR_OK_2 = "13585628"
CVR_BAD_CHECK = "10150818"

BASE = {
    "source": "jobnet",
    "source_posting_id": "A-1",
    "posted_on": "2024-03-01",
    "job_title": "Tømrer",
    "cvr": CVR_OK,
    "company_name": "Byg ApS",
    "municipality_code": "751",
}


def csv_bytes(rows, columns=None, delimiter=",", bom=False, newline="\n"):
    columns = columns or list(rows[0])
    lines = [delimiter.join(columns)]
    for row in rows:
        lines.append(delimiter.join(str(row.get(c, "")) for c in columns))
    text = newline.join(lines) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def run(data: bytes, fmt="auto", source="jobnet"):
    return list(iter_records(io.BytesIO(data), fmt, source=source))


def only(results):
    assert len(results) == 1, results
    return results[0]
