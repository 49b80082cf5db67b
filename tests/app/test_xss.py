"""An XSS corpus in every text that reaches a page: bank texts, case context, brand settings,
answers and the staff pages that show them.

The browser runs with the Content-Security-Policy bypassed, so the check is the escaping itself
and not only the policy that backs it up: a payload that reached the DOM as markup would run.
Each page is checked in three ways: no payload ran (a ``window.__xss`` flag, dialogs), no element
a payload would create exists, and the payload text is on the page literally, as text.
"""

from __future__ import annotations

import json

import pytest
import yaml
from playwright.sync_api import expect

from survey_app.core.db import db
from survey_app.questionnaire import services
from survey_app.questionnaire.bank import default_bank_path
from survey_app.sampling.models import Case, FieldingRound

from .helpers import staff_login

pytestmark = pytest.mark.browser

PAYLOADS = [
    "<script>window.__xss='script'</script>",
    '"><img src=x onerror="window.__xss=\'img\'">',
    "'><svg onload=\"window.__xss='svg'\">",
    "javascript:window.__xss='js-url'",
    "</textarea><script>window.__xss='textarea'</script>",
    "</title><script>window.__xss='title'</script>",
    "{{7*7}} {%print(7*7)%}",
    "${7*7} #{7*7}",
    '" onmouseover="window.__xss=\'attr\'" data-x="',
    "' autofocus onfocus='window.__xss=\"focus\"' x='",
    "<iframe srcdoc=\"<script>parent.__xss='srcdoc'</script>\"></iframe>",
    "<a href=\"javascript:window.__xss='link'\">klik</a>",
    "\u202egnp.exe \u2066<b>isolate</b>\u2069 \u200bzero-width",
    "&lt;script&gt;already escaped&lt;/script&gt;",
    "<style>body{display:none}</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__xss='mxss'\">",
]

GUARD = """() => {
  const bad = document.querySelectorAll(
    '[onerror],[onload],[onmouseover],[onfocus],iframe,svg,math,a[href^="javascript:"],' +
    'img:not(.logo),body style:not([nonce]),main script,header script');
  return {ran: window.__xss || null, elements: [...bad].map(e => e.outerHTML.slice(0, 200))};
}"""


@pytest.fixture
def xss_page(browser, app):
    """Chromium with CSP bypassed; any dialog or ``window.__xss`` counts as a payload run."""
    context = browser.new_context(locale="da-DK", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def assert_inert(page, *expected_texts: str) -> None:
    """Nothing ran, nothing became markup, and each expected text shows as written."""
    page.wait_for_load_state()
    page.wait_for_timeout(50)
    state = page.evaluate(GUARD)
    assert state == {"ran": None, "elements": []}, (page.url, state)
    assert page.dialogs == [], page.dialogs
    assert page.title()  # the <title> was not broken out of
    shown = page.evaluate("document.body.innerText")
    for text in expected_texts:
        # Text as the browser shows it (whitespace collapsed); the isolate characters stay.
        visible = " ".join(text.split())
        assert visible in " ".join(shown.split()), (page.url, text)


def xss_bank(tmp_path) -> services.BankVersion:
    """The real bank with every text replaced by a payload, stored as a new version."""
    data = yaml.safe_load(default_bank_path().read_text(encoding="utf-8"))
    data["version"] = "2026.99"
    # Braces are placeholders in bank texts, and the bank check refuses unknown ones (tested
    # below), so the template-syntax payloads go into brands and answers instead.
    corpus = [p for p in PAYLOADS if "{" not in p]
    n = 0

    def poison(text: dict) -> None:
        nonlocal n
        text["da"] = f"{corpus[n % len(corpus)]} #{n}"
        n += 1

    poison(data["title"])
    data["intro"]["da"] = PAYLOADS[1] + " {job_title} " + PAYLOADS[12]
    for q in data["questions"]:
        poison(q["text"])
        if q.get("help"):
            poison(q["help"])
        for option in q.get("options", []):
            poison(option["label"])
        for f in q.get("fields", []):
            poison(f["label"])
        if q.get("dont_know_label"):
            poison(q["dont_know_label"])
    path = tmp_path / "bank-2026.99.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    version, created = services.load_bank_version(path)
    assert created
    return version


def test_bank_check_refuses_template_syntax_in_texts(ctx, tmp_path):
    from survey_app.questionnaire.bank import BankError

    data = yaml.safe_load(default_bank_path().read_text(encoding="utf-8"))
    data["version"] = "2026.98"
    data["questions"][0]["text"]["da"] = PAYLOADS[6]
    path = tmp_path / "bank-2026.98.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(BankError, match="unknown placeholder"):
        services.load_bank_version(path)


def poison_brand(brand) -> None:
    brand.name = PAYLOADS[1]
    brand.notice_intro = {"da": PAYLOADS[0] + " " + PAYLOADS[6], "en": PAYLOADS[9]}
    brand.privacy_contact = PAYLOADS[8] + " " + PAYLOADS[11]
    brand.colours = {"primary": "#ffffff;}</style><script>window.__xss='css'</script>"}


def texts(bank, qid: str) -> list[str]:
    q = bank.question(qid)
    found = [q.text.get("da")] + ([q.help.get("da")] if q.help else [])
    return found + [o.label.get("da") for o in q.options]


def test_payloads_in_bank_texts_brand_and_answers_stay_text(demo, live_server, xss_page, tmp_path):
    page = xss_page
    case = db.session.scalars(db.select(Case).order_by(Case.id)).first()
    version = xss_bank(tmp_path)
    bank = services.bank_of(version)
    poison_brand(case.brand)
    context = {**(case.response.context or {}), "job_title": PAYLOADS[4]}
    response, token = services.open_response(version, case.brand, context)
    db.session.commit()

    page.goto(f"{live_server}/s/{token}")
    assert_inert(page, PAYLOADS[0], PAYLOADS[4], PAYLOADS[12], bank.title.get("da"))
    assert page.locator(".brand-name").inner_text() == PAYLOADS[1]
    page.locator("#start").click()

    def save() -> None:
        page.locator("#next").click()
        page.wait_for_load_state()

    assert_inert(page, *texts(bank, "respondent_role"))
    page.locator("#respondent_role-yes").check()
    save()
    assert_inert(page, *texts(bank, "recruitment_status"))
    page.locator("#recruitment_status-1").check()
    save()
    assert_inert(page, *texts(bank, "outcome"), *texts(bank, "positions"))
    # Input that is no number comes back in the field (an attribute) with the error.
    page.locator("#outcome-2").check()
    page.locator("#positions").fill(PAYLOADS[8])
    save()
    expect(page.locator("#error-summary")).to_be_visible()
    assert_inert(page)
    # Kept as the value (spaces dropped as in any number): the quote did not end the attribute.
    assert page.locator("#positions").input_value().startswith('"onmou')
    page.locator("#positions").fill("3")
    save()
    page.locator("#positions_filled").fill("2")
    save()
    page.locator("#applicants").fill("5")
    save()
    page.locator("#qualified_applicants").fill("1")
    save()
    assert_inert(page, *texts(bank, "profile_gap"))
    page.locator("#profile_gap-6").check()
    page.locator("#profile_gap-other").fill(PAYLOADS[2])
    save()
    page.locator("#channels-1").check()
    page.locator("#job_order-1").check()
    save()
    assert_inert(page, *texts(bank, "comment"))
    comment = "\n".join(PAYLOADS)
    page.locator("#comment").fill(comment)
    save()
    # The review shows every answer back.
    assert_inert(page, *PAYLOADS, bank.question("outcome").options[1].label.get("da"))
    page.goto(f"{live_server}/survey/p/comment")
    shown = page.locator("#comment").input_value().replace("\r\n", "\n")
    assert shown == comment  # </textarea> did not close it
    page.goto(f"{live_server}/survey/p/reasons")
    assert page.locator("#profile_gap-other").input_value() == PAYLOADS[2]
    assert_inert(page)

    page.goto(f"{live_server}/privacy/{case.brand.code}")
    assert_inert(page, PAYLOADS[1], PAYLOADS[8], PAYLOADS[11])
    stored = db.session.get(services.Response, response.id, populate_existing=True)
    assert stored.answer_dict()["comment"].replace("\r\n", "\n") == comment


def test_payloads_in_the_embedded_frame_and_referral_stay_text(
    demo, live_server, xss_page, tmp_path
):
    page = xss_page
    case = db.session.scalars(db.select(Case).where(Case.brand.has(code="jobportalen"))).first()
    poison_brand(case.brand)
    db.session.commit()
    token = services.link_token(case.response)
    page.goto(f"{live_server}/embed/s/{token}")
    assert_inert(page, PAYLOADS[0], PAYLOADS[1])
    page.locator("#start").click()
    page.locator("#respondent_role-no").check()
    page.locator("#next").click()
    page.locator("#referral-name").fill(PAYLOADS[5])
    page.locator("#referral-phone").fill(PAYLOADS[3])
    page.locator("#next").click()
    page.wait_for_load_state()
    assert_inert(page)
    html = page.content()
    assert PAYLOADS[5] not in html  # in the page source it is escaped


def test_staff_pages_show_payloads_as_text(app, demo, live_server, xss_page):
    page = xss_page
    rnd = db.session.scalars(db.select(FieldingRound)).first()
    rnd.name = PAYLOADS[5]
    settings = json.loads(json.dumps(rnd.settings or {}))
    settings["partner_quotas"] = {PAYLOADS[1]: 3}
    draw = settings.get("last_draw") or {}
    if draw.get("strata"):
        draw["strata"][0]["stratum"] = PAYLOADS[10]
    draw.setdefault("by_brand", {})[PAYLOADS[2]] = 1
    rnd.settings = settings
    poison_brand(db.session.scalars(db.select(Case)).first().brand)
    db.session.commit()

    client = app.test_client()
    staff_login(client, "analyst@star.example")
    cookie = client.get_cookie("session")
    page.context.add_cookies([{"name": "session", "value": cookie.value, "url": live_server}])

    page.goto(f"{live_server}/staff/rounds")
    assert_inert(page, PAYLOADS[5])
    page.goto(f"{live_server}/staff/rounds/{rnd.code}/sample")
    assert_inert(page, PAYLOADS[1], PAYLOADS[2], *([PAYLOADS[10]] if draw.get("strata") else []))
    page.goto(f"{live_server}/staff/rounds/{rnd.code}/exports")
    assert_inert(page)

    # The CSV export is a download that a browser never renders as a page.
    r = client.get(f"/staff/rounds/{rnd.code}/export.csv")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Disposition"].startswith("attachment")
