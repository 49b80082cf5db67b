"""A page save on PostgreSQL: two statements sent straight to the driver (psycopg).

The save is the respondent's hottest path. On PostgreSQL most of its cost was SQLAlchemy's
machinery around a few small statements (the session, the execution context, the commit), and
the round trips of a transaction (BEGIN, the locked read, the writes, COMMIT). This path hands
fixed SQL to a psycopg connection:

- ``READ`` reads the response with its answers and its row version, with no lock and, on a
  connection of the save's own, no transaction (``LOCKED`` is the same under the row lock);
- ``WRITE`` stores the page in one statement, only if the response is still the version read:
  deleted, added and changed answers, the page visit and the response's state, as
  data-modifying ``WITH`` parts. Arrays carry the answers, so the text is the same for every
  page and psycopg prepares it once. Without a transaction it commits as it ends.

Which connection (one of the save's own from the pool, or the ORM session's) and whether to lock
is ``store``'s choice. A driver error comes out as SQLAlchemy's (``DBAPIError``), after
invalidating a connection the server dropped, as SQLAlchemy's own execution would: the app's
503 page and the pool's replacement of broken connections work the same on this path.

The statements mirror ``store``'s SQLAlchemy Core ones, used on SQLite; the tests run both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError

#: The response with its answers, and its row version (``xmin``: the transaction that wrote the
#: row last), which ``WRITE`` checks.
READ = """
SELECT r.status, r.notice_shown_at, r.bank_version_id, r.started_at, r.xmin::text,
       a.question_id, a.value, a.mode
FROM responses AS r LEFT OUTER JOIN answers AS a ON a.response_id = r.id
WHERE r.id = %(rid)s
ORDER BY a.id
"""
#: The same under the row lock. FOR NO KEY UPDATE OF the response: saves of one response wait
#: for each other, while rows that only refer to it (a page visit, a call attempt) do not.
LOCKED = READ + "FOR NO KEY UPDATE OF r\n"

#: Everything hangs on ``saved``, the response's own UPDATE, which matches only while the row is
#: the version that was read: a save that lost a race to another write of the response changes
#: nothing and returns no row; else it returns the row's new version. A question is removed,
#: added or changed, never two of these, so the other parts touch disjoint rows. Added answers
#: keep the order given (WITH ORDINALITY).
WRITE = """
WITH saved AS (
    UPDATE responses
    SET status = 'in_progress', mode = %(response_mode)s, language = %(lang)s,
        classification = %(classification)s, started_at = coalesce(started_at, %(now)s),
        updated_at = %(now)s
    WHERE id = %(rid)s AND xmin::text = %(version)s
    RETURNING id, xmin::text AS version
), gone AS (
    DELETE FROM answers USING saved
    WHERE answers.response_id = saved.id AND answers.question_id = ANY(%(removed)s::text[])
), added AS (
    INSERT INTO answers (response_id, question_id, value, mode, agent_id, answered_at)
    SELECT saved.id, t.q, t.v::json, %(mode)s::text, %(agent)s::integer, %(now)s::timestamp
    FROM saved, unnest(%(added_q)s::text[], %(added_v)s::text[]) WITH ORDINALITY AS t(q, v, n)
    ORDER BY t.n
), changed AS (
    UPDATE answers
    SET value = t.v::json, mode = %(mode)s, agent_id = %(agent)s::integer,
        answered_at = %(now)s
    FROM saved, unnest(%(changed_q)s::text[], %(changed_v)s::text[]) AS t(q, v)
    WHERE answers.response_id = saved.id AND answers.question_id = t.q
), visit AS (
    INSERT INTO page_visits (response_id, page_id, mode, language, device, shown_at, saved_at)
    SELECT saved.id, %(page)s, %(mode)s, %(lang)s, %(device)s, %(now)s::timestamp,
           %(now)s::timestamp
    FROM saved
)
SELECT version FROM saved
"""


@contextmanager
def _as_sqlalchemy(driver, statement: str, invalidate: Callable[[Exception], None]) -> Iterator:
    """psycopg's errors as SQLAlchemy's; a connection the server dropped is invalidated first,
    so the pool replaces it."""
    try:
        yield
    except psycopg.Error as error:
        gone = driver.closed or driver.broken
        if gone:
            invalidate(error)
        raise DBAPIError.instance(
            statement, None, error, psycopg.Error, connection_invalidated=gone
        ) from error


def read(driver, response_id: int, invalidate: Callable[[Exception], None], *, lock: bool):
    """The rows of ``READ`` (``LOCKED`` with ``lock``) for one response."""
    statement = LOCKED if lock else READ
    with _as_sqlalchemy(driver, statement, invalidate):
        return driver.execute(statement, {"rid": response_id}).fetchall()


def write(
    driver,
    invalidate: Callable[[Exception], None],
    *,
    rid: int,
    version: str,
    removed: list[str],
    added: dict[str, Any],
    changed: dict[str, Any],
    mode: str,
    agent_id: int | None,
    now: datetime,
    page: str,
    lang: str,
    device: str,
    response_mode: str,
    classification: str | None,
) -> str | None:
    """``WRITE``; the response's new version, or None when it is no longer the ``version`` read
    (nothing was written). The caller commits."""
    params = dict(
        rid=rid,
        version=version,
        removed=removed,
        added_q=list(added),
        added_v=[json.dumps(v) for v in added.values()],
        changed_q=list(changed),
        changed_v=[json.dumps(v) for v in changed.values()],
        mode=mode,
        agent=agent_id,
        now=now,
        page=page,
        lang=lang,
        device=device,
        response_mode=response_mode,
        classification=classification,
    )
    with _as_sqlalchemy(driver, WRITE, invalidate):
        saved = driver.execute(WRITE, params).fetchone()
    return saved[0] if saved else None


def checkout(engine):
    """A connection of the pool for a save of its own (the pool's checkout events run: an idle
    connection is pinged first). Failing to connect is SQLAlchemy's error, as on any path."""
    try:
        return engine.raw_connection()
    except psycopg.Error as error:
        raise DBAPIError.instance(None, None, error, psycopg.Error) from error


def commit(driver, invalidate: Callable[[Exception], None]) -> None:
    """COMMIT an open transaction (none is open without the lock: nothing is sent)."""
    with _as_sqlalchemy(driver, "COMMIT", invalidate):
        driver.commit()
