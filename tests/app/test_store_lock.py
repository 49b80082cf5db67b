"""A page save reads its response under a row lock (questionnaire.store.locked): two saves of one
response take turns, so neither misses the other's answers, while rows that only refer to the
response are written without waiting."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from survey_app.core.db import db, utcnow
from survey_app.questionnaire import store
from survey_app.sampling.models import Case

pytestmark = pytest.mark.postgres_only


def test_saves_of_one_response_take_turns(demo, app, database_url):
    rid = db.session.scalars(db.select(Case.response_id).order_by(Case.id)).first()
    first = store.locked(rid)
    assert first is not None and first.id == rid
    waited: dict[str, float] = {}

    def second_save() -> None:
        with app.app_context():
            started = time.perf_counter()
            assert store.locked(rid) is not None
            waited["seconds"] = time.perf_counter() - started
            db.session.rollback()

    thread = threading.Thread(target=second_save)
    thread.start()
    time.sleep(0.6)
    assert thread.is_alive(), "the second save read the response while the first held it"

    # A row that only refers to the response goes in meanwhile (FOR NO KEY UPDATE).
    other = create_engine(database_url)
    with other.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '2s'"))
        conn.execute(
            text(
                "INSERT INTO page_visits (response_id, page_id, mode, language, device, shown_at)"
                " VALUES (:rid, 'role', 'web', 'da', 'desktop', :now)"
            ),
            {"rid": rid, "now": utcnow()},
        )
    other.dispose()

    db.session.commit()
    thread.join(10)
    assert not thread.is_alive()
    assert waited["seconds"] >= 0.5
