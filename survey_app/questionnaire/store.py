"""A page save in SQL: the response and its answers read as plain values, and only the changes
written.

A page save is the respondent's hottest path. Loading the response and its answers as ORM
objects and flushing them cost more than the SQL itself, so the save reads a :class:`Draft` (the
few columns the page flow needs, and the answers as a dict) and writes only what changed:
new answers, changed answers, answers the page cleared or routing now hides, the response's
state and one page visit. Rendering a page still reads the ORM objects.

On PostgreSQL the SQL goes straight to psycopg (``store_pg``). A web save there takes no lock:
it reads, and its one write applies only if the response is still the version read; one that
lost a race to another write of the response (a second tab, a submit) raises :class:`Conflict`
and the page flow works it out again under the row lock (:func:`locked`). On SQLite the
statements below run through SQLAlchemy Core in the ORM session's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from flask import g, has_request_context
from sqlalchemy import bindparam, func, null, select

from survey_app.core.db import db, utcnow

from . import store_pg
from .bank import Bank
from .models import Answer, PageVisit, Response
from .routing import classify, prune_hidden
from .services import ResponseClosed, page_keys

_responses = Response.__table__
_answers = Answer.__table__

#: the response with its answers in one round trip, in the columns of ``store_pg.READ`` (SQLite,
#: which writes one at a time and has no row version to check, so that column is NULL): one row
#: per answer, or one row of NULLs when there are none.
_READ = (
    select(
        _responses.c.status,
        _responses.c.notice_shown_at,
        _responses.c.bank_version_id,
        _responses.c.started_at,
        null().label("version"),
        _answers.c.question_id,
        _answers.c.value,
        _answers.c.mode,
    )
    .select_from(_responses.outerjoin(_answers, _answers.c.response_id == _responses.c.id))
    .where(_responses.c.id == bindparam("rid"))
    .order_by(_answers.c.id)
)
_INSERT_ANSWER = _answers.insert()
_UPDATE_ANSWER = (
    _answers.update()
    .where(_answers.c.response_id == bindparam("rid"), _answers.c.question_id == bindparam("qid"))
    .values(
        value=bindparam("v"),
        mode=bindparam("m"),
        agent_id=bindparam("agent"),
        answered_at=bindparam("now"),
    )
)
_DELETE_ANSWERS = _answers.delete().where(
    _answers.c.response_id == bindparam("rid"),
    _answers.c.question_id.in_(bindparam("qids", expanding=True)),
)
_UPDATE_RESPONSE = (
    _responses.update()
    .where(_responses.c.id == bindparam("rid"))
    .values(
        status="in_progress",
        mode=bindparam("response_mode"),
        language=bindparam("lang"),
        classification=bindparam("classification_"),
        started_at=func.coalesce(_responses.c.started_at, bindparam("now")),
        updated_at=bindparam("now"),
    )
)
_INSERT_VISIT = PageVisit.__table__.insert().values(
    response_id=bindparam("rid"),
    page_id=bindparam("page"),
    mode=bindparam("visit_mode"),
    language=bindparam("lang"),
    device=bindparam("device_"),
    shown_at=bindparam("now"),
    saved_at=bindparam("now"),
)


@dataclass(slots=True)
class Draft:
    """What a page save reads of a response: enough for routing, validation and the next page.
    It quacks like :class:`Response` where the page flow asks (``is_completed``,
    ``notice_shown_at``, ``bank_version_id``, ``answer_dict()``)."""

    id: int
    status: str
    notice_shown_at: datetime | None
    bank_version_id: int
    started_at: datetime | None
    #: the row version read (PostgreSQL), which the write checks
    version: str | None
    #: question id → value, in the order the answers were stored
    answers: dict[str, Any] = field(default_factory=dict)
    #: question id → the mode the stored answer was given in
    modes: dict[str, str] = field(default_factory=dict)
    #: the connection it was read on (PostgreSQL), which the save writes on
    link: _Link | None = field(default=None, repr=False, compare=False)

    @property
    def is_completed(self) -> bool:
        return self.status == "completed"

    def answer_dict(self) -> dict[str, Any]:
        return dict(self.answers)


class Conflict(Exception):
    """Another write of the response came between a save's read and its write (``for_save``):
    nothing was written. Read it again under the lock (``locked``) and save again."""


def for_save(response_id: int) -> Draft | None:
    """The response for a page save; None when there is no such response.

    On PostgreSQL, in a request that has no ORM transaction open, the save runs on a connection
    of its own from the pool (``_Link``): the read takes no lock and opens no transaction, and
    the write, one statement, checks that the response is still the version read (else
    :class:`Conflict`) and commits at once. Two round trips in all. Otherwise as :func:`locked`.
    """
    return _read(response_id, lock=False)


def locked(response_id: int) -> Draft | None:
    """The response under its row lock, so saves of one response serialise (two tabs never
    miss each other's answers); None when there is no such response.

    With an ORM transaction open (the phone flow's locked case, pending changes, or no request
    at all) the save runs within that transaction: a connection of its own could wait for locks
    the session holds."""
    return _read(response_id, lock=True)


def _read(response_id: int, *, lock: bool) -> Draft | None:
    # The request's ORM session, if it has one (making one only to find it empty costs).
    session = db.session() if db.session.registry.has() else None
    if session is not None and (session.new or session.dirty or session.deleted):
        session.flush()  # the SQL below bypasses autoflush: pending ORM changes go first
    link = _link(session)
    if link is None:
        rows = db.session.connection().execute(_READ, {"rid": response_id}).all()
    else:
        if link.own is not None and link.driver.autocommit == lock:
            # Without the lock, no transaction: each statement commits on its own.
            link.driver.autocommit = not lock
        rows = store_pg.read(
            link.driver, response_id, link.invalidate, lock=lock or link.own is None
        )
    if not rows:
        return None
    status, notice_shown_at, bank_version_id, started_at, version = rows[0][:5]
    draft = Draft(
        response_id, status, notice_shown_at, bank_version_id, started_at, version, link=link
    )
    for *_, qid, value, mode in rows:
        if qid is not None:
            draft.answers[qid] = value
            draft.modes[qid] = mode
    return draft


@dataclass(slots=True)
class _Link:
    """The psycopg connection a save on PostgreSQL runs on, and how to drop it when the server
    has. ``own``: the pool's connection when the save took one of its own."""

    driver: Any
    invalidate: Callable[[Exception], None]
    own: Any = None


_OWN = "questionnaire_save_connection"


def _link(session) -> _Link | None:
    """The connection for a save: None on SQLite (the session's, through SQLAlchemy Core)."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return None
    own = g.get(_OWN)
    in_session = session is not None and session.in_transaction()
    if own is None and (in_session or not has_request_context()):
        conn = db.session.connection()
        return _Link(conn.connection.driver_connection, conn.invalidate)
    if own is None:
        own = g.setdefault(_OWN, store_pg.checkout(engine))

    def invalidate(error: Exception) -> None:
        g.pop(_OWN, None)
        own.invalidate(error)

    return _Link(own.driver_connection, invalidate, own)


def release(_exc=None) -> None:
    """Return a save's own connection to the pool (also the request's teardown: a save that was
    refused or failed rolls back there; a stored one has committed and returned it already)."""
    own = g.pop(_OWN, None)
    if own is None:
        return
    driver = own.driver_connection
    if driver.autocommit:
        try:
            driver.autocommit = False  # as the pool hands connections out
        except psycopg.Error as error:  # broken: it must not go back to the pool as it is
            own.invalidate(error)
            return
    own.close()


def save_page(
    draft: Draft,
    bank: Bank,
    page_id: str,
    values: dict,
    *,
    mode: str,
    lang: str,
    device: str,
    agent_id: int | None = None,
) -> None:
    """Store the answers of one page (one row per question), drop the answers routing now hides,
    set the response's state, record the page visit and commit. ``draft`` is updated to match.

    An answer keeps its mode and agent until its value changes. With ``agent_id`` (phone mode)
    the response's mode becomes ``mixed`` while answers given in another mode remain."""
    if draft.is_completed:
        raise ResponseClosed()
    answers = dict(draft.answers)
    for qid in page_keys(bank, page_id):
        value = values.get(qid)
        if value is None or value == "" or value == []:
            answers.pop(qid, None)
        else:
            answers[qid] = value
    kept = prune_hidden(bank, answers)
    before = draft.answers
    removed = [qid for qid in before if qid not in kept]
    added = [qid for qid in answers if qid in kept and qid not in before]
    changed = [qid for qid in answers if qid in kept and qid in before and before[qid] != kept[qid]]

    modes = {qid: draft.modes[qid] for qid in before if qid in kept}
    modes.update((qid, mode) for qid in (*added, *changed))
    response_mode = mode
    if agent_id is not None and any(m != mode for m in modes.values()):
        response_mode = "mixed"
    now = utcnow()
    link = draft.link
    if link is not None:
        version = store_pg.write(
            link.driver,
            link.invalidate,
            rid=draft.id,
            version=draft.version,
            removed=removed,
            added={qid: answers[qid] for qid in added},
            changed={qid: answers[qid] for qid in changed},
            mode=mode,
            agent_id=agent_id,
            now=now,
            page=page_id,
            lang=lang,
            device=device,
            response_mode=response_mode,
            classification=classify(kept),
        )
        if version is None:
            raise Conflict()
        draft.version = version
        if link.own is not None:
            store_pg.commit(link.driver, link.invalidate)  # nothing to do without the lock
            release()  # the connection goes back to the pool at once
        else:
            # Ends the session's transaction, and expires the ORM objects read before, so the
            # phone flow's case sees what was written.
            db.session.commit()
    else:
        conn = db.session.connection()
        _write(conn, draft.id, answers, removed, added, changed, mode, agent_id, now)
        state = dict(
            rid=draft.id,
            response_mode=response_mode,
            lang=lang,
            classification_=classify(kept),
            now=now,
            page=page_id,
            visit_mode=mode,
            device_=device,
        )
        conn.execute(_UPDATE_RESPONSE, state)
        conn.execute(_INSERT_VISIT, state)
        db.session.commit()
    if draft.started_at is None:
        draft.started_at = now
    draft.status = "in_progress"
    draft.answers = {qid: answers[qid] for qid in answers if qid in kept}
    draft.modes = modes


def _write(conn, rid, answers, removed, added, changed, mode, agent_id, now) -> None:
    """The answers' part of a save with SQLAlchemy Core (SQLite)."""
    if removed:
        conn.execute(_DELETE_ANSWERS, {"rid": rid, "qids": removed})
    if added:
        conn.execute(
            _INSERT_ANSWER,
            [
                dict(
                    response_id=rid,
                    question_id=qid,
                    value=answers[qid],
                    mode=mode,
                    agent_id=agent_id,
                    answered_at=now,
                )
                for qid in added
            ],
        )
    if changed:
        conn.execute(
            _UPDATE_ANSWER,
            [
                dict(rid=rid, qid=qid, v=answers[qid], m=mode, agent=agent_id, now=now)
                for qid in changed
            ],
        )
