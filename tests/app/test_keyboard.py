"""The whole survey with the keyboard alone (Tab, Shift+Tab, Space, Enter, arrow keys), visible
focus on every control reached, and validation errors announced and linked to their fields."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from survey_app.core.db import db
from survey_app.questionnaire.models import Response
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case

pytestmark = pytest.mark.browser

FOCUS_STYLE = """() => {
  const s = getComputedStyle(document.activeElement);
  return {outline: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow};
}"""


def focused(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def focused_stop(page) -> str:
    """The focused element's id, or ``#target`` for an in-page link."""
    return page.evaluate(
        "(() => { const e = document.activeElement; if (!e) return '';"
        " const h = e.getAttribute('href') || '';"
        " return h.startsWith('#') ? h : e.id; })()"
    )


def assert_focus_visible(page) -> None:
    style = page.evaluate(FOCUS_STYLE)
    assert style["outline"] != "none" and style["width"] >= 2, (focused(page), style)
    assert style["shadow"] not in ("", "none"), (focused(page), style)


def tab_to(page, element_id: str, *, back: bool = False, limit: int = 60) -> None:
    """Press Tab (or Shift+Tab) until ``element_id`` (or the link to ``#id``) has focus,
    checking that each stop on the way shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        stop = focused_stop(page)
        if stop:
            assert_focus_visible(page)
        if stop == element_id:
            return
    raise AssertionError(f"#{element_id} not reached with the keyboard")


def submit_with_enter(page, button_id: str = "next") -> None:
    tab_to(page, button_id)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def checked(page, element_id: str) -> bool:
    return page.evaluate(f"document.getElementById('{element_id}').checked")


@pytest.fixture
def case(demo):
    return db.session.scalars(db.select(Case).order_by(Case.id)).first()


def test_the_whole_survey_with_the_keyboard_alone(live_server, page, case):
    page.goto(f"{live_server}/s/{link_token(case.response)}")
    # The skip link is the first stop and visible when focused.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert_focus_visible(page)
    submit_with_enter(page, "start")

    # role: Tab into the radio group, Space selects.
    tab_to(page, "respondent_role-yes")
    page.keyboard.press("Space")
    assert checked(page, "respondent_role-yes")
    submit_with_enter(page)

    # status: the arrow keys move the choice within the group.
    tab_to(page, "recruitment_status-1")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    assert checked(page, "recruitment_status-2")
    page.keyboard.press("ArrowUp")
    assert checked(page, "recruitment_status-1")
    submit_with_enter(page)

    # outcome: submit empty; the error summary takes focus and its link leads to the field.
    submit_with_enter(page)
    assert focused(page) == "error-summary"
    assert_focus_visible(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#outcome-1"
    page.keyboard.press("Enter")
    assert focused(page) == "outcome-1"
    page.keyboard.press("ArrowDown")  # selects "yes, another profile"
    assert checked(page, "outcome-2")
    page.keyboard.press("Tab")
    assert focused(page) == "positions"
    page.keyboard.type("3")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # implicit submission from a text field
    tab_to(page, "positions_filled")  # revealed by the answers just given
    page.keyboard.type("2")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # applicants, with the follow-up the first answer reveals.
    tab_to(page, "applicants")
    page.keyboard.type("12")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "qualified_applicants")
    page.keyboard.type("4")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # reasons: checkboxes with Space, and the "other" text.
    tab_to(page, "profile_gap-1")
    page.keyboard.press("Space")
    tab_to(page, "profile_gap-6")
    page.keyboard.press("Space")
    tab_to(page, "profile_gap-other")
    page.keyboard.type("Truckcertifikat")
    submit_with_enter(page)

    # channels: a checkbox, then a radio group chosen with an arrow key.
    tab_to(page, "channels-3")
    page.keyboard.press("Space")
    tab_to(page, "job_order-1")
    page.keyboard.press("ArrowDown")
    assert checked(page, "job_order-2")
    submit_with_enter(page)

    # comment: type, step past the button and back with Shift+Tab, then send.
    tab_to(page, "comment")
    page.keyboard.type("Svært at finde folk")
    tab_to(page, "next")
    tab_to(page, "comment", back=True)
    submit_with_enter(page)

    # review, then submit.
    expect(page.get_by_role("heading", name="Tjek dine svar")).to_be_visible()
    submit_with_enter(page, "submit")
    expect(page.get_by_role("heading", name="Tak for din besvarelse")).to_be_visible()

    response = db.session.get(Response, case.response_id, populate_existing=True)
    answers = response.answer_dict()
    assert response.status == "completed"
    assert response.classification == "other_profile"
    assert answers["recruitment_status"] == 1 and answers["outcome"] == 2
    assert answers["positions"] == 3 and answers["positions_filled"] == 2
    assert answers["applicants"] == 12 and answers["qualified_applicants"] == 4
    assert answers["profile_gap"] == [1, 6] and answers["profile_gap_other"] == "Truckcertifikat"
    assert answers["channels"] == [3] and answers["job_order"] == 2
    assert answers["comment"] == "Svært at finde folk"


def test_errors_are_announced_and_each_links_to_its_field(live_server, page, case):
    page.goto(f"{live_server}/s/{link_token(case.response)}")
    page.goto(f"{live_server}/survey?lang=en")
    submit_with_enter(page, "start")
    tab_to(page, "respondent_role-yes")
    page.keyboard.press("Space")
    submit_with_enter(page)
    tab_to(page, "recruitment_status-1")
    page.keyboard.press("Space")
    submit_with_enter(page)
    # A number that is no number, and nothing else: three errors.
    tab_to(page, "positions")
    page.keyboard.type("many")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    summary = page.locator("#error-summary")
    assert summary.get_attribute("role") == "alert"
    assert focused(page) == "error-summary"
    assert page.title().startswith("Error:")
    links = summary.locator("a")
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert targets == ["#outcome-1", "#positions"]
    for target in targets:
        field = page.locator(target)
        assert field.get_attribute("aria-invalid") == "true"
        # The field (or its group) is described by the message the summary shows.
        described = field.get_attribute("aria-describedby") or page.locator(
            f"fieldset:has({target})"
        ).get_attribute("aria-describedby")
        message = page.locator(f"[id='{described.split()[-1]}']")
        link_text = summary.locator(f"a[href='{target}']").inner_text()
        assert link_text in message.inner_text()
        expect(message).to_be_visible()

    # Following each link with the keyboard puts focus on its field.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#positions"
    page.keyboard.press("Enter")
    assert focused(page) == "positions"
    assert page.locator("#positions").input_value() == "many"  # the input is kept
    tab_to(page, "#outcome-1", back=True)
    page.keyboard.press("Enter")
    assert focused(page) == "outcome-1"
