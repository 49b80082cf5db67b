"""Rate limits on the respondent's doors: per client IP and per credential or response.

Two kinds of limits, both configurable (``SURVEY_RATELIMIT_*``, see config.py):

- *credential entry* (``/s/<token>``, ``/code``, ``/embed/s/<token>``, ``/embed/launch``): strict
  per IP, and per credential, so one token or code tried from many addresses is stopped too;
- *page saves*: generous per IP (a call centre or a company behind one NAT address saves many
  pages a minute), moderate per response (no person saves a page every second for long).

Counters live in Redis when ``REDIS_URL`` is set (shared by every gunicorn worker) and in process
memory in the embedded mode. A credential never becomes a key as it is: it is keyed by an HMAC
under the secret key, so the counters reveal no token or code and cannot be matched against the
stored token hashes. ``RATELIMIT_ENABLED`` switches the limits per request (off by default under
``TESTING``); a breach gives a page in the respondent's language with ``Retry-After``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable

from flask import current_app, render_template, request
from flask_limiter import Limiter
from limits import parse_many
from limits.storage import RedisStorage
from redis.exceptions import NoScriptError
from werkzeug.exceptions import HTTPException, TooManyRequests

log = logging.getLogger(__name__)


class _Limiter(Limiter):
    """Flask-Limiter, leaving out of its before-request check the views that count their own
    limits (``page_save``): it would find none of theirs, at a cost on the hottest request."""

    def _check_request_limit(self, callable_name=None, in_middleware=True) -> None:
        if in_middleware:
            view = current_app.view_functions.get(request.endpoint or "")
            if getattr(view, "counts_own_limits", False):
                return
        super()._check_request_limit(callable_name, in_middleware)


limiter = _Limiter(key_func=lambda: client_ip(), strategy="fixed-window")


def client_ip() -> str:
    return request.remote_addr or "unknown"


def credential_key(value: str | None) -> str:
    """The counter key of a token, code or launch JWT: an HMAC, never the value itself."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    digest = hmac.new(key, b"rate-limit:" + (value or "").encode("utf-8"), hashlib.sha256)
    return "c:" + digest.hexdigest()[:40]


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def credential_entry(value_of: Callable[[], str | None]):
    """Limits for a view that exchanges a credential (the value ``value_of`` reads from the
    request): one budget per IP and one per credential, shared by all such views."""
    per_ip = limiter.shared_limit(
        _setting("RATELIMIT_CREDENTIAL_PER_IP"), scope="credential-ip", key_func=client_ip
    )
    per_credential = limiter.shared_limit(
        _setting("RATELIMIT_CREDENTIAL_PER_TOKEN"),
        scope="credential",
        key_func=lambda: credential_key(value_of()),
    )

    def decorate(view):
        return per_ip(per_credential(view))

    return decorate


def page_save(response_key: Callable[[], str]):
    """Limits for saving a page (POST only): per IP, and per response (``response_key`` names
    it from the session or the embedded handle).

    A save is the hottest request there is, so all its counters (each setting may name several
    windows, "60/minute;600/hour") are taken in one Redis round trip, one script for every key,
    instead of one per limit. They are the fixed windows the ``limits`` library keeps, in the
    same storage, so ``limiter.reset()`` clears them too."""

    def decorate(view):
        @functools.wraps(view)
        def limited(*args, **kwargs):
            if request.method == "POST" and current_app.config.get("RATELIMIT_ENABLED", True):
                _count_save("r:" + response_key())
            return view(*args, **kwargs)

        limited.counts_own_limits = True
        return limited

    return decorate


#: Count a hit on each key in turn (a new key starts its window's expiry), stopping at the first
#: that is over its amount, so a refused save does not use up the later budgets either.
#: ARGV: expiry and amount for each key. Returns {count, seconds left} for the keys counted.
_INCR_ALL = """
local out = {}
for i, key in ipairs(KEYS) do
    local count = redis.call("incr", key)
    if count == 1 then
        redis.call("expire", key, ARGV[2 * i - 1])
    end
    out[i] = {count, redis.call("ttl", key)}
    if count > tonumber(ARGV[2 * i]) then
        break
    end
end
return out
"""
#: a setting such as "60/minute;600/hour" is one limit per window
_parse = functools.lru_cache(maxsize=64)(parse_many)
#: the name Redis knows the script by (EVALSHA)
_INCR_ALL_SHA = hashlib.sha1(_INCR_ALL.encode(), usedforsecurity=False).hexdigest()
_counters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _count_save(response: str) -> None:
    config = current_app.config
    budgets = (
        ("RATELIMIT_PAGE_SAVE_PER_IP", ("save-ip", client_ip())),
        ("RATELIMIT_PAGE_SAVE_PER_RESPONSE", ("save-response", response)),
    )
    items = [(item, ids) for name, ids in budgets for item in _parse(config[name])]
    prefix = config["RATELIMIT_KEY_PREFIX"]
    try:
        counted = _hit_all([(item, item.key_for(prefix, *ids)) for item, ids in items])
    except Exception:
        if not config.get("RATELIMIT_SWALLOW_ERRORS", True):
            raise
        # As for every other limit: a failing Redis stops the counting, not the respondent.
        log.warning("page-save rate limits could not be counted", exc_info=True)
        return
    for (item, _), (count, wait) in zip(items, counted, strict=False):
        if count > item.amount:
            raise TooManyRequests(retry_after=max(1, math.ceil(wait)))


def _hit_all(limits: list) -> list[tuple[int, float]]:
    """Hit each (item, key) in turn until one is over; [(count, seconds left)] of those hit."""
    storage = limiter.storage
    if isinstance(storage, RedisStorage):
        counter = _counters.get(storage)
        if counter is None:
            # One server: the script on connections of our own. Sentinel or a cluster: through
            # redis-py's client, which knows where the keys live.
            client = storage.get_connection()
            plain = type(storage) is RedisStorage
            counter = ScriptCounter(client) if plain else client.register_script(_INCR_ALL)
            _counters[storage] = counter
        args = [n for item, _ in limits for n in (item.get_expiry(), item.amount)]
        result = counter([storage.prefixed_key(key) for _, key in limits], args)
        return [(int(count), float(ttl)) for count, ttl in result]
    counted = []
    for item, key in limits:  # the embedded mode's memory storage: no round trips to save
        count = storage.incr(key, item.get_expiry())
        counted.append((count, storage.get_expiry(key) - time.time()))
        if count > item.amount:
            break
    return counted


class ScriptCounter:
    """``_INCR_ALL`` on a Redis connection of each thread's own.

    redis-py's client wraps a command in its pool's bookkeeping (a readiness poll of the socket,
    fork checks, retries, metrics), which cost a page save more than the round trip. This sends
    the script by its SHA1 on a plain connection made from the client's settings, and the whole
    script when the server does not know it yet (``NOSCRIPT``, after a restart). A connection
    that fails is dropped, and the error raised: the caller decides (``_count_save`` lets the
    save go on); the next count connects again. After a fork a process makes its own."""

    def __init__(self, client) -> None:
        pool = client.connection_pool
        self._connect = functools.partial(pool.connection_class, **pool.connection_kwargs)
        self._local = threading.local()

    def __call__(self, keys: list[str], args: list[int]) -> list:
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            conn = local.conn = self._connect()
            local.pid = os.getpid()
        try:
            conn.send_command("EVALSHA", _INCR_ALL_SHA, len(keys), *keys, *args)
            try:
                return conn.read_response()
            except NoScriptError:
                conn.send_command("EVAL", _INCR_ALL, len(keys), *keys, *args)
                return conn.read_response()
        except BaseException:
            local.conn = None  # a reply half read must never meet the next command
            conn.disconnect()
            raise


def _too_many_requests(error: HTTPException):
    wait = getattr(error, "retry_after", None)
    if not isinstance(wait, int):  # a Flask-Limiter breach: its current limit knows the wait
        current = limiter.current_limit
        wait = max(1, math.ceil(current.window.reset_time - time.time())) if current else 60
    body = render_template("core/rate_limited.html", minutes=max(1, math.ceil(wait / 60)))
    return body, 429, {"Retry-After": str(wait)}


def init_app(app) -> None:
    config = app.config
    enabled = bool(config.get("RATELIMIT_ENABLED", not app.testing))
    config.setdefault("RATELIMIT_STORAGE_URI", config.get("REDIS_URL") or "memory://")
    config.setdefault("RATELIMIT_KEY_PREFIX", "survey-limits")
    # A failing Redis must not shut respondents out: counting stops, the survey goes on.
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # The extension is always set up, so a switch of RATELIMIT_ENABLED takes effect per request.
    config["RATELIMIT_ENABLED"] = True
    limiter.init_app(app)
    config["RATELIMIT_ENABLED"] = enabled
    app.register_error_handler(429, _too_many_requests)


@limiter.request_filter
def _switched_off() -> bool:
    """Flask-Limiter skips a request when limits are off."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)
