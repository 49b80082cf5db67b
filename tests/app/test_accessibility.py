"""WCAG 2.1 AA on every respondent page type: axe-core in headless Chromium, zero violations.

Every page the respondent can meet is checked: the code entry, the invalid link, the notice, each
of the bank's nine pages (several paths, so every question is on screen once), a page with
validation errors, the review, the thank-you page and the privacy notice, in Danish and English,
under STAR's brand and a partner's, and in the embedded (iframe) flow.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from survey_app.core.db import db
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case

pytestmark = pytest.mark.browser

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE = Axe()
NEXT = {"da": "Gem og fortsæt", "en": "Save and continue"}


def assert_accessible(page, what: str) -> None:
    """Run axe-core on the page as it is now; fail with every violation and its elements."""
    results = AXE.run(page, options={"runOnly": {"type": "tag", "values": TAGS}})
    violations = results.response["violations"]
    report = [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(n["target"]) + " " + n["failureSummary"] for n in v["nodes"])
        for v in violations
    ]
    assert not report, f"{what} at {page.url}:\n" + "\n".join(report)


def cases_by_brand() -> dict[str, list[Case]]:
    found: dict[str, list[Case]] = {}
    for case in db.session.scalars(db.select(Case).order_by(Case.id)):
        found.setdefault(case.brand.code, []).append(case)
    return found


def save(page, lang: str) -> None:
    page.get_by_role("button", name=NEXT[lang]).click()
    page.wait_for_load_state()


def check(page, selector: str) -> None:
    page.locator(selector).check()


def open_survey(page, base: str, case: Case, lang: str, seen: list[str], label: str) -> None:
    """Open the link in ``lang``, check the notice page, start."""
    page.goto(f"{base}/s/{link_token(case.response)}")
    page.goto(f"{base}/survey?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert_accessible(page, f"{label}: notice")
    seen.append("start")
    page.locator("#start").click()
    page.wait_for_load_state()


def walk_every_page(page, base: str, cases: list[Case], lang: str, label: str) -> set[str]:
    """Four respondents whose answers together show all nine pages and every question."""
    seen: list[str] = []

    def scan(name: str) -> None:
        assert_accessible(page, f"{label}: {name}")
        seen.append(name)

    # 1. Recruited with another profile: role, status, outcome (with an error first and the
    #    follow-up it reveals), applicants, reasons (profile gap), channels, comment, review, done.
    open_survey(page, base, cases[0], lang, seen, label)
    scan("page role")
    check(page, "#respondent_role-yes")
    save(page, lang)
    scan("page status")
    check(page, "#recruitment_status-1")
    save(page, lang)
    scan("page outcome")
    save(page, lang)  # nothing answered: every question reports an error
    expect(page.locator("#error-summary")).to_be_visible()
    scan("page with validation errors")
    check(page, "#outcome-2")
    page.locator("#positions").fill("3")
    save(page, lang)  # reveals positions_filled on the same page
    expect(page.locator("#positions_filled")).to_be_visible()
    scan("page outcome with the revealed follow-up")
    page.locator("#positions_filled").fill("2")
    save(page, lang)
    scan("page applicants")
    page.locator("#applicants").fill("12")
    save(page, lang)  # reveals qualified_applicants
    page.locator("#qualified_applicants").fill("4")
    save(page, lang)
    expect(page.locator("#profile_gap-6")).to_be_visible()
    scan("page reasons (profile gap)")
    check(page, "#profile_gap-1")
    check(page, "#profile_gap-6")
    page.locator("#profile_gap-other").fill("Kørekort")
    save(page, lang)
    scan("page channels")
    check(page, "#channels-1")
    check(page, "#job_order-2")
    save(page, lang)
    scan("page comment")
    page.locator("#comment").fill("Svært at finde folk")
    save(page, lang)
    scan("review")
    page.locator("#submit").click()
    page.wait_for_load_state()
    scan("done")

    # 2. Not the one who recruited: the referral page.
    open_survey(page, base, cases[1], lang, seen, label)
    check(page, "#respondent_role-no")
    save(page, lang)
    scan("page referral")

    # 3. Still ongoing: the expected-close page.
    open_survey(page, base, cases[2], lang, seen, label)
    check(page, "#respondent_role-yes")
    save(page, lang)
    check(page, "#recruitment_status-2")
    save(page, lang)
    scan("page expected_close")

    # 4. Not filled: the reasons page asks why.
    open_survey(page, base, cases[3], lang, seen, label)
    check(page, "#respondent_role-yes")
    save(page, lang)
    check(page, "#recruitment_status-1")
    save(page, lang)
    check(page, "#outcome-3")
    page.locator("#positions").fill("1")
    save(page, lang)
    page.locator("#applicants").fill("0")
    save(page, lang)
    expect(page.locator("#unfilled_reason-1")).to_be_visible()
    scan("page reasons (unfilled)")
    return set(seen)


@pytest.mark.parametrize(
    ("brand", "lang"), [("star", "da"), ("jobportalen", "en"), ("karrierenet", "da")]
)
def test_every_respondent_page_has_no_axe_violations(demo, live_server, page, brand, lang):
    cases = cases_by_brand()[brand]
    seen = walk_every_page(page, live_server, cases, lang, f"{brand}/{lang}")
    pages = {f"page {p}" for p in ("role", "status", "outcome", "applicants", "channels")}
    pages |= {"page comment", "page referral", "page expected_close"}
    pages |= {"page reasons (profile gap)", "page reasons (unfilled)"}
    assert pages | {"start", "review", "done", "page with validation errors"} <= seen


@pytest.mark.parametrize("lang", ["da", "en"])
def test_entry_invalid_link_and_privacy_pages_have_no_axe_violations(demo, live_server, page, lang):
    page.goto(f"{live_server}/?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert_accessible(page, "code entry")
    page.goto(f"{live_server}/s/not-a-real-token")
    assert_accessible(page, "invalid link")
    page.goto(f"{live_server}/")
    page.locator("#code").fill("NOSUCHCODE")
    page.locator("#code").press("Enter")
    page.wait_for_load_state()
    assert_accessible(page, "invalid code")
    for brand in ("star", "jobportalen"):
        page.goto(f"{live_server}/privacy/{brand}")
        assert_accessible(page, f"privacy notice of {brand}")


@pytest.mark.parametrize("lang", ["da", "en"])
def test_embedded_pages_have_no_axe_violations(demo, live_server, page, lang):
    case = cases_by_brand()["jobportalen"][0]
    page.goto(f"{live_server}/embed/s/{link_token(case.response)}?lang={lang}")
    assert "/embed/h/" in page.url
    assert page.locator("html").get_attribute("lang") == lang
    assert_accessible(page, "embedded notice")
    page.locator("#start").click()
    page.wait_for_load_state()
    assert_accessible(page, "embedded first page")
    save(page, lang)
    expect(page.locator("#error-summary")).to_be_visible()
    assert_accessible(page, "embedded page with errors")
    check(page, "#respondent_role-no")
    save(page, lang)
    page.locator("#referral-name").fill("Anna Jensen")
    page.locator("#referral-email").fill("anna@firma.example")
    save(page, lang)
    assert_accessible(page, "embedded review")
    page.locator("#submit").click()
    page.wait_for_load_state()
    assert_accessible(page, "embedded done")


def test_the_check_reports_violations(page):
    """The check is live: a page with an unlabelled field, no language and no alt text fails."""
    page.set_content("<html><body><img src='x.png'><input type='text'></body></html>")
    with pytest.raises(AssertionError) as failed:
        assert_accessible(page, "a broken page")
    for rule in ("image-alt", "html-has-lang", "label"):
        assert rule in str(failed.value)
