"""Call-list prioritisation for the telephone follow-up (in the style of Blaise 5 CATI).

A pure function of the cases, the current time and the rules. Case datetimes are naive *local*
times (Europe/Copenhagen by default); an aware ``now`` (or attempt time) is converted to local.

Priorities (lower is called first):

1. hard appointment due now: from ``hard_before`` before until ``hard_after`` after its time;
2. soft callback due (its time has passed), or a missed hard appointment (treated as soft);
3. first call (no phone attempt yet);
4. repeated attempt.

Ties are broken by the oldest last attempt (never-tried first), then by case id.

A case is left off the list, with the first matching reason, when it is: final; answered on the
web; exhausted (``max_attempts`` phone attempts, or an outcome seen ``max_per_outcome`` times -
this limit is waived while an appointment stands, since the appointment shows contact); held for
an appointment in the future; outside calling hours (weekday, holiday or clock time; a due hard
appointment is honoured outside them when ``hard_appointments_ignore_hours``); locked by an agent;
not yet due because the minimum gap after its last outcome has not passed; or not yet due because
its run of ``no_answer`` attempts already used the current time slice. Slice rotation: walking the
trailing ``no_answer`` attempts oldest first, each adds its slice to a set that starts afresh once
every slice is used; the case may be tried now only in a slice outside that set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import IntEnum, StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class TimeSlice:
    name: str
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class Appointment:
    at: datetime
    hard: bool = False


@dataclass(frozen=True)
class CallAttempt:
    outcome: str
    at: datetime


@dataclass(frozen=True)
class CallCase:
    case_id: str
    attempts: tuple[CallAttempt, ...] = ()
    appointment: Appointment | None = None
    answered_on_web: bool = False
    final: bool = False
    locked_by: str | None = None
    # Slice of the most recent attempt as recorded by the dialler; overrides the slice derived
    # from that attempt's time.
    last_slice: str | None = None

    def __post_init__(self) -> None:
        attempts = tuple(sorted(self.attempts, key=lambda a: _local_naive(a.at)))
        object.__setattr__(self, "attempts", attempts)


def _freeze(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


DEFAULT_SLICES = (
    TimeSlice("morning", time(8), time(10)),
    TimeSlice("midday", time(10), time(13)),
    TimeSlice("afternoon", time(13), time(16)),
)
DEFAULT_MAX_PER_OUTCOME = {
    "no_answer": 6,
    "answering_machine": 3,
    "busy": 5,
    "refusal": 1,
    "wrong_number": 1,
    "disconnected_number": 1,
    "company_closed": 1,
    "not_eligible": 1,
}
DEFAULT_MIN_GAP = {
    "no_answer": timedelta(hours=2),
    "answering_machine": timedelta(hours=2),
    "busy": timedelta(minutes=15),
}


@dataclass(frozen=True)
class CallRules:
    timezone: str = "Europe/Copenhagen"
    calling_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    day_start: time = time(8)
    day_end: time = time(16)
    holidays: frozenset[date] = frozenset()
    slices: tuple[TimeSlice, ...] = DEFAULT_SLICES
    max_attempts: int = 10
    max_per_outcome: Mapping[str, int] = field(
        default_factory=lambda: _freeze(DEFAULT_MAX_PER_OUTCOME)
    )
    min_gap: Mapping[str, timedelta] = field(default_factory=lambda: _freeze(DEFAULT_MIN_GAP))
    hard_before: timedelta = timedelta(minutes=5)
    hard_after: timedelta = timedelta(minutes=15)
    hard_appointments_ignore_hours: bool = True

    def __post_init__(self) -> None:
        if self.day_start >= self.day_end:
            raise ValueError("day_start must be before day_end")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        names = [s.name for s in self.slices]
        if len(set(names)) != len(names):
            raise ValueError("time slice names must be unique")
        ordered = sorted(self.slices, key=lambda s: s.start)
        for s in ordered:
            if not self.day_start <= s.start < s.end <= self.day_end:
                raise ValueError(f"time slice {s.name} must lie within calling hours")
        for a, b in zip(ordered, ordered[1:], strict=False):
            if a.end > b.start:
                raise ValueError(f"time slices {a.name} and {b.name} overlap")
        object.__setattr__(self, "calling_days", frozenset(self.calling_days))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "slices", tuple(self.slices))
        object.__setattr__(self, "max_per_outcome", _freeze(self.max_per_outcome))
        object.__setattr__(self, "min_gap", _freeze(self.min_gap))
        ZoneInfo(self.timezone)  # fail early on an unknown zone

    def slice_at(self, moment: datetime) -> str | None:
        for s in self.slices:
            if s.contains(moment.time()):
                return s.name
        return None

    def within_hours(self, moment: datetime) -> bool:
        return (
            moment.weekday() in self.calling_days
            and moment.date() not in self.holidays
            and self.day_start <= moment.time() < self.day_end
        )


class Priority(IntEnum):
    HARD_APPOINTMENT = 1
    SOFT_CALLBACK = 2
    FIRST_CALL = 3
    REPEAT = 4


class Exclusion(StrEnum):
    FINAL = "final"
    WEB_ANSWERED = "answered_on_web"
    EXHAUSTED = "exhausted"
    EXHAUSTED_OUTCOME = "exhausted_outcome"
    APPOINTMENT_FUTURE = "appointment_in_future"
    OUTSIDE_HOURS = "outside_calling_hours"
    LOCKED = "locked"
    NOT_DUE_GAP = "not_due_gap"
    NOT_DUE_SLICE = "not_due_slice"


@dataclass(frozen=True)
class CallItem:
    case_id: str
    priority: Priority
    reason: str
    last_attempt_at: datetime | None
    attempts: int
    slice: str | None


@dataclass(frozen=True)
class Excluded:
    case_id: str
    reason: Exclusion
    detail: str


@dataclass(frozen=True)
class CallPlan:
    items: list[CallItem]
    excluded: list[Excluded]


def _local_naive(moment: datetime, timezone: str = "Europe/Copenhagen") -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def _rotation_used(case: CallCase, rules: CallRules) -> set[str]:
    """Slices used by the current cycle of the trailing run of no_answer attempts."""
    trailing: list[str | None] = []
    for i, attempt in enumerate(case.attempts):
        label = rules.slice_at(_local_naive(attempt.at, rules.timezone))
        if i == len(case.attempts) - 1 and case.last_slice is not None:
            label = case.last_slice
        trailing = trailing + [label] if attempt.outcome == "no_answer" else []
    all_slices = {s.name for s in rules.slices}
    used: set[str] = set()
    for label in trailing:
        if label in all_slices:
            used.add(label)
        if used == all_slices:
            used = set()
    return used


def evaluate(case: CallCase, now: datetime, rules: CallRules) -> CallItem | Excluded:
    """Decide one case: a :class:`CallItem` for the list or the reason it is left off."""
    now = _local_naive(now, rules.timezone)
    attempts = case.attempts
    last = attempts[-1] if attempts else None
    last_at = _local_naive(last.at, rules.timezone) if last else None

    def out(reason: Exclusion, detail: str) -> Excluded:
        return Excluded(case.case_id, reason, detail)

    if case.final:
        return out(Exclusion.FINAL, "case has a final outcome")
    if case.answered_on_web:
        return out(Exclusion.WEB_ANSWERED, "company answered on the web")
    if len(attempts) >= rules.max_attempts:
        return out(Exclusion.EXHAUSTED, f"{len(attempts)} of {rules.max_attempts} attempts used")
    if case.appointment is None:
        for outcome, limit in rules.max_per_outcome.items():
            seen = sum(1 for a in attempts if a.outcome == outcome)
            if seen >= limit:
                return out(Exclusion.EXHAUSTED_OUTCOME, f"{outcome} {seen} of {limit} times")

    priority: Priority
    reason: str
    honour_outside_hours = False
    appt = case.appointment
    if appt is not None:
        at = _local_naive(appt.at, rules.timezone)
        if appt.hard and now < at - rules.hard_before:
            return out(Exclusion.APPOINTMENT_FUTURE, f"hard appointment at {at:%Y-%m-%d %H:%M}")
        if not appt.hard and now < at:
            return out(Exclusion.APPOINTMENT_FUTURE, f"callback at {at:%Y-%m-%d %H:%M}")
        if appt.hard and now <= at + rules.hard_after:
            priority, reason = Priority.HARD_APPOINTMENT, f"hard appointment {at:%H:%M} due"
            honour_outside_hours = rules.hard_appointments_ignore_hours
        elif appt.hard:
            priority, reason = Priority.SOFT_CALLBACK, f"missed hard appointment {at:%H:%M}"
        else:
            priority, reason = Priority.SOFT_CALLBACK, f"callback {at:%H:%M} due"
    elif not attempts:
        priority, reason = Priority.FIRST_CALL, "first call"
    else:
        priority, reason = Priority.REPEAT, f"attempt {len(attempts) + 1}"

    if not honour_outside_hours and not rules.within_hours(now):
        return out(Exclusion.OUTSIDE_HOURS, f"{now:%a %H:%M} is outside calling hours")
    if case.locked_by:
        return out(Exclusion.LOCKED, f"open with {case.locked_by}")

    current = rules.slice_at(now)
    if priority is Priority.REPEAT and last is not None and last_at is not None:
        gap = rules.min_gap.get(last.outcome)
        if gap is not None and now < last_at + gap:
            due = last_at + gap
            return out(Exclusion.NOT_DUE_GAP, f"{last.outcome}: next try from {due:%H:%M}")
        used = _rotation_used(case, rules)
        if used and (current is None or current in used):
            tried = ", ".join(sorted(used))
            return out(Exclusion.NOT_DUE_SLICE, f"no answer already in slice(s): {tried}")

    return CallItem(case.case_id, priority, reason, last_at, len(attempts), current)


def _sort_key(item: CallItem) -> tuple[int, bool, datetime, str]:
    return (
        int(item.priority),
        item.last_attempt_at is not None,
        item.last_attempt_at or datetime.min,
        item.case_id,
    )


def plan_calls(cases: Iterable[CallCase], now: datetime, rules: CallRules) -> CallPlan:
    """The call list and, for every case not on it, why not."""
    items: list[CallItem] = []
    excluded: list[Excluded] = []
    seen: set[str] = set()
    for case in cases:
        if case.case_id in seen:
            raise ValueError(f"duplicate case id {case.case_id!r}")
        seen.add(case.case_id)
        decision = evaluate(case, now, rules)
        (items if isinstance(decision, CallItem) else excluded).append(decision)
    items.sort(key=_sort_key)
    excluded.sort(key=lambda e: e.case_id)
    return CallPlan(items, excluded)


def build_call_list(cases: Iterable[CallCase], now: datetime, rules: CallRules) -> list[CallItem]:
    """Cases to call now, best first."""
    return plan_calls(cases, now, rules).items


def explain(cases: Iterable[CallCase], now: datetime, rules: CallRules) -> dict[str, str]:
    """A supervisor's one-line answer per case id: its place on the list or why it is absent."""
    plan = plan_calls(cases, now, rules)
    lines = {
        item.case_id: f"#{rank} priority {int(item.priority)}: {item.reason}"
        for rank, item in enumerate(plan.items, start=1)
    }
    for ex in plan.excluded:
        lines[ex.case_id] = f"not on list ({ex.reason.value}): {ex.detail}"
    return lines
