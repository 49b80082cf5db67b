from __future__ import annotations

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
