from __future__ import annotations

import secrets

from email_validator import EmailNotValidError, validate_email
from flask import has_request_context

from survey_app.core import audit
from survey_app.core.db import db
from survey_app.partners.services import require_organisation

from . import sessions, totp
from .models import PARTNER_OPERATOR, ROLES, User


class UserError(ValueError):
    pass


def add_user(
    email: str, role: str, org_code: str | None = None, password: str | None = None
) -> tuple[User, str]:
    """Create a staff user; returns the user and the password (generated if not given)."""
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise UserError(f"e-mail {email!r} is not valid: {exc}") from exc
    if role not in ROLES:
        raise UserError(f"role {role!r} is unknown; choose one of: {', '.join(ROLES)}")
    if role == PARTNER_OPERATOR and not org_code:
        raise UserError("a partner operator must be bound to an organisation: give --org CODE")
    if role != PARTNER_OPERATOR and org_code:
        raise UserError(f"role {role!r} is not bound to an organisation; drop --org")
    if db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none():
        raise UserError(f"a user with e-mail {email} already exists")
    org = require_organisation(org_code) if org_code else None
    if org is not None and org.is_star:
        raise UserError("partner operators belong to a job database, not to STAR")
    password = password or secrets.token_urlsafe(12)
    if len(password) < 10:
        raise UserError("the password must be at least 10 characters")
    user = User(email=email, role=role, organisation=org)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.added",
        "user",
        user.id,
        actor_label=None if has_request_context() else "cli",
        email=email,
        role=role,
        organisation=org.code if org is not None else None,
    )
    return user, password


def find_by_email(email: str) -> User | None:
    return db.session.execute(
        db.select(User).filter_by(email=email.strip().lower())
    ).scalar_one_or_none()


def set_active(user: User, active: bool, actor_label: str | None = None) -> None:
    """Enable or disable a user; disabling ends every session of the user at once."""
    if bool(user.active) == active:
        return
    user.active = active
    if not active:
        user.session_version += 1
        sessions.end_all(user, "disabled")
    audit.record(
        "user.enabled" if active else "user.disabled",
        "user",
        user.id,
        actor_label=actor_label,
        email=user.email,
    )


def reset_second_factor(user: User, actor_label: str | None = None) -> None:
    """Forget the user's TOTP secret and recovery codes; the user enrols again at next login."""
    totp.reset(user)
    user.session_version += 1
    sessions.end_all(user, "totp_reset")
    audit.record("totp.reset", "user", user.id, actor_label=actor_label, email=user.email)
