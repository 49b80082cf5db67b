from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_app.followup.schedule import (
    Appointment,
    CallAttempt,
    CallCase,
    CallItem,
    CallRules,
    Exclusion,
    Priority,
    TimeSlice,
    build_call_list,
    evaluate,
    explain,
    plan_calls,
)

RULES = CallRules()
MON = datetime(2025, 3, 3)  # a Monday


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return MON + timedelta(days=day, hours=hh, minutes=mm)


def tries(*pairs: tuple[str, datetime]) -> tuple[CallAttempt, ...]:
    return tuple(CallAttempt(outcome, when) for outcome, when in pairs)


def reason(case: CallCase, now: datetime, rules: CallRules = RULES) -> Exclusion | None:
    decision = evaluate(case, now, rules)
    return None if isinstance(decision, CallItem) else decision.reason


# --- priorities -------------------------------------------------------------------------------


def test_priority_order_and_tie_breaks():
    now = at(1, 10, 30)
    cases = [
        CallCase("repeat-new", tries(("no_answer", at(0, 8, 30)))),
        CallCase("repeat-old", tries(("no_answer", at(0, 8, 10)))),
        CallCase("first-b"),
        CallCase("first-a"),
        CallCase(
            "soft",
            tries(("callback", at(0, 9))),
            appointment=Appointment(at(1, 10), hard=False),
        ),
        CallCase(
            "hard",
            tries(("callback", at(0, 9))),
            appointment=Appointment(at(1, 10, 35), hard=True),
        ),
    ]
    items = build_call_list(cases, now, RULES)
    assert [i.case_id for i in items] == [
        "hard",
        "soft",
        "first-a",
        "first-b",
        "repeat-old",
        "repeat-new",
    ]
    assert [int(i.priority) for i in items] == [1, 2, 3, 3, 4, 4]
    assert items[0].slice == "midday"


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(1, 10, 24), Exclusion.APPOINTMENT_FUTURE),  # 6 min before
        (at(1, 10, 25), Priority.HARD_APPOINTMENT),  # 5 min before
        (at(1, 10, 45), Priority.HARD_APPOINTMENT),  # 15 min after
        (at(1, 10, 46), Priority.SOFT_CALLBACK),  # missed: treated as soft callback
    ],
)
def test_hard_appointment_window(now, expected):
    case = CallCase(
        "c", tries(("callback", at(0, 9))), appointment=Appointment(at(1, 10, 30), True)
    )
    decision = evaluate(case, now, RULES)
    got = decision.priority if isinstance(decision, CallItem) else decision.reason
    assert got == expected


def test_soft_callback_due_only_after_its_time():
    case = CallCase("c", tries(("callback", at(0, 9))), appointment=Appointment(at(1, 11)))
    assert reason(case, at(1, 10, 59)) is Exclusion.APPOINTMENT_FUTURE
    assert evaluate(case, at(1, 11), RULES).priority is Priority.SOFT_CALLBACK


def test_hard_appointment_honoured_outside_hours_unless_configured():
    case = CallCase("c", tries(("callback", at(0, 9))), appointment=Appointment(at(1, 17), True))
    assert evaluate(case, at(1, 17), RULES).priority is Priority.HARD_APPOINTMENT
    strict = CallRules(hard_appointments_ignore_hours=False)
    assert reason(case, at(1, 17), strict) is Exclusion.OUTSIDE_HOURS
    soft = CallCase("s", tries(("callback", at(0, 9))), appointment=Appointment(at(1, 17)))
    assert reason(soft, at(1, 17)) is Exclusion.OUTSIDE_HOURS


# --- exclusions -------------------------------------------------------------------------------


def test_web_answered_and_final_drop_out():
    now = at(1, 9)
    web = CallCase("web", answered_on_web=True, appointment=Appointment(at(1, 9), True))
    final = CallCase("final", final=True)
    plan = plan_calls([web, final, CallCase("open")], now, RULES)
    assert [i.case_id for i in plan.items] == ["open"]
    assert {e.case_id: e.reason for e in plan.excluded} == {
        "web": Exclusion.WEB_ANSWERED,
        "final": Exclusion.FINAL,
    }


def test_locked_case_is_excluded():
    assert reason(CallCase("c", locked_by="agent7"), at(1, 9)) is Exclusion.LOCKED


def test_max_attempts_per_case():
    history = tries(*[("busy", at(0, 8) + timedelta(minutes=20 * i)) for i in range(10)])
    case = CallCase("c", history, appointment=Appointment(at(1, 9), True))
    assert reason(case, at(1, 9)) is Exclusion.EXHAUSTED


@pytest.mark.parametrize(("outcome", "limit"), [("no_answer", 6), ("answering_machine", 3)])
def test_max_per_outcome(outcome, limit):
    below = CallCase("c", tries(*[(outcome, at(-7 + i, 8)) for i in range(limit - 1)]))
    reached = CallCase("c", tries(*[(outcome, at(-7 + i, 8)) for i in range(limit)]))
    assert reason(below, at(1, 14)) is None
    assert reason(reached, at(1, 14)) is Exclusion.EXHAUSTED_OUTCOME


def test_terminal_phone_outcome_exhausts_case():
    assert reason(CallCase("c", tries(("wrong_number", at(0, 9)))), at(1, 9)) is (
        Exclusion.EXHAUSTED_OUTCOME
    )


def test_outcome_limit_waived_while_an_appointment_stands():
    history = tries(*[("no_answer", at(-7 + i, 8)) for i in range(6)], ("callback", at(0, 9)))
    case = CallCase("c", history, appointment=Appointment(at(1, 9)))
    assert evaluate(case, at(1, 9, 30), RULES).priority is Priority.SOFT_CALLBACK


@pytest.mark.parametrize(
    "now",
    [at(1, 7, 59), at(1, 16), at(5, 10), at(6, 10)],  # early, at closing, Saturday, Sunday
)
def test_outside_calling_hours(now):
    assert reason(CallCase("c"), now) is Exclusion.OUTSIDE_HOURS


def test_holiday_is_outside_hours():
    rules = CallRules(holidays=frozenset({date(2025, 3, 4)}))
    assert reason(CallCase("c"), at(1, 9), rules) is Exclusion.OUTSIDE_HOURS


def test_aware_now_is_converted_to_copenhagen():
    # 07:30 UTC on a winter Monday is 08:30 in Copenhagen: inside hours
    now = datetime(2025, 3, 3, 7, 30, tzinfo=ZoneInfo("UTC"))
    assert build_call_list([CallCase("c")], now, RULES)[0].slice == "morning"
    # 15:30 UTC in summer is 17:30 local: outside hours
    summer = datetime(2025, 6, 2, 15, 30, tzinfo=ZoneInfo("UTC"))
    assert reason(CallCase("c"), summer) is Exclusion.OUTSIDE_HOURS


def test_minimum_gaps():
    no_answer = CallCase("c", tries(("no_answer", at(1, 8, 30))))
    assert reason(no_answer, at(1, 10, 29)) is Exclusion.NOT_DUE_GAP
    assert reason(no_answer, at(1, 10, 30)) is None
    busy = CallCase("c", tries(("busy", at(1, 9))))
    assert reason(busy, at(1, 9, 14)) is Exclusion.NOT_DUE_GAP
    assert reason(busy, at(1, 9, 15)) is None


# --- slice rotation ---------------------------------------------------------------------------


def test_no_answer_rotates_through_slices():
    one = CallCase("c", tries(("no_answer", at(0, 9))))  # morning used
    assert reason(one, at(1, 9)) is Exclusion.NOT_DUE_SLICE
    assert reason(one, at(1, 11)) is None
    two = CallCase("c", tries(("no_answer", at(0, 9)), ("no_answer", at(0, 14))))
    assert reason(two, at(1, 9)) is Exclusion.NOT_DUE_SLICE
    assert reason(two, at(1, 15)) is Exclusion.NOT_DUE_SLICE
    assert reason(two, at(1, 11)) is None  # only midday left


def test_rotation_restarts_after_every_slice_used():
    three = CallCase(
        "c", tries(("no_answer", at(0, 9)), ("no_answer", at(0, 11)), ("no_answer", at(0, 14)))
    )
    for hour in (9, 11, 14):
        assert reason(three, at(1, hour)) is None


def test_rotation_resets_after_other_outcome_and_last_slice_overrides():
    reset = CallCase("c", tries(("no_answer", at(0, 9)), ("busy", at(0, 9, 30))))
    assert reason(reset, at(1, 9)) is None
    recorded = CallCase("c", tries(("no_answer", at(0, 9))), last_slice="afternoon")
    assert reason(recorded, at(1, 9)) is None
    assert reason(recorded, at(1, 14)) is Exclusion.NOT_DUE_SLICE


def test_rules_validation():
    with pytest.raises(ValueError):
        CallRules(slices=(TimeSlice("a", time(8), time(11)), TimeSlice("b", time(10), time(12))))
    with pytest.raises(ValueError):
        CallRules(slices=(TimeSlice("late", time(15), time(17)),))
    with pytest.raises(ValueError):
        CallRules(day_start=time(16), day_end=time(8))
    with pytest.raises(ValueError):
        plan_calls([CallCase("x"), CallCase("x")], at(1, 9), RULES)


def test_explain_lists_every_case():
    now = at(1, 9)
    cases = [
        CallCase("a"),
        CallCase("b", answered_on_web=True),
        CallCase("c", tries(("no_answer", at(1, 8, 30)))),
    ]
    lines = explain(cases, now, RULES)
    assert lines["a"] == "#1 priority 3: first call"
    assert lines["b"].startswith("not on list (answered_on_web)")
    assert lines["c"] == "not on list (not_due_gap): no_answer: next try from 10:30"


# --- property: the list never holds an excluded case and is sorted ---------------------------

OUTCOMES = ["no_answer", "busy", "answering_machine", "callback", "refusal", "wrong_number"]
moments = st.builds(
    lambda d, m: MON + timedelta(days=d, minutes=m),
    st.integers(min_value=-3, max_value=6),
    st.integers(min_value=0, max_value=24 * 60 - 1),
)
case_bodies = st.fixed_dictionaries(
    {
        "attempts": st.lists(
            st.builds(CallAttempt, st.sampled_from(OUTCOMES), moments), max_size=12
        ),
        "appointment": st.none() | st.builds(Appointment, moments, st.booleans()),
        "answered_on_web": st.booleans(),
        "final": st.booleans(),
        "locked_by": st.none() | st.just("agent"),
        "last_slice": st.none() | st.sampled_from(["morning", "midday", "afternoon"]),
    }
)


@settings(max_examples=200, deadline=None)
@given(st.lists(case_bodies, max_size=15), moments)
def test_property_list_is_clean_and_sorted(bodies, now):
    cases = [CallCase(f"case-{i:02d}", **body) for i, body in enumerate(bodies)]
    plan = plan_calls(cases, now, RULES)
    listed = {i.case_id for i in plan.items}
    excluded = {e.case_id for e in plan.excluded}
    assert listed.isdisjoint(excluded)
    assert listed | excluded == {c.case_id for c in cases}
    by_id = {c.case_id: c for c in cases}
    for item in plan.items:
        case = by_id[item.case_id]
        assert not (case.final or case.answered_on_web or case.locked_by)
        assert len(case.attempts) < RULES.max_attempts
    keys = [
        (
            int(i.priority),
            i.last_attempt_at is not None,
            i.last_attempt_at or datetime.min,
            i.case_id,
        )
        for i in plan.items
    ]
    assert keys == sorted(keys)
    assert [i.priority for i in plan.items] == sorted(i.priority for i in plan.items)
    assert build_call_list(cases, now, RULES) == plan.items
