"""SMS through the real Twilio client against a fake Twilio API; signed webhooks; STOP/START."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from survey_app.core.db import db, utcnow
from survey_app.followup.messaging import outbox
from survey_app.followup.messaging.invitations import create_invitations
from survey_app.followup.messaging.models import (
    InboundMessage,
    Message,
    MessageEvent,
    Reminder,
    Suppression,
)

from .messaging_fakes import AUTH_TOKEN
from .messaging_fixtures import cases_of, drain, make_round, token_of, twilio_fixture  # noqa: F401

BASE = "http://survey.test"


def send_sms(app, rnd):
    run = create_invitations(rnd, "sms")
    db.session.commit()
    outbox.dispatch(run.created)
    drain(app)
    db.session.expire_all()
    return db.session.scalars(db.select(Message).order_by(Message.id)).all()


def signed_post(client, path: str, form: dict, token: str = AUTH_TOKEN, url: str | None = None):
    signature = RequestValidator(token).compute_signature(url or BASE + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def test_sms_invitation_reaches_twilio_through_the_real_client(ctx, twilio):
    rnd = make_round(n=2, partner=False)
    rows = send_sms(ctx, rnd)
    assert len(twilio.messages) == 2 == len(rows)
    by_to = {m["To"]: m for m in twilio.messages}
    for case, row in zip(cases_of(rnd), rows, strict=True):
        posted = by_to[case.posting.contact_phone]
        assert f"{BASE}/s/{token_of(case)}" in posted["Body"]
        assert case.response.short_code in posted["Body"]
        assert "STOP" in posted["Body"]
        assert posted["MessagingServiceSid"].startswith("MG")
        assert posted["StatusCallback"] == f"{BASE}/hooks/twilio/status?m={row.id}"
        assert row.state == "sent" and row.provider_id == posted["sid"]


def test_twilio_faults_temporary_and_permanent(ctx, twilio):
    rnd = make_round(n=2, partner=False)
    first, second = cases_of(rnd)
    twilio.fail(503, 20500)  # the first request: Twilio is down
    twilio.fail_to[second.posting.contact_phone] = (400, 21211)  # invalid 'To' number
    rows = send_sms(ctx, rnd)
    by_case = {m.case_id: m for m in rows}
    retry = by_case[first.id]
    assert retry.state == "queued" and retry.attempts == 1 and "503" in retry.last_error
    assert retry.next_attempt_at > utcnow()
    bad = by_case[second.id]
    assert bad.state == "failed" and bad.error_permanent and "21211" in bad.last_error
    sup = db.session.execute(db.select(Suppression)).scalar_one()
    assert (sup.channel, sup.address, sup.reason) == (
        "sms",
        second.posting.contact_phone,
        "invalid",
    )
    # the case moves on: its SMS step is dropped, the next step (e-mail) is due now
    steps = {
        r.channel: r for r in db.session.scalars(db.select(Reminder).filter_by(case_id=second.id))
    }
    assert steps["sms"].state == "cancelled"
    assert steps["email"].state == "pending" and steps["email"].due_at <= utcnow()
    assert steps["phone"].due_at > utcnow()
    # 429 is temporary too
    twilio.fail(429, 20429)
    db.session.execute(
        db.update(Message).values(next_attempt_at=utcnow()).where(Message.id == retry.id)
    )
    db.session.commit()
    outbox.send_batch([retry.id])
    db.session.expire_all()
    assert db.session.get(Message, retry.id).state == "queued"
    db.session.execute(
        db.update(Message).values(next_attempt_at=utcnow()).where(Message.id == retry.id)
    )
    db.session.commit()
    outbox.send_batch([retry.id])
    db.session.expire_all()
    assert db.session.get(Message, retry.id).state == "sent"
    assert len(twilio.messages) == 1


def test_webhook_signatures(ctx, twilio, client):
    rnd = make_round(n=1, partner=False)
    (row,) = send_sms(ctx, rnd)
    path = f"/hooks/twilio/status?m={row.id}"
    form = {"MessageSid": row.provider_id, "MessageStatus": "delivered"}
    assert client.post(path, data=form).status_code == 403  # unsigned
    assert signed_post(client, path, form, token="not-the-token").status_code == 403  # forged
    tampered = RequestValidator(AUTH_TOKEN).compute_signature(BASE + path, form)
    r = client.post(
        path, data={**form, "MessageStatus": "failed"}, headers={"X-Twilio-Signature": tampered}
    )
    assert r.status_code == 403
    # signed for another host: the URL is always BASE_URL + path, never the request's Host
    assert signed_post(client, path, form, url="http://localhost" + path).status_code == 403
    assert signed_post(client, path, form).status_code == 204
    db.session.expire_all()
    assert db.session.get(Message, row.id).state == "delivered"
    inbound = {"MessageSid": "SMin1", "From": "+4520120000", "To": "+4570000000", "Body": "hej"}
    assert client.post("/hooks/twilio/inbound", data=inbound).status_code == 403
    r = signed_post(client, "/hooks/twilio/inbound", inbound)
    assert r.status_code == 200 and r.mimetype == "text/xml"


def test_callbacks_repeat_and_arrive_out_of_order_but_state_only_moves_forward(ctx, twilio, client):
    rnd = make_round(n=1, partner=False)
    (row,) = send_sms(ctx, rnd)
    path = f"/hooks/twilio/status?m={row.id}"
    sequence = ["delivered", "sent", "queued", "delivered", "sending", "undelivered"]
    for status in sequence:
        form = {"MessageSid": row.provider_id, "MessageStatus": status}
        assert signed_post(client, path, form).status_code == 204
    db.session.expire_all()
    row = db.session.get(Message, row.id)
    assert row.state == "delivered" and row.delivered_at is not None
    callbacks = db.session.scalars(
        db.select(MessageEvent)
        .filter_by(message_id=row.id, kind="callback")
        .order_by(MessageEvent.id)
    ).all()
    assert [e.raw_status for e in callbacks] == sequence
    assert [e.detail["applied"] for e in callbacks] == [True] + [False] * 5
    assert {e.state for e in callbacks} == {"delivered"}


def test_undelivered_after_sent_marks_the_number_bad(ctx, twilio, client):
    rnd = make_round(n=1, partner=False)
    (row,) = send_sms(ctx, rnd)
    path = f"/hooks/twilio/status?m={row.id}"
    form = {"MessageSid": row.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30006"}
    assert signed_post(client, path, form).status_code == 204
    db.session.expire_all()
    row = db.session.get(Message, row.id)
    assert row.state == "failed" and row.error_permanent and "30006" in row.last_error
    assert db.session.execute(db.select(Suppression.reason)).scalar_one() == "invalid"
    # a callback whose sid does not belong to the message id is not applied to it
    other = {"MessageSid": "SMsomeoneelse", "MessageStatus": "delivered"}
    assert signed_post(client, path, other).status_code == 204
    db.session.expire_all()
    assert db.session.get(Message, row.id).state == "failed"


def test_stop_suppresses_every_sender_and_start_lifts_it(ctx, twilio, client):
    rnd = make_round(n=2, partner=False)
    first, second = cases_of(rnd)
    number = first.posting.contact_phone
    for i, (body, sender_to) in enumerate([(" stop ", "+4570000001"), ("Afmeld", "+4570000002")]):
        form = {"MessageSid": f"SMin{i}", "From": number, "To": sender_to, "Body": body}
        assert signed_post(client, "/hooks/twilio/inbound", form).status_code == 200
    # the same webhook again is stored once
    signed_post(
        client,
        "/hooks/twilio/inbound",
        {"MessageSid": "SMin0", "From": number, "To": "+4570000001", "Body": " stop "},
    )
    stored = db.session.scalars(db.select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [(m.action, m.body) for m in stored] == [("stop", " stop "), ("stop", "Afmeld")]
    rows = send_sms(ctx, rnd)
    by_case = {m.case_id: m for m in rows}
    assert by_case[first.id].state == "suppressed"
    assert by_case[second.id].state == "sent"
    assert [m["To"] for m in twilio.messages] == [second.posting.contact_phone]
    form = {"MessageSid": "SMin9", "From": number, "To": "+4570000001", "Body": "START"}
    assert signed_post(client, "/hooks/twilio/inbound", form).status_code == 200
    active = db.session.scalars(
        db.select(Suppression).filter_by(address=number, lifted_at=None)
    ).all()
    assert active == []
    # a reply that is not a keyword is only stored
    form = {
        "MessageSid": "SMin10",
        "From": number,
        "To": "+4570000001",
        "Body": "Stop ringing me at work please",
    }
    signed_post(client, "/hooks/twilio/inbound", form)
    assert (
        db.session.execute(
            db.select(InboundMessage.action).filter_by(provider_id="SMin10")
        ).scalar_one()
        is None
    )
