"""STAR's fixed notice core. Brands word the text around it, never the core itself.

Bump ``NOTICE_VERSION`` whenever the core changes; every response records the version shown.
"""

from __future__ import annotations

NOTICE_VERSION = "2026-1"

CONTROLLER = {
    "name": "Styrelsen for Arbejdsmarked og Rekruttering (STAR)",
    "address": "Vermundsgade 38, 2100 København Ø",
    "email": "star@star.dk",
    "phone": "72 21 74 00",
}
DPO = {"email": "dpo@bm.dk", "phone": "72 20 50 00"}

CORE = {
    "da": (
        "Dine svar sendes til Styrelsen for Arbejdsmarked og Rekruttering (STAR), som bruger dem "
        "til statistik om virksomheders rekruttering. STAR offentliggør kun tal, hvor den enkelte "
        "virksomhed ikke kan genkendes."
    ),
    "en": (
        "Your answers are sent to the Danish Agency for Labour Market and Recruitment (STAR), "
        "which uses them for statistics on how companies recruit. STAR publishes only figures in "
        "which no single company can be recognised."
    ),
}

LEGAL_BASIS = {
    "da": (
        "Behandlingen sker efter databeskyttelsesforordningens artikel 6, stk. 1, litra e, og "
        "lov om organisering og understøttelse af beskæftigelsesindsatsen m.v. "
        "§ 21 (undersøgelser) "
        "og § 38 (statistik)."
    ),
    "en": (
        "The processing is based on GDPR Article 6(1)(e) and sections 21 (surveys) and 38 "
        "(statistics) of the Danish act on the organisation of employment services."
    ),
}


def core_text(lang: str) -> str:
    return CORE.get(lang, CORE["da"])


def legal_basis(lang: str) -> str:
    return LEGAL_BASIS.get(lang, LEGAL_BASIS["da"])
