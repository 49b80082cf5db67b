"""Where messaging holds a person: the cases they are the contact of (with their reminders and
opt-outs), the messages sent to them, suppressions of their address and the SMS they sent us.

A restriction stops every channel the way an opt-out does (``services.stop_case`` and a
suppression per channel); the send path also refuses a restricted address
(``privacy.requests.restricted_addresses``)."""

from __future__ import annotations

from sqlalchemy import Text, cast, delete, func, or_

from survey_app.core.db import db
from survey_app.core.personal_data import SubjectRecord, SubjectSource, register_source
from survey_app.core.subject_match import EMAIL, ERASED, like_pattern, mentions, same
from survey_app.sampling.models import Case, Posting

from . import services
from .models import InboundMessage, Message, MessageEvent, OptOut, Reminder, Suppression

RESTRICTED = "processing restricted at the person's request"


def _iso(value):
    return value.isoformat() if value is not None else None


def person_case_ids(kind: str, value: str) -> list[int]:
    """The cases whose posting names the person as its contact."""
    column = Posting.contact_email if kind == EMAIL else Posting.contact_phone
    rows = db.session.execute(
        db.select(Case.id, column)
        .join(Posting, Posting.id == Case.posting_id)
        .where(func.lower(column).like(like_pattern(kind, value), escape="\\"))
        .order_by(Case.id)
    ).all()
    return [case_id for case_id, stored in rows if same(kind, stored, value)]


def _channel(kind: str) -> str:
    return "email" if kind == EMAIL else "sms"


# -- cases ------------------------------------------------------------------------------------


def find_cases(kind: str, value: str) -> list[SubjectRecord]:
    ids = person_case_ids(kind, value)
    cases = db.session.scalars(db.select(Case).where(Case.id.in_(ids)).order_by(Case.id)).all()
    return [
        SubjectRecord(
            "cases",
            "cases",
            c.id,
            {
                "round": c.round.code,
                "brand": c.brand.code,
                "posting_id": c.posting_id,
                "status": c.status,
                "channel": c.channel,
                "contact_addresses": _addresses(c),
            },
        )
        for c in cases
    ]


def _addresses(case: Case) -> dict[str, str]:
    out = {}
    for channel, raw, norm in (
        ("email", case.posting.contact_email, services.normalise_email),
        ("sms", case.posting.contact_phone, services.normalise_phone),
    ):
        try:
            address = norm(raw)
        except services.AddressError:
            address = None
        if address:
            out[channel] = address
    return out


def restrict_case(record: SubjectRecord) -> None:
    """Like an opt-out: every channel of the case stops at once, and the contact's addresses
    are suppressed on every channel."""
    case = db.session.get(Case, record.row_id)
    if case is None:
        return
    services.stop_case(case, "opted_out", RESTRICTED)
    for channel, address in record.data.get("contact_addresses", {}).items():
        services.suppress(channel, address, "opt_out", "subject-restriction")


def erase_case(record: SubjectRecord) -> None:
    """The case stays (without the person: the posting's contact is erased by sampling) and
    nothing more is sent for it; no suppression is written, it would hold the address."""
    case = db.session.get(Case, record.row_id)
    if case is not None:
        services.stop_case(case, "opted_out", "contact person erased at their request")


# -- messages ---------------------------------------------------------------------------------


def find_messages(kind: str, value: str) -> list[SubjectRecord]:
    cases = person_case_ids(kind, value)
    rows = db.session.scalars(
        db.select(Message)
        .where(
            or_(
                func.lower(Message.to_address).like(like_pattern(kind, value), escape="\\"),
                Message.case_id.in_(cases) & (Message.channel == "letter"),
            )
        )
        .order_by(Message.id)
    ).all()
    return [
        SubjectRecord(
            "messages",
            "messages",
            m.id,
            {
                "case_id": m.case_id,
                "channel": m.channel,
                "purpose": m.purpose,
                "to_address": m.to_address,
                "state": m.state,
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
                "delivered_at": _iso(m.delivered_at),
            },
        )
        for m in rows
        if m.channel == "letter" or same(kind, m.to_address, value)
    ]


def restrict_message(record: SubjectRecord) -> None:
    message = db.session.get(Message, record.row_id)
    if message is None or message.channel == "letter":
        return  # letters stop with their case (restrict_case)
    services.suppress(message.channel, message.to_address, "opt_out", "subject-restriction")


def erase_message(record: SubjectRecord) -> None:
    """The message stays (it counts for the case's disposition) without its address."""
    message = db.session.get(Message, record.row_id)
    if message is None:
        return
    if message.state == "queued":
        message.state = "suppressed"
    message.to_address = ERASED
    message.last_error = None
    db.session.execute(
        db.update(MessageEvent).where(MessageEvent.message_id == message.id).values(detail={})
    )
    db.session.flush()


# -- suppressions, inbound SMS, reminders, opt-outs -------------------------------------------


def find_suppressions(kind: str, value: str) -> list[SubjectRecord]:
    rows = db.session.scalars(
        db.select(Suppression)
        .where(func.lower(Suppression.address).like(like_pattern(kind, value), escape="\\"))
        .order_by(Suppression.id)
    ).all()
    return [
        SubjectRecord(
            "suppressions",
            "suppressions",
            s.id,
            {
                "channel": s.channel,
                "address": s.address,
                "reason": s.reason,
                "source": s.source,
                "created_at": _iso(s.created_at),
                "lifted_at": _iso(s.lifted_at),
            },
        )
        for s in rows
        if same(kind, s.address, value)
    ]


def erase_suppression(record: SubjectRecord) -> None:
    # the erasure's own marker (privacy.subject_restrictions, a keyed hash) keeps the address
    # from being used again
    db.session.execute(delete(Suppression).where(Suppression.id == record.row_id))


def find_inbound(kind: str, value: str) -> list[SubjectRecord]:
    pattern = like_pattern(kind, value)
    rows = db.session.scalars(
        db.select(InboundMessage)
        .where(
            or_(
                InboundMessage.from_address.like(pattern, escape="\\"),
                func.lower(InboundMessage.body).like(pattern, escape="\\"),
            )
        )
        .order_by(InboundMessage.id)
    ).all()
    return [
        SubjectRecord(
            "inbound_sms",
            "inbound_messages",
            m.id,
            {
                "from_address": m.from_address,
                "body": m.body,
                "action": m.action,
                "received_at": _iso(m.received_at),
            },
        )
        for m in rows
        if same(kind, m.from_address, value) or mentions(kind, m.body, value)
    ]


def erase_inbound(record: SubjectRecord) -> None:
    row = db.session.get(InboundMessage, record.row_id)
    if row is not None:
        row.from_address, row.body = ERASED, ""
        db.session.flush()


def find_reminders(kind: str, value: str) -> list[SubjectRecord]:
    cases = person_case_ids(kind, value)
    rows = db.session.scalars(
        db.select(Reminder).where(Reminder.case_id.in_(cases)).order_by(Reminder.id)
    ).all()
    return [
        SubjectRecord(
            "reminders",
            "reminders",
            r.id,
            {
                "case_id": r.case_id,
                "channel": r.channel,
                "step": r.step,
                "due_at": _iso(r.due_at),
                "state": r.state,
                "note": r.note,
            },  # fmt: skip
        )
        for r in rows
    ]


def find_opt_outs(kind: str, value: str) -> list[SubjectRecord]:
    cases = person_case_ids(kind, value)
    rows = db.session.scalars(
        db.select(OptOut).where(OptOut.case_id.in_(cases)).order_by(OptOut.id)
    ).all()
    return [
        SubjectRecord(
            "opt_outs",
            "opt_outs",
            o.id,
            {"case_id": o.case_id, "at": _iso(o.at), "source": o.source},
        )
        for o in rows
    ]


def find_message_events(kind: str, value: str) -> list[SubjectRecord]:
    """Provider errors can quote the address (an SMTP 550 names the mailbox)."""
    rows = db.session.scalars(
        db.select(MessageEvent)
        .where(
            func.lower(cast(MessageEvent.detail, Text)).like(like_pattern(kind, value), escape="\\")
        )
        .order_by(MessageEvent.id)
    ).all()
    return [
        SubjectRecord(
            "message_events",
            "message_events",
            e.id,
            {"message_id": e.message_id, "at": _iso(e.at), "kind": e.kind, "detail": e.detail},
        )
        for e in rows
        if mentions(kind, e.detail, value)
    ]


def erase_message_event(record: SubjectRecord) -> None:
    db.session.execute(
        db.update(MessageEvent).where(MessageEvent.id == record.row_id).values(detail={})
    )


register_source(
    SubjectSource("cases", "cases", find_cases, restrict=restrict_case, erase=erase_case)
)
register_source(
    SubjectSource(
        "messages", "messages", find_messages, restrict=restrict_message, erase=erase_message
    )
)
register_source(
    SubjectSource(
        "message_events", "message_events", find_message_events, erase=erase_message_event
    )
)
register_source(
    SubjectSource("suppressions", "suppressions", find_suppressions, erase=erase_suppression)
)
register_source(SubjectSource("inbound_sms", "inbound_messages", find_inbound, erase=erase_inbound))
register_source(SubjectSource("reminders", "reminders", find_reminders))
register_source(SubjectSource("opt_outs", "opt_outs", find_opt_outs))
