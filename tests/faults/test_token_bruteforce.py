"""Guessing access credentials: every failure looks the same, and so does the rate limit.

For each door (``/s/<token>``, ``/code``, ``/embed/s/<token>``, ``/embed/launch``, the embedded
handle) many wrong values are compared with the credentials that once worked: a link whose token
was replaced, an expired and a used (replayed) launch JWT, an expired embedded handle. Status,
body and every header must be identical apart from the per-request values (``Date``,
``X-Request-ID``, the CSP nonce). With the limits on, the 429 answer is the same whether the
credential tried is wrong, expired, used or valid.

A link to a *completed* response is not a spent credential here: it still opens the
respondent's own thank-you page (by design; the token is the respondent's, 192 random bits).
"""

from __future__ import annotations

import re
import secrets
import time
import uuid

import jwt
import pytest

from survey_app.core import tokens
from survey_app.core.db import db
from survey_app.core.limits import limiter
from survey_app.partners import services as partners
from survey_app.questionnaire.embed import make_handle
from survey_app.questionnaire.models import Response
from survey_app.questionnaire.services import link_token

from ..app.helpers import csrf_token
from ..app.messaging_fixtures import cases_of, make_round

pytestmark = pytest.mark.filterwarnings("ignore")

GUESSES = 25
VARYING = {"date", "x-request-id"}
_NONCE = re.compile(r"nonce(=\"|-)[A-Za-z0-9_\-]+")
_COOKIE = re.compile(r"^(\w+)=[^;]*")


def shape(r) -> tuple:
    """A response as an attacker sees it, minus the values that change on every request."""
    headers = []
    for name, value in r.headers:
        if name.lower() in VARYING:
            assert value, name
            continue
        value = _NONCE.sub(r"nonce\1N", value)
        if name.lower() == "set-cookie":
            value = _COOKIE.sub(r"\1=C", value)
        if name.lower() == "retry-after":
            assert 1 <= int(value) <= 60
            value = "W"
        headers.append((name.lower(), value))
    return r.status_code, _NONCE.sub(r"nonce\1N", r.get_data(as_text=True)), tuple(sorted(headers))


def ip(n: int) -> dict:
    return {"REMOTE_ADDR": f"10.9.{n // 250}.{n % 250 + 1}"}


def launch_jwt(key, posting: str, now: int | None = None, **claims) -> str:
    now = int(time.time()) if now is None else now
    body = {"iss": key.organisation.code, "posting": posting, "iat": now, "exp": now + 300}
    body.update({"jti": uuid.uuid4().hex, **claims})
    return jwt.encode(body, claims.pop("secret", key.secret), "HS256", headers={"kid": key.kid})


@pytest.fixture
def world(app, ctx):
    rnd = make_round(n=2)
    cases = cases_of(rnd)
    partner_case = next(c for c in cases if c.brand.code != "star")
    key = partners.create_launch_key(partners.get_organisation("jobportalen"))
    # a link that once worked: its token was replaced (e.g. re-issued after a leak)
    replaced = cases[1].response
    old_token = link_token(replaced)
    replaced.token_hash = tokens.hash_token(tokens.new_token())
    db.session.commit()
    posting = partner_case.posting.source_posting_id
    used = launch_jwt(key, posting)
    now = int(time.time())
    world = {
        "valid": link_token(cases[0].response),
        "replaced": old_token,
        "code": cases[0].response.short_code,
        "expired_jwt": launch_jwt(key, posting, now=now - 900),
        "used_jwt": used,
        "fresh_jwt": lambda: launch_jwt(key, posting),
        "forged_jwt": launch_jwt(key, posting, secret=secrets.token_urlsafe(32)),
        "response_id": partner_case.response_id,
    }
    assert app.test_client().get(f"/embed/launch?jwt={used}").status_code == 302  # now used
    saved = {k: app.config.get(k) for k in ("RATELIMIT_ENABLED", "RATELIMIT_CREDENTIAL_PER_IP")}
    limiter.reset()
    yield world
    app.config.update(saved)
    app.config.pop("EMBED_HANDLE_MAX_AGE", None)
    limiter.reset()


def test_wrong_tokens_codes_jwts_and_handles_look_like_spent_ones(app, world):
    client = app.test_client()
    wrong = [tokens.new_token() for _ in range(GUESSES)]
    malformed = ["x", "a" * 300, "æøå", "-_-_", world["valid"][:-2], world["valid"] + "A"]
    link_doors = {}
    for door in ("/s/", "/embed/s/"):
        by_value = {t: shape(client.get(door + t)) for t in wrong + malformed + [world["replaced"]]}
        shapes = set(by_value.values())
        assert len(shapes) == 1, {t: s[:2] for t, s in by_value.items() if s != by_value[wrong[0]]}
        (link_doors[door],) = shapes
        assert link_doors[door][0] == 404

    launches = [world["expired_jwt"], world["used_jwt"], world["forged_jwt"], "not.a.jwt", ""]
    launches += [jwt.encode({"x": n}, "k", "HS256") for n in range(GUESSES)]
    shapes = {shape(client.get(f"/embed/launch?jwt={t}")) for t in launches}
    assert len(shapes) == 1
    assert shapes == {link_doors["/embed/s/"]}

    good = make_handle(world["response_id"])
    app.config["EMBED_HANDLE_MAX_AGE"] = 1
    time.sleep(2.1)  # the handle expires
    handles = [good, good[:-3] + "abc", "x", secrets.token_urlsafe(60)]
    app.config["SECRET_KEY"], key = "another-deployment-key", app.config["SECRET_KEY"]
    try:
        handles.append(make_handle(world["response_id"]))  # signed elsewhere
    finally:
        app.config["SECRET_KEY"] = key
    shapes = {shape(client.get(f"/embed/h/{h}/survey")) for h in handles}
    assert len(shapes) == 1 and next(iter(shapes))[0] == 404
    del app.config["EMBED_HANDLE_MAX_AGE"]
    assert client.get(f"/embed/h/{good}/survey").status_code == 200  # not expired: it opens

    codes = [secrets.token_hex(5).upper() for _ in range(GUESSES)] + ["", "-", "Ø" * 20]
    shapes = set()
    for c in codes:
        visitor = app.test_client()  # each guess from the same state: the front page seen
        html = visitor.get("/").get_data(as_text=True)
        shapes.add(shape(visitor.post("/code", data={"code": c, "csrf_token": csrf_token(html)})))
    assert len(shapes) == 1
    (code_shape,) = shapes
    # the same page behind every door (only the language switch returns to the form's page)
    assert code_shape[1].replace("next=/code", "next=/") == link_doors["/s/"][1]
    assert link_doors["/s/"][1] == link_doors["/embed/s/"][1]


def test_the_rate_limit_answers_the_same_for_wrong_spent_and_valid_credentials(app, world):
    client = app.test_client()
    app.config["RATELIMIT_ENABLED"] = True
    app.config["RATELIMIT_CREDENTIAL_PER_IP"] = "5/minute"
    for _n in range(5):
        assert client.get(f"/s/{tokens.new_token()}", environ_base=ip(1)).status_code == 404

    def fresh():
        """A visitor with the same state for every try: the front page seen (a CSRF token)."""
        c = app.test_client()
        html = c.get("/", environ_base=ip(1)).get_data(as_text=True)
        return c, csrf_token(html)

    def get(path):
        return lambda: fresh()[0].get(path, environ_base=ip(1))

    def code(value):
        def attempt():
            c, token = fresh()
            return c.post("/code", data={"code": value, "csrf_token": token}, environ_base=ip(1))

        return attempt

    doors = {
        "/s/": [
            get(f"/s/{tokens.new_token()}"),
            get(f"/s/{world['replaced']}"),
            get(f"/s/{world['valid']}"),
        ],
        "/code": [code("ABCDE12345"), code(world["code"]), code("")],
        "/embed/launch": [
            get(f"/embed/launch?jwt={world['expired_jwt']}"),
            get(f"/embed/launch?jwt={world['used_jwt']}"),
            get(f"/embed/launch?jwt={world['fresh_jwt']()}"),
            get("/embed/launch?jwt=not.a.jwt"),
        ],
        "/embed/s/": [get(f"/embed/s/{tokens.new_token()}"), get(f"/embed/s/{world['valid']}")],
    }
    bodies = set()
    for door, attempts in doors.items():
        shapes = {shape(attempt()) for attempt in attempts}
        assert len(shapes) == 1, door  # wrong, spent and valid: the same 429
        (limited,) = shapes
        assert limited[0] == 429
        bodies.add(limited[1] if door != "/code" else limited[1].replace("/code", "/"))
    assert len(bodies) == 1  # one wait page behind every door
    # the limit per credential: one token from many addresses, valid or wrong, stops the same way
    limiter.reset()
    app.config["RATELIMIT_CREDENTIAL_PER_IP"] = "1000/minute"
    per_token = {}
    for label, token in (("valid", world["valid"]), ("wrong", tokens.new_token())):
        answers = [
            app.test_client().get(f"/s/{token}", environ_base=ip(100 + n)) for n in range(11)
        ]
        assert [r.status_code for r in answers[:10]] == [302 if label == "valid" else 404] * 10
        per_token[label] = shape(answers[10])
    assert per_token["valid"] == per_token["wrong"] and per_token["valid"][0] == 429
    assert db.session.get(Response, world["response_id"]) is not None
