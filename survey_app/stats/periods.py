"""Publication periods: quarterly releases, each over the last six months of postings.

A period is named by the quarter its six-month window ends with: ``2026Q2`` is the window
2026-01-01..2026-06-30, ``2026Q3`` the window 2026-04-01..2026-09-30 (published in the quarter
after). The half-year names are accepted as aliases of the quarter that ends them:
``2026H1`` = ``2026Q2`` and ``2026H2`` = ``2026Q4``.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date

_PATTERN = re.compile(r"^(\d{4})(?:Q([1-4])|H([12]))$")


class PeriodError(ValueError):
    pass


def normalise(label: str) -> str:
    """The canonical name (``YYYYQn``) of a period written as ``YYYYQn`` or ``YYYYHn``."""
    match = _PATTERN.match((label or "").strip().upper())
    if not match:
        raise PeriodError(
            f"period {label!r} is not of the form YYYYQn (e.g. 2026Q2) or YYYYHn (e.g. 2026H1)"
        )
    year, quarter, half = match.groups()
    return f"{year}Q{int(quarter) if quarter else 2 * int(half)}"


def window(label: str) -> tuple[date, date]:
    """First and last day of the six-month window of postings that a period covers."""
    canonical = normalise(label)
    year, quarter = int(canonical[:4]), int(canonical[5])
    end_month = 3 * quarter
    start_month, start_year = end_month - 5, year
    if start_month < 1:
        start_month, start_year = start_month + 12, year - 1
    end = date(year, end_month, monthrange(year, end_month)[1])
    return date(start_year, start_month, 1), end


def containing(day: date) -> str:
    """The period whose window ends with the quarter of ``day``."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"
