"""Who is calling ``/api/v1``: the bearer-key check before a call and the call log after it.

A key is accepted only as ``Authorization: Bearer <key>``; a key in the query string is refused,
so keys do not end up in URLs and access logs. The key is looked up by its hash together with its
organisation's ``last_used_at`` in one query, and only plain values are kept on ``g``.

Each call is logged in ``api_calls`` (organisation, key, endpoint, parameters, IP, status,
duration), never with the key, in the request's own transaction: one INSERT and the COMMIT. On
PostgreSQL the INSERT also turns off ``synchronous_commit`` for its transaction: a usage log line
is not a state change, so the answer need not wait for the WAL flush; a database crash can lose
the last fraction of a second of log lines, never consistency. The organisation's
``last_used_at`` is refreshed at most once a minute, so an organisation's concurrent calls do not
queue behind the lock of its one row.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, request
from sqlalchemy import func

from survey_app.core.db import db, utcnow

from ..api_models import ApiCall, ApiClient, ApiKey
from .errors import ApiError
from .keys import hash_key

#: query parameters that look like a key: refused, never logged
KEY_PARAMS = {"key", "api_key", "apikey", "access_token", "token", "auth"}
#: endpoints that need no key
PUBLIC = {"stats_api.openapi"}
#: seconds: an API client's ``last_used_at`` is refreshed at most this often
LAST_USED_PRECISION = 60


@dataclass(frozen=True)
class Caller:
    key_id: int
    client_id: int
    last_used_at: datetime | None


def bearer() -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def limit_key() -> str:
    """The rate limit's bucket: the key's hash, or the address of a call without a key."""
    secret = bearer()
    if secret:
        return "api-key:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:40]
    return "api-ip:" + (request.remote_addr or "unknown")


def authenticate() -> None:
    """``before_request``: sets ``g.api_caller`` or raises the ``ApiError`` that says why not."""
    g.api_started = time.perf_counter()
    g.api_caller = None
    if request.endpoint in PUBLIC:
        return
    for name in request.args:
        if name.lower() in KEY_PARAMS:
            raise ApiError(
                400,
                "key_in_query",
                "API keys are accepted only in the header 'Authorization: Bearer <key>', never "
                "in the URL (URLs end up in logs); consider this key exposed and ask for a new one",
                field=name,
            )
    if not request.headers.get("Authorization", ""):
        raise ApiError(
            401, "missing_key", "missing Authorization header: send 'Authorization: Bearer <key>'"
        )
    secret = bearer()
    if secret is None:
        raise ApiError(401, "bad_authorization", "the Authorization header must be 'Bearer <key>'")
    row = db.session.execute(
        db.select(ApiKey.id, ApiKey.client_id, ApiKey.revoked_at, ApiClient.last_used_at)
        .join(ApiClient, ApiClient.id == ApiKey.client_id)
        .where(ApiKey.key_hash == hash_key(secret))
    ).one_or_none()
    if row is None:
        raise ApiError(401, "invalid_key", "unknown API key")
    if row.revoked_at is not None:
        raise ApiError(401, "revoked_key", f"this API key was revoked on {row.revoked_at:%Y-%m-%d}")
    g.api_caller = Caller(row.id, row.client_id, row.last_used_at)


def _insert(values: dict):
    table = ApiCall.__table__
    if db.session.get_bind().dialect.name != "postgresql":
        return table.insert().values(**values)
    # INSERT … SELECT from set_config(): the asynchronous commit and the row in one round trip
    async_commit = db.select(func.set_config("synchronous_commit", "off", True)).subquery()
    row = db.select(*(db.literal(v, type_=table.c[k].type) for k, v in values.items()))
    return table.insert().from_select(list(values), row.select_from(async_commit))


def log_call(response):
    """``after_request``: one ``api_calls`` row per call, whatever its status."""
    caller: Caller | None = g.get("api_caller")
    started = g.get("api_started")
    now = utcnow()
    values = {
        "client_id": caller.client_id if caller else None,
        "key_id": caller.key_id if caller else None,
        "endpoint": request.path[:200],
        "params": {k: v for k, v in request.args.items() if k.lower() not in KEY_PARAMS},
        "ip": request.remote_addr,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000 if started else 0.0, 2),
        "at": now,
    }
    for attempt in (1, 2):
        try:
            _write(values, caller, now, fresh=attempt == 2 or response.status_code >= 500)
            break
        except Exception:  # the answer must not fail because its log line could not be written
            db.session.rollback()
            if attempt == 2:
                current_app.logger.exception("api call log failed")
    return response


def _write(values: dict, caller: Caller | None, now: datetime, fresh: bool) -> None:
    session = db.session
    if fresh or session.new or session.dirty or session.deleted:
        # A failed call's transaction, or one with changes, is not the log's to commit; and a
        # call that failed inside the database may have left its transaction aborted.
        session.rollback()
    session.execute(_insert(values))
    stale = now - timedelta(seconds=LAST_USED_PRECISION)
    if caller is not None and (caller.last_used_at is None or caller.last_used_at < stale):
        session.execute(
            db.update(ApiClient)
            .where(
                ApiClient.id == caller.client_id,
                db.or_(ApiClient.last_used_at.is_(None), ApiClient.last_used_at < stale),
            )
            .values(last_used_at=now)
        )
    session.commit()
