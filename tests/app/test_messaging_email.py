"""Invitations and reminders by e-mail through a real local SMTP server; the outbox's guarantees."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from survey_app.core.db import db, utcnow
from survey_app.followup.messaging import invitations, outbox
from survey_app.followup.messaging.invitations import create_invitations
from survey_app.followup.messaging.models import Message, MessageEvent, Reminder, Suppression
from survey_app.followup.messaging.reconcile import reconcile

from .messaging_fixtures import cases_of, drain, make_round, smtp_fixture, token_of  # noqa: F401


def invite(app, rnd, channel="email"):
    run = create_invitations(rnd, channel)
    db.session.commit()
    outbox.dispatch(run.created)
    drain(app)
    db.session.expire_all()
    return run


def messages(**filters) -> list[Message]:
    return db.session.scalars(db.select(Message).filter_by(**filters).order_by(Message.id)).all()


def test_invitation_email_arrives_with_link_code_brand_and_opt_out(ctx, smtp, runner, monkeypatch):
    rnd = make_round()
    # the command keeps quiet hours: run it on a Wednesday at 11:00 in Copenhagen
    monkeypatch.setattr(invitations, "utcnow", lambda: datetime(2026, 6, 3, 9, 0))
    result = runner.invoke(args=["invitations", "send", "--round", "R1", "--channel", "email"])
    assert result.exit_code == 0, result.output
    assert "6 invitations queued" in result.output
    drain(ctx)
    db.session.expire_all()
    assert len(smtp.sink.messages) == 6
    by_to = {m["To"]: m for m in smtp.sink.messages}
    for case in cases_of(rnd):
        mail = by_to[case.posting.contact_email.lower()]
        token = token_of(case)
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        for part in (text, html):
            assert f"http://survey.test/s/{token}" in part
            assert case.response.short_code in part
            assert case.brand.name in part
            assert "http://survey.test/privacy/" + case.brand.code in part
        assert mail["List-Unsubscribe"] == f"<http://survey.test/optout/{token}>"
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert case.brand.name in mail["From"]
        assert case.status == "invited"
    rows = messages()
    assert {m.state for m in rows} == {"sent"}
    assert all(m.provider_id and m.provider_id.startswith("<") for m in rows)
    # the round's default schedule: e-mail, SMS, phone
    assert db.session.scalar(db.select(db.func.count(Reminder.id))) == 18
    # the same command again invites nobody twice
    again = runner.invoke(args=["invitations", "send", "--round", "R1", "--channel", "email"])
    assert "0 invitations queued" in again.output and "6 already invited" in again.output
    drain(ctx)
    assert len(smtp.sink.messages) == 6


def test_the_same_job_twice_sends_once(ctx, smtp):
    rnd = make_round(partner=False)
    run = create_invitations(rnd, "email")
    db.session.commit()
    ids = [mid for mid, _ch, _r in run.created]
    first = outbox.send_batch(ids)
    second = outbox.send_batch(ids)
    assert first == {"sent": 4} and second == {}
    assert len(smtp.sink.messages) == 4
    sent_events = db.session.scalar(
        db.select(db.func.count(MessageEvent.id)).filter_by(state="sent")
    )
    assert sent_events == 4


def test_a_send_interrupted_by_a_crash_is_sent_once_by_the_reconciler(ctx, smtp):
    rnd = make_round(n=2, partner=False)
    run = create_invitations(rnd, "email")
    db.session.commit()
    ids = [mid for mid, _ch, _r in run.created]
    # a worker claimed the first message, then died before sending it
    assert outbox.claim(ids[:1], now=utcnow() - timedelta(hours=1)) == ids[:1]
    db.session.commit()
    outbox.send_batch(ids)  # the job for both: only the unclaimed one goes
    assert len(smtp.sink.messages) == 1
    counts, ready = reconcile(sending_timeout=timedelta(minutes=15))
    db.session.commit()
    assert counts["reclaimed"] == 1 and [r[0] for r in ready] == ids[:1]
    outbox.dispatch(ready)
    drain(ctx)
    assert len(smtp.sink.messages) == 2
    assert sorted(m["To"] for m in smtp.sink.messages) == sorted(
        {c.posting.contact_email.lower() for c in cases_of(rnd)}
    )
    counts, ready = reconcile(sending_timeout=timedelta(minutes=15))
    assert counts == {"reclaimed": 0, "requeued": 0}
    db.session.expire_all()
    assert messages()[0].attempts == 2


@pytest.mark.postgres_only
def test_a_flushed_redis_loses_nothing(ctx, smtp, monkeypatch):
    from flask import current_app

    from survey_app.core.queue import redis_connection

    # no grace at all: 0 is a setting, not "unset"
    monkeypatch.setitem(current_app.config, "MESSAGING_QUEUED_GRACE_SECONDS", 0)

    rnd = make_round(n=3, partner=False)
    run = create_invitations(rnd, "email")
    db.session.commit()
    outbox.dispatch(run.created)
    redis_connection().flushdb()  # the queue is gone before a worker took the jobs
    drain(ctx)
    assert smtp.sink.messages == []
    counts, ready = reconcile()
    db.session.commit()
    assert counts["requeued"] == 3
    outbox.dispatch(ready)
    outbox.dispatch(ready)  # twice: the claim keeps it to one send each
    drain(ctx)
    assert len(smtp.sink.messages) == 3
    db.session.expire_all()
    assert {m.state for m in messages()} == {"sent"}


def test_a_temporary_fault_is_retried_with_back_off(ctx, smtp):
    rnd = make_round(n=1, partner=False)
    case = cases_of(rnd)[0]
    address = case.posting.contact_email.lower()
    smtp.sink.refuse[address] = "451 4.3.0 try again later"
    invite(ctx, rnd)
    (message,) = messages()
    assert message.state == "queued" and message.attempts == 1
    assert "451" in message.last_error and not message.error_permanent
    first_delay = (message.next_attempt_at - utcnow()).total_seconds()
    assert 50 < first_delay <= 60
    # not before its time
    assert outbox.send_batch([message.id]) == {}
    # once the back-off has passed, the reconciler offers it again; still failing: twice as long
    counts, ready = reconcile(now=message.next_attempt_at + timedelta(seconds=1))
    assert [r[0] for r in ready] == [message.id]
    db.session.execute(db.update(Message).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    outbox.send_batch([message.id])
    db.session.expire_all()
    message = messages()[0]
    assert message.attempts == 2
    assert 110 < (message.next_attempt_at - utcnow()).total_seconds() <= 120
    del smtp.sink.refuse[address]
    db.session.execute(db.update(Message).values(next_attempt_at=utcnow()))
    db.session.commit()
    outbox.send_batch([message.id])
    db.session.expire_all()
    assert messages()[0].state == "sent" and len(smtp.sink.messages) == 1


def test_a_bounce_suppresses_the_address_and_moves_the_case_on(ctx, smtp):
    rnd = make_round(n=1, partner=False)
    case = cases_of(rnd)[0]
    address = case.posting.contact_email.lower()
    smtp.sink.refuse[address] = "550 5.1.1 no such mailbox"
    invite(ctx, rnd)
    (message,) = messages()
    assert message.state == "failed" and message.error_permanent and "550" in message.last_error
    sup = db.session.execute(db.select(Suppression)).scalar_one()
    assert (sup.channel, sup.address, sup.reason) == ("email", address, "bounce")
    steps = {
        r.channel: r for r in db.session.scalars(db.select(Reminder).filter_by(case_id=case.id))
    }
    assert steps["email"].state == "cancelled"
    assert steps["sms"].state == "pending" and steps["sms"].due_at <= utcnow()
    # the next invitation run does not mail the bounced address again
    run = create_invitations(rnd, "email")
    assert run.created == [] and run.skipped["already invited"] == 1


def test_without_smtp_settings_messages_wait_without_using_attempts(ctx, runner, monkeypatch):
    make_round(n=2, partner=False)
    # a Wednesday morning, outside the quiet hours the command keeps
    monkeypatch.setattr(invitations, "utcnow", lambda: datetime(2026, 6, 3, 9, 0))
    result = runner.invoke(args=["invitations", "send", "--round", "R1"])
    assert "SURVEY_SMTP_HOST is not set; e-mails stay queued" in result.output
    drain(ctx)
    db.session.expire_all()
    assert [(m.state, m.attempts) for m in messages()] == [("queued", 0), ("queued", 0)]


def test_every_attempt_of_a_row_carries_the_same_message_id(ctx):
    from survey_app.followup.messaging.bounces import OUR_MESSAGE_ID
    from survey_app.followup.messaging.channels.email import build

    created = datetime(2026, 6, 3, 9, 0)
    parts = dict(to="a@example.org", subject="S", text="t", html="<p>t</p>", from_name="STAR")
    parts["unsubscribe_url"] = "https://survey.test/o/x"
    first = build(**parts, outbox_id=41, created_at=created)
    again = build(**parts, outbox_id=41, created_at=created)
    assert first.message_id == again.message_id
    assert f"Message-ID: {first.message_id}".encode() in again.data
    # a row made later with the same id (after a restore from backup) gets another one
    assert build(**parts, outbox_id=41, created_at=datetime(2026, 7, 1)).message_id != (
        first.message_id
    )
    assert build(**parts, outbox_id=42, created_at=created).message_id != first.message_id
    # a bounce of it still names the row
    assert OUR_MESSAGE_ID.search(first.message_id)[1] == "41"
