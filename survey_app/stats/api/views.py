"""``/api/v1``: subjects, tables and data of the published releases (Jobindsats-style).

Every call except ``/api/v1/openapi.json`` needs ``Authorization: Bearer <key>`` (see ``keys``);
a key in the query string is refused, so keys do not end up in URLs and access logs. Each call is
logged in ``api_calls`` (client, endpoint, parameters, IP, status, duration), never with the key.
Calls are rate limited per key (``RATELIMIT_API_PER_KEY``) with 429 and ``Retry-After``.
Data come from the latest release, or the latest of ``period=``, or exactly ``release=``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import time
from datetime import timedelta

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from survey_app.core.csvsafe import safe_cell
from survey_app.core.db import db, utcnow
from survey_app.core.ids import parse_id
from survey_app.core.limits import limiter
from survey_app.core.security import csrf

from ..api_models import ApiCall, ApiClient, Release, ReleaseCell
from ..catalogue import MEASURE_INFO, SUBJECT_ID, SUBJECT_TITLE, TABLES
from ..estimates import TOTAL_DOMAIN
from ..periods import PeriodError
from ..periods import normalise as normalise_period
from .errors import ApiError, error_response
from .keys import hash_key
from .openapi import document

bp = Blueprint("stats_api", __name__, url_prefix="/api/v1")

KEY_PARAMS = {"key", "api_key", "apikey", "access_token", "token", "auth"}
PUBLIC = {"stats_api.openapi"}
CSV_COLUMNS = (
    "release",
    "period",
    "dimension",
    "value",
    "measure",
    "estimate",
    "ci_low",
    "ci_high",
    "n",
    "suppressed",
    "suppression",
)
#: seconds: an API client's ``last_used_at`` is refreshed at most this often
LAST_USED_PRECISION = 60
#: the keys of a data row (JSON) and the cell columns they come from
ROW_KEYS = CSV_COLUMNS[2:]


def _bearer() -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def _limit_key() -> str:
    secret = _bearer()
    if secret:
        return "api-key:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:40]
    return "api-ip:" + (request.remote_addr or "unknown")


limiter.limit(
    lambda: current_app.config["RATELIMIT_API_PER_KEY"], key_func=_limit_key, scope="stats-api"
)(bp)


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.value)


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(_exc):
    current = limiter.current_limit
    wait = max(1, math.ceil(current.window.reset_time - time.time())) if current else 60
    return error_response(
        429,
        "rate_limited",
        f"too many requests for this key; retry after {wait} seconds",
        headers={"Retry-After": str(wait)},
    )


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code, "http_error")
    return error_response(exc.code or 500, code, exc.description or exc.name)


@bp.before_request
def _authenticate():
    g.api_started = time.perf_counter()
    g.api_key = None
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
    header = request.headers.get("Authorization", "")
    if not header:
        raise ApiError(
            401, "missing_key", "missing Authorization header: send 'Authorization: Bearer <key>'"
        )
    secret = _bearer()
    if secret is None:
        raise ApiError(401, "bad_authorization", "the Authorization header must be 'Bearer <key>'")
    from ..api_models import ApiKey

    key = db.session.execute(
        db.select(ApiKey).filter_by(key_hash=hash_key(secret))
    ).scalar_one_or_none()
    if key is None:
        raise ApiError(401, "invalid_key", "unknown API key")
    if key.revoked_at is not None:
        raise ApiError(401, "revoked_key", f"this API key was revoked on {key.revoked_at:%Y-%m-%d}")
    g.api_key = key


@bp.after_request
def _log_call(response):
    key = g.get("api_key")
    started = g.get("api_started")
    duration = (time.perf_counter() - started) * 1000 if started else 0.0
    params = {k: v for k, v in request.args.items() if k.lower() not in KEY_PARAMS}
    try:
        db.session.rollback()
        if db.session.get_bind().dialect.name == "postgresql":
            # A usage log line, not a state change: it need not wait for the WAL flush. A
            # database crash can lose the last fraction of a second of log lines, never
            # consistency; the answer no longer waits for a disk write on every call.
            db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        db.session.add(
            ApiCall(
                client_id=key.client_id if key else None,
                key_id=key.id if key else None,
                endpoint=request.path[:200],
                params=params,
                ip=request.remote_addr,
                status=response.status_code,
                duration_ms=round(duration, 2),
            )
        )
        if key is not None:
            # At most once a minute: every call of an organisation updating its one row would
            # queue its concurrent calls behind that row's lock.
            now = utcnow()
            db.session.execute(
                db.update(ApiClient)
                .where(
                    ApiClient.id == key.client_id,
                    db.or_(
                        ApiClient.last_used_at.is_(None),
                        ApiClient.last_used_at < now - timedelta(seconds=LAST_USED_PRECISION),
                    ),
                )
                .values(last_used_at=now)
            )
        db.session.commit()
    except Exception:  # the answer must not fail because its log line could not be written
        db.session.rollback()
        current_app.logger.exception("api call log failed")
    return response


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


@bp.get("/subjects")
def subjects():
    return jsonify(
        {
            "subjects": [
                {
                    "id": SUBJECT_ID,
                    "title": SUBJECT_TITLE,
                    "tables": list(TABLES),
                }
            ]
        }
    )


def _table_json(table) -> dict:
    return {
        "id": table.id,
        "subject": SUBJECT_ID,
        "title": table.title,
        "description": table.description,
        "dimension": table.dimension,
    }


@bp.get("/tables")
def tables():
    return jsonify({"tables": [_table_json(t) for t in TABLES.values()]})


def _table(table_id: str):
    table = TABLES.get(table_id)
    if table is None:
        raise ApiError(
            404,
            "unknown_table",
            f"no table {table_id!r}; the tables are: {', '.join(TABLES)}",
            field="table",
            value=table_id,
        )
    return table


def _release_json(release: Release) -> dict:
    return {
        "id": release.id,
        "period": release.period,
        "window_start": release.window_start.isoformat(),
        "window_end": release.window_end.isoformat(),
        "created_at": release.created_at.isoformat(timespec="seconds") + "Z",
        "rounds": release.rounds,
        "bank_versions": release.bank_versions,
    }


def _values(release_id: int, table_id: str) -> list[str]:
    return db.session.scalars(
        db.select(ReleaseCell.value)
        .where(
            ReleaseCell.release_id == release_id,
            ReleaseCell.table_id == table_id,
            ReleaseCell.dimension != TOTAL_DOMAIN,
        )
        .distinct()
        .order_by(ReleaseCell.value)
    ).all()


@bp.get("/tables/<table_id>")
def table(table_id: str):
    table = _table(table_id)
    releases = db.session.scalars(db.select(Release).order_by(Release.id.desc())).all()
    latest = releases[0] if releases else None
    dimensions = []
    if table.param:
        dimensions.append(
            {
                "id": table.dimension,
                "param": table.param,
                "values": _values(latest.id, table.id) if latest else [],
            }
        )
    periods = {}
    for r in releases:
        periods.setdefault(r.period, []).append(r.id)
    return jsonify(
        {
            **_table_json(table),
            "dimensions": dimensions,
            "periods": [
                {"period": p, "latest_release": ids[0], "releases": ids}
                for p, ids in sorted(periods.items(), reverse=True)
            ],
            "measures": [
                {"id": m, "kind": kind, "description": text}
                for m, (kind, text) in MEASURE_INFO.items()
            ],
            "latest_release": _release_json(latest) if latest else None,
        }
    )


def _pick_release(period: str | None, release_id: str | None) -> Release:
    query = db.select(Release).order_by(Release.id.desc()).limit(1)
    if release_id is not None:
        if parse_id(release_id) is None:
            raise ApiError(
                400,
                "invalid_release",
                f"release must be a release id (a whole number), not {release_id!r}",
                field="release",
                value=release_id,
            )
        query = query.where(Release.id == parse_id(release_id))
    if period is not None:
        try:
            period = normalise_period(period)
        except PeriodError as exc:
            raise ApiError(400, "invalid_period", str(exc), field="period", value=period) from None
        query = query.where(Release.period == period)
    release = db.session.scalars(query).first()
    if release is not None:
        return release
    if release_id is not None:
        raise ApiError(
            404 if period is None else 400,
            "unknown_release",
            f"no release {release_id}" + (f" of period {period}" if period else ""),
            field="release",
            value=release_id,
        )
    if period is not None:
        known = sorted(set(db.session.scalars(db.select(Release.period))), reverse=True)
        raise ApiError(
            400,
            "unknown_period",
            f"no release of period {period!r}; published periods: {', '.join(known) or 'none'}",
            field="period",
            value=period,
        )
    raise ApiError(404, "no_release", "nothing has been published yet")


def _csv_value(value):
    if value is None:
        return ""
    return safe_cell(value) if isinstance(value, str) else value


def _split(raw: str) -> list[str]:
    return [v.strip() for v in raw.split(",") if v.strip()]


@bp.get("/data/<table_id>")
def data(table_id: str):
    table = _table(table_id)
    allowed = {"period", "release", "format", "measure", *([table.param] if table.param else [])}
    for name in request.args:
        if name not in allowed:
            raise ApiError(
                400,
                "unknown_parameter",
                f"table {table.id} has no parameter {name!r}; allowed: "
                f"{', '.join(sorted(allowed))}",
                field=name,
                value=request.args.get(name),
            )
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(
            400,
            "unknown_format",
            f"format must be json or csv, not {fmt!r}",
            field="format",
            value=fmt,
        )
    release = _pick_release(request.args.get("period"), request.args.get("release"))
    # plain columns, not entities: a table of 300 values is 1,500 cells per call
    query = db.select(*(getattr(ReleaseCell, k) for k in ROW_KEYS)).where(
        ReleaseCell.release_id == release.id, ReleaseCell.table_id == table.id
    )
    if "measure" in request.args:
        measures = _split(request.args["measure"])
        for m in measures:
            if m not in MEASURE_INFO:
                raise ApiError(
                    400,
                    "unknown_value",
                    f"no measure {m!r}; the measures are: {', '.join(MEASURE_INFO)}",
                    field="measure",
                    value=m,
                )
        query = query.where(ReleaseCell.measure.in_(measures))
    if table.param and table.param in request.args:
        wanted = _split(request.args[table.param])
        known = set(_values(release.id, table.id))
        for v in wanted:
            if v not in known:
                raise ApiError(
                    400,
                    "unknown_value",
                    f"{table.param} {v!r} is not a value of table {table.id} in "
                    f"release {release.id}; see /api/v1/tables/{table.id}",
                    field=table.param,
                    value=v,
                )
        query = query.where(ReleaseCell.value.in_(wanted))
    rows = [
        dict(zip(ROW_KEYS, cell, strict=True))
        for cell in db.session.execute(query.order_by(ReleaseCell.id))
    ]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow(
                [release.id, release.period] + [_csv_value(row[k]) for k in CSV_COLUMNS[2:]]
            )
        return Response(
            out.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{table.id}-{release.id}.csv"'},
        )
    return jsonify({"table": table.id, "release": _release_json(release), "rows": rows})


def init_app(app) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
