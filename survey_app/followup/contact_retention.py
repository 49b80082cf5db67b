"""Contact persons inactive 18½ months are deleted, with an e-mail one month before.

**Who is a contact person.** The person a posting names (``contact_name``, ``contact_email``,
``contact_phone``). The same person is named by many postings, so a person is keyed by the
e-mail address (lower-cased), else the phone number; a posting that names nobody reachable but
carries a name or a text is a person of its own.

**When a person is active.** A person is active at the latest of: a source delivering (or
re-delivering) a posting that names them (``postings.updated_at``); and everything the person
did about a case of such a posting: starting or completing the questionnaire, saving a page,
clicking the opt-out, talking to an agent (a call with an outcome that needs someone to answer),
and an SMS from their number. What *we* send does not count: an invitation, a reminder or the
retention notice itself never keeps a profile alive.

**What happens.** At 17½ months of inactivity a person with an e-mail address gets the notice
(written to the outbox, once per period of inactivity). At 18½ months they are deleted, but never
sooner than 30 days after their notice: the posting's contact fields and text, the addresses of
every message to them or about their cases (and those messages' provider events and errors),
and the numbers, referrals and notes of the calls about their cases. Suppressions in force stay
(they are what keeps a refused address from being contacted again). Answers are pseudonymised by
their own rule when the round closes; inbound SMS go by their own age limit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, update

from survey_app.core.db import db
from survey_app.core.personal_data import RetentionReport, months_before, setting
from survey_app.questionnaire.models import PageVisit, Response
from survey_app.sampling.models import Case, Posting

from .callcentre.models import CallAttempt
from .messaging.models import InboundMessage, Message, MessageEvent, OptOut
from .messaging.retention_notice import NOTICE_LEAD, queue_notice, star_brand_id

RULE = "contact-persons"
#: call outcomes in which somebody at the company answered the phone
ANSWERED = ("callback", "referred", "refusal", "interview_started", "completed", "not_eligible")
CHUNK = 500


def limits(now: datetime) -> tuple[datetime, datetime]:
    """(notice cutoff, deletion cutoff): inactive since before these."""
    months = float(setting("RETENTION_CONTACT_MONTHS", 18.5))
    return months_before(now, months - 1), months_before(now, months)


def _key(posting_id: int, email: str | None, phone: str | None) -> str:
    if email and email.strip():
        return email.strip().lower()
    if phone and phone.strip():
        return phone.strip()
    return f"posting:{posting_id}"


def _latest(*values):
    present = [v for v in values if v is not None]
    return max(present) if present else None


def persons() -> dict[str, dict]:
    """{key: {"postings": [ids], "phones": set, "email": str|None, "last": datetime}}."""
    found: dict[str, dict] = {}
    posting_key: dict[int, str] = {}
    rows = db.session.execute(
        db.select(
            Posting.id,
            Posting.contact_email,
            Posting.contact_phone,
            Posting.imported_at,
            Posting.updated_at,
        )
        .where(
            or_(
                Posting.contact_name.is_not(None),
                Posting.contact_email.is_not(None),
                Posting.contact_phone.is_not(None),
                Posting.text.is_not(None),
            )
        )
        .execution_options(yield_per=5000)
    )
    for pid, email, phone, imported, updated in rows:
        key = _key(pid, email, phone)
        person = found.setdefault(
            key, {"postings": [], "phones": set(), "email": None, "last": None}
        )
        person["postings"].append(pid)
        if email and email.strip():
            person["email"] = email.strip().lower()
        if phone and phone.strip():
            person["phones"].add(phone.strip())
        person["last"] = _latest(person["last"], imported, updated)
        posting_key[pid] = key
    if not found:
        return found
    for query in _activity_queries():
        for pid, at in db.session.execute(query):
            key = posting_key.get(pid)
            if key is not None and at is not None:
                found[key]["last"] = _latest(found[key]["last"], at)
    inbound = dict(
        db.session.execute(
            db.select(InboundMessage.from_address, func.max(InboundMessage.received_at)).group_by(
                InboundMessage.from_address
            )
        ).all()
    )
    if inbound:
        for person in found.values():
            for phone in person["phones"]:
                person["last"] = _latest(person["last"], inbound.get(phone))
    return found


def _activity_queries():
    by_posting = Case.posting_id
    yield (
        db.select(by_posting, func.max(Response.started_at))
        .join(Response, Response.id == Case.response_id)
        .group_by(by_posting)
    )
    yield (
        db.select(by_posting, func.max(Response.completed_at))
        .join(Response, Response.id == Case.response_id)
        .group_by(by_posting)
    )
    yield (
        db.select(by_posting, func.max(PageVisit.saved_at))
        .join(PageVisit, PageVisit.response_id == Case.response_id)
        .group_by(by_posting)
    )
    yield (
        db.select(by_posting, func.max(CallAttempt.started_at))
        .join(CallAttempt, CallAttempt.case_id == Case.id)
        .where(CallAttempt.outcome.in_(ANSWERED))
        .group_by(by_posting)
    )
    yield (
        db.select(by_posting, func.max(OptOut.at))
        .join(OptOut, OptOut.case_id == Case.id)
        .group_by(by_posting)
    )


def _notices() -> dict[str, datetime]:
    """{address: when the latest retention notice to it was written}."""
    return dict(
        db.session.execute(
            db.select(Message.to_address, func.max(Message.created_at))
            .where(Message.purpose == "retention")
            .group_by(Message.to_address)
        ).all()
    )


def _chunks(ids):
    ids = sorted(ids)
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def apply(now: datetime, dry_run: bool) -> RetentionReport:
    report = RetentionReport(RULE, dry_run)
    notice_cutoff, delete_cutoff = limits(now)
    notices = _notices()
    to_notify: list[str] = []
    to_delete: dict[str, dict] = {}
    for key, person in persons().items():
        last = person["last"]
        if last is None or last >= notice_cutoff:
            continue
        email = person["email"]
        noticed = notices.get(email) if email else None
        if email and (noticed is None or noticed < last):
            to_notify.append(email)  # not told in this period of inactivity
            continue
        if last < delete_cutoff and (noticed is None or noticed <= now - NOTICE_LEAD):
            to_delete[key] = person
    report.notified = len(to_notify)
    report.affected = len(to_delete)
    postings = sorted(p for person in to_delete.values() for p in person["postings"])
    report.sample = [f"posting:{p}" for p in postings[:10]]
    emails = sorted({person["email"] for person in to_delete.values() if person["email"]})
    cases = sorted(
        c
        for chunk in _chunks(postings)
        for c in db.session.scalars(db.select(Case.id).where(Case.posting_id.in_(chunk)))
    )
    messages = _message_ids(cases, emails)
    report.details = {
        "postings": len(postings),
        "cases": len(cases),
        "messages": len(messages),
        "notices": len(to_notify),
    }
    if dry_run:
        return report
    brand_id = star_brand_id()
    queued = []
    if brand_id is not None:
        queued = [queue_notice(address, brand_id, now) for address in to_notify]
    else:
        report.notified = 0
        report.details["notices_without_brand"] = len(to_notify)
    _erase(postings, cases, messages)
    db.session.commit()
    if queued:
        from .messaging.outbox import dispatch_ids

        dispatch_ids([m.id for m in queued])
    return report


def _message_ids(cases: list[int], emails: list[str]) -> list[int]:
    ids: set[int] = set()
    for chunk in _chunks(cases):
        ids.update(db.session.scalars(db.select(Message.id).where(Message.case_id.in_(chunk))))
    for i in range(0, len(emails), CHUNK):
        ids.update(
            db.session.scalars(
                db.select(Message.id).where(
                    Message.case_id.is_(None), Message.to_address.in_(emails[i : i + CHUNK])
                )
            )
        )
    return sorted(ids)


def _erase(postings: list[int], cases: list[int], messages: list[int]) -> None:
    blank = {"contact_name": None, "contact_email": None, "contact_phone": None, "text": None}
    for chunk in _chunks(postings):
        db.session.execute(update(Posting).where(Posting.id.in_(chunk)).values(blank))
    for chunk in _chunks(messages):
        db.session.execute(
            update(Message).where(Message.id.in_(chunk)).values(to_address="", last_error=None)
        )
        db.session.execute(
            update(MessageEvent).where(MessageEvent.message_id.in_(chunk)).values(detail={})
        )
    for chunk in _chunks(cases):
        db.session.execute(
            update(CallAttempt)
            .where(CallAttempt.case_id.in_(chunk))
            .values(phone=None, referred_name=None, referred_phone=None, note=None)
        )
