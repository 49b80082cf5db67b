"""The statistics API: keys, errors, filters, CSV, call log and rate limit."""

from __future__ import annotations

import csv
import io

import pytest

from survey_app.core.db import db
from survey_app.core.limits import limiter
from survey_app.stats.api.keys import create_key
from survey_app.stats.api_models import ApiCall, ApiClient, ApiKey
from survey_app.stats.releases import publish

from .release_fixtures import make_round, two_strata


@pytest.fixture
def published(ctx):
    make_round("API1", two_strata())
    first = publish(["API1"], "2026Q2")
    key, _row = create_key("Analyse A/S", "data@analyse.example", "Ana Lyse")
    db.session.commit()
    return {"key": key, "release": first.id}


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def test_tables_and_data(client, published):
    h = auth(published["key"])
    subjects = client.get("/api/v1/subjects", headers=h).get_json()
    assert subjects["subjects"][0]["tables"][0] == "recruitment_total"
    tables = client.get("/api/v1/tables", headers=h).get_json()["tables"]
    assert {t["id"] for t in tables} >= {"recruitment_by_area", "recruitment_by_occupation"}
    detail = client.get("/api/v1/tables/recruitment_by_area", headers=h).get_json()
    assert detail["dimensions"][0]["param"] == "area"
    assert detail["dimensions"][0]["values"] == ["RAR Fyn", "RAR Hovedstaden"]
    assert detail["periods"][0]["period"] == "2026Q2"
    assert [m["id"] for m in detail["measures"]][0] == "frr"

    r = client.get("/api/v1/data/recruitment_by_area?area=RAR Fyn&measure=frr", headers=h)
    assert r.status_code == 200
    body = r.get_json()
    assert body["release"]["period"] == "2026Q2"
    values = {(row["dimension"], row["value"]) for row in body["rows"]}
    assert values == {("rar_area", "RAR Fyn")}
    assert body["rows"][0]["estimate"] == pytest.approx(5 / 6)

    r = client.get("/api/v1/data/recruitment_by_area?format=csv&measure=frr,failed", headers=h)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert {row["measure"] for row in rows} == {"frr", "failed"}
    fyn = next(x for x in rows if x["value"] == "RAR Fyn" and x["measure"] == "frr")
    assert float(fyn["estimate"]) == pytest.approx(5 / 6) and fyn["suppressed"] == "False"
    assert rows[0]["release"] == str(published["release"])


def test_clear_errors(client, published):
    h = auth(published["key"])
    cases = [
        ("/api/v1/tables/nope", 404, "unknown_table", "table", "nope"),
        ("/api/v1/data/nope", 404, "unknown_table", "table", "nope"),
        (
            "/api/v1/data/recruitment_by_area?period=2019Q1",
            400,
            "unknown_period",
            "period",
            "2019Q1",
        ),
        ("/api/v1/data/recruitment_by_area?area=Narnia", 400, "unknown_value", "area", "Narnia"),
        (
            "/api/v1/data/recruitment_by_area?occupation=2512",
            400,
            "unknown_parameter",
            "occupation",
            "2512",
        ),
        ("/api/v1/data/recruitment_by_area?measure=mood", 400, "unknown_value", "measure", "mood"),
        ("/api/v1/data/recruitment_by_area?format=xml", 400, "unknown_format", "format", "xml"),
        ("/api/v1/data/recruitment_by_area?release=999", 404, "unknown_release", "release", "999"),
        ("/api/v1/data/recruitment_by_area?release=%C2%B9", 400, "invalid_release", "release", "¹"),
        ("/api/v1/data/recruitment_by_area?period=%00", 400, "invalid_period", "period", "\x00"),
        ("/api/v1/data/recruitment_by_area?period=Q2", 400, "invalid_period", "period", "Q2"),
    ]
    for url, status, code, field, value in cases:
        r = client.get(url, headers=h)
        assert r.status_code == status, url
        error = r.get_json()["error"]
        assert (error["code"], error["field"], error["value"]) == (code, field, value), url
        message = error["message"]
        assert value in message or repr(value) in message or repr(field) in message, url


def test_keys_missing_revoked_or_in_the_query(client, runner, published):
    r = client.get("/api/v1/tables")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "missing_key"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = client.get("/api/v1/tables", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "bad_authorization"
    r = client.get("/api/v1/tables", headers=auth("rsk_wrong"))
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_key"
    r = client.get(f"/api/v1/tables?api_key={published['key']}")
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "key_in_query"
    assert "Authorization: Bearer" in r.get_json()["error"]["message"]
    # The key never reaches the call log.
    with client.application.app_context():
        logged = db.session.scalars(db.select(ApiCall)).all()
        assert published["key"] not in repr([c.params for c in logged])

    prefix = published["key"][:12]
    result = runner.invoke(args=["api-keys", "revoke", prefix])
    assert result.exit_code == 0 and "revoked" in result.output
    r = client.get("/api/v1/tables", headers=auth(published["key"]))
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "revoked_key"


def test_cli_create_list(runner, app):
    result = runner.invoke(
        args=["api-keys", "create", "--org", "Jobportalen", "--contact", "api@jp.example"]
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("rsk_") and len(key) > 40
    with app.app_context():
        row = db.session.scalars(db.select(ApiKey)).one()
        assert row.key_hash != key and key not in row.key_hash and row.prefix == key[:12]
    other = runner.invoke(
        args=["api-keys", "create", "--org", "Jobportalen", "--contact", "x@jp.example"]
    )
    assert other.exit_code != 0 and "one contact per organisation" in other.output
    bad = runner.invoke(args=["api-keys", "create", "--org", "X", "--contact", "nope"])
    assert bad.exit_code != 0 and "e-mail" in bad.output
    listing = runner.invoke(args=["api-keys", "list"])
    assert "Jobportalen" in listing.output and "active" in listing.output
    assert key not in listing.output


def test_calls_are_logged(client, published):
    h = auth(published["key"])
    client.get("/api/v1/data/recruitment_by_area?area=RAR Fyn", headers=h)
    client.get("/api/v1/tables/nope", headers=h, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    with client.application.app_context():
        calls = db.session.scalars(db.select(ApiCall).order_by(ApiCall.id)).all()
        assert [(c.endpoint, c.status) for c in calls] == [
            ("/api/v1/data/recruitment_by_area", 200),
            ("/api/v1/tables/nope", 404),
        ]
        assert calls[0].params == {"area": "RAR Fyn"}
        assert calls[1].ip == "10.1.2.3"
        assert calls[0].client_id is not None and calls[0].duration_ms > 0
        client_row = db.session.get(ApiClient, calls[0].client_id)
        assert client_row.organisation == "Analyse A/S" and client_row.last_used_at is not None


def test_rate_limit_per_key(client, app, published):
    saved = (app.config["RATELIMIT_ENABLED"], app.config["RATELIMIT_API_PER_KEY"])
    limiter.reset()
    app.config.update(RATELIMIT_ENABLED=True, RATELIMIT_API_PER_KEY="3/minute")
    try:
        h = auth(published["key"])
        statuses = [client.get("/api/v1/tables", headers=h).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        r = client.get("/api/v1/tables", headers=h)
        assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        with app.app_context():
            other, _row = create_key("Other org", "o@other.example")
            db.session.commit()
        assert client.get("/api/v1/tables", headers=auth(other)).status_code == 200
        with app.app_context():
            assert db.session.scalars(db.select(ApiCall).filter_by(status=429)).all()
    finally:
        app.config.update(RATELIMIT_ENABLED=saved[0], RATELIMIT_API_PER_KEY=saved[1])
        limiter.reset()


def test_older_release_by_id_and_period(client, published):
    with client.application.app_context():
        make_round("API2", two_strata())
        second = publish(["API2"], "2026Q2")
        db.session.commit()
        second_id = second.id
    h = auth(published["key"])
    latest = client.get("/api/v1/data/recruitment_total", headers=h).get_json()
    assert latest["release"]["id"] == second_id
    old = client.get(
        f"/api/v1/data/recruitment_total?release={published['release']}", headers=h
    ).get_json()
    assert old["release"]["id"] == published["release"]
    detail = client.get("/api/v1/tables/recruitment_total", headers=h).get_json()
    assert detail["periods"] == [
        {
            "period": "2026Q2",
            "latest_release": second_id,
            "releases": [second_id, published["release"]],
        }
    ]
