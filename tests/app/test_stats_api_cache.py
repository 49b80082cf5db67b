"""Answers built from a published release are kept per process: what a cached answer still
checks on every call, when the cache is bypassed, and what never enters it."""

from __future__ import annotations

from datetime import datetime

import pytest

from survey_app.core.db import db
from survey_app.stats.api.cache import EXTENSION, ReleaseCache
from survey_app.stats.api.keys import create_key, revoke
from survey_app.stats.api_models import ApiCall, Release
from survey_app.stats.releases import publish

from .release_fixtures import Unit, make_round, two_strata

AREA = "/api/v1/data/recruitment_by_area"


@pytest.fixture
def published(ctx):
    make_round("CACHE1", two_strata())
    release = publish(["CACHE1"], "2026Q2")
    key, row = create_key("Cache A/S", "data@cache.example", "Cas Che")
    db.session.commit()
    return {"key": key, "prefix": row.prefix, "release": release.id}


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def cache(client) -> ReleaseCache:
    return client.application.extensions[EXTENSION]


def logged(client) -> list[tuple[str, int]]:
    with client.application.app_context():
        calls = db.session.scalars(db.select(ApiCall).order_by(ApiCall.id)).all()
        return [(c.endpoint, c.status) for c in calls]


def test_a_repeated_call_is_answered_from_the_cache_and_still_logged(client, published):
    h = auth(published["key"])
    first = client.get(f"{AREA}?measure=frr,failed", headers=h)
    assert first.status_code == 200
    misses = cache(client).misses
    # The same filter in another order and with a repeat is the same answer.
    again = client.get(f"{AREA}?measure=failed,frr,frr", headers=h)
    assert again.status_code == 200 and again.get_data() == first.get_data()
    assert cache(client).misses == misses and cache(client).hits >= 1
    assert again.get_json()["rows"] and {r["measure"] for r in again.get_json()["rows"]} == {
        "frr",
        "failed",
    }
    csv_first = client.get(f"{AREA}?format=csv", headers=h)
    csv_again = client.get(f"{AREA}?format=csv", headers=h)
    assert csv_again.mimetype == "text/csv" and csv_again.get_data() == csv_first.get_data()
    assert csv_again.headers["Content-Disposition"].endswith(f'-{published["release"]}.csv"')
    assert logged(client) == [(AREA, 200)] * 4  # every call, cached or not


def test_a_cached_answer_never_skips_the_key_check(client, published):
    h = auth(published["key"])
    assert client.get(AREA, headers=h).status_code == 200
    with client.application.app_context():
        revoke(published["prefix"])
        db.session.commit()
    r = client.get(AREA, headers=h)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "revoked_key"
    assert client.get(AREA).status_code == 401


def test_errors_are_checked_on_every_call_and_never_cached(client, published):
    h = auth(published["key"])
    for _ in range(2):
        r = client.get(f"{AREA}?area=Narnia", headers=h)
        assert r.status_code == 400 and r.get_json()["error"]["value"] == "Narnia"
        r = client.get(f"{AREA}?measure=mood", headers=h)
        assert r.status_code == 400 and r.get_json()["error"]["field"] == "measure"
    assert not [k for k in cache(client)._lru if "Narnia" in str(k) or "mood" in str(k)]


def test_a_new_release_is_served_at_once(client, published):
    h = auth(published["key"])
    old = client.get(AREA, headers=h).get_json()
    assert old["release"]["id"] == published["release"]
    with client.application.app_context():
        make_round(
            "CACHE2",
            {
                "A": (40, [Unit("success") for _ in range(6)]),
                "B": (30, [Unit("failed", rar_area="RAR Fyn") for _ in range(6)]),
            },
        )
        newer = publish(["CACHE2"], "2026Q2").id
        db.session.commit()
    new = client.get(AREA, headers=h).get_json()
    assert new["release"]["id"] == newer != published["release"]
    assert new["rows"] != old["rows"]
    # The earlier release stays readable, and its cached answer is still the right one.
    pinned = client.get(f"{AREA}?release={published['release']}", headers=h).get_json()
    assert pinned["rows"] == old["rows"]
    values = client.get("/api/v1/tables/recruitment_by_area", headers=h).get_json()
    assert values["latest_release"]["id"] == newer


def test_a_release_id_met_again_with_another_creation_time_is_not_confused(app):
    small = ReleaseCache(1024 * 1024)
    one = Release(id=1, created_at=datetime(2026, 1, 1, 12))
    other = Release(id=1, created_at=datetime(2026, 4, 1, 12))
    with app.app_context():
        assert small.get(one, "k", lambda: b"first") == b"first"
        assert small.get(one, "k", lambda: b"not computed") == b"first"
        assert small.get(other, "k", lambda: b"second") == b"second"


def test_the_cache_is_bounded_by_bytes_and_can_be_turned_off(app):
    release = Release(id=7, created_at=datetime(2026, 1, 1))
    small = ReleaseCache(10_000)
    for i in range(50):
        small.get(release, i, lambda: b"x" * 1_000)
    assert sum(len(v) for v in small._lru.values()) <= 10_000
    assert small.get(release, 49, lambda: b"recomputed") == b"x" * 1_000  # the latest stays
    assert small.get(release, 0, lambda: b"recomputed") == b"recomputed"  # the oldest went
    off = ReleaseCache(0)
    calls = []
    assert off.get(release, "k", lambda: calls.append(1) or b"v") == b"v"
    assert off.get(release, "k", lambda: calls.append(1) or b"v") == b"v"
    assert len(calls) == 2
