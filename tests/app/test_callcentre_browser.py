"""An agent's day in headless Chromium: keyboard only, a call-back, a phone interview; the
supervisor's charts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from survey_app.core.db import db, utcnow
from survey_app.demo import PASSWORD, ROUND
from survey_app.followup.callcentre import calllist
from survey_app.followup.callcentre.models import Appointment, CallAttempt
from survey_app.questionnaire.models import Answer, Response
from survey_app.sampling.models import Case
from survey_app.sampling.rounds import get_round

from .helpers import answer_not_filled_in_browser
from .test_callcentre import ALL_DAY

pytestmark = pytest.mark.browser


def login(page, live_server, email):
    page.goto(f"{live_server}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")


def test_agent_works_by_keyboard(demo, live_server, page):
    rnd = get_round(ROUND)
    rnd.settings = {**rnd.settings, "calls": ALL_DAY}
    db.session.commit()
    calllist.build(rnd)
    db.session.commit()

    login(page, live_server, "agent@callcentre.example")
    page.goto(f"{live_server}/agent")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).not_to_be_visible()
    page.keyboard.press("n")
    page.wait_for_url("**/agent/case/*")
    first = int(page.url.rsplit("/", 1)[1])
    assert page.locator("a.tel").get_attribute("href").startswith("tel:+45")

    # call back tomorrow at 10:00: the shortcut asks for the day first
    page.keyboard.press("6")
    assert page.evaluate("document.activeElement.id") == "callback_date"
    tomorrow = calllist.to_local(utcnow(), "Europe/Copenhagen").date() + timedelta(days=1)
    page.locator("#callback_date").fill(tomorrow.isoformat())
    page.locator("#callback_time").fill("10:00")
    page.locator("#callback_time").press("Escape")
    page.keyboard.press("6")
    page.wait_for_url(f"{live_server}/agent")
    appt = db.session.scalar(db.select(Appointment).filter_by(case_id=first))
    assert calllist.to_local(appt.due_at, "Europe/Copenhagen").strftime("%H:%M") == "10:00"

    # the next case in one keystroke, then the interview
    page.keyboard.press("n")
    page.wait_for_url("**/agent/case/*")
    second = int(page.url.rsplit("/", 1)[1])
    assert second != first
    page.keyboard.press("9")
    page.get_by_role("button", name="Start undersøgelsen").click()
    page.get_by_label("Ja").check()
    page.get_by_role("button", name="Gem og fortsæt").click()
    page.get_by_label("Afsluttet", exact=False).check()
    page.get_by_role("button", name="Gem og fortsæt").click()
    answer_not_filled_in_browser(page, "Svar givet i telefonen")
    page.get_by_role("button", name="Send dine svar").click()
    page.wait_for_url("**/survey/done")
    expect(page.locator("#next-case")).to_be_visible()

    case = db.session.get(Case, second, populate_existing=True)
    response = db.session.get(Response, case.response_id, populate_existing=True)
    assert response.status == "completed" and response.mode == "phone"
    assert case.status == "responded"
    modes = set(db.session.scalars(db.select(Answer.mode).filter_by(response_id=response.id)))
    assert modes == {"phone"}
    outcome = db.session.scalar(db.select(CallAttempt.outcome).filter_by(case_id=second))
    assert outcome == "completed"


def test_supervisor_dashboard_charts(demo, live_server, page):
    login(page, live_server, "supervisor@callcentre.example")
    page.goto(f"{live_server}/staff/callcentre")
    assert page.get_by_role("heading", name="Kaldecenter-overblik").is_visible() or (
        page.get_by_role("heading", name="Call centre dashboard").is_visible()
    )
    assert page.locator("svg[role=img]").count() >= 8
    assert page.locator("#chart-dispositions rect.bar").count() >= 1
    box = page.locator("#chart-dispositions rect.bar").first.bounding_box()
    assert box and box["width"] > 100  # drawn, not an empty frame
