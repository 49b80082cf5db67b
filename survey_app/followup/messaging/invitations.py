"""Creating a round's invitations: one outbox row per case and channel, reminders planned."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import joinedload

from survey_app.core import audit
from survey_app.core.db import db, utcnow
from survey_app.sampling.models import Case, FieldingRound, Posting

from . import reminders, services
from .models import CHANNELS, Message


@dataclass
class InvitationRun:
    created: list[tuple[int, str, int]] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    #: (case id, channel, problem) for addresses that cannot be used
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    reminders: int = 0
    #: e-mails and SMS held back by the quiet hours (id, channel, round id), due at ``held_until``
    held: list[tuple[int, str, int]] = field(default_factory=list)
    held_until: datetime | None = None


def _pick(case: Case, channel: str | None) -> tuple[str, str | None, str | None]:
    """(channel, address, problem) for the case; the default channel is e-mail, else SMS."""
    posting = case.posting
    wanted = [channel] if channel else ["email", "sms"]
    problem = None
    for ch in wanted:
        try:
            if ch == "email":
                address = services.normalise_email(posting.contact_email)
            elif ch == "sms":
                address = services.normalise_phone(posting.contact_phone)
            else:
                company = posting.company.name if posting.company else ""
                address = ", ".join(p for p in (posting.contact_name, company) if p)
        except services.AddressError as exc:
            address, problem = None, str(exc)
        if address:
            return ch, address, None
    return wanted[-1], None, problem


#: channels that wait for the end of the quiet hours (letters are printed and posted by staff)
TIMED_CHANNELS = frozenset({"email", "sms"})


def create_invitations(
    rnd: FieldingRound,
    channel: str | None = None,
    now: datetime | None = None,
    *,
    quiet_hours: bool = False,
) -> InvitationRun:
    """Queue an invitation for every open case of the round that has none on the channel yet.

    Flushes; the caller commits and then dispatches ``run.created`` (and ``run.held`` at
    ``run.held_until``). Running it again adds nothing for cases already invited on that
    channel. With ``quiet_hours`` (the ``invitations send`` command) the round's quiet hours and
    Sundays (the reminder rules) hold too: started then, e-mails and SMS are queued for the next
    allowed time instead of now, and their reminders are counted from that time.
    """
    if channel is not None and channel not in CHANNELS:
        raise ValueError(f"channel {channel!r}: use one of {', '.join(CHANNELS)}")
    rules = reminders.parse_rules(rnd.settings)
    run = InvitationRun()
    invited = {
        (case_id, ch)
        for case_id, ch in db.session.execute(
            db.select(Message.case_id, Message.channel)
            .join(Case, Case.id == Message.case_id)
            .where(Case.round_id == rnd.id, Message.purpose == "invitation")
        )
    }
    invited_cases = {case_id for case_id, _ch in invited}
    cases = db.session.scalars(
        db.select(Case)
        .where(Case.round_id == rnd.id)
        .options(joinedload(Case.response), joinedload(Case.posting).joinedload(Posting.company))
        .order_by(Case.id)
    ).unique()
    now = now or utcnow()
    send_at = rules.next_allowed(now) if quiet_hours else now
    held = send_at > now
    rows, planned = [], []
    wanted: list[tuple[Case, str, str]] = []
    for case in cases:
        if services.stop_reason(case):
            run.skipped["case closed"] += 1
            continue
        ch, address, problem = _pick(case, channel)
        if (case.id, ch) in invited or (channel is None and case.id in invited_cases):
            run.skipped["already invited"] += 1
            continue
        if not address:
            run.skipped[f"no usable {ch} contact"] += 1
            if problem:
                run.problems.append((case.id, ch, problem))
            continue
        wanted.append((case, ch, address))
    blocked = {
        ch: services.suppressed_addresses(ch, [a for _c, c, a in wanted if c == ch])
        for ch in ("email", "sms")
    }
    for case, ch, address in wanted:
        reason = blocked.get(ch, {}).get(address)
        rows.append(
            {
                "case_id": case.id,
                "channel": ch,
                "purpose": "invitation",
                "to_address": address,
                "language": case.response.language or "da",
                "brand_id": case.brand_id,
                "state": "suppressed" if reason else "queued",
                "last_error": f"address suppressed ({reason})" if reason else None,
                "attempts": 0,
                "error_permanent": False,
                "created_at": now,
                "queued_at": now,
                "next_attempt_at": send_at if held and ch in TIMED_CHANNELS else None,
            }
        )
        if reason:
            run.skipped[f"{ch} address suppressed"] += 1
        planned.append(case.id)
    ids: list[int] = []
    for i in range(0, len(rows), 1000):
        ids += db.session.scalars(
            db.insert(Message).returning(Message.id, sort_by_parameter_order=True),
            rows[i : i + 1000],
        ).all()
    services.events(
        [
            {"message_id": mid, "kind": "state", "state": row["state"]}
            for mid, row in zip(ids, rows, strict=True)
        ]  # fmt: skip
    )
    for mid, row in zip(ids, rows, strict=True):
        if row["state"] == "queued":
            (run.held if row["next_attempt_at"] else run.created).append(
                (mid, row["channel"], rnd.id)
            )
    if run.held:
        run.held_until = send_at
    run.reminders = reminders.schedule(sorted(set(planned)), rules, send_at)
    audit.record(
        "invitations.queued",
        "round",
        rnd.id,
        actor_label="cli",
        channel=channel or "default",
        queued=len(run.created) + len(run.held),
        held_until=run.held_until.isoformat() if run.held_until else None,
        skipped=dict(run.skipped),
    )
    db.session.flush()
    return run
