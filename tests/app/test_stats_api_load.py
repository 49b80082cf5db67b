"""What keeps concurrent API calls of one organisation from queueing behind each other."""

from __future__ import annotations

from datetime import timedelta

from survey_app.core.db import db, utcnow
from survey_app.stats.api.access import LAST_USED_PRECISION
from survey_app.stats.api_models import ApiCall, ApiClient

from .test_stats_api import auth, published  # noqa: F401 - the fixture


def last_used(app):
    with app.app_context():
        return db.session.scalars(db.select(ApiClient.last_used_at)).one()


def test_last_use_is_written_at_most_once_a_minute(app, client, published):  # noqa: F811
    h = auth(published["key"])
    assert client.get("/api/v1/tables", headers=h).status_code == 200
    first = last_used(app)
    assert first is not None
    assert client.get("/api/v1/tables", headers=h).status_code == 200
    assert last_used(app) == first  # the row was not written again
    with app.app_context():
        earlier = utcnow() - timedelta(seconds=LAST_USED_PRECISION + 5)
        db.session.execute(db.update(ApiClient).values(last_used_at=earlier))
        db.session.commit()
    assert client.get("/api/v1/tables", headers=h).status_code == 200
    assert last_used(app) > earlier  # a minute later it is refreshed
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ApiCall.id))) == 3  # every call logged


def test_data_rows_have_every_column(client, published):  # noqa: F811
    rows = client.get(
        "/api/v1/data/recruitment_by_occupation", headers=auth(published["key"])
    ).get_json()["rows"]
    assert rows and set(rows[0]) == {
        "dimension", "value", "measure", "estimate", "ci_low", "ci_high", "n", "suppressed",
        "suppression",
    }  # fmt: skip
    assert {r["dimension"] for r in rows} == {"occupation", "total"}
