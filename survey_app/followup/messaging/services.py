"""Write operations on the outbox's neighbours: addresses, suppressions, events, opt-outs, and
moving a case on when a contact turns out bad. They flush; the caller commits."""

from __future__ import annotations

from datetime import datetime

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import insert, update

from survey_app.core import audit
from survey_app.core.db import db, utcnow
from survey_app.sampling.models import Case

from .models import (
    STOP_STATUSES,
    Message,
    MessageEvent,
    OptOut,
    Reminder,
    Suppression,
)


class AddressError(ValueError):
    pass


def normalise_email(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AddressError(f"e-mail {value!r}: {exc}") from None
    return checked.normalized.lower()


def normalise_phone(value: str | None, region: str = "DK") -> str | None:
    """E.164 for a valid number, None for none; AddressError for one that cannot be a number."""
    if not value or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise AddressError(f"phone {value!r}: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise AddressError(f"phone {value!r}: not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def event(message_id: int, kind: str, state: str, raw_status: str | None = None, **detail):
    db.session.execute(
        insert(MessageEvent),
        [
            {
                "message_id": message_id,
                "at": utcnow(),
                "kind": kind,
                "state": state,
                "raw_status": raw_status,
                "detail": detail,
            }
        ],
    )


def events(rows: list[dict]) -> None:
    """Bulk insert: each row has message_id, kind, state and optionally raw_status, detail."""
    if not rows:
        return
    now = utcnow()
    db.session.execute(
        insert(MessageEvent),
        [
            {"at": now, "raw_status": None, "detail": {}, **row}
            for row in rows  # fmt: skip
        ],
    )


def active_suppression(channel: str, address: str) -> Suppression | None:
    return db.session.execute(
        db.select(Suppression)
        .filter_by(channel=channel, address=address, lifted_at=None)
        .order_by(Suppression.id)
        .limit(1)
    ).scalar_one_or_none()


def suppressed_addresses(channel: str, addresses) -> dict[str, str]:
    """{address: reason} of the given addresses that are suppressed on ``channel``."""
    addresses = sorted(set(addresses))
    found: dict[str, str] = {}
    for i in range(0, len(addresses), 500):
        rows = db.session.execute(
            db.select(Suppression.address, Suppression.reason).where(
                Suppression.channel == channel,
                Suppression.address.in_(addresses[i : i + 500]),
                Suppression.lifted_at.is_(None),
            )
        )
        for address, reason in rows:
            found.setdefault(address, reason)
    return found


def suppress(channel: str, address: str, reason: str, source: str) -> Suppression:
    """Suppress ``address`` on ``channel`` (idempotent per reason) and stop its queued messages."""
    existing = db.session.execute(
        db.select(Suppression)
        .filter_by(channel=channel, address=address, reason=reason, lifted_at=None)
        .order_by(Suppression.id)
        .limit(1)  # two STOPs at the same moment may both have added one
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    row = Suppression(channel=channel, address=address, reason=reason, source=source)
    db.session.add(row)
    ids = db.session.scalars(
        update(Message)
        .where(
            Message.channel == channel,
            Message.to_address == address,
            Message.state == "queued",
        )
        .values(state="suppressed", last_error=f"address suppressed ({reason})")
        .returning(Message.id)
    ).all()
    events([{"message_id": i, "kind": "state", "state": "suppressed", "detail": {"reason": reason}}
            for i in ids])  # fmt: skip
    db.session.flush()
    return row


def lift(channel: str, address: str, reasons: tuple[str, ...], source: str) -> int:
    """Lift active suppressions of ``address`` with one of ``reasons``; returns how many."""
    result = db.session.execute(
        update(Suppression)
        .where(
            Suppression.channel == channel,
            Suppression.address == address,
            Suppression.reason.in_(reasons),
            Suppression.lifted_at.is_(None),
        )
        .values(lifted_at=utcnow())
    )
    if result.rowcount:
        audit.record("suppression.lifted", "suppression", None, actor_label=source, channel=channel)
    return result.rowcount


def stop_reason(case: Case) -> str | None:
    """Why nothing more may be sent to the case, or None."""
    if case.status in STOP_STATUSES:
        return f"case {case.status}"
    if case.response is not None and case.response.status == "completed":
        return "case responded"
    return None


def advance_case(case_id: int | None, channel: str, now: datetime | None = None) -> None:
    """A contact of the case is bad: drop the remaining steps on that channel and bring the next
    step forward to now; with no step left, hand the case to the call centre."""
    if case_id is None:  # a message about the person (the retention notice), not a case
        return
    now = now or utcnow()
    db.session.execute(
        update(Reminder)
        .where(
            Reminder.case_id == case_id,
            Reminder.channel == channel,
            Reminder.state == "pending",
        )
        .values(state="cancelled", note=f"{channel} contact bad", done_at=now)
    )
    pending = db.session.scalars(
        db.select(Reminder)
        .filter_by(case_id=case_id, state="pending")
        .order_by(Reminder.due_at, Reminder.step)
    ).all()
    if pending:
        if pending[0].due_at > now:
            pending[0].due_at = now
        return
    case = db.session.get(Case, case_id)
    if case is None or stop_reason(case):
        return
    last = db.session.scalar(
        db.select(db.func.max(Reminder.step)).where(Reminder.case_id == case_id)
    )
    db.session.add(
        Reminder(
            case_id=case_id,
            channel="phone",
            step=(last or 0) + 1,
            due_at=now,
            note=f"{channel} contact bad",
        )
    )
    db.session.flush()


def stop_case(case: Case, status: str, reason: str, now: datetime | None = None) -> None:
    """Stop every channel of a case at once: cancel its pending reminders, suppress queued
    messages. ``status`` becomes the case's status unless it is already final."""
    now = now or utcnow()
    if case.status not in STOP_STATUSES:
        case.status = status
    db.session.execute(
        update(Reminder)
        .where(Reminder.case_id == case.id, Reminder.state == "pending")
        .values(state="cancelled", note=reason[:200], done_at=now)
    )
    ids = db.session.scalars(
        update(Message)
        .where(Message.case_id == case.id, Message.state == "queued")
        .values(state="suppressed", last_error=reason[:2000])
        .returning(Message.id)
    ).all()
    events([{"message_id": i, "kind": "state", "state": "suppressed", "detail": {"reason": reason}}
            for i in ids])  # fmt: skip
    db.session.flush()


def opt_out(case: Case, source: str) -> bool:
    """The company refuses through the opt-out link: every channel stops at once.

    Returns False when the case had already opted out (a repeated click changes nothing).
    """
    existing = db.session.execute(db.select(OptOut).filter_by(case_id=case.id)).scalar_one_or_none()
    if existing is not None:
        return False
    now = utcnow()
    db.session.add(OptOut(case_id=case.id, at=now, source=source))
    stop_case(case, "opted_out", "opted out", now)
    posting = case.posting
    for channel, raw, norm in (
        ("email", posting.contact_email, normalise_email),
        ("sms", posting.contact_phone, normalise_phone),
    ):
        try:
            address = norm(raw)
        except AddressError:
            address = None
        if address:
            suppress(channel, address, "opt_out", f"optout-{source}")
    audit.record("case.opted_out", "case", case.id, actor_label="respondent", source=source)
    db.session.flush()
    return True


def cases_due_for_phone(now: datetime | None = None, round_id: int | None = None):
    """A select of the ids of cases handed to the call centre: a phone step is due and the case
    is still open. The call list builds on it."""
    now = now or utcnow()
    query = (
        db.select(Reminder.case_id)
        .join(Case, Case.id == Reminder.case_id)
        .where(
            Reminder.channel == "phone",
            Reminder.state.in_(("pending", "done")),
            Reminder.due_at <= now,
            Case.status.not_in(STOP_STATUSES),
        )
        .distinct()
    )
    if round_id is not None:
        query = query.where(Case.round_id == round_id)
    return query
