"""Recovery of click-to-call calls whose status callbacks were lost: the real client fetches the
call from the fake Twilio API once it has been quiet for too long, and its status is applied the
way a status callback is (forward only, the duration once)."""

from __future__ import annotations

import logging
from datetime import timedelta

from survey_app.core import periodic
from survey_app.core.db import db, utcnow
from survey_app.followup.callcentre import jobs
from survey_app.followup.callcentre.models import CallAttempt
from survey_app.followup.callcentre.voice_recovery import recover

from .helpers import csrf_token
from .messaging_fixtures import twilio_fixture  # noqa: F401
from .test_callcentre_voice import JSON, agent_on_a_case, signed, state, voice  # noqa: F401

STALE = timedelta(seconds=601)  # past the default of 600 s


def place_call(client) -> tuple[int, CallAttempt]:
    case_id, html = agent_on_a_case(client)
    r = client.post(
        f"/agent/case/{case_id}/call", data={"csrf_token": csrf_token(html)}, headers=JSON
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    attempt = db.session.scalars(db.select(CallAttempt).filter_by(case_id=case_id)).one()
    assert attempt.call_status == "queued" and attempt.call_sid
    return case_id, attempt


def reload(attempt_id: int) -> CallAttempt:
    db.session.expire_all()
    return db.session.get(CallAttempt, attempt_id)


def test_the_recovery_is_a_periodic_job(ctx):
    names = {p.name: p for p in periodic.registered()}
    job = names["voice-calls-recover"]
    assert job.job_id == "periodic-voice-calls-recover" and job.every_seconds == 300
    assert job.func_path == "survey_app.followup.callcentre.jobs.recover_voice_calls"


def test_a_call_whose_callbacks_were_lost_is_recovered_once_stale(voice, client):  # noqa: F811
    case_id, attempt = place_call(client)
    sid = attempt.call_sid
    signed(
        client,
        f"/hooks/twilio/voice/status?a={attempt.id}",
        {"CallSid": sid, "CallStatus": "ringing"},
    )
    # the other callbacks never came; Twilio knows the call ended after 95 seconds
    voice.call_status[sid], voice.call_duration[sid] = "completed", 95

    # not yet stale: Twilio is not asked
    assert recover() == {"checked": 0, "moved": 0, "failed": 0}
    assert recover(utcnow() + timedelta(seconds=590)) == {"checked": 0, "moved": 0, "failed": 0}
    assert voice.fetched == [] and reload(attempt.id).call_status == "ringing"

    assert recover(utcnow() + STALE) == {"checked": 1, "moved": 1, "failed": 0}
    assert voice.fetched == [sid]
    done = reload(attempt.id)
    assert (done.call_status, done.call_duration) == ("completed", 95)
    assert done.outcome is None and done.ended_at is None  # the agent still records the outcome
    page = state(client, case_id)
    assert page["live"] is False and page["label"] == "Call ended after 1:35"

    # a repeat run finds nothing to do and changes nothing
    updated = done.call_updated_at
    assert recover(utcnow() + 2 * STALE) == {"checked": 0, "moved": 0, "failed": 0}
    assert voice.fetched == [sid]
    again = reload(attempt.id)
    assert (again.call_status, again.call_duration, again.call_updated_at) == (
        "completed",
        95,
        updated,
    )

    # late real callbacks change nothing: the status only moves forward, the duration stays
    path = f"/hooks/twilio/voice/status?a={attempt.id}"
    assert signed(client, path, {"CallSid": sid, "CallStatus": "in-progress"}).status_code == 204
    assert (
        signed(
            client, path, {"CallSid": sid, "CallStatus": "completed", "CallDuration": "97"}
        ).status_code
        == 204
    )
    late = reload(attempt.id)
    assert (late.call_status, late.call_duration) == ("completed", 95)


def test_the_periodic_job_recovers_a_call_left_live_too_long(voice, client, ctx):  # noqa: F811
    _case_id, attempt = place_call(client)
    voice.call_status[attempt.call_sid] = "no-answer"
    assert jobs.recover_voice_calls()["checked"] == 0
    attempt.call_updated_at = utcnow() - STALE
    db.session.commit()
    assert jobs.recover_voice_calls() == {"checked": 1, "moved": 1, "failed": 0}
    assert reload(attempt.id).call_status == "no-answer"


def test_a_shorter_stale_setting_is_honoured(voice, client, ctx):  # noqa: F811
    _case_id, attempt = place_call(client)
    voice.call_status[attempt.call_sid] = "busy"
    ctx.config["TWILIO_VOICE_STALE_SECONDS"] = 60
    try:
        assert recover(utcnow() + timedelta(seconds=30))["checked"] == 0
        assert recover(utcnow() + timedelta(seconds=61))["moved"] == 1
    finally:
        ctx.config.pop("TWILIO_VOICE_STALE_SECONDS")
    assert reload(attempt.id).call_status == "busy"


def test_a_call_already_final_is_not_fetched(voice, client):  # noqa: F811
    _case_id, attempt = place_call(client)
    path = f"/hooks/twilio/voice/status?a={attempt.id}"
    form = {"CallSid": attempt.call_sid, "CallStatus": "completed", "CallDuration": "12"}
    assert signed(client, path, form).status_code == 204
    assert recover(utcnow() + 10 * STALE)["checked"] == 0
    assert voice.fetched == []
    assert reload(attempt.id).call_duration == 12


def test_a_twilio_error_for_one_call_is_logged_and_the_others_are_recovered(
    voice,  # noqa: F811
    client,
    caplog,
):
    _case_id, attempt = place_call(client)
    # a second stale call of the same agent, which Twilio does not know (404)
    lost = CallAttempt(
        case_id=attempt.case_id,
        agent_id=attempt.agent_id,
        started_at=attempt.started_at,
        ended_at=attempt.started_at,
        outcome="no_answer",
        phone=attempt.phone,
        call_sid="CA" + "9" * 32,
        call_status="ringing",
        call_updated_at=attempt.call_updated_at,
    )
    db.session.add(lost)
    db.session.commit()
    voice.call_status[attempt.call_sid], voice.call_duration[attempt.call_sid] = "completed", 40

    with caplog.at_level(logging.WARNING, logger="survey_app.followup.callcentre.voice_recovery"):
        out = recover(utcnow() + STALE)
    assert out == {"checked": 2, "moved": 1, "failed": 1}
    assert sorted(voice.fetched) == sorted([attempt.call_sid, lost.call_sid])
    assert any(
        lost.call_sid in r.getMessage() and "404" in r.getMessage() for r in caplog.records
    ), caplog.text
    assert reload(lost.id).call_status == "ringing"  # left as it was, tried again next time
    recovered = reload(attempt.id)
    assert (recovered.call_status, recovered.call_duration) == ("completed", 40)


def test_a_call_twilio_still_reports_live_is_left_and_checked_again(voice, client):  # noqa: F811
    _case_id, attempt = place_call(client)
    voice.call_status[attempt.call_sid] = "in-progress"
    assert recover(utcnow() + STALE) == {"checked": 1, "moved": 1, "failed": 0}
    assert reload(attempt.id).call_status == "in-progress"
    # the same status again does not move it, and the call is still asked about later
    assert recover(utcnow() + 2 * STALE) == {"checked": 1, "moved": 0, "failed": 0}
    voice.call_status[attempt.call_sid], voice.call_duration[attempt.call_sid] = "completed", 700
    assert recover(utcnow() + 3 * STALE)["moved"] == 1
    assert (reload(attempt.id).call_status, reload(attempt.id).call_duration) == ("completed", 700)
