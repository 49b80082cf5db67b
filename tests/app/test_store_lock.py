"""Two saves of one response never miss each other's answers.

A save under the row lock (``questionnaire.store.locked``: the phone flow, and any save within
an ORM transaction) waits for the other, while rows that only refer to the response are written
without waiting. A web save without the lock (``store.for_save``) that loses a race to another
write of the response writes nothing, and is worked out again under the lock."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from survey_app.core.db import db, utcnow
from survey_app.questionnaire import store, store_pg
from survey_app.questionnaire.models import Answer, PageVisit
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case

from .helpers import answer_survey, csrf_token

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


def test_a_web_save_that_lost_a_race_is_saved_again_under_the_lock(
    demo, app, database_url, monkeypatch
):
    case = db.session.scalars(db.select(Case).order_by(Case.id)).first()
    rid = case.response_id
    client = app.test_client()
    answer_survey(client, link_token(case.response), path=[("role", {"respondent_role": "yes"})],
                  submit=False)  # fmt: skip
    db.session.commit()
    html = client.get("/survey/p/role").get_data(as_text=True)

    other = create_engine(database_url)
    write, outcomes = store_pg.write, []

    def racing_write(driver, invalidate, **values):
        if not outcomes:  # the other tab saves its page between this save's read and write
            with other.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO answers (response_id, question_id, value, mode, answered_at)"
                        " VALUES (:rid, 'recruitment_status', '1', 'web', :now)"
                    ),
                    {"rid": rid, "now": utcnow()},
                )
                conn.execute(text("UPDATE responses SET updated_at = :now WHERE id = :rid"),
                             {"rid": rid, "now": utcnow()})  # fmt: skip
        outcomes.append(write(driver, invalidate, **values))
        return outcomes[-1]

    monkeypatch.setattr(store_pg, "write", racing_write)
    r = client.post(
        "/survey/p/role", data={"respondent_role": "yes", "csrf_token": csrf_token(html)}
    )
    other.dispose()
    assert r.status_code == 302
    assert outcomes[0] is None and outcomes[1] is not None  # lost, then saved under the lock
    db.session.expire_all()
    answers = dict(
        db.session.execute(
            db.select(Answer.question_id, Answer.value).filter_by(response_id=rid)
        ).all()
    )
    assert answers == {"respondent_role": "yes", "recruitment_status": 1}
    visits = db.session.scalars(db.select(PageVisit.page_id).filter_by(response_id=rid)).all()
    assert visits.count("role") == 2  # the first save's, and one for this save, not two
