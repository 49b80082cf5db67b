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


def staff_login(client, email: str, password: str | None = None):
    """Log a staff user in through the real pages, second factor included.

    On the first login of an administrator or partner operator the key is read from the
    enrolment page; later logins compute the code from the stored secret. The replay guard
    (last accepted time step) is cleared first so a test can log the same user in repeatedly.
    Needs an app context (the ``ctx`` or ``demo`` fixture). Returns the last response.
    """
    import pyotp

    from survey_app.auth.models import User
    from survey_app.core.db import db
    from survey_app.core.tokens import unseal
    from survey_app.demo import PASSWORD

    html = client.get("/login").get_data(as_text=True)
    r = client.post(
        "/login",
        data={"email": email, "password": password or PASSWORD, "csrf_token": csrf_token(html)},
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    if r.location.endswith("/login/enrol"):
        html = client.get("/login/enrol").get_data(as_text=True)
        secret = re.search(r'data-secret="([A-Z2-7]+)"', html).group(1)
        r = client.post(
            "/login/enrol",
            data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(html)},
        )
        assert r.status_code == 200 and "recovery-codes" in r.get_data(as_text=True)
    elif r.location.endswith("/login/code"):
        db.session.expire_all()
        user = db.session.scalars(db.select(User).filter_by(email=email.lower())).one()
        user.totp_last_step = None
        db.session.commit()
        html = client.get("/login/code").get_data(as_text=True)
        code = pyotp.TOTP(unseal(user.totp_secret)).now()
        r = client.post("/login/code", data={"code": code, "csrf_token": csrf_token(html)})
        assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    return r


def answer_not_filled_in_browser(where, comment: str) -> None:
    """In a Playwright page or frame at the outcome page, in Danish: the position was not filled
    (1 position, 0 applicants), the first reason, channel and job-order answer, then ``comment``;
    it ends by saving the comment page."""
    save = where.get_by_role("button", name="Gem og fortsæt")
    where.get_by_label("Nej, stillingen blev ikke besat", exact=False).check()
    where.locator("#positions").fill("1")
    save.click()
    where.locator("#applicants").fill("0")
    save.click()
    where.locator("input[name=unfilled_reason]").first.check()
    save.click()
    where.locator("input[name=channels]").first.check()
    where.locator("input[name=job_order]").first.check()
    save.click()
    where.locator("#comment").fill(comment)
    save.click()
