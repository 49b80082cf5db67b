"""The answer when the database goes away in the middle of a request.

A dropped connection (a database restart, a fail-over, a backend killed by an operator) makes the
request's transaction fail: nothing of it was committed, or, if the connection broke during the
commit itself, the outcome is unknown. Either way the client gets a clear 503 page (JSON under
``/api/``) with ``Retry-After`` that asks to send the same thing again (a respondent's page
save stores the page's answers as given, so a second send changes nothing). The pool replaces
the broken connection (and pings those that sat idle, ``core.db.ping_after_idle``), so the
retry goes through.
"""

from __future__ import annotations

import contextlib

from flask import current_app, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from .db import db

RETRY_AFTER = "5"


def _database_unavailable(error: DBAPIError):
    if not (isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated):
        raise error  # a query or constraint fault is a bug: a 500, not "try again"
    current_app.logger.warning(
        "database unavailable during %s %s: %s",
        request.method,
        request.endpoint,
        type(error.orig).__name__ if error.orig is not None else type(error).__name__,
    )
    with contextlib.suppress(Exception):
        db.session.rollback()  # the page below must not meet a failed transaction
    headers = {"Retry-After": RETRY_AFTER, "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):
        body = {"error": "the database is unavailable; it may not have been stored, send it again"}
        return jsonify(body), 503, headers
    return render_template("core/unavailable.html"), 503, headers


def _close_session(_exc=None) -> None:
    """End the request's session before Flask-SQLAlchemy's own teardown does (teardowns run in
    reverse order). Rolling back on a connection the server has just closed raises; raised from
    a teardown, that would turn a response already made, perhaps of a committed save, into a
    500. The broken connection is discarded by the pool either way."""
    try:
        db.session.remove()
    except DBAPIError as error:
        current_app.logger.warning("database connection lost at the end of a request: %s", error)
        db.session.registry.clear()


def _not_found(_error):
    """An address no page answers (or a record that is not there): the service's own page in
    the visitor's language, not the framework's English one; JSON under ``/api/``."""
    if request.path.startswith("/api/"):
        body = {"error": {"code": "not_found", "message": f"no such address: {request.path}"}}
        return jsonify(body), 404
    return render_template("core/not_found.html"), 404


def init_app(app) -> None:
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.register_error_handler(404, _not_found)
    app.teardown_appcontext(_close_session)
