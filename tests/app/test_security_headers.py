"""Security headers on every kind of response, per-request CSP nonces, trusted hosts, body
limits, proxy handling and cookie flags."""

from __future__ import annotations

import re

import pytest

from survey_app import create_app
from survey_app.core.db import db
from survey_app.core.security import body_limit
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case

from ..conftest import make_config
from .helpers import csrf_token

BASELINE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def case_of(brand: str) -> Case:
    return db.session.scalars(
        db.select(Case).where(Case.brand.has(code=brand)).order_by(Case.id)
    ).first()


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
        for part in (p.strip() for p in policy.split(";"))
        if part
    }


def assert_baseline(response, framed: bool = False):
    for name, value in BASELINE.items():
        assert response.headers.get(name) == value, (response.request.path, name)
    assert "camera=()" in response.headers["Permissions-Policy"]
    policy = csp(response)
    nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{24})'", policy["script-src"]).group(1)
    assert policy["style-src"] == f"'self' 'nonce-{nonce}'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    if framed:
        assert "Cross-Origin-Opener-Policy" not in response.headers
        assert "X-Frame-Options" not in response.headers
    else:
        assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert policy["frame-ancestors"] == "'none'"
    return nonce


def test_headers_on_respondent_staff_embed_and_error_pages(app, demo):
    client = app.test_client()
    pages = {
        "landing": client.get("/"),
        "login": client.get("/login"),
        "not found": client.get("/no-such-page"),
        "method": client.get("/logout"),
        "csrf": client.post("/login", data={"email": "x@y.dk", "password": "z"}),
        "health": client.get("/healthz"),
        "static": client.get("/static/survey.css"),
    }
    assert pages["not found"].status_code == 404
    assert pages["method"].status_code == 405
    assert pages["csrf"].status_code == 400
    r = client.get(f"/s/{link_token(case_of('star').response)}")
    pages["respondent"] = client.get(r.location)
    assert pages["respondent"].status_code == 200
    staff = app.test_client()
    html = staff.get("/login").get_data(as_text=True)
    staff.post(
        "/login",
        data={"email": "agent@callcentre.example", "password": "demo-password-1",
              "csrf_token": csrf_token(html)},
    )  # fmt: skip
    pages["staff"] = staff.get("/staff")
    pages["staff 403"] = staff.get("/staff/rounds")
    assert (pages["staff"].status_code, pages["staff 403"].status_code) == (200, 403)
    for name, response in pages.items():
        try:
            assert_baseline(response)
        except (AssertionError, KeyError, AttributeError) as exc:
            raise AssertionError(f"{name}: {exc!r}") from exc

    embed = app.test_client()
    case = case_of("jobportalen")
    origins = case.brand.embed_origins
    assert origins
    r = embed.get(f"/embed/s/{link_token(case.response)}")
    framed = embed.get(r.location)
    assert framed.status_code == 200
    assert_baseline(framed, framed=True)
    assert csp(framed)["frame-ancestors"] == " ".join(origins)
    assert "Set-Cookie" not in framed.headers


def test_nonce_is_fresh_per_request_and_marks_every_inline_block(app, demo):
    client = app.test_client()
    r = client.get(f"/s/{link_token(case_of('karrierenet').response)}")
    seen = set()
    for _ in range(3):
        response = client.get(r.location)
        nonce = assert_baseline(response)
        html = response.get_data(as_text=True)
        inline = re.findall(r"<(script|style)(?![^>]*\bsrc=)([^>]*)>", html)
        assert inline, "the branded page has an inline style"
        for _tag, attrs in inline:
            assert f'nonce="{nonce}"' in attrs
        seen.add(nonce)
    assert len(seen) == 3


def test_hsts_on_secure_requests_or_when_configured(app, ctx):
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://survey.test")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    app.config["HSTS"] = 1
    try:
        assert "Strict-Transport-Security" in client.get("/login").headers
    finally:
        app.config.pop("HSTS")


def test_unknown_hosts_are_refused_with_400(app, ctx):
    app.config["TRUSTED_HOSTS"] = ["survey.test", ".survey.example.dk"]
    try:
        client = app.test_client()
        assert client.get("/login", base_url="http://survey.test").status_code == 200
        assert client.get("/login", base_url="http://a.survey.example.dk").status_code == 200
        r = client.get("/login", base_url="http://evil.example")
        assert r.status_code == 400
        assert_baseline(r)
        r = client.get("/login", headers={"Host": "evil.example"})
        assert r.status_code == 400
    finally:
        app.config["TRUSTED_HOSTS"] = None


def test_oversized_bodies_get_413_before_anything_reads_them(app, ctx):
    client = app.test_client()
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    body = b"x" * (16 * 1024 * 1024 + 1)
    r = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 413
    assert_baseline(r)


@pytest.fixture
def own_app(database_url, tmp_path):
    """A second application on the same database, for settings read at start-up."""

    def build(**extra):
        return create_app(make_config(database_url, tmp_path, **extra))

    return build


def test_a_view_can_raise_its_own_body_limit(own_app):
    app = own_app(MAX_CONTENT_LENGTH=1000, WTF_CSRF_ENABLED=False)

    @app.post("/_test/upload")
    @body_limit(5000)
    def upload():
        from flask import request

        return str(len(request.get_data()))

    @app.post("/_test/small")
    def small():
        from flask import request

        return str(len(request.form.get("a", "")))

    client = app.test_client()
    assert client.post("/_test/upload", data=b"y" * 4000).get_data(as_text=True) == "4000"
    assert client.post("/_test/upload", data=b"y" * 6000).status_code == 413
    assert client.post("/_test/small", data={"a": "z" * 2000}).status_code == 413


def test_proxy_fix_and_secure_cookies_follow_the_configuration(own_app):
    plain = own_app()
    r = plain.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in r.headers  # forwarded headers are not trusted
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie

    proxied = own_app(PROXY_FIX=1, BASE_URL="https://survey.example.dk")
    r = proxied.test_client().get(
        "/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.10"}
    )
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.browser
def test_pages_run_under_the_policy_without_violations_in_chromium(demo, live_server, page):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    case = case_of("jobportalen")
    page.goto(f"{live_server}/s/{link_token(case.response)}")
    page.click("button[type=submit]")  # start after the notice
    page.check("#respondent_role-yes")
    page.click("button[type=submit]")
    page.wait_for_url("**/survey/p/status")
    # the branded colours and the progress bar come from nonce'd inline styles
    width = page.eval_on_selector(".progress-bar span", "e => e.getBoundingClientRect().width")
    assert width > 0
    primary = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--brand-primary')"
    )
    assert primary.strip() == case.brand.colours["primary"]
    page.goto(f"{live_server}/embed/s/{link_token(case_of('karrierenet').response)}")
    page.wait_for_url("**/embed/h/**")
    page.goto(f"{live_server}/login")
    assert problems == []

    # An inline script without the nonce (as an injection would be) is refused.
    def inject(route):
        response = route.fetch()
        body = response.text().replace("</body>", "<script>window.injected = 1</script></body>")
        route.fulfill(response=response, body=body)

    page.route(f"{live_server}/login", inject)
    page.goto(f"{live_server}/login")
    assert page.evaluate("window.injected") is None
    assert any("Content Security Policy" in p for p in problems)
