"""AAPOR outcome rates (Standard Definitions, 10th ed.) from final disposition counts.

Notation: I complete, P partial, R refusal and break-off, NC non-contact, O other eligible
non-interview, UH unknown if the unit (company) is eligible/reachable, UO unknown other,
NE not eligible, ``e`` the estimated share of eligible cases among the unknowns (UH + UO).

- RR1 = I / ((I+P) + (R+NC+O) + (UH+UO))
- RR2 = (I+P) / ((I+P) + (R+NC+O) + (UH+UO))
- RR3 = I / ((I+P) + (R+NC+O) + e(UH+UO))
- RR4 = (I+P) / ((I+P) + (R+NC+O) + e(UH+UO))
- RR5 = I / ((I+P) + (R+NC+O))
- RR6 = (I+P) / ((I+P) + (R+NC+O))
- COOP1 = I / ((I+P) + R + O)          COOP2 = (I+P) / ((I+P) + R + O)
- COOP3 = I / ((I+P) + R)              COOP4 = (I+P) / ((I+P) + R)
- REF1 = R / ((I+P) + (R+NC+O) + (UH+UO))
- REF2 = R / ((I+P) + (R+NC+O) + e(UH+UO))
- REF3 = R / ((I+P) + (R+NC+O))
- CON1 = ((I+P) + R + O) / ((I+P) + R + O + NC + (UH+UO))
- CON2 = ((I+P) + R + O) / ((I+P) + R + O + NC + e(UH+UO))
- CON3 = ((I+P) + R + O) / ((I+P) + R + O + NC)

Every rate returns ``None`` when its denominator is 0. The default ``e`` is the proportional
allocation (I+P+R+NC+O) / (I+P+R+NC+O+NE); when no case has a known eligibility it is undefined
(``None``) and the rates that need it return ``None`` unless UH + UO = 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from survey_app.followup.disposition import Disposition

GROUPS = ("I", "P", "R", "NC", "O", "UH", "UO", "NE")


def group_for_code(code: str) -> str:
    """The rate group of an AAPOR disposition code such as ``"2.111"``."""
    code = code.strip()
    if code.startswith("1.1"):
        return "I"
    if code.startswith("1.2"):
        return "P"
    if code.startswith("2.1"):
        return "R"
    if code.startswith("2.2"):
        return "NC"
    if code.startswith(("2.3", "2.9")):
        return "O"
    if code.startswith("3.1"):
        return "UH"
    if code.startswith("3."):
        return "UO"
    if code.startswith("4."):
        return "NE"
    raise ValueError(f"cannot place disposition code {code!r} in a rate group")


@dataclass(frozen=True)
class DispositionCounts:
    I: int = 0  # noqa: E741 - AAPOR's own symbol
    P: int = 0
    R: int = 0
    NC: int = 0
    O: int = 0  # noqa: E741 - AAPOR's own symbol
    UH: int = 0
    UO: int = 0
    NE: int = 0
    e: float | None = None

    def __post_init__(self) -> None:
        for name in GROUPS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if self.e is None:
            known = self.I + self.P + self.R + self.NC + self.O
            if known + self.NE:
                object.__setattr__(self, "e", known / (known + self.NE))
        elif not 0.0 <= self.e <= 1.0:
            raise ValueError("e must be between 0 and 1")

    @property
    def interviews(self) -> int:
        return self.I + self.P

    @property
    def eligible_non_interviews(self) -> int:
        return self.R + self.NC + self.O

    @property
    def unknown(self) -> int:
        return self.UH + self.UO

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in GROUPS)


def _ratio(numerator: float, denominator: float | None) -> float | None:
    if not denominator:
        return None
    return numerator / denominator


def _base(c: DispositionCounts) -> int:
    return c.interviews + c.eligible_non_interviews


def _e_unknown(c: DispositionCounts) -> float | None:
    """e(UH+UO), or None when e is undefined but needed."""
    if c.unknown == 0:
        return 0.0
    if c.e is None:
        return None
    return c.e * c.unknown


def _with_e(c: DispositionCounts, base: float) -> float | None:
    eu = _e_unknown(c)
    return None if eu is None else base + eu


def rr1(c: DispositionCounts) -> float | None:
    return _ratio(c.I, _base(c) + c.unknown)


def rr2(c: DispositionCounts) -> float | None:
    return _ratio(c.interviews, _base(c) + c.unknown)


def rr3(c: DispositionCounts) -> float | None:
    return _ratio(c.I, _with_e(c, _base(c)))


def rr4(c: DispositionCounts) -> float | None:
    return _ratio(c.interviews, _with_e(c, _base(c)))


def rr5(c: DispositionCounts) -> float | None:
    return _ratio(c.I, _base(c))


def rr6(c: DispositionCounts) -> float | None:
    return _ratio(c.interviews, _base(c))


def coop1(c: DispositionCounts) -> float | None:
    return _ratio(c.I, c.interviews + c.R + c.O)


def coop2(c: DispositionCounts) -> float | None:
    return _ratio(c.interviews, c.interviews + c.R + c.O)


def coop3(c: DispositionCounts) -> float | None:
    return _ratio(c.I, c.interviews + c.R)


def coop4(c: DispositionCounts) -> float | None:
    return _ratio(c.interviews, c.interviews + c.R)


def ref1(c: DispositionCounts) -> float | None:
    return _ratio(c.R, _base(c) + c.unknown)


def ref2(c: DispositionCounts) -> float | None:
    return _ratio(c.R, _with_e(c, _base(c)))


def ref3(c: DispositionCounts) -> float | None:
    return _ratio(c.R, _base(c))


def _contacted(c: DispositionCounts) -> int:
    return c.interviews + c.R + c.O


def con1(c: DispositionCounts) -> float | None:
    return _ratio(_contacted(c), _contacted(c) + c.NC + c.unknown)


def con2(c: DispositionCounts) -> float | None:
    return _ratio(_contacted(c), _with_e(c, _contacted(c) + c.NC))


def con3(c: DispositionCounts) -> float | None:
    return _ratio(_contacted(c), _contacted(c) + c.NC)


RATES = {
    "RR1": rr1,
    "RR2": rr2,
    "RR3": rr3,
    "RR4": rr4,
    "RR5": rr5,
    "RR6": rr6,
    "COOP1": coop1,
    "COOP2": coop2,
    "COOP3": coop3,
    "COOP4": coop4,
    "REF1": ref1,
    "REF2": ref2,
    "REF3": ref3,
    "CON1": con1,
    "CON2": con2,
    "CON3": con3,
}


def all_rates(c: DispositionCounts) -> dict[str, float | None]:
    """Every AAPOR rate by its name (``"RR1"`` ... ``"CON3"``)."""
    return {name: fn(c) for name, fn in RATES.items()}


def counts_from_dispositions(
    dispositions: Iterable[Disposition | str], e: float | None = None
) -> DispositionCounts:
    """Tally dispositions (objects or bare codes such as ``"3.13"``) into rate groups."""
    tally: Counter[str] = Counter()
    for item in dispositions:
        group = item.group if isinstance(item, Disposition) else group_for_code(item)
        if group not in GROUPS:
            raise ValueError(f"unknown rate group {group!r}")
        tally[group] += 1
    return DispositionCounts(**{name: tally[name] for name in GROUPS}, e=e)
