"""An analyst requests an export on the staff page in Chromium and downloads it when ready."""

from __future__ import annotations

import zipfile

import pytest
from playwright.sync_api import expect

from survey_app.core.db import db
from survey_app.demo import PASSWORD, ROUND
from survey_app.stats.models import Export

from .export_fixtures import OTHER_PROFILE, fill, first_case, run_exports_queue

pytestmark = pytest.mark.browser


def test_analyst_requests_and_downloads_an_export(app, demo, live_server, page, tmp_path):
    fill(first_case("karrierenet"), OTHER_PROFILE)
    page.goto(f"{live_server}/login")
    page.locator("input[name=email]").fill("analyst@star.example")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("#login").click()
    page.goto(f"{live_server}/staff/rounds")
    page.locator(f'a[href="/staff/rounds/{ROUND}/exports"]').click()
    assert page.url.endswith(f"/staff/rounds/{ROUND}/exports")
    page.locator("#export-form select[name=format]").select_option("bundle")
    page.locator("#export-form button[type=submit]").click()
    expect(page.locator(".flash")).to_be_visible()
    run_exports_queue(app)  # production mode: a worker picks it up; embedded: already done
    export = db.session.scalars(db.select(Export)).one()
    row = page.locator(f"#export-{export.id}")
    # The page reloads itself while an export is pending.
    link = row.locator(f'a[href="/staff/exports/{export.id}/download"]')
    link.wait_for(timeout=15_000)
    with page.expect_download() as info:
        link.click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.name == f"{ROUND}-{export.id}.zip"
    with zipfile.ZipFile(target) as zf:
        assert {"codebook.json", "codebook.md", f"{ROUND}.sav"} <= set(zf.namelist())
