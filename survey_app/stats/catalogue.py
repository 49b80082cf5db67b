"""The published tables: one per breakdown, each with the same measures (see ``estimates``).

Shared by the publisher (which tables a release holds) and the API (what ``/api/v1/tables``
describes). A table has one dimension besides the total row; its values are filtered in the API
with the query parameter named by ``param``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from .estimates import MEASURES, TOTAL_DOMAIN


@dataclass(frozen=True)
class Table:
    id: str
    dimension: str
    param: str | None
    title: str
    description: str


SUBJECT_ID = "recruitment"
SUBJECT_TITLE = "Recruitment survey: failed recruitment"

TABLES: dict[str, Table] = {
    t.id: t
    for t in (
        Table("recruitment_total", TOTAL_DOMAIN, None, "All of Denmark", "The whole country."),
        Table(
            "recruitment_by_area",
            "rar_area",
            "area",
            "By RAR area",
            "The eight regional labour-market council (RAR) areas, from the municipality.",
        ),
        Table("recruitment_by_region", "region", "region", "By region", "The five regions."),
        Table(
            "recruitment_by_industry",
            "industry",
            "industry",
            "By industry",
            "DB07 main group (first two digits of the company's industry code).",
        ),
        Table("recruitment_by_sector", "sector", "sector", "By sector", "Public or private."),
        Table(
            "recruitment_by_occupation",
            "occupation",
            "occupation",
            "By occupation",
            "The posting's occupation code (STAR job title / DISCO-08).",
        ),
    )
}

MEASURE_INFO: dict[str, tuple[str, str]] = {
    "frr": ("share", "Failed-recruitment rate: failed / completed recruitment attempts"),
    "share_not_filled": ("share", "Share of completed attempts where nobody was hired"),
    "share_other_profile": (
        "share",
        "Share of completed attempts filled by a person with another profile",
    ),
    "failed": ("count", "Grossed-up number of failed recruitments"),
    "completed": ("count", "Grossed-up number of completed recruitment attempts"),
}
assert tuple(MEASURE_INFO) == MEASURES  # noqa: S101 - the catalogue must follow the estimates

#: labels for the public page (translated)
MEASURE_LABELS = {
    "frr": _l("Failed-recruitment rate"),
    "share_not_filled": _l("Not filled"),
    "share_other_profile": _l("Other profile"),
    "failed": _l("Failed recruitments"),
    "completed": _l("Completed recruitment attempts"),
}
