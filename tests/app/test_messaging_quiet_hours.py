"""Invitations sent by command keep the round's quiet hours and Sundays, like the reminders."""

from __future__ import annotations

from datetime import datetime, timedelta

from survey_app.core.db import db
from survey_app.followup.messaging import invitations, outbox
from survey_app.followup.messaging.invitations import create_invitations
from survey_app.followup.messaging.models import Message, Reminder
from survey_app.followup.messaging.reconcile import reconcile
from survey_app.followup.messaging.reminders import parse_rules

from .messaging_fixtures import drain, make_round, smtp_fixture, twilio_fixture  # noqa: F401

# Wednesday 3 June 2026, 21:30 in Copenhagen (summer time, UTC+2)
EVENING = datetime(2026, 6, 3, 19, 30)
NEXT_MORNING = datetime(2026, 6, 4, 6, 0)  # 08:00 in Copenhagen


def test_next_allowed_time_of_the_default_rules():
    rules = parse_rules({})
    assert rules.next_allowed(EVENING) == NEXT_MORNING
    noon = datetime(2026, 6, 3, 10, 0)
    assert rules.next_allowed(noon) == noon
    # Saturday 21:30 -> Sunday is closed -> Monday 08:00
    saturday = datetime(2026, 6, 6, 19, 30)
    assert rules.next_allowed(saturday) == datetime(2026, 6, 8, 6, 0)
    # 02:00 at night -> 08:00 the same day; winter time is UTC+1
    night = datetime(2026, 12, 2, 1, 0)
    assert rules.next_allowed(night) == datetime(2026, 12, 2, 7, 0)


def test_a_command_started_at_21_30_schedules_instead_of_sending(ctx, smtp, runner, monkeypatch):
    make_round(n=3, partner=False)
    monkeypatch.setattr(invitations, "utcnow", lambda: EVENING)
    result = runner.invoke(args=["invitations", "send", "--round", "R1", "--channel", "email"])
    assert result.exit_code == 0, result.output
    assert "0 invitations queued" in result.output
    assert "quiet hours: 3 invitations held, to be sent from 2026-06-04 08:00" in result.output
    if not ctx.config["EMBEDDED_QUEUE"]:
        # with Redis the send is also on RQ's schedule for the morning (the reconciler is the
        # safety net, and the only path in the embedded mode)
        from survey_app.core.queue import get_queue

        registry = get_queue("email").scheduled_job_registry
        (job_id,) = registry.get_job_ids()
        assert registry.get_scheduled_time(job_id).replace(tzinfo=None) == NEXT_MORNING + timedelta(
            seconds=1
        )
        registry.remove(job_id, delete_job=True)
    drain(ctx)
    db.session.expire_all()
    assert smtp.sink.messages == []
    rows = db.session.scalars(db.select(Message).order_by(Message.id)).all()
    assert [(m.state, m.next_attempt_at, m.attempts) for m in rows] == [
        ("queued", NEXT_MORNING, 0)
    ] * 3
    # the reminders count from the time the invitation may go out
    first_step = db.session.scalar(
        db.select(db.func.min(Reminder.due_at)).where(Reminder.step == 1)
    )
    assert first_step == NEXT_MORNING + timedelta(days=7)

    # the reconciler leaves them alone during the night ...
    counts, ready = reconcile(now=NEXT_MORNING - timedelta(minutes=1))
    assert ready == []
    # ... and sends them once the morning has come
    counts, ready = reconcile(now=NEXT_MORNING + timedelta(minutes=1))
    db.session.commit()
    assert len(ready) == 3
    outbox.dispatch(ready)
    drain(ctx)
    db.session.expire_all()
    assert len(smtp.sink.messages) == 3
    assert {m.state for m in db.session.scalars(db.select(Message))} == {"sent"}


def test_sms_invitations_on_a_sunday_wait_for_monday_and_letters_do_not_wait(ctx, twilio):
    rnd = make_round(n=2, partner=False)
    # a Sunday still ahead of the real clock, so a job run now is too early
    sunday_noon = datetime(2027, 6, 6, 10, 0)
    assert sunday_noon.weekday() == 6
    run = create_invitations(rnd, "sms", now=sunday_noon, quiet_hours=True)
    db.session.commit()
    assert run.created == [] and len(run.held) == 2
    assert run.held_until == datetime(2027, 6, 7, 6, 0)
    outbox.dispatch(run.held)  # a job that runs too early claims nothing
    drain(ctx)
    assert twilio.messages == []
    letters = create_invitations(rnd, "letter", now=sunday_noon, quiet_hours=True)
    assert len(letters.created) == 2 and letters.held == []


def test_in_allowed_hours_nothing_is_held(ctx, smtp):
    rnd = make_round(n=2, partner=False)
    run = create_invitations(rnd, "email", now=datetime(2026, 6, 3, 9, 0), quiet_hours=True)
    db.session.commit()
    assert len(run.created) == 2 and run.held == [] and run.held_until is None
    outbox.dispatch(run.created)
    drain(ctx)
    assert len(smtp.sink.messages) == 2
