"""An administrator sets up the second factor and logs in with it, in headless Chromium."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from survey_app.auth.models import User
from survey_app.core.audit import AuditEvent
from survey_app.core.db import db
from survey_app.core.tokens import unseal
from survey_app.demo import PASSWORD

pytestmark = pytest.mark.browser


def watch(page) -> list[str]:
    """Script errors and policy violations (a refused code answers 400, which is not one)."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_totp_enrolment_and_login_in_chromium(demo, live_server, page):
    problems = watch(page)
    page.goto(f"{live_server}/staff/audit")
    assert page.url.startswith(f"{live_server}/login?next=")
    page.fill("#email", "admin@star.example")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{live_server}/login/enrol")
    expect(page.locator("img[src^='data:image/svg+xml']")).to_be_visible()  # the QR code
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    shown = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert shown == secret
    page.fill("#code", "000000")
    page.click("#confirm")
    expect(page.locator(".flash-error")).to_be_visible()
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#confirm")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(set(codes)) == 10
    expect(page.locator("#print-codes")).to_be_visible()  # the page's nonce'd script ran
    page.click("#continue")
    page.wait_for_url(f"{live_server}/staff/audit")  # back where the login started
    expect(page.locator("#events")).to_be_visible()
    assert "totp.enrolled" in page.locator("#events").inner_text()
    page.goto(f"{live_server}/staff")
    page.click("text=Log ud")
    page.wait_for_url(f"{live_server}/login")

    # The next login asks for the code after the password.
    db.session.expire_all()
    admin = db.session.scalars(db.select(User).filter_by(email="admin@star.example")).one()
    admin.totp_last_step = None  # the enrolment's code may still be the current one
    db.session.commit()
    page.fill("#email", "admin@star.example")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{live_server}/login/code")
    page.fill("#code", pyotp.TOTP(unseal(admin.totp_secret)).now())
    page.click("#verify")
    page.wait_for_url(f"{live_server}/staff")
    assert "admin@star.example" in page.locator("h1").inner_text()
    assert problems == []
    logins = db.session.scalars(
        db.select(AuditEvent).filter_by(action="user.login", object_id=str(admin.id))
    ).all()
    assert [e.details["method"] for e in logins] == ["totp enrolment", "totp"]
