"""A round's ``calls`` settings (see sampling.rounds.DEFAULT_SETTINGS) as :class:`CallRules`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from survey_app.followup.schedule import CallRules, TimeSlice
from survey_app.sampling.rounds import DEFAULT_SETTINGS


class CallSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class CallSettings:
    enabled: bool
    after_days: int
    lock: timedelta
    rules: CallRules


def _clock(value, where: str) -> time:
    """``HH:MM``; ``24:00`` is the end of the day (a day or slice that runs until midnight)."""
    if str(value).strip() == "24:00":
        return time.max
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise CallSettingsError(f"calls.{where}: {value!r} is not a time HH:MM") from None


def _int(value, where: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise CallSettingsError(f"calls.{where}: {value!r} is not a whole number >= {low}")
    return value


def parse(settings: dict | None, round_code: str = "?") -> CallSettings:
    """The call settings of a round, defaults filled in; errors name the round, key and value."""
    raw = {**DEFAULT_SETTINGS["calls"], **((settings or {}).get("calls") or {})}
    try:
        slices = tuple(
            TimeSlice(str(name), _clock(start, f"slices.{name}"), _clock(end, f"slices.{name}"))
            for name, start, end in raw["slices"]
        )
        days = raw["calling_days"]
        if not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise CallSettingsError(f"calls.calling_days: {days!r} must be weekdays 0-6")
        per_outcome = {
            str(k): _int(v, f"max_per_outcome.{k}", 1) for k, v in raw["max_per_outcome"].items()
        }
        rules = CallRules(
            timezone=str(raw["timezone"]),
            calling_days=frozenset(days),
            day_start=_clock(raw["day_start"], "day_start"),
            day_end=_clock(raw["day_end"], "day_end"),
            slices=slices,
            max_attempts=_int(raw["max_attempts"], "max_attempts", 1),
            max_per_outcome=per_outcome,
        )
        return CallSettings(
            enabled=bool(raw["enabled"]),
            after_days=_int(raw["after_days"], "after_days"),
            lock=timedelta(minutes=_int(raw["lock_minutes"], "lock_minutes", 1)),
            rules=rules,
        )
    except CallSettingsError as exc:
        raise CallSettingsError(f"round {round_code}: {exc}") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise CallSettingsError(f"round {round_code}: calls settings: {exc}") from None
