from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin

from survey_app.core.db import db, utcnow

ADMIN = "admin"
ANALYST = "analyst"
PARTNER_OPERATOR = "partner_operator"
SUPERVISOR = "supervisor"
AGENT = "agent"

ROLES = {
    ADMIN: "STAR administrator",
    ANALYST: "STAR analyst",
    PARTNER_OPERATOR: "Partner operator",
    SUPERVISOR: "Call-centre supervisor",
    AGENT: "Call-centre agent",
}

_hasher = PasswordHasher()


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    #: argon2id hash
    password_hash = db.Column(db.String(255), nullable=False)
    #: one of ROLES
    role = db.Column(db.String(32), nullable=False)
    #: the organisation a partner operator is bound to; None for STAR and call-centre staff
    organisation_id = db.Column(db.ForeignKey("organisations.id"), nullable=True, index=True)
    active = db.Column(db.Boolean, nullable=False, default=True)
    #: bumped to end every session of the user (disable, password change)
    session_version = db.Column(db.Integer, nullable=False, default=1)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_login_at = db.Column(db.DateTime, nullable=True)
    #: the TOTP secret, sealed (Fernet); set at enrolment, confirmed by a first code
    totp_secret = db.Column(db.String(255), nullable=True)
    totp_confirmed_at = db.Column(db.DateTime, nullable=True)
    #: the last accepted TOTP time step: a code is accepted once
    totp_last_step = db.Column(db.BigInteger, nullable=True)

    organisation = db.relationship("Organisation")

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def has_totp(self) -> bool:
        return self.totp_secret is not None and self.totp_confirmed_at is not None


def verify_dummy_password(password: str) -> None:
    """Spend the time of one argon2 verification, for logins of unknown e-mail addresses."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_DUMMY_HASH, password)


_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")


class RecoveryCode(db.Model):
    """A single-use code that replaces a TOTP code when the device is lost; stored hashed."""

    __tablename__ = "recovery_codes"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    #: sha256 of the normalised code
    code_hash = db.Column(db.String(64), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    used_at = db.Column(db.DateTime, nullable=True)


class StaffSession(db.Model):
    """A staff login: the cookie carries a random id whose hash is looked up on every request,
    so logout, time-outs and disabling a user end the session on the server."""

    __tablename__ = "staff_sessions"

    id = db.Column(db.Integer, primary_key=True)
    #: sha256 of the random id in the session cookie
    sid_hash = db.Column(db.String(64), nullable=False, unique=True)
    user_id = db.Column(db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_seen_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    ended_at = db.Column(db.DateTime, nullable=True)
    #: logout, idle, absolute, disabled, totp_reset
    end_reason = db.Column(db.String(16), nullable=True)
    ip = db.Column(db.String(64), nullable=True)
    user_agent = db.Column(db.String(255), nullable=True)

    user = db.relationship("User")


class LoginThrottle(db.Model):
    """Failed-login counters, one row per key: an account (hash of the e-mail typed, known or
    not) or a client address. Separate from the respondent rate limits."""

    __tablename__ = "login_throttles"

    key = db.Column(db.String(80), primary_key=True)
    failures = db.Column(db.Integer, nullable=False, default=0)
    window_start = db.Column(db.DateTime, nullable=True)
    #: how many times the key has been locked in a row; the lockout doubles each time
    lockouts = db.Column(db.Integer, nullable=False, default=0)
    locked_until = db.Column(db.DateTime, nullable=True)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
