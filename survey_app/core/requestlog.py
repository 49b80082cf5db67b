"""One structured log line per request, carrying a request id, and JSON logs for production.

Each request gets an id: the caller's ``X-Request-ID`` when it is a plain short token (a load
balancer's), else a new random one. It is sent back in the response header and is in every log
line written while the request runs, so one request can be followed across app and log shipper.

The request line holds the method, the route's endpoint, the path with access tokens redacted
(never the query string, never the client's address), the status and the duration. No personal
data is logged: answers, names, e-mail addresses and phone numbers never reach a log call here.

``LOG_FORMAT`` chooses ``json`` or ``text``; by default JSON in the production mode (Redis
configured) and text in the embedded mode.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time

from flask import g, has_request_context, request

from . import metrics
from .logs import RedactTokens, redact

log = logging.getLogger("survey_app.request")

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Stamps the current request's id on each record while the request runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id()
        return True


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object per line, with the request id when there is one."""

    _SKIP = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        rid = getattr(record, "request_id", None) or request_id()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in self._SKIP and key != "request_id" and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(fmt: str, level: str = "INFO") -> None:
    """Send the app's, gunicorn's and RQ's logs to stderr in ``fmt`` ("json" or "text")."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactTokens())
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("survey_app", "gunicorn.error", "rq.worker"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False


def _before() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _INCOMING_ID.match(incoming) else secrets.token_hex(8)
    g.request_started = time.perf_counter()


def _after(response):
    started = g.get("request_started")
    if started is None:
        return response
    seconds = time.perf_counter() - started
    response.headers["X-Request-ID"] = g.request_id
    metrics.observe(request.method, request.endpoint, response.status_code, seconds)
    log.info(
        "%s %s %s",
        request.method,
        redact(request.path),
        response.status_code,
        extra={
            "request_id": g.request_id,
            "endpoint": request.endpoint,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
        },
    )
    return response


def init_app(app) -> None:
    fmt = app.config.get("LOG_FORMAT") or ("text" if app.config["EMBEDDED_QUEUE"] else "json")
    app.config["LOG_FORMAT"] = fmt
    if not app.testing:
        configure_logging(fmt, app.config.get("LOG_LEVEL", "INFO"))
    app.before_request(_before)
    app.after_request(_after)
