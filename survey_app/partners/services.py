"""Write operations on organisations and brands. They flush; the caller commits."""

from __future__ import annotations

import re

from survey_app.core import audit
from survey_app.core.db import db

from .models import STAR_CODE, Brand, Organisation

CODE = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")


class PartnerError(ValueError):
    pass


def get_organisation(code: str) -> Organisation | None:
    return db.session.execute(db.select(Organisation).filter_by(code=code)).scalar_one_or_none()


def require_organisation(code: str) -> Organisation:
    org = get_organisation(code)
    if org is None:
        known = ", ".join(
            o.code for o in db.session.scalars(db.select(Organisation).order_by(Organisation.code))
        )
        raise PartnerError(f"unknown source {code!r}; registered: {known or 'none'}")
    return org


def add_organisation(
    code: str, name: str, kind: str = "job_database", contact_email: str | None = None
) -> Organisation:
    """Register STAR or a job database together with its default brand."""
    if not CODE.match(code):
        raise PartnerError(
            f"code {code!r} must be 2-32 lower-case letters, digits, '-' or '_', "
            "starting with a letter"
        )
    if kind not in ("star", "job_database"):
        raise PartnerError(f"kind {kind!r} must be 'star' or 'job_database'")
    if (kind == "star") != (code == STAR_CODE):
        raise PartnerError(f"STAR's own source is {STAR_CODE!r}; partners use another code")
    if get_organisation(code) is not None:
        raise PartnerError(f"organisation {code!r} already exists")
    org = Organisation(code=code, name=name, kind=kind, contact_email=contact_email)
    org.brands.append(
        Brand(
            code=code,
            name=name,
            is_default=True,
            colours={},
            notice_intro={},
            embed_origins=[],
            privacy_contact=contact_email or "",
        )
    )
    db.session.add(org)
    db.session.flush()
    audit.record("organisation.added", "organisation", org.id, actor_label="cli", code=code)
    return org


def ensure_star() -> Organisation:
    org = get_organisation(STAR_CODE)
    if org is None:
        org = add_organisation(
            STAR_CODE,
            "Styrelsen for Arbejdsmarked og Rekruttering",
            kind="star",
            contact_email="star@star.dk",
        )
    return org


def brand_by_code(code: str) -> Brand | None:
    return db.session.execute(db.select(Brand).filter_by(code=code)).scalar_one_or_none()
