"""Rate limits per IP and per credential on the doors, per IP and per response on page saves."""

from __future__ import annotations

import hashlib
import re

import pytest
from playwright.sync_api import expect

from survey_app.core.db import db
from survey_app.core.limits import limiter
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case

from .helpers import csrf_token

pytestmark = pytest.mark.filterwarnings("ignore")

LIMIT_SETTINGS = (
    "RATELIMIT_ENABLED",
    "RATELIMIT_CREDENTIAL_PER_IP",
    "RATELIMIT_CREDENTIAL_PER_TOKEN",
    "RATELIMIT_PAGE_SAVE_PER_IP",
    "RATELIMIT_PAGE_SAVE_PER_RESPONSE",
)


@pytest.fixture
def limits(app):
    """Limits switched on (they are off under TESTING); settings restored and counters cleared."""
    saved = {name: app.config[name] for name in LIMIT_SETTINGS}
    limiter.reset()
    app.config["RATELIMIT_ENABLED"] = True
    yield app.config
    app.config.update(saved)
    limiter.reset()


@pytest.fixture
def cases(demo):
    return db.session.scalars(db.select(Case).order_by(Case.id).limit(3)).all()


def ip(n: int) -> dict:
    return {"REMOTE_ADDR": f"10.0.{n // 250}.{n % 250 + 1}"}


def post_code(client, code: str, n: int = 0, html: str | None = None):
    html = html or client.get("/", environ_base=ip(n)).get_data(as_text=True)
    return client.post(
        "/code", data={"code": code, "csrf_token": csrf_token(html)}, environ_base=ip(n)
    )


def assert_wait_page(r, lang: str) -> int:
    assert r.status_code == 429
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= 60
    html = r.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert "<h1>" in html
    return wait


def test_code_entry_is_limited_per_ip_with_a_wait_page(client, limits, cases):
    limits["RATELIMIT_CREDENTIAL_PER_IP"] = "3/minute"
    html = client.get("/", environ_base=ip(1)).get_data(as_text=True)
    for attempt in range(3):
        assert post_code(client, f"WRONG{attempt}", 1, html).status_code == 404
    r = post_code(client, "WRONG9", 1, html)
    assert_wait_page(r, "da")
    # Even the right code waits now from this address; another address is not affected.
    assert post_code(client, cases[0].response.short_code, 1, html).status_code == 429
    assert post_code(client, cases[0].response.short_code, 2).status_code == 302

    # The wait page speaks the respondent's language.
    client.get("/lang/en", environ_base=ip(1))
    r = post_code(client, "WRONG9", 1, html)
    assert_wait_page(r, "en")
    assert "Too many attempts" in r.get_data(as_text=True)


def test_one_token_from_many_addresses_trips_the_token_limit(client, limits, cases):
    limits["RATELIMIT_CREDENTIAL_PER_TOKEN"] = "4/minute"
    token, other = link_token(cases[0].response), link_token(cases[1].response)
    statuses = [client.get(f"/s/{token}", environ_base=ip(n)).status_code for n in range(4)]
    assert statuses == [302] * 4
    # The fifth address is new, but the token has had its share; the embedded door shares it.
    assert_wait_page(client.get(f"/s/{token}", environ_base=ip(5)), "da")
    assert client.get(f"/embed/s/{token}", environ_base=ip(6)).status_code == 429
    # Another token from the same addresses is not affected.
    assert client.get(f"/s/{other}", environ_base=ip(5)).status_code == 302
    # The same for a signed launch: one JWT replayed from many addresses.
    bogus_jwt = "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"
    codes = [
        client.get(f"/embed/launch?jwt={bogus_jwt}", environ_base=ip(20 + n)).status_code
        for n in range(5)
    ]
    assert codes == [404, 404, 404, 404, 429]


def test_short_code_from_many_addresses_trips_the_code_limit(client, limits, cases):
    limits["RATELIMIT_CREDENTIAL_PER_TOKEN"] = "2/minute"
    code = cases[0].response.short_code
    assert post_code(client, code, 1).status_code == 302
    # Typed differently, it is still the same code.
    assert post_code(client, code.lower(), 2).status_code == 302
    assert post_code(client, f"{code[:5]}-{code[5:]}", 3).status_code == 429


def test_unusable_tokens_get_the_same_response_with_limits_on(app, client, limits, cases):
    token = link_token(cases[0].response)
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    app.config["RATELIMIT_ENABLED"] = False
    before = [client.get(u, environ_base=ip(1)) for u in (f"/s/{wrong}", "/s/x", "/embed/s/x")]
    app.config["RATELIMIT_ENABLED"] = True
    after = [client.get(u, environ_base=ip(2)) for u in (f"/s/{wrong}", "/s/x", "/embed/s/x")]
    for old, new in zip(before, after, strict=True):
        assert new.status_code == old.status_code == 404
        assert new.data == old.data
        assert sorted(k for k, _ in new.headers if k != "Date") == sorted(
            k for k, _ in old.headers if k != "Date"
        )
    assert before[0].data == before[1].data == before[2].data


def start(client, token: str, n: int) -> None:
    client.get(f"/s/{token}", environ_base=ip(n))
    html = client.get("/survey", environ_base=ip(n)).get_data(as_text=True)
    r = client.post("/survey/start", data={"csrf_token": csrf_token(html)}, environ_base=ip(n))
    assert r.status_code == 302


def save_role(client, n: int):
    html = client.get("/survey/p/role", environ_base=ip(n)).get_data(as_text=True)
    return client.post(
        "/survey/p/role",
        data={"respondent_role": "yes", "csrf_token": csrf_token(html)},
        environ_base=ip(n),
    )


def test_page_saves_are_limited_per_response_across_addresses(app, limits, cases):
    limits["RATELIMIT_PAGE_SAVE_PER_RESPONSE"] = "3/minute"
    first, second = app.test_client(), app.test_client()
    start(first, link_token(cases[0].response), 1)
    start(second, link_token(cases[1].response), 1)
    assert [save_role(first, n).status_code for n in range(3)] == [302] * 3
    r = save_role(first, 7)
    assert_wait_page(r, "da")
    # Showing the page is not a save and still works; another response from the same address
    # saves as usual.
    assert first.get("/survey/p/role", environ_base=ip(7)).status_code == 200
    assert save_role(second, 1).status_code == 302


def test_page_saves_per_ip_are_generous_by_default_and_limited(app, limits, cases):
    # The default lets a call centre behind one address save far more than one respondent may.
    per_ip = int(app.config["RATELIMIT_PAGE_SAVE_PER_IP"].split("/")[0])
    per_response = int(app.config["RATELIMIT_PAGE_SAVE_PER_RESPONSE"].split("/")[0])
    assert per_ip >= 10 * per_response
    limits["RATELIMIT_PAGE_SAVE_PER_IP"] = "2/minute"
    clients = [app.test_client() for _ in cases]
    for client, case in zip(clients, cases, strict=True):
        start(client, link_token(case.response), 9)
    assert save_role(clients[0], 9).status_code == 302
    assert save_role(clients[1], 9).status_code == 302
    assert save_role(clients[2], 9).status_code == 429
    assert save_role(clients[2], 10).status_code == 302


def test_every_window_of_a_page_save_setting_counts(app, limits, cases):
    # The default per response is "60/minute;600/hour": both windows must be kept.
    assert ";" in app.config["RATELIMIT_PAGE_SAVE_PER_RESPONSE"]
    limits["RATELIMIT_PAGE_SAVE_PER_RESPONSE"] = "5/minute;2/hour"
    client = app.test_client()
    start(client, link_token(cases[0].response), 1)
    assert [save_role(client, 1).status_code for _ in range(2)] == [302, 302]
    r = save_role(client, 1)
    assert r.status_code == 429
    assert 3000 < int(r.headers["Retry-After"]) <= 3600  # the hour's window ran out


def test_page_saves_go_on_when_the_counters_cannot_be_reached(app, limits, cases, monkeypatch):
    from survey_app.core import limits as core_limits

    def broken(_limits):
        raise ConnectionError("rate-limit storage down")

    monkeypatch.setattr(core_limits, "_hit_all", broken)
    limits["RATELIMIT_PAGE_SAVE_PER_RESPONSE"] = "1/minute"
    client = app.test_client()
    start(client, link_token(cases[0].response), 1)
    assert [save_role(client, 1).status_code for _ in range(3)] == [302] * 3
    monkeypatch.setitem(app.config, "RATELIMIT_SWALLOW_ERRORS", False)
    with pytest.raises(ConnectionError):
        save_role(client, 1)


@pytest.mark.postgres_only
def test_page_save_counts_survive_a_flushed_script_cache_and_a_dropped_connection(
    app, limits, cases
):
    """The counting script goes by its SHA1 on a connection of the thread's own: after a
    Redis restart (no script known, SCRIPT FLUSH here) it is sent whole; a connection the
    server dropped fails one save's counting (the save goes on) and the next count reconnects."""
    from survey_app.core import limits as core_limits
    from survey_app.core.queue import redis_connection

    limits["RATELIMIT_PAGE_SAVE_PER_RESPONSE"] = "4/minute"
    client = app.test_client()
    start(client, link_token(cases[0].response), 1)
    redis = redis_connection()
    assert save_role(client, 1).status_code == 302
    redis.script_flush()
    assert save_role(client, 1).status_code == 302  # counted by EVAL, which loads the script
    assert redis.script_exists(core_limits._INCR_ALL_SHA) == [True]
    counter = core_limits._counters[limiter.storage]
    host, port = counter._local.conn._sock.getsockname()[:2]
    assert redis.client_kill_filter(addr=f"{host}:{port}") == 1  # the server drops it
    assert save_role(client, 1).status_code == 302  # not counted: the count failed
    assert counter._local.conn is None
    assert save_role(client, 1).status_code == 302  # counted again, on a new connection
    assert save_role(client, 1).status_code == 302
    assert save_role(client, 1).status_code == 429  # 4 counted: 1, 2, (failed), 3, 4, then 5


def test_embedded_page_saves_are_limited_per_response(app, limits, cases):
    limits["RATELIMIT_PAGE_SAVE_PER_RESPONSE"] = "2/minute"
    client = app.test_client(use_cookies=False)
    r = client.get(f"/embed/s/{link_token(cases[0].response)}", environ_base=ip(1))
    handle = re.search(r"/embed/h/([^/]+)/", r.location).group(1)
    base = f"/embed/h/{handle}"
    client.post(f"{base}/start", data={"handle": handle}, environ_base=ip(1))
    statuses = [
        client.post(
            f"{base}/p/role", data={"respondent_role": "yes", "handle": handle}, environ_base=ip(n)
        ).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]


@pytest.mark.postgres_only
def test_redis_keys_hold_no_token(app, limits, cases):
    from survey_app.core.queue import redis_connection

    token = link_token(cases[0].response)
    code = cases[1].response.short_code
    client = app.test_client()
    client.get(f"/s/{token}", environ_base=ip(1))
    post_code(client, code, 2)
    keys = [k.decode() for k in redis_connection().keys("*")]
    counters = [k for k in keys if "credential" in k]
    assert len(counters) >= 4, keys  # per IP and per credential, for both doors
    secrets_ = (token, code, hashlib.sha256(token.encode()).hexdigest()[:16])
    assert not [k for k in keys for s in secrets_ if s in k]


@pytest.mark.browser
def test_wait_page_in_chromium(limits, live_server, page, cases):
    limits["RATELIMIT_CREDENTIAL_PER_IP"] = "2/minute"
    for _ in range(2):
        page.goto(f"{live_server}/s/not-a-token")
    response = page.goto(f"{live_server}/s/not-a-token")
    assert response.status == 429
    assert int(response.headers["retry-after"]) >= 1
    assert page.locator("html").get_attribute("lang") == "da"
    expect(page.get_by_role("heading", level=1)).to_be_visible()
