"""Hand-made rounds for the release tests: strata, selection probabilities and outcomes chosen
by the test, written straight into the tables (no draw, no questionnaire)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from survey_app.core.db import db
from survey_app.partners.services import ensure_star
from survey_app.questionnaire.bank import default_bank_path
from survey_app.questionnaire.models import BankVersion, Response
from survey_app.questionnaire.services import load_bank_version, new_response_row
from survey_app.sampling.models import Case, Company, FieldingRound, Posting

_serial = itertools.count(1)


@dataclass
class Unit:
    outcome: str | None  # a classification, or None for no answer
    occupation: str = "2512"
    municipality: str = "101"
    rar_area: str = "RAR Hovedstaden"
    industry: str | None = "620100"
    sector: str | None = "private"


def setup_basics():
    star = ensure_star()
    version = db.session.scalars(db.select(BankVersion)).first()
    if version is None:
        load_bank_version(default_bank_path())
        version = db.session.scalars(db.select(BankVersion)).first()
    db.session.flush()
    return star, version


def make_round(
    code: str,
    strata: dict[str, tuple[int, list[Unit]]],
    window=(date(2026, 1, 1), date(2026, 6, 30)),
) -> FieldingRound:
    """``strata``: stratum key -> (N in the frame, sampled units); p = n / N."""
    star, version = setup_basics()
    rnd = FieldingRound(
        code=code,
        name=code,
        bank_version_id=version.id,
        window_start=window[0],
        window_end=window[1],
        status="closed",
        settings={
            "last_draw": {
                "strata": [
                    {"stratum": s, "N": big_n, "n": len(units), "prob": len(units) / big_n}
                    for s, (big_n, units) in strata.items()
                ]
            }
        },
    )
    db.session.add(rnd)
    db.session.flush()
    for stratum, (big_n, units) in strata.items():
        for unit in units:
            i = next(_serial)
            company = Company(
                cvr=f"{10000000 + i}",
                name=f"Hemmelig Virksomhed {i} A/S",
                industry_code=unit.industry,
                sector=unit.sector,
            )
            db.session.add(company)
            db.session.flush()
            posting = Posting(
                source_id=star.id,
                source_posting_id=f"{code}-{i}",
                posted_on=window[0],
                job_title="Udvikler",
                occupation_code=unit.occupation,
                company_id=company.id,
                municipality_code=unit.municipality,
                rar_area=unit.rar_area,
                positions=1,
            )
            row, _token = new_response_row(version.id, star.default_brand.id, {})
            response = Response(**row, classification=unit.outcome)
            if unit.outcome:
                response.status = "completed"
            db.session.add_all([posting, response])
            db.session.flush()
            db.session.add(
                Case(
                    round_id=rnd.id,
                    posting_id=posting.id,
                    company_id=company.id,
                    brand_id=star.default_brand.id,
                    response_id=response.id,
                    status="final",
                    stratum=stratum,
                    selection_prob=len(units) / big_n,
                )
            )
    db.session.flush()
    return rnd


def units(counts: dict[str | None, int], **attrs) -> list[Unit]:
    return [Unit(outcome, **attrs) for outcome, n in counts.items() for _ in range(n)]


def two_strata():
    """Stratum A: N=40, 10 sampled (p=1/4); stratum B: N=60, 10 sampled (p=1/6)."""
    a = units(
        {"success": 2, "other_profile": 3, "not_filled": 2, "ineligible": 1, None: 2},
        occupation="2512",
        municipality="101",
        rar_area="RAR Hovedstaden",
    )
    b = units(
        {"success": 1, "other_profile": 3, "not_filled": 2, "ongoing": 1, None: 3},
        occupation="5131",
        municipality="461",
        rar_area="RAR Fyn",
    )
    return {"2|RAR Hovedstaden": (40, a), "5|RAR Fyn": (60, b)}
