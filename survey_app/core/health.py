"""Landing page and the probes.

- ``/healthz``: 200 with the state of the database and the queue, else 503.
- ``/livez``: the process answers (for a supervisor deciding whether to restart it).
- ``/readyz``: the database answers *and* its schema is at the migrations' head, and the queue
  answers; a load balancer sends traffic only to a ready process (503 otherwise).
"""

from __future__ import annotations

from functools import cache

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text

from .db import db
from .queue import ping

bp = Blueprint("health", __name__)


@bp.route("/")
def index():
    return render_template("core/index.html")


def _checks() -> dict[str, dict]:
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
    return checks


def _answer(checks: dict[str, dict]):
    ok = all(c["ok"] for c in checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks), (200 if ok else 503)


@bp.route("/healthz")
def healthz():
    return _answer(_checks())


@bp.route("/livez")
def livez():
    return jsonify(status="ok")


@cache
def _migration_heads(directory: str) -> frozenset[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


@bp.route("/readyz")
def readyz():
    checks = _checks()
    if checks["database"]["ok"]:
        heads = _migration_heads(current_app.extensions["migrate"].directory)
        try:
            rows = db.session.execute(text("SELECT version_num FROM alembic_version"))
            current = {row[0] for row in rows}
        except Exception as exc:  # noqa: BLE001 - no version table: not migrated
            db.session.rollback()
            checks["schema"] = {"ok": False, "error": type(exc).__name__}
        else:
            missing = sorted(heads - current)
            checks["schema"] = {"ok": not missing, "missing": missing}
    return _answer(checks)
