"""A round's ``calls`` settings become the schedule's rules; bad values are named."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from survey_app.followup.callcentre.calllist import next_due, to_local, to_utc
from survey_app.followup.callcentre.settings import CallSettingsError, parse
from survey_app.followup.schedule import CallAttempt, CallCase, Priority


def test_defaults():
    cfg = parse({})
    assert cfg.enabled and cfg.after_days == 14 and cfg.lock.total_seconds() == 900
    assert cfg.rules.max_per_outcome["no_answer"] == 6
    assert [s.name for s in cfg.rules.slices] == ["morning", "midday", "afternoon"]
    assert cfg.rules.day_end == time(16)


@pytest.mark.parametrize(
    ("calls", "message"),
    [
        ({"day_start": "8am"}, "calls.day_start: '8am' is not a time HH:MM"),
        ({"max_attempts": 0}, "calls.max_attempts: 0 is not a whole number >= 1"),
        ({"calling_days": [7]}, "calls.calling_days"),
        ({"day_start": "17:00"}, "day_start must be before day_end"),
    ],
)
def test_errors_name_round_key_and_value(calls, message):
    with pytest.raises(CallSettingsError) as err:
        parse({"calls": calls}, "R1")
    assert str(err.value).startswith("round R1:") and message in str(err.value)


def test_next_due_outside_hours_is_the_next_morning():
    rules = parse({}).rules
    # Friday 18:00 local: nothing before Monday 08:00
    now = to_utc(datetime(2026, 11, 27, 18, 0), rules.timezone)
    plan = next_due(CallCase("1"), now, rules)
    assert plan.item.priority is Priority.FIRST_CALL
    assert plan.due_local == datetime(2026, 11, 30, 8, 0)


def test_next_due_respects_gap_and_slice_rotation():
    rules = parse({}).rules
    at = to_utc(datetime(2026, 11, 24, 8, 30), rules.timezone)  # morning slice
    case = CallCase("1", attempts=(CallAttempt("no_answer", to_local(at, rules.timezone)),))
    plan = next_due(case, at, rules)
    # two hours' gap, and not the morning slice again: midday from 10:30
    assert plan.due_local == datetime(2026, 11, 24, 10, 30)
    assert plan.item.priority is Priority.REPEAT


def test_six_no_answers_drop_the_case():
    rules = parse({}).rules
    attempts = tuple(CallAttempt("no_answer", datetime(2026, 11, 2 + d, 9)) for d in range(6))
    plan = next_due(CallCase("1", attempts=attempts), datetime(2026, 11, 20, 9), rules)
    assert plan.item is None and plan.excluded.reason.value == "exhausted_outcome"


def test_24_00_is_the_end_of_the_day():
    calls = {"day_start": "00:00", "day_end": "24:00", "slices": [["day", "00:00", "24:00"]]}
    cfg = parse({"calls": calls})
    assert cfg.rules.day_end == time.max and cfg.rules.slices[0].end == time.max
    late = datetime(2026, 11, 23, 23, 59, 30)  # a Monday, half a minute before midnight
    assert cfg.rules.within_hours(late) and cfg.rules.slice_at(late) == "day"
