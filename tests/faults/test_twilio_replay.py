"""Twilio's callbacks replayed, reordered, forged and raced against our own recording of a send.

The state only moves forward and each move is recorded once; replays are kept as callbacks that
changed nothing; forged requests get 403 and change nothing; an inbound STOP replayed is one
opt-out, also when the replays arrive at the same time (PostgreSQL, live server).
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests
from twilio.request_validator import RequestValidator

from survey_app.core.audit import AuditEvent
from survey_app.core.db import db
from survey_app.followup.messaging import outbox
from survey_app.followup.messaging.channels import sms
from survey_app.followup.messaging.invitations import create_invitations
from survey_app.followup.messaging.models import (
    InboundMessage,
    Message,
    MessageEvent,
    Suppression,
)

from ..app.messaging_fakes import AUTH_TOKEN
from ..app.messaging_fixtures import cases_of, drain, make_round, twilio_fixture  # noqa: F401

BASE = "http://survey.test"


def signed(path: str, form: dict, token: str = AUTH_TOKEN) -> dict:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(BASE + path, form)}


def post(client, path: str, form: dict, token: str = AUTH_TOKEN):
    return client.post(path, data=form, headers=signed(path, form, token))


def send_one(app, rnd) -> Message:
    run = create_invitations(rnd, "sms")
    db.session.commit()
    outbox.dispatch(run.created[:1])
    drain(app)
    db.session.expire_all()
    return db.session.get(Message, run.created[0][0])


def events_of(message_id: int) -> list[MessageEvent]:
    db.session.expire_all()
    return db.session.scalars(
        db.select(MessageEvent).filter_by(message_id=message_id).order_by(MessageEvent.id)
    ).all()


def snapshot() -> tuple:
    """Everything a callback could change."""
    db.session.expire_all()
    rows = db.session.execute(
        db.select(
            Message.id, Message.state, Message.sent_at, Message.delivered_at, Message.failed_at,
            Message.provider_id, Message.last_error,
        ).order_by(Message.id)
    ).all()  # fmt: skip
    counts = tuple(
        db.session.scalar(db.select(db.func.count()).select_from(model))
        for model in (MessageEvent, Suppression, InboundMessage, AuditEvent)
    )
    return tuple(map(tuple, rows)), counts


def test_delivered_before_sent_and_each_callback_three_times(ctx, twilio, client):
    rnd = make_round(n=1, partner=False)
    row = send_one(ctx, rnd)
    assert row.state == "sent"
    path = f"/hooks/twilio/status?m={row.id}"
    delivered = {"MessageSid": row.provider_id, "MessageStatus": "delivered"}
    for _ in range(3):
        assert post(client, path, delivered).status_code == 204
    first = events_of(row.id)
    db.session.refresh(row)
    delivered_at = row.delivered_at
    for status in ("sent", "sent", "sent", "sending", "queued", "delivered"):
        form = {"MessageSid": row.provider_id, "MessageStatus": status}
        assert post(client, path, form).status_code == 204
    db.session.expire_all()
    row = db.session.get(Message, row.id)
    assert row.state == "delivered" and row.delivered_at == delivered_at
    history = events_of(row.id)
    callbacks = [e for e in history if e.kind == "callback"]
    assert [e.detail["applied"] for e in callbacks] == [True] + [False] * 8
    assert len(history) == len(first) + 6  # each later callback once, no state event added
    states = [e.state for e in history if e.kind == "state"]
    assert states == ["queued", "sending", "sent"]


def test_delivered_callback_overtakes_the_recording_of_the_send(ctx, twilio, client, monkeypatch):
    """Twilio calls back (three times) before the worker has written its result."""
    real_send = sms.SmsSender.send

    def send_and_call_back(self, to, body, message_id):
        sid = real_send(self, to, body, message_id)
        path = f"/hooks/twilio/status?m={message_id}"
        for status in ("delivered", "delivered", "sent", "delivered"):
            form = {"MessageSid": sid, "MessageStatus": status}
            assert post(client, path, form).status_code == 204
        return sid

    monkeypatch.setattr(sms.SmsSender, "send", send_and_call_back)
    rnd = make_round(n=1, partner=False)
    row = send_one(ctx, rnd)
    assert row.state == "delivered" and row.delivered_at is not None
    assert row.provider_id == twilio.messages[0]["sid"]
    history = events_of(row.id)
    callbacks = [e for e in history if e.kind == "callback"]
    assert [e.detail["applied"] for e in callbacks] == [True, False, False, False]
    # the recording of the send came second: it neither undid "delivered" nor claimed "sent"
    states = [e.state for e in history if e.kind == "state"]
    assert states == ["queued", "sending"]
    assert len(twilio.messages) == 1


def test_forged_callbacks_are_refused_and_change_nothing(ctx, twilio, client):
    rnd = make_round(n=1, partner=False)
    row = send_one(ctx, rnd)
    number = row.to_address
    path = f"/hooks/twilio/status?m={row.id}"
    fail = {"MessageSid": row.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30006"}
    stop = {"MessageSid": "SMforged", "From": number, "To": "+4570000001", "Body": "STOP"}
    before = snapshot()
    forgeries = [
        client.post(path, data=fail),  # no signature
        post(client, path, fail, token="guessed-token"),
        client.post(
            path,
            data={**fail, "ErrorCode": "30005"},  # a field changed after signing
            headers=signed(path, fail),
        ),
        client.post(  # signed for another message id
            f"/hooks/twilio/status?m={row.id + 1}", data=fail, headers=signed(path, fail)
        ),
        client.post("/hooks/twilio/inbound", data=stop),
        post(client, "/hooks/twilio/inbound", stop, token="guessed-token"),
        client.post(
            "/hooks/twilio/inbound",
            data={**stop, "From": "+4520999999"},
            headers=signed("/hooks/twilio/inbound", stop),
        ),
    ]
    assert [r.status_code for r in forgeries] == [403] * len(forgeries)
    assert len({r.data for r in forgeries}) == 1
    assert snapshot() == before


def test_inbound_stop_replayed_is_one_opt_out(ctx, twilio, client):
    rnd = make_round(n=2, partner=False)
    number = cases_of(rnd)[0].posting.contact_phone
    stop = {"MessageSid": "SMstop1", "From": number, "To": "+4570000001", "Body": "STOP"}
    for _ in range(3):
        r = post(client, "/hooks/twilio/inbound", stop)
        assert r.status_code == 200 and r.mimetype == "text/xml"
    # the person sends STOP again (a new message, a new sid): still one suppression
    again = post(client, "/hooks/twilio/inbound", {**stop, "MessageSid": "SMstop2"})
    assert again.status_code == 200
    assert db.session.scalar(db.select(db.func.count(InboundMessage.id))) == 2
    (sup,) = db.session.scalars(db.select(Suppression)).all()
    assert (sup.address, sup.reason, sup.lifted_at) == (number, "stop", None)
    audits = db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(action="sms.stop"))
    assert audits == 2  # one per STOP message received, none per replay
    rows = db.session.scalars(db.select(Message)).all()
    assert rows == []  # nothing was queued to the number: the invitation run below skips it
    run = create_invitations(rnd, "sms")
    db.session.commit()
    outbox.dispatch(run.created)
    drain(ctx)
    assert [m["To"] for m in twilio.messages] == [cases_of(rnd)[1].posting.contact_phone]


@pytest.mark.postgres_only
def test_concurrent_replays_through_the_live_server(ctx, twilio, live_server):
    rnd = make_round(n=1, partner=False)
    row = send_one(ctx, rnd)
    number = row.to_address
    status_path = f"/hooks/twilio/status?m={row.id}"
    fail = {"MessageSid": row.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30006"}
    stop = {"MessageSid": "SMstopX", "From": number, "To": "+4570000001", "Body": "STOP"}
    results: list[int] = []
    lock = threading.Lock()

    def fire(path, form):
        r = requests.post(live_server + path, data=form, headers=signed(path, form), timeout=20)
        with lock:
            results.append(r.status_code)

    threads = [
        threading.Thread(target=fire, args=args)
        for args in [(status_path, fail)] * 4 + [("/hooks/twilio/inbound", stop)] * 4
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert Counter(results) == {204: 4, 200: 4}, results
    db.session.expire_all()
    row = db.session.get(Message, row.id)
    assert row.state == "failed" and row.error_permanent
    callbacks = [e for e in events_of(row.id) if e.kind == "callback"]
    assert sorted(e.detail["applied"] for e in callbacks) == [False, False, False, True]
    assert db.session.scalar(db.select(db.func.count(InboundMessage.id))) == 1
    reasons = sorted(db.session.scalars(db.select(Suppression.reason).filter_by(address=number)))
    assert reasons == ["invalid", "stop"]
