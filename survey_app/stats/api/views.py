"""``/api/v1``: subjects, tables and data of the published releases (Jobindsats-style).

Every call except ``/api/v1/openapi.json`` needs ``Authorization: Bearer <key>`` and is logged
(``access``). Calls are rate limited per key (``RATELIMIT_API_PER_KEY``) with 429 and
``Retry-After``. Data come from the latest release, or the latest of ``period=``, or exactly
``release=``; what is built from one release's cells is kept per process (``cache``).
"""

from __future__ import annotations

import csv
import io
import math
import time

from flask import Blueprint, Response, current_app, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from survey_app.core.csvsafe import safe_cell
from survey_app.core.db import db
from survey_app.core.ids import parse_id
from survey_app.core.limits import limiter
from survey_app.core.security import csrf

from ..api_models import Release, ReleaseCell
from ..catalogue import MEASURE_INFO, SUBJECT_ID, SUBJECT_TITLE, TABLES
from ..estimates import TOTAL_DOMAIN
from ..periods import PeriodError
from ..periods import normalise as normalise_period
from .access import authenticate, limit_key, log_call
from .cache import release_cache
from .errors import ApiError, error_response
from .openapi import document

bp = Blueprint("stats_api", __name__, url_prefix="/api/v1")

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
#: the keys of a data row (JSON) and the cell columns they come from
ROW_KEYS = CSV_COLUMNS[2:]


limiter.limit(
    lambda: current_app.config["RATELIMIT_API_PER_KEY"], key_func=limit_key, scope="stats-api"
)(bp)
bp.before_request(authenticate)
bp.after_request(log_call)


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


def _values(release: Release, table_id: str) -> tuple[str, ...]:
    """The values of a table's dimension in a release (its rows without the total)."""

    def compute() -> tuple[str, ...]:
        return tuple(
            db.session.scalars(
                db.select(ReleaseCell.value)
                .where(
                    ReleaseCell.release_id == release.id,
                    ReleaseCell.table_id == table_id,
                    ReleaseCell.dimension != TOTAL_DOMAIN,
                )
                .distinct()
                .order_by(ReleaseCell.value)
            )
        )

    return release_cache().get(release, ("values", table_id), compute)


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
                "values": list(_values(latest, table.id)) if latest else [],
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
    measures = _split(request.args["measure"]) if "measure" in request.args else None
    wanted = (
        _split(request.args[table.param]) if table.param and table.param in request.args else None
    )
    key = (
        "data",
        table.id,
        fmt,
        None if measures is None else tuple(sorted(set(measures))),
        None if wanted is None else tuple(sorted(set(wanted))),
    )
    # Checked on every call: an invalid request is never cached, so it never hits the cache.
    for m in measures or ():
        if m not in MEASURE_INFO:
            raise ApiError(
                400,
                "unknown_value",
                f"no measure {m!r}; the measures are: {', '.join(MEASURE_INFO)}",
                field="measure",
                value=m,
            )
    if wanted:
        known = set(_values(release, table.id))
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
    body = release_cache().get(
        release, key, lambda: _data_body(release, table, fmt, measures, wanted)
    )
    if fmt == "csv":
        return Response(
            body,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{table.id}-{release.id}.csv"'},
        )
    return Response(body, mimetype="application/json")


def _data_body(release: Release, table, fmt: str, measures, wanted) -> bytes:
    # plain columns, not entities: a table of 300 values is 1,500 cells per call
    query = db.select(*(getattr(ReleaseCell, k) for k in ROW_KEYS)).where(
        ReleaseCell.release_id == release.id, ReleaseCell.table_id == table.id
    )
    if measures is not None:
        query = query.where(ReleaseCell.measure.in_(measures))
    if wanted is not None:
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
        return out.getvalue().encode("utf-8")
    document = {"table": table.id, "release": _release_json(release), "rows": rows}
    return (current_app.json.dumps(document) + "\n").encode("utf-8")


def init_app(app) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
