"""Answers built from a published release, kept in the process that built them.

A release is frozen when it is published (``stats publish``): its cells are never changed or
deleted. Whatever is computed from one release's cells (a data answer for one table, format and
filter; the values of a table's dimension) is therefore the same every time, and any process may
keep it: the app still holds no state of its own, since every process would compute the same
bytes. Which release a call gets is still decided by the database on every call, so a new release
is served the moment it is published, and the per-call checks (key, rate limit, the call log) are
never skipped. Errors are never cached.

Entries are keyed by the release's id *and* its ``created_at``, so a release id reused by another
database (a restored or re-created one) never meets an old entry. The cache is a least-recently
used one (cachetools) bounded by the bytes it holds per process, ``API_CACHE_BYTES`` (32 MiB
by default, see ``core.config``); 0 turns it off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from cachetools import LRUCache
from flask import current_app

from ..api_models import Release

T = TypeVar("T")
EXTENSION = "stats_api_cache"


def _size(value) -> int:
    if isinstance(value, bytes | str):
        return len(value) + 64
    if isinstance(value, tuple | list):
        return sum(_size(v) for v in value) + 64
    return 64


class ReleaseCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._lru: LRUCache = LRUCache(maxsize=max(max_bytes, 1), getsizeof=_size)
        self._lock = threading.Lock()  # gthread workers share the process
        self.hits = self.misses = 0

    def get(self, release: Release, key: Hashable, compute: Callable[[], T]) -> T:
        if self.max_bytes <= 0:
            return compute()
        full = (release.id, release.created_at, key)
        with self._lock:
            value = self._lru.get(full)
            if value is not None:
                self.hits += 1
                return value
            self.misses += 1
        value = compute()  # outside the lock: two threads may compute the same value, harmlessly
        if _size(value) <= self.max_bytes:
            with self._lock:
                self._lru[full] = value
        return value


def release_cache() -> ReleaseCache:
    app = current_app._get_current_object()
    cache = app.extensions.get(EXTENSION)
    if cache is None:
        cache = app.extensions.setdefault(
            EXTENSION, ReleaseCache(int(app.config["API_CACHE_BYTES"]))
        )
    return cache
