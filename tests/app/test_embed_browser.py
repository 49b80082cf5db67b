"""The embedded survey in headless Chromium with third-party cookies blocked: a partner page on
another origin pastes the one-line loader with a signed launch; the survey is answered inside the
iframe; the page hears the completion and the iframe is resized from the height messages."""

from __future__ import annotations

import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from survey_app.core.db import db
from survey_app.partners import services as partners
from survey_app.questionnaire.models import Response
from survey_app.sampling.models import Case, Posting

from ..conftest import CHROMIUM
from .helpers import answer_not_filled_in_browser

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html>
<html lang="da"><head><meta charset="utf-8"><title>Jobportalen</title>
<script>
  window.__messages = [];
  window.addEventListener("message", function (e) {{
    window.__messages.push({{origin: e.origin, data: e.data}});
  }});
  document.addEventListener("star-survey:complete", function () {{ window.__completed = true; }});
</script></head>
<body><h1>Min side hos Jobportalen</h1>
<script src="{survey}/embed/static/embed.js" data-survey-launch="{launch}"></script>
</body></html>
"""


@pytest.fixture
def host_server():
    """A partner's page on a different site (127.0.0.2), whose HTML the test sets."""
    content = {"html": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = content["html"].encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.2:{server.server_port}", content
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_3pc_page(browser):
    """A separate Chromium (same Playwright driver) started with third-party cookies blocked."""
    instance = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            # Chromium's switch that blocks third-party cookies as in the phase-out.
            "--test-third-party-cookie-phaseout",
        ],
    )
    context = instance.new_context(locale="da-DK")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
    instance.close()


def test_embedded_survey_in_a_partner_page_with_third_party_cookies_blocked(
    demo, live_server, host_server, no_3pc_page
):
    host, content = host_server
    case = db.session.scalars(
        db.select(Case)
        .join(Posting, Posting.id == Case.posting_id)
        .where(Case.brand.has(code="jobportalen"), Posting.source.has(code="jobportalen"))
        .order_by(Case.id)
    ).first()
    case.brand.embed_origins = [*case.brand.embed_origins, host]
    key = partners.create_launch_key(case.brand.organisation)
    db.session.commit()
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": "jobportalen",
            "posting": case.posting.source_posting_id,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        },
        key.secret,
        algorithm="HS256",
        headers={"kid": key.kid},
    )
    content["html"] = HOST_PAGE.format(survey=live_server, launch=token)

    page = no_3pc_page
    page.goto(f"{host}/")
    frame_el = page.locator("iframe.star-survey-frame")
    frame_el.wait_for()
    frame = page.frame_locator("iframe.star-survey-frame")
    frame.get_by_role("button", name="Start undersøgelsen").wait_for()
    inner = frame_el.element_handle().content_frame()
    # The frame cannot keep a cookie; the host page (first party) can.
    assert inner.evaluate("document.cookie = 'probe=1; SameSite=None'; document.cookie") == ""
    assert page.evaluate("document.cookie = 'host=1'; document.cookie") == "host=1"

    frame.get_by_role("button", name="Start undersøgelsen").click()
    frame.get_by_label("Ja").check()
    frame.get_by_role("button", name="Gem og fortsæt").click()
    frame.get_by_label("Afsluttet", exact=False).check()
    frame.get_by_role("button", name="Gem og fortsæt").click()
    answer_not_filled_in_browser(frame, "Indlejret")
    frame.get_by_role("button", name="Send dine svar").click()
    frame.get_by_role("heading", name="Tak for din besvarelse").wait_for()

    page.wait_for_function("window.__completed === true")
    messages = page.evaluate("window.__messages")
    survey_msgs = [m for m in messages if m["origin"] == live_server]
    assert {"type": "star-survey:complete"} in [m["data"] for m in survey_msgs]
    heights = [
        m["data"]["height"] for m in survey_msgs if m["data"]["type"] == "star-survey:height"
    ]
    assert heights and all(h > 0 for h in heights)
    page.wait_for_function(
        "h => document.querySelector('iframe.star-survey-frame').style.height === h + 'px'",
        arg=heights[-1],
    )
    assert frame_el.get_attribute("data-complete") == "1"

    # The whole flow ran without the survey's origin holding a single cookie.
    assert page.context.cookies(live_server) == []
    response = db.session.get(Response, case.response_id, populate_existing=True)
    assert response.status == "completed"
    assert response.mode == "embed"
    assert response.answer_dict()["comment"] == "Indlejret"
