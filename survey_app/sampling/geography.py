"""Danish municipalities (kommuner) with their region and RAR area.

The table lives in ``data/municipalities.csv`` (98 rows, one per municipality; Christiansø,
code 411, is not a municipality and is deliberately absent). Codes are the 3-digit kommunekoder
used by Danmarks Statistik and CPR, kept as strings without leading zeros ("101", "851").

RAR areas are the eight regionale arbejdsmarkedsråd areas used by STAR since 2015, the
breakdown the recruitment survey is published by.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

REGIONS: tuple[str, ...] = ("Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland")

RAR_AREAS: tuple[str, ...] = (
    "RAR Hovedstaden",
    "RAR Bornholm",
    "RAR Sjælland",
    "RAR Fyn",
    "RAR Sydjylland",
    "RAR Østjylland",
    "RAR Vestjylland",
    "RAR Nordjylland",
)


@dataclass(frozen=True, slots=True)
class Municipality:
    code: str
    name: str
    region: str
    rar_area: str


def normalise_code(code: str | int | None) -> str | None:
    """Canonical form of a municipality code: digits without leading zeros ("0101" -> "101").

    Returns None when ``code`` is not a string of 1-4 digits (after stripping whitespace).
    """
    if code is None or isinstance(code, bool):
        return None
    text = str(code).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        return None
    return str(int(text))


@cache
def _table() -> dict[str, Municipality]:
    raw = files("survey_app.sampling").joinpath("data/municipalities.csv").read_text("utf-8")
    table: dict[str, Municipality] = {}
    for row in csv.DictReader(io.StringIO(raw)):
        code = normalise_code(row["code"])
        if code is None or code in table:
            raise ValueError(f"municipalities.csv: bad or repeated code {row['code']!r}")
        if row["region"] not in REGIONS or row["rar_area"] not in RAR_AREAS:
            raise ValueError(f"municipalities.csv: unknown region/RAR area in row {row!r}")
        table[code] = Municipality(code, row["name"], row["region"], row["rar_area"])
    return table


def municipality(code: str | int | None) -> Municipality | None:
    """The municipality with this code ("101", "0101" or 101), or None if there is none."""
    key = normalise_code(code)
    if key is None:
        return None
    return _table().get(key)


def all_municipalities() -> list[Municipality]:
    """All 98 municipalities, ordered by code."""
    return sorted(_table().values(), key=lambda m: int(m.code))
