"""The second factor: TOTP (RFC 6238) with a sealed secret, single-use codes, recovery codes."""

from __future__ import annotations

import hashlib
import re
import secrets
import time

import pyotp
import segno
from flask import current_app

from survey_app.core.db import db, utcnow
from survey_app.core.tokens import seal, unseal

from .models import RecoveryCode, User

ISSUER = "STAR Rekrutteringssurvey"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_RECOVERY_SHAPE = re.compile(r"^[a-z0-9]{5}-?[a-z0-9]{5}$")


def requires_totp(user: User) -> bool:
    """Administrators and partner operators must use a second factor; anyone enrolled does."""
    roles = current_app.config.get("STAFF_TOTP_ROLES", ["admin", "partner_operator"])
    return user.role in roles or user.has_totp


def pending_secret(user: User) -> str:
    """The secret being enrolled: created once, kept until confirmed (a reload shows the same)."""
    if user.totp_secret is None or user.totp_confirmed_at is not None:
        user.totp_secret = seal(pyotp.random_base32())
        user.totp_confirmed_at = None
        user.totp_last_step = None
    secret = unseal(user.totp_secret)
    if secret is None:  # the sealing key changed: start over
        user.totp_secret = seal(pyotp.random_base32())
        secret = unseal(user.totp_secret)
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The enrolment QR code as an SVG data URI (allowed by the CSP's ``img-src data:``)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def verify_code(user: User, code: str, now: float | None = None) -> bool:
    """True for a valid code of the current step (±1 for clock drift) not used before."""
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", code) or user.totp_secret is None:
        return False
    secret = unseal(user.totp_secret)
    if secret is None:
        return False
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    step = int(now // totp.interval)
    for candidate in (step - 1, step, step + 1):
        if user.totp_last_step is not None and candidate <= user.totp_last_step:
            continue
        if secrets.compare_digest(totp.at(candidate * totp.interval), code):
            user.totp_last_step = candidate
            return True
    return False


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Confirm the pending secret with a first code; returns fresh recovery codes."""
    if user.totp_secret is None or user.totp_confirmed_at is not None:
        return None
    if not verify_code(user, code):
        return None
    user.totp_confirmed_at = utcnow()
    return new_recovery_codes(user)


def _hash_recovery(code: str) -> str:
    normalised = re.sub(r"[\s-]", "", code.lower())
    return hashlib.sha256(normalised.encode("ascii", "ignore")).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes by ten new ones; only their hashes are stored."""
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_recovery(raw)))
    return codes


def looks_like_recovery_code(code: str) -> bool:
    return bool(_RECOVERY_SHAPE.match(re.sub(r"\s", "", (code or "").lower())))


def use_recovery_code(user: User, code: str) -> bool:
    """Spend one unused recovery code; False if it is unknown or already used."""
    if not looks_like_recovery_code(code):
        return False
    row = db.session.scalars(
        db.select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_recovery(code),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    ).first()
    if row is None:
        return False
    row.used_at = utcnow()
    return True


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        db.select(db.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def reset(user: User) -> None:
    """Forget the second factor: the user enrols again at the next login."""
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
