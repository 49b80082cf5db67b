"""A respondent in headless Chromium: open the link, read the notice, answer, send."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from survey_app.core.db import db
from survey_app.questionnaire.models import Response
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case

from .helpers import answer_not_filled_in_browser

pytestmark = pytest.mark.browser


def test_respondent_answers_in_chromium(demo, live_server, page, tmp_path):
    case = db.session.scalars(
        db.select(Case).where(Case.brand.has(code="jobportalen")).order_by(Case.id)
    ).first()
    token = link_token(case.response)
    page.goto(f"{live_server}/s/{token}")
    assert token not in page.url  # the token left the address bar
    assert page.locator("html").get_attribute("lang") == "da"
    expect(page.get_by_text("Jobportalen deltager i STARs")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("button", name="Start the survey")).to_be_visible()
    page.get_by_role("link", name="Dansk").click()
    page.get_by_role("button", name="Start undersøgelsen").click()

    page.get_by_label("Ja").check()
    page.get_by_role("button", name="Gem og fortsæt").click()
    page.get_by_label("Afsluttet", exact=False).check()
    page.get_by_role("button", name="Gem og fortsæt").click()
    # An error first: the summary is shown and links to the field.
    page.get_by_role("button", name="Gem og fortsæt").click()
    expect(page.locator(".error-summary")).to_be_visible()
    answer_not_filled_in_browser(page, "Ingen ansøgere")
    expect(page.get_by_role("heading", name="Tjek dine svar")).to_be_visible()
    page.get_by_role("button", name="Send dine svar").click()
    expect(page.get_by_role("heading", name="Tak for din besvarelse")).to_be_visible()
    shot = os.environ.get("SURVEY_SCREENSHOT_DIR")
    if shot:
        page.screenshot(path=f"{shot}/done.png", full_page=True)

    response = db.session.get(Response, case.response_id, populate_existing=True)
    assert response.status == "completed"
    assert response.classification == "not_filled"
    assert response.answer_dict()["comment"] == "Ingen ansøgere"
    assert response.answer_dict()["applicants"] == 0
    assert "qualified_applicants" not in response.answer_dict()

    # The link now says the answers are in and cannot be changed.
    page.goto(f"{live_server}/s/{token}")
    expect(page.get_by_role("heading", name="Tak for din besvarelse")).to_be_visible()


def test_tokens_never_reach_the_access_log(demo, live_server, page):
    import logging

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__(logging.INFO)
            self.lines = []

        def emit(self, record):
            self.lines.append(self.format(record))

    handler = Collect()
    logger = logging.getLogger("werkzeug")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        case = db.session.scalars(db.select(Case).order_by(Case.id)).first()
        token = link_token(case.response)
        page.goto(f"{live_server}/s/{token}")
        page.goto(f"{live_server}/survey?token={token}")
    finally:
        logger.removeHandler(handler)
    assert any("/s/<redacted>" in line for line in handler.lines), handler.lines
    assert any("token=<redacted>" in line for line in handler.lines), handler.lines
    assert not any(token in line for line in handler.lines)
