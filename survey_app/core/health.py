"""Landing page and ``/healthz``: 200 with the state of the database and the queue, else 503."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text

from .db import db
from .queue import ping

bp = Blueprint("health", __name__)


@bp.route("/")
def index():
    return render_template("core/index.html")


@bp.route("/healthz")
def healthz():
    checks: dict[str, dict] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "dialect": db.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        db.session.rollback()
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    mode = "embedded" if current_app.config["EMBEDDED_QUEUE"] else "redis"
    try:
        checks["queue"] = {"ok": ping(), "mode": mode}
    except Exception as exc:  # noqa: BLE001
        checks["queue"] = {"ok": False, "mode": mode, "error": type(exc).__name__}
    ok = all(c["ok"] for c in checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks), (200 if ok else 503)
