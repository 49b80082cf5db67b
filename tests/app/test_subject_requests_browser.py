"""An administrator finds a person by phone and erases them through the page, in Chromium."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from survey_app.core.db import db
from survey_app.demo import PASSWORD
from survey_app.questionnaire.models import Answer
from survey_app.sampling.models import Case

from .test_subject_requests import EMAIL, NAME, seed

pytestmark = pytest.mark.browser


def test_find_and_erase_a_person_in_chromium(app, demo, live_server, page):
    ids = seed()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server}/login")
    page.fill("#email", "admin@star.example")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{live_server}/login/enrol")
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#confirm")
    page.click("#continue")
    page.wait_for_url(f"{live_server}/staff")
    page.click("a[href='/staff/privacy/subjects']")

    page.check("input[name=kind][value=phone]")
    page.fill("#value", "+45 31 98 76 54")
    page.click("#find")
    expect(page.locator("#source-call_attempts")).to_be_visible()
    expect(page.locator("#source-posting_contacts")).to_be_visible()
    assert NAME in page.locator("#results").inner_text()
    assert page.url.removeprefix(live_server) == "/staff/privacy/subjects"  # no value in the URL

    # her e-mail address (from her posting) is offered, ticked, for the same erasure
    assert page.locator(f"#erase-also input[value='email:{EMAIL}']").is_checked()

    # erasure asks for confirmation first
    page.click("#erase")
    expect(page.locator("#request-error")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Case, ids["a"]).posting.contact_phone is not None

    page.check("#confirm-erase")
    page.click("#erase")
    expect(page.locator("#nothing")).to_be_visible()
    db.session.expire_all()
    posting = db.session.get(Case, ids["a"]).posting
    assert (posting.contact_name, posting.contact_email, posting.contact_phone) == (None,) * 3
    b = db.session.get(Case, ids["b"])
    values = {a.question_id: a.value for a in b.response.answers}
    assert values["outcome"] == "2" and values["comment"] is None
    assert db.session.scalar(db.select(Answer.value).filter_by(question_id="referral")) is None

    # her e-mail address was erased in the same request: it finds nothing either
    page.check("input[name=kind][value=email]")
    page.fill("#value", EMAIL)
    page.click("#find")
    expect(page.locator("#nothing")).to_be_visible()
    assert problems == []
