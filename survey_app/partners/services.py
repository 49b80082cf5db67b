"""Write operations on organisations and brands. They flush; the caller commits."""

from __future__ import annotations

import re
import secrets

from sqlalchemy.exc import IntegrityError

from survey_app.core import audit
from survey_app.core.db import db, utcnow

from .logos import CheckedLogo
from .models import STAR_CODE, Brand, BrandLogo, LaunchKey, Organisation, UsedLaunchJti

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


def create_launch_key(org: Organisation) -> LaunchKey:
    """A new launch-signing key for a job database (a shared secret: show it once)."""
    if org.is_star:
        raise PartnerError("STAR does not launch embedded surveys; only job databases do")
    key = LaunchKey(
        organisation_id=org.id,
        kid=f"{org.code}-{secrets.token_hex(6)}",
        secret=secrets.token_urlsafe(32),
    )
    db.session.add(key)
    db.session.flush()
    audit.record("launch_key.created", "launch_key", key.id, org=org.code, kid=key.kid)
    return key


def active_launch_keys(org: Organisation) -> list[LaunchKey]:
    return list(
        db.session.scalars(
            db.select(LaunchKey)
            .filter_by(organisation_id=org.id, revoked_at=None)
            .order_by(LaunchKey.id)
        )
    )


def revoke_launch_key(org: Organisation, kid: str) -> LaunchKey:
    key = db.session.execute(
        db.select(LaunchKey).filter_by(organisation_id=org.id, kid=kid)
    ).scalar_one_or_none()
    if key is None:
        raise PartnerError(f"no launch key {kid!r} for {org.code}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record("launch_key.revoked", "launch_key", key.id, org=org.code, kid=kid)
    return key


def rotate_launch_key(org: Organisation) -> LaunchKey:
    """Create a new key and revoke every older one of the organisation."""
    old = active_launch_keys(org)
    key = create_launch_key(org)
    for k in old:
        revoke_launch_key(org, k.kid)
    return key


def launch_key_by_kid(kid: str) -> LaunchKey | None:
    """The active key with that id, or None (unknown or revoked)."""
    if not kid or len(kid) > 64:
        return None
    return db.session.execute(
        db.select(LaunchKey).filter_by(kid=kid, revoked_at=None)
    ).scalar_one_or_none()


def use_launch_jti(org: Organisation, jti: str, expires_at) -> bool:
    """Record a launch token id; False if it was used before (a replay)."""
    if db.session.get(UsedLaunchJti, (org.id, jti)) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(UsedLaunchJti(organisation_id=org.id, jti=jti, expires_at=expires_at))
    except IntegrityError:
        return False
    return True


BRAND_FIELDS = ("name", "colours", "notice_intro", "privacy_contact", "embed_origins")


def update_brand(brand: Brand, **values) -> list[str]:
    """Set the brand's checked settings (see ``brand_rules``); returns the names of the fields
    that changed and audits them with their old and new values."""
    unknown = set(values) - set(BRAND_FIELDS)
    if unknown:
        raise PartnerError(f"not a brand setting: {', '.join(sorted(unknown))}")
    changes = {}
    for name, new in values.items():
        old = getattr(brand, name)
        if old != new:
            changes[name] = {"old": old, "new": new}
            setattr(brand, name, new)
    if changes:
        db.session.flush()
        audit.record("brand.updated", "brand", brand.id, brand=brand.code, changes=changes)
    return sorted(changes)


def logo_url(brand: Brand, logo: BrandLogo) -> str:
    return f"/brand/{brand.code}/logo.png?v={logo.sha256[:16]}"


def brand_logo(brand: Brand) -> BrandLogo | None:
    return db.session.get(BrandLogo, brand.id)


def set_brand_logo(brand: Brand, checked: CheckedLogo, filename: str = "") -> BrandLogo:
    """Store a checked logo (PNG) for the brand and point ``logo_url`` at it."""
    logo = brand_logo(brand)
    if logo is None:
        logo = BrandLogo(brand_id=brand.id)
        db.session.add(logo)
    logo.png, logo.sha256 = checked.png, checked.sha256
    logo.width, logo.height, logo.uploaded_at = checked.width, checked.height, utcnow()
    brand.logo_url = logo_url(brand, logo)
    db.session.flush()
    audit.record(
        "brand.logo_uploaded",
        "brand",
        brand.id,
        brand=brand.code,
        filename=filename[:200],
        sha256=checked.sha256,
        bytes=len(checked.png),
        width=checked.width,
        height=checked.height,
    )
    return logo


def remove_brand_logo(brand: Brand) -> bool:
    logo = brand_logo(brand)
    if logo is None and not brand.logo_url:
        return False
    if logo is not None:
        db.session.delete(logo)
    brand.logo_url = None
    db.session.flush()
    audit.record("brand.logo_removed", "brand", brand.id, brand=brand.code)
    return True


def launch_keys(org: Organisation) -> list[LaunchKey]:
    """Every launch key of the organisation, newest first, revoked ones included."""
    return list(
        db.session.scalars(
            db.select(LaunchKey).filter_by(organisation_id=org.id).order_by(LaunchKey.id.desc())
        )
    )
