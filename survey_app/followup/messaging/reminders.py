"""The reminder schedule of a round and the sweep that acts on due steps.

The schedule lives in the round's settings under ``reminders`` (defaults in
``sampling.rounds.DEFAULT_SETTINGS``): steps of a channel and a number of days after the
invitation, a maximum number of message reminders, quiet hours and no Sundays in the round's time
zone. A ``phone`` step hands the case to the call centre. Nothing is sent to a case that has
responded, refused or opted out: the sweep checks at its run, the sender again at send time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import joinedload

from survey_app.core.db import db, utcnow
from survey_app.sampling.models import Case, FieldingRound
from survey_app.sampling.rounds import DEFAULT_SETTINGS

from . import services
from .models import REMINDER_CHANNELS, Message, Reminder


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Step:
    channel: str
    after_days: float


@dataclass(frozen=True)
class ReminderRules:
    steps: tuple[Step, ...]
    max_reminders: int
    quiet_start: time
    quiet_end: time
    no_sundays: bool
    timezone: str

    def allowed(self, now_utc: datetime) -> bool:
        """May a reminder go out at ``now_utc`` (naive UTC)? Not in quiet hours, not on Sunday."""
        local = now_utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(self.timezone))
        if self.no_sundays and local.weekday() == 6:
            return False
        t = local.time().replace(tzinfo=None)
        if self.quiet_start == self.quiet_end:
            return True
        if self.quiet_start > self.quiet_end:  # over midnight, e.g. 20:00-08:00
            return not (t >= self.quiet_start or t < self.quiet_end)
        return not (self.quiet_start <= t < self.quiet_end)

    def next_allowed(self, now_utc: datetime) -> datetime:
        """The first moment at or after ``now_utc`` (naive UTC) when :meth:`allowed` holds."""
        if self.allowed(now_utc):
            return now_utc
        zone = ZoneInfo(self.timezone)
        local = now_utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
        for _ in range(16):
            if self.no_sundays and local.weekday() == 6:
                # Monday 00:00, then on to the end of the night's quiet hours
                local = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
            else:
                t = local.time().replace(tzinfo=None)
                day = local.date() if t < self.quiet_end else local.date() + timedelta(days=1)
                local = datetime.combine(day, self.quiet_end, zone)
            candidate = local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
            if self.allowed(candidate):
                return candidate
        raise ScheduleError("reminders: the quiet hours leave no time to send")  # pragma: no cover


def _clock(value, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise ScheduleError(f"{where}: {value!r} is not a time of day HH:MM") from None


def parse_rules(settings: dict | None) -> ReminderRules:
    """The round's reminder rules; ScheduleError names the setting and the bad value."""
    raw = (settings or {}).get("reminders") or DEFAULT_SETTINGS["reminders"]
    if not isinstance(raw, dict):
        raise ScheduleError(f"reminders: expected an object, got {raw!r}")
    unknown = set(raw) - set(DEFAULT_SETTINGS["reminders"])
    if unknown:
        raise ScheduleError(f"reminders: unknown settings {', '.join(sorted(unknown))}")
    merged = {**DEFAULT_SETTINGS["reminders"], **raw}
    steps = []
    for i, step in enumerate(merged["steps"]):
        where = f"reminders.steps[{i}]"
        if not isinstance(step, dict):
            raise ScheduleError(f"{where}: expected an object, got {step!r}")
        channel = step.get("channel")
        if channel not in REMINDER_CHANNELS:
            raise ScheduleError(
                f"{where}.channel: {channel!r} is not one of {', '.join(REMINDER_CHANNELS)}"
            )
        days = step.get("after_days")
        if not isinstance(days, int | float) or isinstance(days, bool) or days < 0:
            raise ScheduleError(f"{where}.after_days: {days!r} is not a number of days >= 0")
        steps.append(Step(channel, float(days)))
    maximum = merged["max_reminders"]
    if not isinstance(maximum, int) or isinstance(maximum, bool) or maximum < 0:
        raise ScheduleError(f"reminders.max_reminders: {maximum!r} is not a whole number >= 0")
    quiet = merged["quiet_hours"]
    if not isinstance(quiet, list | tuple) or len(quiet) != 2:
        raise ScheduleError(f"reminders.quiet_hours: {quiet!r} is not [start, end]")
    try:
        ZoneInfo(str(merged["timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"reminders.timezone: {merged['timezone']!r} is unknown") from None
    return ReminderRules(
        steps=tuple(steps),
        max_reminders=maximum,
        quiet_start=_clock(quiet[0], "reminders.quiet_hours[0]"),
        quiet_end=_clock(quiet[1], "reminders.quiet_hours[1]"),
        no_sundays=bool(merged["no_sundays"]),
        timezone=str(merged["timezone"]),
    )


def schedule(case_ids: list[int], rules: ReminderRules, start: datetime | None = None) -> int:
    """Plan the steps for cases that have none yet, counted from ``start``; returns rows added."""
    start = start or utcnow()
    has = set(
        db.session.scalars(
            db.select(Reminder.case_id).where(Reminder.case_id.in_(case_ids)).distinct()
        )
    )
    rows = [
        {
            "case_id": case_id,
            "channel": step.channel,
            "step": n,
            "due_at": start + timedelta(days=step.after_days),
            "state": "pending",
            "created_at": start,
        }
        for case_id in case_ids
        if case_id not in has
        for n, step in enumerate(rules.steps, start=1)
    ]
    if rows:
        db.session.execute(db.insert(Reminder), rows)
    return len(rows)


def _address(case: Case, channel: str) -> str | None:
    posting = case.posting
    if channel == "email":
        return services.normalise_email(posting.contact_email)
    if channel == "sms":
        return services.normalise_phone(posting.contact_phone)
    name = posting.contact_name or ""
    company = posting.company.name if posting.company else ""
    return ", ".join(p for p in (name, company) if p) or f"case {case.id}"


def sweep(now: datetime | None = None, limit: int = 5000) -> tuple[dict[str, int], list]:
    """Act on due reminders. Returns (counts, [(message id, channel, round id)] to dispatch once
    the caller has committed)."""
    now = now or utcnow()
    counts = {"queued": 0, "phone": 0, "cancelled": 0, "quiet": 0}
    due = db.session.scalars(
        db.select(Reminder)
        .where(Reminder.state == "pending", Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    ).all()
    if not due:
        return counts, []
    cases = {
        c.id: c
        for c in db.session.scalars(
            db.select(Case)
            .where(Case.id.in_({r.case_id for r in due}))
            .options(joinedload(Case.response), joinedload(Case.posting), joinedload(Case.round))
        ).unique()
    }
    rules_of: dict[int, ReminderRules] = {}
    new: list[Message] = []
    for reminder in due:
        case = cases[reminder.case_id]
        rnd: FieldingRound = case.round
        if rnd.id not in rules_of:
            rules_of[rnd.id] = parse_rules(rnd.settings)
        rules = rules_of[rnd.id]

        def cancel(note: str, reminder=reminder) -> None:
            reminder.state, reminder.note, reminder.done_at = "cancelled", note[:200], now
            counts["cancelled"] += 1

        reason = services.stop_reason(case)
        if reason:
            cancel(reason)
            continue
        if not rules.allowed(now):
            counts["quiet"] += 1
            continue
        if reminder.channel == "phone":
            reminder.state, reminder.done_at, reminder.note = "done", now, "due for phone"
            counts["phone"] += 1
            continue
        done = db.session.scalar(
            db.select(db.func.count(Reminder.id)).where(
                Reminder.case_id == case.id,
                Reminder.state == "done",
                Reminder.channel != "phone",
            )
        )
        if done >= rules.max_reminders:
            cancel(f"maximum of {rules.max_reminders} reminders reached")
            continue
        try:
            address = _address(case, reminder.channel)
        except services.AddressError as exc:
            address, bad = None, str(exc)
        else:
            bad = f"no {reminder.channel} contact"
        if not address:
            cancel(bad)
            services.advance_case(case.id, reminder.channel, now)
            continue
        if reminder.channel != "letter":
            blocked = services.active_suppression(reminder.channel, address)
            if blocked is not None:
                cancel(f"address suppressed ({blocked.reason})")
                services.advance_case(case.id, reminder.channel, now)
                continue
        message = Message(
            case_id=case.id,
            channel=reminder.channel,
            purpose="reminder",
            to_address=address,
            language=case.response.language or "da",
            brand_id=case.brand_id,
            state="queued",
            queued_at=now,
        )
        db.session.add(message)
        db.session.flush()
        reminder.state, reminder.done_at, reminder.message_id = "done", now, message.id
        services.event(message.id, "state", "queued", reminder=reminder.id)
        new.append((message.id, message.channel, case.round_id))
        counts["queued"] += 1
    db.session.flush()
    return counts, new
