"""The embedded survey through the test client: frame-ancestors, a flow with no cookies at all,
handles, and the partner's signed launch."""

from __future__ import annotations

import re
import time
import uuid

import jwt
import pytest

from survey_app.core.db import db
from survey_app.partners import services as partners
from survey_app.questionnaire.embed import make_handle
from survey_app.questionnaire.models import Answer, Response
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case, Posting

from .helpers import OTHER_PROFILE_PATH

ORIGIN = "https://www.jobportalen.example"


def partner_case(code: str = "jobportalen") -> Case:
    return db.session.scalars(
        db.select(Case)
        .join(Posting, Posting.id == Case.posting_id)
        .where(Case.brand.has(code=code), Posting.source.has(code=code))
        .order_by(Case.id)
    ).first()


@pytest.fixture
def case(demo):
    return partner_case()


@pytest.fixture
def nocookie(app):
    return app.test_client(use_cookies=False)


def main(r) -> str:
    """The page's content (the language switch in the header links back to the page itself)."""
    return re.search(r"<main.*</main>", r.get_data(as_text=True), re.S).group(0)


def handle_of(location: str) -> str:
    match = re.search(r"/embed/h/([^/]+)/", location)
    assert match, location
    return match.group(1)


def walk(client, handle: str, path=OTHER_PROFILE_PATH, submit: bool = True):
    """Answer the embedded survey with nothing but the handle; no response may set a cookie."""
    seen = []

    def go(method, url, data=None):
        r = client.open(url, method=method, data=data)
        assert "Set-Cookie" not in r.headers, url
        seen.append(r)
        return r

    base = f"/embed/h/{handle}"
    html = go("GET", f"{base}/survey").get_data(as_text=True)
    assert f'name="handle" value="{handle}"' in html and "csrf_token" not in html
    assert go("POST", f"{base}/start", {"handle": handle}).status_code == 302
    for page_id, data in path:
        html = go("GET", f"{base}/p/{page_id}").get_data(as_text=True)
        assert 'name="handle"' in html
        r = go("POST", f"{base}/p/{page_id}", {**data, "handle": handle})
        assert r.status_code == 302, (page_id, r.get_data(as_text=True)[:1000])
        assert "/embed/h/" in r.location
    if submit:
        assert go("GET", f"{base}/review").status_code == 200
        r = go("POST", f"{base}/submit", {"handle": handle})
        assert r.status_code == 302 and r.location.endswith(f"{base}/done")
        done = go("GET", f"{base}/done")
        assert done.status_code == 200
        assert 'data-complete="1"' in done.get_data(as_text=True)
    return seen


def test_embed_pages_allow_the_brand_origins_and_others_none(app, case, nocookie):
    token = link_token(case.response)
    r = nocookie.get(f"/embed/s/{token}")
    assert r.status_code == 302 and token not in r.location
    page = nocookie.get(r.location)
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert f"frame-ancestors {ORIGIN};" in csp
    assert "script-src 'self'" in csp
    html = page.get_data(as_text=True)
    assert "<script>" not in html and 'src="/embed/static/embed-frame.js"' in html
    # Another brand's embed page names that brand's origins.
    other = partner_case("karrierenet")
    r = nocookie.get(f"/embed/s/{link_token(other.response)}")
    assert (
        "frame-ancestors https://karrierenet.example;"
        in nocookie.get(r.location).headers["Content-Security-Policy"]
    )
    # Every other page keeps 'none', the normal survey included.
    client = app.test_client()
    for url in ("/", f"/s/{token}", "/survey", f"/privacy/{case.brand.code}"):
        assert "frame-ancestors 'none'" in client.get(url).headers["Content-Security-Policy"]
    assert (
        "frame-ancestors 'none'"
        in nocookie.get("/embed/h/bogus/survey").headers["Content-Security-Policy"]
    )


def test_cookie_free_flow_completes_with_mode_embed(app, case, nocookie):
    r = nocookie.get(f"/embed/s/{link_token(case.response)}", headers={"Origin": ORIGIN})
    handle = handle_of(r.location)
    walk(nocookie, handle)
    response = db.session.get(Response, case.response_id, populate_existing=True)
    assert response.status == "completed" and response.classification == "other_profile"
    assert response.mode == "embed"
    modes = set(db.session.scalars(db.select(Answer.mode).filter_by(response_id=response.id)))
    assert modes == {"embed"}
    # A completed response is closed through the embed as well.
    r = nocookie.get(f"/embed/h/{handle}/p/role")
    assert r.status_code == 302 and r.location.endswith("/done")


def test_handle_holds_no_token_and_binds_the_form(app, case, nocookie):
    token = link_token(case.response)
    handle = handle_of(nocookie.get(f"/embed/s/{token}").location)
    assert token not in handle
    base = f"/embed/h/{handle}"
    # No handle in the form (a forged cross-site post cannot know it): refused, nothing saved.
    assert nocookie.post(f"{base}/start", data={}).status_code == 404
    other = make_handle(case.response_id)
    assert nocookie.post(f"{base}/start", data={"handle": other}).status_code == 404
    db.session.refresh(case.response)
    assert case.response.notice_shown_at is None


def test_tampered_and_expired_handles_are_refused(app, case, nocookie):
    handle = handle_of(nocookie.get(f"/embed/s/{link_token(case.response)}").location)
    invalid = nocookie.get("/embed/s/not-a-token")
    assert invalid.status_code == 404
    tampered = handle[:-2] + ("AA" if not handle.endswith("AA") else "BB")
    r = nocookie.get(f"/embed/h/{tampered}/survey")
    assert r.status_code == 404 and main(r) == main(invalid)
    # Signed with another key: refused.
    app.config["SECRET_KEY"], key = "another-key", app.config["SECRET_KEY"]
    try:
        foreign = make_handle(case.response_id)
    finally:
        app.config["SECRET_KEY"] = key
    assert nocookie.get(f"/embed/h/{foreign}/survey").status_code == 404
    app.config["EMBED_HANDLE_MAX_AGE"] = 0
    try:
        time.sleep(1.1)
        r = nocookie.get(f"/embed/h/{handle}/survey")
        assert r.status_code == 404 and main(r) == main(invalid)
    finally:
        del app.config["EMBED_HANDLE_MAX_AGE"]
    assert nocookie.get(f"/embed/h/{handle}/survey").status_code == 200


# --- signed launch -------------------------------------------------------------------------------


@pytest.fixture
def key(case):
    k = partners.create_launch_key(partners.get_organisation("jobportalen"))
    db.session.commit()
    return k


def launch_jwt(key, posting: str, **override) -> str:
    now = int(time.time())
    claims = {
        "iss": key.organisation.code,
        "posting": posting,
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    headers = {"kid": key.kid}
    secret = override.pop("secret", key.secret)
    headers.update(override.pop("headers", {}))
    claims.update(override)
    for name in [k for k, v in claims.items() if v is None]:
        del claims[name]
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers)


def test_signed_launch_opens_the_case_and_refuses_replay(app, case, key, nocookie):
    token = launch_jwt(key, case.posting.source_posting_id)
    r = nocookie.get(f"/embed/launch?jwt={token}&origin={ORIGIN}")
    assert r.status_code == 302 and token not in r.location
    page = nocookie.get(r.location, follow_redirects=True).get_data(as_text=True)
    assert case.posting.job_title in page
    assert f'data-parent-origin="{ORIGIN}"' in page
    # The same JWT again is a replay.
    again = nocookie.get(f"/embed/launch?jwt={token}")
    assert again.status_code == 404
    assert main(again) == main(nocookie.get("/embed/s/not-a-token"))


def test_launch_with_origin_not_allowed_gets_no_parent(app, case, key, nocookie):
    token = launch_jwt(key, case.posting.source_posting_id)
    r = nocookie.get(f"/embed/launch?jwt={token}&origin=https://evil.example")
    page = nocookie.get(r.location, follow_redirects=True).get_data(as_text=True)
    assert 'data-parent-origin=""' in page


def test_every_launch_rejection_looks_like_an_invalid_link(app, case, key, nocookie):
    org = key.organisation
    posting = case.posting.source_posting_id
    invalid = main(nocookie.get("/embed/s/not-a-token"))
    # A posting of the partner that has no case, and another partner's posting with a case.
    sampled = set(db.session.scalars(db.select(Case.posting_id)))
    no_case = db.session.scalars(
        db.select(Posting).where(Posting.source_id == org.id, Posting.id.not_in(sampled))
    ).first()
    foreign = partner_case("karrierenet").posting.source_posting_id
    revoked = partners.create_launch_key(org)
    partners.revoke_launch_key(org, revoked.kid)
    other_key = partners.create_launch_key(partners.get_organisation("karrierenet"))
    db.session.commit()
    now = int(time.time())
    bad = {
        "unknown kid": launch_jwt(key, posting, headers={"kid": "nope"}),
        "revoked key": launch_jwt(revoked, posting),
        "bad signature": launch_jwt(key, posting, secret="x" * 43),
        "expired": launch_jwt(key, posting, iat=now - 900, exp=now - 300),
        "exp too far ahead": launch_jwt(key, posting, exp=now + 3600),
        "other partner's posting": launch_jwt(key, foreign),
        "other partner's key for our posting": launch_jwt(other_key, posting),
        "wrong issuer": launch_jwt(key, posting, iss="karrierenet"),
        "no case": launch_jwt(key, no_case.source_posting_id),
        "unknown posting": launch_jwt(key, "no-such-posting"),
        "no jti": launch_jwt(key, posting, jti=None),
        "no exp": launch_jwt(key, posting, exp=None),
        "alg none": jwt.encode(
            {"iss": org.code, "posting": posting, "iat": now, "exp": now + 60, "jti": "a"},
            None,
            algorithm="none",
            headers={"kid": key.kid},
        ),
        "garbage": "not.a.jwt",
        "missing": "",
    }
    for reason, token in bad.items():
        r = nocookie.get(f"/embed/launch?jwt={token}")
        assert r.status_code == 404, reason
        assert main(r) == invalid, reason
    # After all those, a good one still works.
    assert nocookie.get(f"/embed/launch?jwt={launch_jwt(key, posting)}").status_code == 302


def test_rotation_revokes_old_keys(app, case, key):
    org = key.organisation
    new = partners.rotate_launch_key(org)
    db.session.commit()
    assert [k.kid for k in partners.active_launch_keys(org)] == [new.kid]
    assert partners.launch_key_by_kid(key.kid) is None
    with pytest.raises(partners.PartnerError):
        partners.create_launch_key(partners.get_organisation("star"))


def test_loader_script_is_served(app, nocookie):
    r = nocookie.get("/embed/static/embed.js")
    assert r.status_code == 200 and "javascript" in r.mimetype
    assert b"star-survey:height" in r.data


def test_language_choice_sticks_inside_the_frame_without_cookies(nocookie, case):
    r = nocookie.get(f"/embed/s/{link_token(case.response)}")
    handle = handle_of(r.location)
    html = nocookie.get(f"/embed/h/{handle}/survey").get_data(as_text=True)
    assert "Start undersøgelsen" in html
    switch = re.search(r'href="(/embed/h/[^"]+/lang/en)"', html)
    assert switch, "the language switch stays inside the embedded flow"
    r = nocookie.get(switch.group(1))
    assert r.status_code == 302 and "Set-Cookie" not in r.headers
    english = handle_of(r.location)
    assert english != handle
    html = nocookie.get(f"/embed/h/{english}/survey").get_data(as_text=True)
    assert 'lang="en"' in html and "Start the survey" in html
    r = nocookie.post(f"/embed/h/{english}/start", data={"handle": english})
    page = nocookie.get(r.location, follow_redirects=True).get_data(as_text=True)
    assert 'lang="en"' in page and "Save and continue" in page
    # A tampered language cannot be forced into someone else's handle.
    assert nocookie.get(f"/embed/h/{english[:-2]}xx/lang/da").status_code == 404
