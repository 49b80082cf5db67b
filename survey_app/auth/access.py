"""Role and organisation checks for staff pages."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from .models import ADMIN, ANALYST


def require_role(*roles: str):
    """Only users of one of ``roles`` pass; others get 403, anonymous users the login page."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def sees_all_organisations(user) -> bool:
    return user.role in (ADMIN, ANALYST)


def check_organisation(user, organisation_id: int | None) -> None:
    """403 unless the user may see data belonging to ``organisation_id``."""
    if sees_all_organisations(user):
        return
    if user.organisation_id is None or user.organisation_id != organisation_id:
        abort(403)
