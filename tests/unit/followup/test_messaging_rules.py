"""Pure rules of the messaging module: the reminder schedule, quiet hours, SMS keywords, Twilio
fault classes."""

from __future__ import annotations

from datetime import datetime

import pytest
from twilio.base.exceptions import TwilioRestException

from survey_app.followup.messaging.channels.sms import classify
from survey_app.followup.messaging.reminders import ScheduleError, parse_rules
from survey_app.followup.messaging.webhooks import _keyword


def test_default_rules_and_quiet_hours_in_copenhagen():
    rules = parse_rules({})
    assert [(s.channel, s.after_days) for s in rules.steps] == [
        ("email", 7.0),
        ("sms", 10.0),
        ("phone", 14.0),
    ]
    assert rules.max_reminders == 2
    # winter: UTC+1; summer: UTC+2
    assert rules.allowed(datetime(2026, 12, 1, 7, 0))  # Tue 08:00 local
    assert not rules.allowed(datetime(2026, 12, 1, 6, 59))  # Tue 07:59
    assert rules.allowed(datetime(2026, 12, 1, 18, 59))  # Tue 19:59
    assert not rules.allowed(datetime(2026, 12, 1, 19, 0))  # Tue 20:00
    assert not rules.allowed(datetime(2026, 12, 1, 23, 30))  # Wed 00:30
    assert not rules.allowed(datetime(2026, 12, 6, 12, 0))  # Sunday 13:00
    assert rules.allowed(datetime(2026, 12, 5, 12, 0))  # Saturday 13:00
    assert rules.allowed(datetime(2026, 6, 2, 6, 0))  # Tue 08:00 summer time
    assert not rules.allowed(datetime(2026, 6, 2, 5, 59))


def test_quiet_hours_within_one_day_and_sundays_allowed():
    rules = parse_rules(
        {"reminders": {"quiet_hours": ["12:00", "13:00"], "no_sundays": False, "timezone": "UTC"}}
    )
    assert not rules.allowed(datetime(2026, 12, 6, 12, 30))
    assert rules.allowed(datetime(2026, 12, 6, 13, 0))


@pytest.mark.parametrize(
    ("reminders", "message"),
    [
        ({"steps": [{"channel": "fax", "after_days": 1}]}, r"reminders.steps\[0\].channel: 'fax'"),
        ({"steps": [{"channel": "sms", "after_days": -1}]}, r"steps\[0\].after_days: -1"),
        ({"steps": ["sms"]}, r"steps\[0\]: expected an object"),
        ({"max_reminders": "two"}, r"max_reminders: 'two'"),
        ({"quiet_hours": ["20:00"]}, r"quiet_hours: \['20:00'\] is not \[start, end\]"),
        ({"quiet_hours": ["25:00", "08:00"]}, r"quiet_hours\[0\]: '25:00'"),
        ({"timezone": "Mars/Olympus"}, r"timezone: 'Mars/Olympus' is unknown"),
        ({"every": 3}, r"unknown settings every"),
    ],
)
def test_bad_schedules_say_what_and_where(reminders, message):
    with pytest.raises(ScheduleError, match=message):
        parse_rules({"reminders": reminders})


@pytest.mark.parametrize(
    ("body", "action"),
    [
        ("STOP", "stop"),
        (" stop ", "stop"),
        ("Stop.", "stop"),
        ("STOPALL", "stop"),
        ("unsubscribe", "stop"),
        ("cancel", "stop"),
        ("END", "stop"),
        ("quit", "stop"),
        ("Afmeld", "stop"),
        ("START", "start"),
        ("unstop", "start"),
        ("Please stop calling us at the office", None),
        ("Hej, vi har besvaret", None),
        ("", None),
    ],
)
def test_sms_keywords(body, action):
    assert _keyword(body) == action


@pytest.mark.parametrize(
    ("status", "code", "permanent", "suppress"),
    [
        (500, 20500, False, None),
        (503, None, False, None),
        (429, 20429, False, None),
        (400, 21211, True, "invalid"),
        (400, 21614, True, "invalid"),
        (400, 21610, True, "stop"),
        (401, 20003, False, None),
        (400, 21602, True, None),
    ],
)
def test_twilio_fault_classes(status, code, permanent, suppress):
    fault = classify(TwilioRestException(status, "/Messages.json", "boom", code=code))
    assert (fault.permanent, fault.suppress) == (permanent, suppress)
    assert str(status) in fault.message
