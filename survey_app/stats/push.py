"""Push a completed response to STAR as soon as its completion is committed, like messages.

The outbox pattern of the messaging module: the state change is committed first, then a job is
enqueued; a periodic job (``star-push`` in ``core/periodic.py``, every minute) catches whatever
the immediate path missed (a lost job, a queue that was down, a completion written by a command)
and sends the retries that have come due.

The questionnaire does not know about stats (imports flow one way), so the completion is seen
through the session: after each flush, responses whose ``status`` changed to ``completed`` are
remembered on the session; a rollback forgets them; after the commit their ids go to the
``exports`` queue as one ``push_responses`` job, which writes their deliveries and sends them.
Only ids travel; nothing is sent before the delivery row is committed.

With Redis the job is enqueued right after the commit (no SQL is emitted in the commit hook). In
the embedded mode jobs run in-process at enqueue time, so the ids wait for the end of the request
(``after_request``); outside a request there the periodic sweep or ``survey-app stats push``
sends them. Nothing is enqueued while the webhook is not configured.
"""

from __future__ import annotations

import logging

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from survey_app.core.db import db
from survey_app.questionnaire.models import Response

log = logging.getLogger(__name__)

QUEUE = "exports"
JOB = "survey_app.stats.jobs.push_responses"
_KEY = "stats.completed_responses"
_listening = False


def _completed_in_flush(session: Session, _context) -> None:
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Response) or obj.status != "completed":
            continue
        history = inspect(obj).attrs.status.history
        if obj in session.new or history.added:
            session.info.setdefault(_KEY, set()).add(obj.id)


def _forget(session: Session, *_args) -> None:
    session.info.pop(_KEY, None)


def _configured() -> bool:
    cfg = current_app.config
    return bool(cfg.get("STAR_WEBHOOK_URL") and cfg.get("STAR_WEBHOOK_SECRET"))


def enqueue_push(ids: list[int]) -> None:
    """One job for the ids; a queue that cannot be reached is logged (the sweep catches up)."""
    from survey_app.core.queue import enqueue

    try:
        enqueue(QUEUE, JOB, sorted(ids))
    except Exception:  # noqa: BLE001 - the periodic sweep delivers them; the commit stands
        log.warning("could not enqueue the push of responses %s; the sweep will", sorted(ids))


def _after_commit(session: Session) -> None:
    ids = session.info.pop(_KEY, None)
    if not ids or not has_app_context() or not _configured():
        return
    if not current_app.config["EMBEDDED_QUEUE"]:
        enqueue_push(list(ids))
    elif has_request_context():
        g.setdefault("stats_push_ids", set()).update(ids)


def _after_request(response):
    ids = g.pop("stats_push_ids", None)
    if ids:
        try:
            enqueue_push(list(ids))
        except Exception:  # noqa: BLE001 - the respondent's page must not fail on STAR's side
            db.session.rollback()
            log.exception("pushing responses %s failed; the sweep will retry", sorted(ids))
    return response


def init_app(app) -> None:
    global _listening
    if not _listening:
        # db.session is shared by every app; the listeners read the current app's settings.
        event.listen(db.session, "after_flush", _completed_in_flush)
        event.listen(db.session, "after_rollback", _forget)
        event.listen(db.session, "after_commit", _after_commit)
        _listening = True
    app.after_request(_after_request)
