"""The reminder sweep (quiet hours, Sundays, maximum, stop after a response) and the opt-out."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from survey_app.core.audit import AuditEvent
from survey_app.core.db import db
from survey_app.followup.messaging import outbox
from survey_app.followup.messaging.invitations import create_invitations
from survey_app.followup.messaging.models import Message, OptOut, Reminder, Suppression
from survey_app.followup.messaging.reminders import sweep
from survey_app.followup.messaging.services import cases_due_for_phone

from .messaging_fixtures import (  # noqa: F401
    cases_of,
    drain,
    make_round,
    smtp_fixture,
    token_of,
    twilio_fixture,
)

CPH = ZoneInfo("Europe/Copenhagen")


def at(weekday: int, hour: int, minute: int = 0, after_days: int = 15) -> datetime:
    """Naive UTC of the first ``weekday`` (Monday 0) at least ``after_days`` days from now, at
    ``hour:minute`` Copenhagen time (the invitations go out now)."""
    day = datetime.now(UTC).astimezone(CPH).date() + timedelta(days=after_days)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    local = datetime.combine(day, time(hour, minute), tzinfo=CPH)
    return local.astimezone(UTC).replace(tzinfo=None)


TUESDAY_2130_LOCAL = at(1, 21, 30)
SUNDAY_1100_LOCAL = at(6, 11)
MONDAY_0930_LOCAL = at(0, 9, 30)
MONDAY_0730_LOCAL = at(0, 7, 30)


def invited(app, n=2, **settings):
    rnd = make_round(n=n, partner=False, **settings)
    run = create_invitations(rnd, "email")
    db.session.commit()
    outbox.dispatch(run.created)
    drain(app)
    db.session.expire_all()
    return rnd


def run_sweep(app, now):
    counts, new = sweep(now=now)
    db.session.commit()
    outbox.dispatch(new)
    drain(app)
    db.session.expire_all()
    return counts


def reminders(case_id=None):
    query = db.select(Reminder).order_by(Reminder.case_id, Reminder.step)
    if case_id:
        query = query.filter_by(case_id=case_id)
    return db.session.scalars(query).all()


def test_the_sweep_respects_quiet_hours_and_sundays(ctx, smtp, twilio):
    rnd = invited(ctx)
    assert len(smtp.sink.messages) == 2
    for quiet in (TUESDAY_2130_LOCAL, SUNDAY_1100_LOCAL, MONDAY_0730_LOCAL):
        counts = run_sweep(ctx, quiet)
        assert counts["quiet"] > 0 and counts["queued"] == 0, quiet
        assert {r.state for r in reminders()} == {"pending"}
    counts = run_sweep(ctx, MONDAY_0930_LOCAL)
    assert counts == {"queued": 4, "phone": 2, "cancelled": 0, "quiet": 0}
    assert len(smtp.sink.messages) == 4 and len(twilio.messages) == 2
    reminder_mails = [m for m in smtp.sink.messages if m["Subject"].startswith("Påmindelse")
                      or m["Subject"].startswith("Reminder")]  # fmt: skip
    assert len(reminder_mails) == 2
    assert {r.state for r in reminders()} == {"done"}
    due = set(db.session.scalars(cases_due_for_phone(MONDAY_0930_LOCAL, rnd.id)))
    assert due == {c.id for c in cases_of(rnd)}
    # nothing is left to do
    assert run_sweep(ctx, MONDAY_0930_LOCAL) == {
        "queued": 0,
        "phone": 0,
        "cancelled": 0,
        "quiet": 0,
    }


def test_no_reminder_after_a_response_checked_again_at_send_time(ctx, smtp, twilio):
    rnd = invited(ctx)
    answered, late = cases_of(rnd)
    answered.response.status = "completed"
    db.session.commit()
    # day 8: the e-mail step (day 7) is due, the SMS step (day 10) not yet
    today = datetime.now(UTC).astimezone(CPH).date()
    days = next(d for d in (8, 9) if (today + timedelta(days=d)).weekday() != 6)
    counts = run_sweep(ctx, at((today + timedelta(days=days)).weekday(), 10, after_days=days))
    assert counts["cancelled"] == 1 and counts["queued"] == 1
    steps = {r.channel: r for r in reminders(answered.id)}
    assert (steps["email"].state, steps["email"].note) == ("cancelled", "case responded")
    assert steps["sms"].state == steps["phone"].state == "pending"
    # the other case's reminder is queued, then the company answers before the sender runs
    sweep_msgs = db.session.scalars(db.select(Message).filter_by(purpose="reminder")).all()
    assert [m.case_id for m in sweep_msgs] == [late.id]
    assert len(smtp.sink.messages) == 3
    # at send time: queue one for the second case by hand and answer before it goes
    late.response.status = "completed"
    message = Message(
        case_id=late.id,
        channel="email",
        purpose="reminder",
        to_address="x@firma.example",
        brand_id=late.brand_id,
        state="queued",
    )
    db.session.add(message)
    db.session.commit()
    assert outbox.send_batch([message.id]) == {"suppressed": 1}
    db.session.expire_all()
    assert db.session.get(Message, message.id).state == "suppressed"
    assert db.session.get(Message, message.id).last_error == "case responded"
    assert len(smtp.sink.messages) == 3


def test_maximum_number_of_reminders(ctx, smtp, twilio):
    settings = {
        "reminders": {
            "steps": [
                {"channel": "email", "after_days": 1},
                {"channel": "sms", "after_days": 2},
                {"channel": "email", "after_days": 3},
                {"channel": "phone", "after_days": 4},
            ],
            "max_reminders": 1,
        }
    }
    invited(ctx, n=1, **settings)
    counts = run_sweep(ctx, MONDAY_0930_LOCAL)
    assert counts == {"queued": 1, "phone": 1, "cancelled": 2, "quiet": 0}
    assert [r.note for r in reminders() if r.state == "cancelled"] == [
        "maximum of 1 reminders reached"
    ] * 2


def test_opt_out_stops_email_sms_and_reminders_at_once(ctx, smtp, twilio, client):
    rnd = invited(ctx)
    case, other = cases_of(rnd)
    # an SMS waiting in the outbox for the case
    run = create_invitations(rnd, "sms")
    db.session.commit()
    queued_sms = [m for m, _c, _r in run.created]
    # the mail client's one-click unsubscribe (RFC 8058), as the e-mail header announced
    header = smtp.sink.messages[0]["List-Unsubscribe"]
    path = "/" + header.strip("<>").split("/", 3)[3]
    r = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    db.session.expire_all()
    opted = db.session.scalars(db.select(OptOut)).one()
    assert opted.source == "one-click" and opted.at is not None
    target = db.session.get(type(case), opted.case_id)
    assert target.status == "opted_out"
    assert {r.state for r in reminders(target.id)} == {"cancelled"}
    states = {
        m.case_id: m.state
        for m in db.session.scalars(db.select(Message).where(Message.id.in_(queued_sms)))
    }
    assert states[target.id] == "suppressed"
    reasons = {(s.channel, s.reason) for s in db.session.scalars(db.select(Suppression))}
    assert reasons == {("email", "opt_out"), ("sms", "opt_out")}
    outbox.dispatch(run.created)
    drain(ctx)
    assert [m["To"] for m in twilio.messages] == [
        (other if target.id == case.id else case).posting.contact_phone
    ]
    # clicking again changes nothing; the opt-out is audited once
    client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert (
        db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).filter_by(action="case.opted_out")
        )
        == 1
    )
    assert run_sweep(ctx, MONDAY_0930_LOCAL)["cancelled"] == 0


def test_opt_out_page_needs_a_valid_token(ctx, client):
    make_round(n=1, partner=False)
    assert client.get("/optout/not-a-token").status_code == 404
    assert client.post("/optout/not-a-token").status_code == 404


@pytest.mark.browser
def test_opt_out_in_the_browser(app, page, live_server):
    with app.app_context():
        rnd = make_round(n=1, partner=False)
        case = cases_of(rnd)[0]
        token, case_id = token_of(case), case.id
    page.goto(f"{live_server}/optout/{token}")
    expect(page.locator("h1")).to_be_visible()
    assert "Firma 0 ApS" in page.locator("main").inner_text()
    page.get_by_role("button").click()
    page.wait_for_load_state()
    assert "optout" in page.url
    with app.app_context():
        from survey_app.sampling.models import Case

        assert db.session.get(Case, case_id).status == "opted_out"
        opt = db.session.scalars(db.select(OptOut)).one()
        assert opt.source == "link"
    page.goto(f"{live_server}/optout/{token}")
    assert page.get_by_role("button").count() == 0
