"""In headless Chromium: the agent presses Call and the page follows the call as Twilio reports."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect
from twilio.request_validator import RequestValidator

from survey_app.core.db import db
from survey_app.demo import ROUND
from survey_app.followup.callcentre import calllist
from survey_app.followup.callcentre.models import CallAttempt
from survey_app.sampling.rounds import get_round

from .messaging_fakes import AUTH_TOKEN
from .messaging_fixtures import twilio_fixture  # noqa: F401
from .test_callcentre import ALL_DAY
from .test_callcentre_browser import login

pytestmark = pytest.mark.browser

BASE = "http://survey.test"


def twilio_says(live_server: str, path: str, form: dict) -> None:
    """A signed callback as Twilio sends it (signed over the public BASE_URL)."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE + path, form)
    r = requests.post(
        live_server + path, data=form, headers={"X-Twilio-Signature": signature}, timeout=5
    )
    assert r.status_code in (200, 204), r.text


def test_agent_presses_call_and_sees_the_call_progress(demo, twilio, live_server, page):
    rnd = get_round(ROUND)
    rnd.settings = {**rnd.settings, "calls": ALL_DAY}
    db.session.commit()
    calllist.build(rnd)
    db.session.commit()
    settings = {
        "TWILIO_VOICE_FROM": "+4570200002",
        "TWILIO_AGENT_PHONES": {"agent@callcentre.example": "+4570100001"},
    }
    demo.config.update(settings)
    try:
        login(page, live_server, "agent@callcentre.example")
        page.goto(f"{live_server}/agent")
        page.keyboard.press("n")
        page.wait_for_url("**/agent/case/*")
        case_id = int(page.url.rsplit("/", 1)[1])
        state = page.locator("#call-state")
        page.locator("#call-button").click()
        expect(state).to_have_attribute("data-status", "queued")
        expect(page.locator("#call-button")).to_be_disabled()
        first_label = state.inner_text()
        assert first_label
        assert len(twilio.calls) == 1 and twilio.calls[0]["To"] == "+4570100001"

        attempt = db.session.scalars(db.select(CallAttempt).filter_by(case_id=case_id)).one()
        status = f"/hooks/twilio/voice/status?a={attempt.id}"
        sid = attempt.call_sid
        twilio_says(live_server, status, {"CallSid": sid, "CallStatus": "ringing"})
        expect(state).to_have_attribute("data-status", "ringing")
        assert state.inner_text() != first_label
        twilio_says(live_server, status, {"CallSid": sid, "CallStatus": "in-progress"})
        twilio_says(
            live_server,
            status + "&leg=company",
            {"CallSid": "CA" + "c" * 32, "ParentCallSid": sid, "CallStatus": "in-progress"},
        )
        expect(state).to_have_attribute("data-status", "in-progress")
        twilio_says(
            live_server,
            f"/hooks/twilio/voice/dial?a={attempt.id}",
            {"CallSid": sid, "DialCallStatus": "completed", "DialCallDuration": "65"},
        )
        twilio_says(
            live_server, status, {"CallSid": sid, "CallStatus": "completed", "CallDuration": "70"}
        )
        expect(state).to_have_attribute("data-status", "completed")
        expect(state).to_contain_text("1:05")

        # the outcome is still recorded with the usual key
        page.keyboard.press("1")
        page.wait_for_url(f"{live_server}/agent")
        db.session.expire_all()
        attempt = db.session.get(CallAttempt, attempt.id)
        assert (attempt.outcome, attempt.call_status, attempt.call_duration) == (
            "no_answer",
            "completed",
            65,
        )
    finally:
        for key in settings:
            demo.config.pop(key, None)
