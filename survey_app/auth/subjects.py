"""Where staff accounts hold a person: a staff user found by e-mail. Shown and exported for
access requests; a staff account is ended by disabling it (/staff/users), never erased here,
since the audit log must keep naming who acted."""

from __future__ import annotations

from survey_app.core.db import db
from survey_app.core.personal_data import SubjectRecord, SubjectSource, register_source
from survey_app.core.subject_match import EMAIL

from .models import User


def find_users(kind: str, value: str) -> list[SubjectRecord]:
    if kind != EMAIL:
        return []
    users = db.session.scalars(
        db.select(User).where(db.func.lower(User.email) == value).order_by(User.id)
    ).all()
    return [
        SubjectRecord(
            "staff_users",
            "users",
            u.id,
            {
                "email": u.email,
                "role": u.role,
                "organisation": u.organisation.code if u.organisation else None,
                "active": u.active,
                "created_at": u.created_at.isoformat(),
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            },
        )
        for u in users
    ]


register_source(SubjectSource("staff_users", "users", find_users))
