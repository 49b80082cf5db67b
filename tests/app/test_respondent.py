"""The respondent's pages through the test client: link, notice, routing, saving, completion."""

from __future__ import annotations

import re

import pytest

from survey_app.core.db import db
from survey_app.questionnaire.models import Answer, PageVisit, Response
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case

from .helpers import answer_survey, csrf_token


@pytest.fixture
def case(demo):
    return db.session.scalars(db.select(Case).order_by(Case.id)).first()


def start(client, token):
    client.get(f"/s/{token}")
    html = client.get("/survey").get_data(as_text=True)
    client.post("/survey/start", data={"csrf_token": csrf_token(html)})


def post_page(client, page_id, data):
    html = client.get(f"/survey/p/{page_id}").get_data(as_text=True)
    return client.post(f"/survey/p/{page_id}", data={**data, "csrf_token": csrf_token(html)})


def test_token_is_exchanged_for_a_session_and_leaves_the_url(client, case):
    token = link_token(case.response)
    r = client.get(f"/s/{token}")
    assert r.status_code == 302
    assert token not in r.location
    page = client.get("/survey").get_data(as_text=True)
    assert case.posting.job_title in page
    assert "Dine svar sendes til Styrelsen for Arbejdsmarked og Rekruttering" in page
    assert f"/privacy/{case.brand.code}" in page


def test_unknown_and_malformed_tokens_get_the_same_page(client, case):
    token = link_token(case.response)
    a = client.get("/s/" + token[:-1] + ("A" if token[-1] != "A" else "B"))
    b = client.get("/s/x")
    c = client.get("/s/" + "z" * 500)
    assert a.status_code == b.status_code == c.status_code == 404
    assert a.data == b.data == c.data
    assert client.get("/survey").status_code == 404  # no session, no survey


def test_short_code_from_a_letter_opens_the_response(client, case):
    html = client.get("/").get_data(as_text=True)
    code = case.response.short_code
    typed = f" {code[:5].lower()}-{code[5:]} "
    r = client.post("/code", data={"code": typed, "csrf_token": csrf_token(html)})
    assert r.status_code == 302 and r.location.endswith("/survey")


def test_notice_shown_is_recorded_with_version_and_time(client, case):
    start(client, link_token(case.response))
    db.session.refresh(case.response)
    assert case.response.notice_version == "2026-1"
    assert case.response.notice_shown_at is not None
    assert case.response.status == "in_progress"


def test_validation_errors_are_linked_and_nothing_invalid_is_saved(client, case):
    start(client, link_token(case.response))
    post_page(client, "role", {"respondent_role": "yes"})
    post_page(client, "status", {"recruitment_status": "1"})
    r = post_page(client, "outcome", {"outcome": "1", "positions": "3", "positions_filled": "5"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'class="error-summary"' in html and 'href="#positions_filled"' in html
    assert 'aria-describedby="positions_filled-error"' in html
    assert "3" in re.search(r'id="positions_filled-error">(.*?)</p>', html, re.S).group(1)
    saved = {
        a.question_id
        for a in db.session.scalars(db.select(Answer).filter_by(response_id=case.response_id))
    }
    assert saved == {"respondent_role", "recruitment_status"}


def test_answers_hidden_by_a_changed_route_are_removed(client, case):
    start(client, link_token(case.response))
    post_page(client, "role", {"respondent_role": "yes"})
    post_page(client, "status", {"recruitment_status": "1"})
    post_page(client, "outcome", {"outcome": "1", "positions": "3", "positions_filled": "3"})
    post_page(client, "status", {"recruitment_status": "2"})  # back, and now ongoing
    answers = {
        a.question_id
        for a in db.session.scalars(db.select(Answer).filter_by(response_id=case.response_id))
    }
    assert answers == {"respondent_role", "recruitment_status"}
    assert client.get("/survey").location.endswith("/survey/p/expected_close")


def test_resume_from_the_same_link_goes_to_the_first_unanswered_page(app, case):
    token = link_token(case.response)
    first = app.test_client()
    start(first, token)
    post_page(first, "role", {"respondent_role": "yes"})
    later = app.test_client()  # a new browser, the same link
    later.get(f"/s/{token}")
    assert later.get("/survey").location.endswith("/survey/p/status")


def test_completed_response_cannot_be_changed_and_replays_create_nothing(client, case):
    token = link_token(case.response)
    answer_survey(client, token)
    before = db.session.scalar(db.select(db.func.count(Answer.id)))
    html = client.get("/survey/done").get_data(as_text=True)
    assert "kan ikke længere ændres" in html
    # replayed final submit and a replayed page post: no change, no error page
    token_value = csrf_token(html) if "csrf_token" in html else None
    from flask import Flask  # noqa: F401

    r = client.post("/survey/submit", data={"csrf_token": token_value or ""})
    assert r.status_code in (302, 400)
    r = client.post("/survey/p/comment", data={"comment": "changed"})
    assert r.status_code in (302, 400)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Answer.id))) == before
    resp = db.session.get(Response, case.response_id)
    assert resp.status == "completed" and resp.answer_dict()["comment"] == "Svært at finde folk"
    assert client.get(f"/s/{token}").status_code == 302
    assert client.get("/survey").location.endswith("/survey/done")


def test_double_submit_with_valid_tokens_completes_once(client, case):
    answer_survey(client, link_token(case.response), submit=False)
    html = client.get("/survey/review").get_data(as_text=True)
    token = csrf_token(html)
    first = client.post("/survey/submit", data={"csrf_token": token})
    second = client.post("/survey/submit", data={"csrf_token": token})
    assert first.location.endswith("/survey/done") and second.location.endswith("/survey/done")
    from survey_app.core.audit import AuditEvent

    events = db.session.scalars(
        db.select(AuditEvent).filter_by(
            action="response.completed", object_id=str(case.response_id)
        )
    ).all()
    assert len(events) == 1


def test_forms_without_csrf_token_are_refused(client, case):
    client.get(f"/s/{link_token(case.response)}")
    assert client.post("/survey/start").status_code == 400
    db.session.refresh(case.response)
    assert case.response.notice_shown_at is None


def test_language_choice_sticks_and_changes_every_word(client, case):
    client.get(f"/s/{link_token(case.response)}")
    da = client.get("/survey").get_data(as_text=True)
    assert 'lang="da"' in da and "Start undersøgelsen" in da
    en = client.get("/survey?lang=en").get_data(as_text=True)
    assert 'lang="en"' in en and "Start the survey" in en and "Your answers are sent" in en
    again = client.get("/survey").get_data(as_text=True)
    assert "Start the survey" in again
    r = client.get("/lang/da?next=/survey")
    assert r.location.endswith("/survey")
    assert client.get("/lang/da?next=//evil.example").location.endswith("/")


def test_paradata_records_page_saves_with_mode_language_device(client, case):
    start(client, link_token(case.response))
    client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (iPhone; Mobile)"
    post_page(client, "role", {"respondent_role": "yes"})
    visit = db.session.scalars(db.select(PageVisit)).one()
    assert (visit.page_id, visit.mode, visit.language, visit.device) == (
        "role",
        "web",
        "da",
        "mobile",
    )


def test_text_from_answers_and_brands_is_escaped(client, case):
    brand = case.brand
    brand.name = '<img src=x onerror="alert(1)">'
    db.session.commit()
    start(client, link_token(case.response))
    post_page(client, "role", {"respondent_role": "no"})
    r = post_page(
        client,
        "referral",
        {"referral_name": "<script>alert(2)</script>", "referral_email": "hr@firma.example"},
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    html = client.get("/survey/review").get_data(as_text=True)
    assert "<img src=x onerror" not in html and "&lt;img src=x" in html
    assert "<script>alert(2)" not in html and "&lt;script&gt;alert(2)" in html


def test_security_headers_forbid_framing_of_normal_pages(client, case):
    r = client.get("/")
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_follow_up_revealed_on_the_same_page_is_asked_not_flagged(client, case):
    start(client, link_token(case.response))
    post_page(client, "role", {"respondent_role": "yes"})
    post_page(client, "status", {"recruitment_status": "1"})
    r = post_page(client, "outcome", {"outcome": "1", "positions": "3"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'id="more-questions"' in html and 'name="positions_filled"' in html
    assert "error-summary" not in html
    assert 'value="3"' in html  # what was typed is kept
    r = post_page(client, "outcome", {"outcome": "1", "positions": "3", "positions_filled": "3"})
    assert r.status_code == 302
