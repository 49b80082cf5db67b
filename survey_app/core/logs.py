"""Access tokens never reach a log: request lines are redacted before any handler sees them."""

from __future__ import annotations

import logging
import re

# /s/<token>, /embed/s/<token>, the embed session handle /embed/h/<handle>, and token-like
# query parameters (jwt=..., token=...)
_PATTERNS = (
    (re.compile(r"(/s/|/embed/h/)[^\s/?\"]+"), r"\1<redacted>"),
    (re.compile(r"([?&](?:token|jwt|t)=)[^\s&\"]+"), r"\1<redacted>"),
)
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def init_app(_app) -> None:
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
