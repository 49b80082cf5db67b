"""Server-side staff sessions behind Flask's cookie session.

At login the cookie session is cleared and re-issued with a fresh random id (``staff_sid``); its
hash is a ``staff_sessions`` row. Every request checks that row: ended (logout, user disabled,
second factor reset), idle longer than ``STAFF_IDLE_MINUTES`` or older than
``STAFF_ABSOLUTE_HOURS`` means logged out. A copy of a cookie from before the login, or from
before a logout, is therefore worthless.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, flash, g, request, session
from flask_babel import gettext as _

from survey_app.core import audit
from survey_app.core.db import db, utcnow

from .models import StaffSession, User

SESSION_KEY = "staff_sid"
#: how often last_seen_at is written (it need not be exact to the second)
TOUCH_EVERY = timedelta(seconds=30)


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def idle_limit() -> timedelta:
    return timedelta(minutes=float(current_app.config.get("STAFF_IDLE_MINUTES", 30)))


def absolute_limit() -> timedelta:
    return timedelta(hours=float(current_app.config.get("STAFF_ABSOLUTE_HOURS", 12)))


def start(user: User) -> str:
    """A new server-side session for ``user``; the caller puts the id in the cleared cookie."""
    sid = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        StaffSession(
            sid_hash=_hash(sid),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip=request.remote_addr,
            user_agent=(request.user_agent.string or "")[:255],
        )
    )
    return sid


def end_current(reason: str = "logout") -> None:
    sid = session.get(SESSION_KEY)
    if not sid:
        return
    row = db.session.scalars(db.select(StaffSession).filter_by(sid_hash=_hash(sid))).first()
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        row.end_reason = reason


def end_all(user: User, reason: str) -> int:
    """End every open session of ``user`` (disabling, second-factor reset)."""
    rows = db.session.scalars(
        db.select(StaffSession).where(
            StaffSession.user_id == user.id, StaffSession.ended_at.is_(None)
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.ended_at = now
        row.end_reason = reason
    return len(rows)


def check_request() -> None:
    """Before each request: validate the cookie's staff session, expire it, or touch it."""
    g.staff_session = None
    sid = session.get(SESSION_KEY)
    if not sid:
        return
    row = db.session.scalars(db.select(StaffSession).filter_by(sid_hash=_hash(sid))).first()
    now = utcnow()
    reason = None
    if row is None or row.ended_at is not None:
        reason = "ended"
    elif now - row.created_at > absolute_limit():
        reason = "absolute"
    elif now - row.last_seen_at > idle_limit():
        reason = "idle"
    if reason is None:
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
            db.session.commit()
        g.staff_session = row
        return
    if row is not None and row.ended_at is None:
        row.ended_at = now
        row.end_reason = reason
        audit.record("session.expired", "user", row.user_id, actor_label="system", reason=reason)
        db.session.commit()
    session.clear()
    if reason in ("idle", "absolute"):
        flash(_("Your session has expired. Please log in again."), "info")


def is_current(user: User) -> bool:
    row = g.get("staff_session")
    return row is not None and row.user_id == user.id
