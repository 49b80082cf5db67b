"""Shared test helpers: feed files with valid CVR numbers, a respondent walking the survey."""

from __future__ import annotations

import re

WEIGHTS = (2, 7, 6, 5, 4, 3, 2)


def cvr(seed: int) -> str:
    """A valid CVR number (modulus 11) derived from ``seed``."""
    n = 1000000 + seed * 7919 % 8999999
    while True:
        digits = [int(c) for c in str(n)[:7]]
        check = (-sum(w * d for w, d in zip(WEIGHTS, digits, strict=True))) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)
        n += 1


HEADER = (
    "source,source_posting_id,posted_on,job_title,cvr,p_number,company_name,"
    "municipality_code,positions,contact_name,contact_email,contact_phone"
)


def feed_csv(source: str, rows: int, start: int = 0, posted_on: str = "2026-05-10") -> bytes:
    lines = [HEADER]
    for i in range(start, start + rows):
        lines.append(
            f"{source},{source}-{i},{posted_on},Tømrer,{cvr(i)},{4000000000 + i},Firma {i} ApS,"
            f"101,1,Kontakt {i},kontakt{i}@firma{i}.example,+452012{i:04d}"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


# The answers of a "recruited with another profile" respondent, page by page.
OTHER_PROFILE_PATH = [
    ("role", {"respondent_role": "yes"}),
    ("status", {"recruitment_status": "1"}),
    ("outcome", {"outcome": "2", "positions": "3", "positions_filled": "2"}),
    ("applicants", {"applicants": "12", "qualified_applicants": "4"}),
    ("reasons", {"profile_gap": ["1"]}),
    ("channels", {"channels": ["1", "3"], "job_order": "2"}),
    ("comment", {"comment": "Svært at finde folk"}),
]


def answer_survey(client, token: str, path=OTHER_PROFILE_PATH, submit: bool = True) -> None:
    """Walk the survey through the test client, with real CSRF tokens from each page."""
    r = client.get(f"/s/{token}")
    assert r.status_code == 302 and r.location.endswith("/survey")
    html = client.get("/survey").get_data(as_text=True)
    r = client.post("/survey/start", data={"csrf_token": csrf_token(html)})
    assert r.status_code == 302
    for page_id, data in path:
        html = client.get(f"/survey/p/{page_id}").get_data(as_text=True)
        r = client.post(f"/survey/p/{page_id}", data={**data, "csrf_token": csrf_token(html)})
        assert r.status_code == 302, (page_id, r.get_data(as_text=True)[:2000])
    if submit:
        html = client.get("/survey/review").get_data(as_text=True)
        r = client.post("/survey/submit", data={"csrf_token": csrf_token(html)})
        assert r.status_code == 302 and r.location.endswith("/survey/done")
