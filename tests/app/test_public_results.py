"""The public results page in Chromium: charts and tables from the latest release, Danish and
English, suppressed cells as "–" with a footnote, nothing blocked by the security policy."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from survey_app.core.db import db
from survey_app.stats.releases import publish

from .release_fixtures import make_round, two_strata, units

pytestmark = pytest.mark.browser


def strata_with_a_small_area():
    strata = two_strata()
    strata["3|RAR Nordjylland"] = (
        10,
        units(
            {"not_filled": 1, "success": 1},
            occupation="3112",
            municipality="851",
            rar_area="RAR Nordjylland",
        ),
    )
    return strata


@pytest.fixture
def releases(ctx):
    make_round("PUB1", two_strata())
    publish(["PUB1"], "2026Q2")
    make_round("PUB2", strata_with_a_small_area(), window=(date(2026, 4, 1), date(2026, 9, 30)))
    latest = publish(["PUB2"], "2026Q3")
    db.session.commit()
    return latest


def test_results_page_in_both_languages(app, releases, live_server, page):
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    response = page.goto(f"{live_server}/results")
    assert response.status == 200
    with app.test_request_context(), force_locale("da"):
        title_da = gettext("Results of the recruitment survey")
        area_da = gettext("Failed-recruitment rate by RAR area")
    assert page.locator("html").get_attribute("lang") == "da"
    assert page.locator("h1").inner_text() == title_da
    area_table = page.locator("#table-area")
    assert area_table.locator("caption").inner_text() == area_da
    # Hovedstaden: 5 of 7 failed (71,4 % in Danish notation).
    row = area_table.locator("tbody tr", has_text="RAR Hovedstaden")
    assert re.search(r"71,4\s*%", row.inner_text())
    # Nordjylland has 2 responses: suppressed, shown as a dash with the footnote.
    small = area_table.locator("tbody tr", has_text="RAR Nordjylland")
    assert "–" in small.inner_text() and small.locator("a[href='#note-suppressed']").count() == 1
    expect(page.locator("#note-suppressed")).to_be_visible()
    # Charts are inline SVG, visible, one bar per published area.
    charts = page.locator("svg.chart")
    assert charts.count() == 3 and charts.first.is_visible()
    rates = area_table.locator("tbody tr td:nth-child(2)").all_inner_texts()
    published = [r for r in rates if "–" not in r]
    assert len(rates) == 3 and len(published) >= 1
    assert charts.first.locator("rect").count() == len(published)
    # Over time: both periods, the latest release of each.
    assert page.locator("#table-time tbody tr").count() == 2
    assert "2026Q2" in page.locator("#table-time").inner_text()
    # Top occupations never rank a suppressed occupation.
    occupations = page.locator("#table-occupations").inner_text()
    assert "3112" not in occupations
    assert not blocked

    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Results of the recruitment survey"
    row = page.locator("#table-area tbody tr", has_text="RAR Hovedstaden")
    assert re.search(r"71\.4\s*%", row.inner_text())
    assert page.locator("#table-area caption").inner_text() == (
        "Failed-recruitment rate by RAR area"
    )
    assert not blocked


def test_results_page_without_releases(client):
    r = client.get("/results?lang=en")
    assert r.status_code == 200
    assert "No results have been published yet." in r.get_data(as_text=True)
