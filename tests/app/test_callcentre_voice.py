"""Click-to-call through Twilio Voice: the real client against the fake Twilio API, the TwiML the
app serves, signed status callbacks, the call on the attempt, and manual dialling without it."""

from __future__ import annotations

import re

import pytest
from twilio.request_validator import RequestValidator

from survey_app.core.db import db
from survey_app.demo import ROUND
from survey_app.followup.callcentre import calllist
from survey_app.followup.callcentre.models import CallAttempt, CallListItem
from survey_app.sampling.rounds import get_round

from .helpers import csrf_token, staff_login
from .messaging_fakes import AUTH_TOKEN, free_port
from .messaging_fixtures import twilio_fixture  # noqa: F401
from .test_callcentre import ALL_DAY

BASE = "http://survey.test"
AGENT = "agent@callcentre.example"
AGENT_PHONE = "+4570100001"
OUR_NUMBER = "+4570200002"
JSON = {"Accept": "application/json"}


@pytest.fixture
def voice(demo, twilio):
    """The demo round called around the clock, Voice set up for the demo agent."""
    rnd = get_round(ROUND)
    rnd.settings = {**rnd.settings, "calls": ALL_DAY}
    db.session.commit()
    calllist.build(rnd)
    db.session.commit()
    settings = {"TWILIO_VOICE_FROM": OUR_NUMBER, "TWILIO_AGENT_PHONES": {AGENT: AGENT_PHONE}}
    demo.config.update(settings)
    yield twilio
    for key in settings:
        demo.config.pop(key, None)


def agent_on_a_case(client) -> tuple[int, str]:
    staff_login(client, AGENT)
    client.get("/lang/en")
    html = client.get("/agent").get_data(as_text=True)
    r = client.post("/agent/next", data={"csrf_token": csrf_token(html)})
    case_id = int(r.location.rsplit("/", 1)[1])
    return case_id, client.get(f"/agent/case/{case_id}").get_data(as_text=True)


def signed(client, path: str, form: dict, token: str = AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(BASE + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def state(client, case_id: int) -> dict:
    r = client.get(f"/agent/case/{case_id}/call", headers=JSON)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.json


def test_agent_calls_twilio_bridges_and_the_page_follows_the_call(voice, client):
    case_id, html = agent_on_a_case(client)
    assert 'id="call-button"' in html and 'href="tel:' in html  # manual dialling stays
    assert state(client, case_id)["status"] is None

    # when Twilio is asked, the call is already on the attempt, committed
    engine, seen = db.engine, []

    def look(form):
        with engine.connect() as conn:
            seen.extend(
                conn.execute(
                    db.select(CallAttempt.call_status, CallAttempt.phone).where(
                        CallAttempt.case_id == case_id
                    )
                ).all()
            )

    voice.on_call = look
    r = client.post(
        f"/agent/case/{case_id}/call", data={"csrf_token": csrf_token(html)}, headers=JSON
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json["status"] == "queued" and r.json["label"] == "Calling your phone…"

    # the real client asked the fake Twilio for a call to the agent, from our number
    (posted,) = voice.calls
    attempt = db.session.scalars(db.select(CallAttempt).filter_by(case_id=case_id)).one()
    assert posted["To"] == AGENT_PHONE and posted["From"] == OUR_NUMBER
    assert seen == [("initiating", attempt.phone)]
    assert posted["Url"] == f"{BASE}/hooks/twilio/voice/twiml?a={attempt.id}"
    assert posted["StatusCallback"] == f"{BASE}/hooks/twilio/voice/status?a={attempt.id}"
    assert (attempt.call_sid, attempt.call_status) == (posted["sid"], "queued")
    assert attempt.outcome is None and attempt.ended_at is None
    assert attempt.phone.startswith("+45")
    sid = attempt.call_sid
    status_path = f"/hooks/twilio/voice/status?a={attempt.id}"
    company_path = status_path + "&leg=company"

    # Twilio rings the agent
    assert signed(client, status_path, {"CallSid": sid, "CallStatus": "ringing"}).status_code == 204
    assert state(client, case_id)["label"] == "Your phone is ringing: answer it"

    # the agent answers: Twilio fetches the TwiML, which dials the company from our number
    twiml_path = f"/hooks/twilio/voice/twiml?a={attempt.id}"
    r = signed(client, twiml_path, {"CallSid": sid, "CallStatus": "in-progress"})
    assert r.status_code == 200 and r.mimetype == "text/xml"
    xml = r.get_data(as_text=True)
    assert f'<Dial action="{BASE}/hooks/twilio/voice/dial?a={attempt.id}"' in xml
    assert f'callerId="{OUR_NUMBER}"' in xml
    assert re.search(rf">{re.escape(attempt.phone)}</Number>", xml)
    assert f'statusCallback="{BASE}{company_path.replace("&", "&amp;")}"' in xml
    signed(client, status_path, {"CallSid": sid, "CallStatus": "in-progress"})
    assert state(client, case_id)["label"] == "Connecting to the company…"
    child = {"CallSid": "CA" + "c" * 32, "ParentCallSid": sid}
    signed(client, company_path, {**child, "CallStatus": "ringing"})
    assert state(client, case_id)["label"] == "The company's phone is ringing"
    signed(client, company_path, {**child, "CallStatus": "in-progress"})
    assert state(client, case_id)["label"] == "Connected to the company"

    # a repeated, late "ringing" does not move the call back
    signed(client, status_path, {"CallSid": sid, "CallStatus": "ringing"})
    assert state(client, case_id)["status"] == "in-progress"

    # the company hangs up after 83 seconds, then the agent's leg ends
    r = signed(
        client,
        f"/hooks/twilio/voice/dial?a={attempt.id}",
        {"CallSid": sid, "DialCallStatus": "completed", "DialCallDuration": "83"},
    )
    assert r.status_code == 200 and "<Hangup" in r.get_data(as_text=True)
    signed(client, status_path, {"CallSid": sid, "CallStatus": "completed", "CallDuration": "95"})
    final = state(client, case_id)
    assert final["live"] is False and final["label"] == "Call ended after 1:23"
    # ... and a straggling "ringing" after the end changes nothing
    signed(client, status_path, {"CallSid": sid, "CallStatus": "ringing"})
    assert state(client, case_id)["status"] == "completed"

    # the agent records the outcome: the same attempt keeps the call's record
    page = client.get(f"/agent/case/{case_id}").get_data(as_text=True)
    assert "Call ended after 1:23" in page
    r = client.post(
        f"/agent/case/{case_id}/outcome",
        data={"csrf_token": csrf_token(page), "outcome": "no_answer"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    attempt = db.session.get(CallAttempt, attempt.id)
    assert attempt.outcome == "no_answer" and attempt.ended_at is not None
    assert (attempt.call_status, attempt.dial_status, attempt.call_duration) == (
        "completed",
        "completed",
        83,
    )


def test_webhooks_refuse_unsigned_and_foreign_requests(voice, client):
    case_id, html = agent_on_a_case(client)
    client.post(f"/agent/case/{case_id}/call", data={"csrf_token": csrf_token(html)}, headers=JSON)
    attempt = db.session.scalars(db.select(CallAttempt).filter_by(case_id=case_id)).one()
    form = {"CallSid": attempt.call_sid, "CallStatus": "completed"}
    path = f"/hooks/twilio/voice/status?a={attempt.id}"
    assert client.post(path, data=form).status_code == 403
    assert signed(client, path, form, token="not-our-token").status_code == 403
    for hook in ("twiml", "dial"):
        assert (
            client.post(f"/hooks/twilio/voice/{hook}?a={attempt.id}", data=form).status_code == 403
        )
    # a signed callback with another call's sid is not applied to this attempt
    assert signed(client, path, {**form, "CallSid": "CA" + "f" * 32}).status_code == 204
    # TwiML for an unknown attempt hangs up instead of dialling anyone
    r = signed(client, "/hooks/twilio/voice/twiml?a=999999", {"CallSid": "CA" + "e" * 32})
    assert "<Hangup" in r.get_data(as_text=True) and "<Dial" not in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CallAttempt, attempt.id).call_status == "queued"


def test_twilio_fault_is_recorded_on_the_attempt_and_blocks_a_second_call(voice, client, ctx):
    case_id, html = agent_on_a_case(client)
    ctx.config["TWILIO_API_BASE"] = f"http://127.0.0.1:{free_port()}"  # nobody listens
    try:
        r = client.post(
            f"/agent/case/{case_id}/call", data={"csrf_token": csrf_token(html)}, headers=JSON
        )
    finally:
        ctx.config["TWILIO_API_BASE"] = voice.url
    assert r.status_code == 502
    assert r.json["label"].startswith("The call could not be placed: Twilio unreachable")
    attempt = db.session.scalars(db.select(CallAttempt).filter_by(case_id=case_id)).one()
    assert attempt.call_status == "failed" and attempt.call_sid is None
    again = client.post(
        f"/agent/case/{case_id}/call", data={"csrf_token": csrf_token(html)}, headers=JSON
    )
    assert again.status_code == 409
    assert again.json["error"] == "Record the outcome of the last call first."
    assert voice.calls == []


def test_without_voice_settings_the_agent_dials_by_hand(demo, client):
    rnd = get_round(ROUND)
    rnd.settings = {**rnd.settings, "calls": ALL_DAY}
    db.session.commit()
    calllist.build(rnd)
    db.session.commit()
    case_id, html = agent_on_a_case(client)
    assert 'href="tel:' in html and 'id="call-button"' not in html
    r = client.post(f"/agent/case/{case_id}/call", data={"csrf_token": csrf_token(html)})
    assert r.status_code == 302 and r.location.endswith(f"/agent/case/{case_id}")
    page = client.get(r.location).get_data(as_text=True)
    assert "Calling through the browser is not set up: dial the number by hand." in page
    assert db.session.scalar(db.select(db.func.count(CallAttempt.id))) == 0


def test_the_call_state_of_a_case_the_agent_does_not_hold(voice, client):
    staff_login(client, AGENT)
    other = db.session.scalar(db.select(CallListItem.case_id).limit(1))
    assert client.get(f"/agent/case/{other}/call", headers=JSON).status_code == 409
    html = client.get("/agent").get_data(as_text=True)
    r = client.post(
        f"/agent/case/{other}/call", data={"csrf_token": csrf_token(html)}, headers=JSON
    )
    assert r.status_code == 409 and voice.calls == []


def test_an_agent_without_a_phone_is_rung_on_the_browser_client(voice, client, ctx):
    from survey_app.auth.models import User

    ctx.config["TWILIO_AGENT_PHONES"] = {}
    ctx.config["TWILIO_VOICE_CLIENT"] = True
    try:
        case_id, html = agent_on_a_case(client)
        r = client.post(
            f"/agent/case/{case_id}/call", data={"csrf_token": csrf_token(html)}, headers=JSON
        )
    finally:
        ctx.config.pop("TWILIO_VOICE_CLIENT")
    assert r.status_code == 200
    agent = db.session.scalar(db.select(User.id).filter_by(email=AGENT))
    assert voice.calls[0]["To"] == f"client:agent-{agent}"
