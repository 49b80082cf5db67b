"""Fielding rounds: a round pins one bank version and a window of posting dates."""

from __future__ import annotations

import re
from datetime import date

from survey_app.core import audit
from survey_app.core.db import db
from survey_app.questionnaire.models import BankVersion

from .models import FieldingRound

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")

#: the contact rules and sample settings of a round (see sampling.draw for their meaning)
DEFAULT_SETTINGS = {
    "allocation": "proportional",
    "min_per_stratum": 0,
    "max_cases_per_company": 1,
    "max_cases_per_p_unit": 1,
    "rest_days_p_unit": 180,
    "partner_quotas": {},
    # follow-up after the invitation (see followup.messaging.reminders); "phone" hands the case
    # to the call centre; quiet hours and Sundays hold reminders back in the round's time zone
    "reminders": {
        "steps": [
            {"channel": "email", "after_days": 7},
            {"channel": "sms", "after_days": 10},
            {"channel": "phone", "after_days": 14},
        ],
        "max_reminders": 2,
        "quiet_hours": ["20:00", "08:00"],
        "no_sundays": True,
        "timezone": "Europe/Copenhagen",
    },
    # the call centre (see followup.callcentre.settings): whether it fields the round, when a
    # case without a phone hand-over is called (days after sampling), calling hours and time
    # slices (local "HH:MM"), attempt limits in total and per outcome, the lease on a case
    "calls": {
        "enabled": True,
        "after_days": 14,
        "timezone": "Europe/Copenhagen",
        "calling_days": [0, 1, 2, 3, 4],
        "day_start": "08:00",
        "day_end": "16:00",
        "slices": [
            ["morning", "08:00", "10:00"],
            ["midday", "10:00", "13:00"],
            ["afternoon", "13:00", "16:00"],
        ],
        "max_attempts": 10,
        "max_per_outcome": {
            "no_answer": 6,
            "answering_machine": 3,
            "busy": 5,
            "refusal": 1,
            "wrong_number": 1,
            "not_eligible": 1,
        },
        "lock_minutes": 15,
    },
}


class RoundError(ValueError):
    pass


def get_round(code: str) -> FieldingRound:
    rnd = db.session.execute(db.select(FieldingRound).filter_by(code=code)).scalar_one_or_none()
    if rnd is None:
        raise RoundError(f"round {code!r} does not exist")
    return rnd


def create_round(
    code: str,
    name: str,
    window_start: date,
    window_end: date,
    bank_version: str | None = None,
    settings: dict | None = None,
) -> FieldingRound:
    if not CODE.match(code):
        raise RoundError(f"round code {code!r}: use 1-32 letters, digits, '.', '-' or '_'")
    if window_end < window_start:
        raise RoundError(f"window end {window_end} is before window start {window_start}")
    if db.session.execute(db.select(FieldingRound).filter_by(code=code)).scalar_one_or_none():
        raise RoundError(f"round {code!r} already exists")
    query = db.select(BankVersion)
    if bank_version:
        query = query.filter_by(version=bank_version)
    else:
        query = query.order_by(BankVersion.loaded_at.desc(), BankVersion.id.desc())
    version = db.session.execute(query).scalars().first()
    if version is None:
        raise RoundError(
            f"bank version {bank_version!r} is not loaded"
            if bank_version
            else "no bank version is loaded: run `survey-app bank load FILE` first"
        )
    unknown = set(settings or {}) - set(DEFAULT_SETTINGS)
    if unknown:
        raise RoundError(f"unknown round settings: {', '.join(sorted(unknown))}")
    rnd = FieldingRound(
        code=code,
        name=name,
        window_start=window_start,
        window_end=window_end,
        bank_version=version,
        settings={**DEFAULT_SETTINGS, **(settings or {})},
    )
    db.session.add(rnd)
    db.session.flush()
    audit.record(
        "round.created", "round", rnd.id, actor_label="cli", code=code, bank_version=version.version
    )
    return rnd
