"""Partners deliver postings over HTTP: ``POST /api/v1/postings`` and the batch status/errors.

Authentication is a feed key (``Authorization: Bearer <key>``, see ``partners.feed_keys``); the
organisation of the key is the source of every row, so a partner can only deliver as itself. A
row whose ``source`` names another organisation is refused with a row error (the other rows of
the delivery are kept, as in every import: one stray row does not cost the partner the file).
The body (CSV or JSON lines, chosen by Content-Type; optionally ``Content-Encoding: gzip``) is
parsed while it streams in; it is never read whole into memory.

Every call is logged with the organisation, the endpoint and the client address; never the key.
Errors are JSON: ``{"error": ..., "status": ...}``.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context
from werkzeug.exceptions import HTTPException

from survey_app.core.db import db, utcnow
from survey_app.core.security import csrf
from survey_app.partners.feed_keys import authenticate

from . import error_report
from .body_stream import HeadRewindStream
from .feed import FeedFormatError
from .importer import import_postings
from .models import ImportBatch

log = logging.getLogger("survey_app.api")
bp = Blueprint("postings_api", __name__, url_prefix="/api/v1/postings")

FIRST_ERRORS = 20
CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/jsonlines": "jsonl",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _error(status: int, message: str, **extra):
    response = jsonify({"error": message, "status": status, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="postings"'
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return _error(exc.status, exc.message)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    db.session.rollback()
    return _error(exc.code or 500, exc.description or exc.name)


@bp.before_request
def _authenticate():
    g.feed_org = None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header:
        raise ApiError(401, "missing Authorization header: send 'Authorization: Bearer <feed key>'")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "the Authorization header must be 'Bearer <feed key>'")
    key = authenticate(secret.strip())
    if key is None:
        db.session.rollback()
        raise ApiError(401, "the feed key is unknown or revoked")
    g.feed_org = key.organisation
    db.session.commit()  # last_used_at


@bp.after_request
def _log_call(response):
    org = g.get("feed_org")
    log.info(
        "postings API %s %s org=%s ip=%s status=%s",
        request.method,
        request.path,
        org.code if org is not None else "-",
        request.remote_addr,
        response.status_code,
    )
    return response


def _format() -> str:
    mimetype = request.mimetype
    if mimetype not in CONTENT_TYPES:
        known = ", ".join(sorted(CONTENT_TYPES))
        raise ApiError(415, f"Content-Type {mimetype or '(none)'!r} is not accepted; use {known}")
    return CONTENT_TYPES[mimetype]


def _body():
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise ApiError(415, f"Content-Encoding {encoding!r} is not accepted; use gzip or none")
    stream = request.stream
    if encoding == "gzip":
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    return HeadRewindStream(stream)


def _batch_url(batch: ImportBatch, suffix: str = "") -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}/api/v1/postings/batches/{batch.id}{suffix}"


def batch_json(batch: ImportBatch) -> dict:
    accepted = batch.rows_total - batch.rows_rejected
    errors = [
        {"row": e.row_number, "field": e.field, "value": e.value, "reason": e.reason}
        for e in error_report.iter_errors(batch.id, limit=FIRST_ERRORS)
    ]
    return {
        "batch_id": batch.id,
        "source": batch.source.code,
        "status": batch.status,
        "filename": batch.filename,
        "format": batch.fmt,
        "started_at": batch.started_at.isoformat(timespec="seconds") + "Z",
        "finished_at": batch.finished_at.isoformat(timespec="seconds") + "Z"
        if batch.finished_at
        else None,
        "error": batch.error,
        "counts": {
            "received": batch.rows_total,
            "accepted": accepted,
            "rejected": batch.rows_rejected,
            "duplicates": batch.rows_duplicates,
            "inserted": batch.rows_inserted,
            "updated": batch.rows_updated,
        },
        "errors": errors,
        "errors_url": _batch_url(batch, "/errors.csv"),
        "status_url": _batch_url(batch),
    }


@bp.post("")
def deliver():
    org = g.feed_org
    fmt = _format()
    name = request.args.get("filename") or f"api-{utcnow():%Y%m%dT%H%M%S}.{fmt}"
    name = Path(name).name[:300]
    try:
        body = _body()
        result = import_postings(body, org, name, fmt, channel="api")
        db.session.commit()
    except FeedFormatError as exc:
        failed = db.session.get(ImportBatch, exc.batch_id) if exc.batch_id else None
        extra = {"batch_id": failed.id} if failed else {}
        return _error(422, f"{exc.message}; nothing was imported", **extra)
    except (OSError, EOFError, zlib.error) as exc:
        db.session.rollback()
        batch = ImportBatch(
            source_id=org.id,
            filename=name,
            fmt=fmt,
            channel="api",
            status="failed",
            error=f"the gzip body cannot be decompressed ({exc})",
            finished_at=utcnow(),
        )
        db.session.add(batch)
        db.session.commit()
        return _error(400, f"{batch.error}; nothing was imported", batch_id=batch.id)
    batch = db.session.get(ImportBatch, result.batch_id)
    response = jsonify(batch_json(batch))
    response.status_code = 201
    response.headers["Location"] = _batch_url(batch)
    return response


def _own_batch(batch_id: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    # Another organisation's batch answers exactly like one that does not exist.
    if batch is None or batch.source_id != g.feed_org.id:
        raise ApiError(404, f"no batch {batch_id} of {g.feed_org.code}")
    return batch


@bp.get("/batches/<int:batch_id>")
def batch_status(batch_id: int):
    return jsonify(batch_json(_own_batch(batch_id)))


@bp.get("/batches/<int:batch_id>/errors.csv")
def batch_errors(batch_id: int):
    batch = _own_batch(batch_id)
    return Response(
        stream_with_context(error_report.stream_csv(batch.id)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch.id}-errors.csv"'},
    )


def init_app(app) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
