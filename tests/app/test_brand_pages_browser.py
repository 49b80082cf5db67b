"""A partner operator changes its brand's colour, uploads a logo and previews the questionnaire
in headless Chromium."""

from __future__ import annotations

import pyotp
import pytest
from PIL import Image
from playwright.sync_api import expect

from survey_app.auth.models import User
from survey_app.core.db import db
from survey_app.demo import PASSWORD
from survey_app.partners.services import brand_by_code
from survey_app.questionnaire.models import Response

from .test_accessibility import assert_accessible

pytestmark = pytest.mark.browser


def login(page, live_server, email: str) -> None:
    page.goto(f"{live_server}/staff")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{live_server}/login/enrol")
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#confirm")
    page.click("#continue")
    page.wait_for_url(f"{live_server}/staff")


def test_operator_changes_colour_uploads_logo_and_previews(demo, live_server, page, tmp_path):
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    responses_before = db.session.scalar(db.select(db.func.count()).select_from(Response))
    login(page, live_server, "operator@jobportalen.example")
    page.click("a[href='/staff/brand']")
    page.wait_for_url(f"{live_server}/staff/brands/jobportalen")
    assert_accessible(page, "brand page")

    # A colour with too little contrast is refused with the ratio; a good one is saved.
    page.fill("#colour_text", "#aaaaaa")
    page.click("#save-brand")
    expect(page.locator(".error-summary")).to_be_visible()
    assert "2.32:1" in page.locator("#colour_text-error").inner_text()
    assert_accessible(page, "brand page with errors")
    page.fill("#colour_text", "#1b1b1b")
    page.fill("#colour_primary", "#0a4d8c")
    page.click("#save-brand")
    expect(page.locator(".flash-success")).to_be_visible()
    assert page.locator("#colour_primary").input_value() == "#0a4d8c"

    logo = tmp_path / "logo.png"
    Image.new("RGB", (200, 60), (10, 77, 140)).save(logo, format="PNG")
    page.set_input_files("#logo", str(logo))
    page.click("#upload-logo")
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("#current-logo")).to_be_visible()
    assert page.locator("#current-logo").evaluate("img => img.naturalWidth") == 200

    # The copy button appears with the script; the snippet stays selectable in its field.
    expect(page.locator("button[data-copy-target='embed-snippet']")).to_be_visible()
    assert "data-survey-launch" in page.locator("#embed-snippet").input_value()

    page.click("#preview-link")
    page.wait_for_url(f"{live_server}/staff/brands/jobportalen/preview")
    expect(page.locator(".flash-preview")).to_be_visible()
    assert_accessible(page, "preview notice")
    header = page.locator(".site-header")
    assert header.evaluate("h => getComputedStyle(h).backgroundColor") == "rgb(10, 77, 140)"
    img = page.locator(".site-header img.logo")
    expect(img).to_be_visible()
    assert img.evaluate("i => i.naturalWidth") == 200
    page.click("#start")
    page.get_by_label("Ja").check()
    page.click("#next")
    page.wait_for_url(f"{live_server}/staff/brands/jobportalen/preview/p/status")

    # Unsaved colours from the brand form reach the preview in a new tab.
    page.goto(f"{live_server}/staff/brands/jobportalen")
    page.fill("#colour_primary", "#5a2d82")
    with page.context.expect_page() as opened:
        page.click("#preview-unsaved")
    preview = opened.value
    preview.wait_for_load_state()
    assert (
        preview.locator(".site-header").evaluate("h => getComputedStyle(h).backgroundColor")
        == "rgb(90, 45, 130)"
    )
    assert problems == []
    db.session.expire_all()
    assert brand_by_code("jobportalen").colours["primary"] == "#0a4d8c"
    assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == responses_before
    user = db.session.scalars(db.select(User).filter_by(email="operator@jobportalen.example")).one()
    assert user.role == "partner_operator"
