"""One battery under every brand; staff pages check role and organisation."""

from __future__ import annotations

import re

import pytest

from survey_app.auth.models import User
from survey_app.core.db import db
from survey_app.demo import ROUND
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case

from .helpers import answer_survey, csrf_token, staff_login

PAGES_TO_COMPARE = [
    ("role", {"respondent_role": "yes"}),
    ("status", {"recruitment_status": "1"}),
    ("outcome", {"outcome": "3", "positions": "2"}),
    ("applicants", {"applicants": "5", "qualified_applicants": "0"}),
    ("reasons", {"unfilled_reason": ["2"]}),
    ("channels", {"channels": ["1"], "job_order": "1"}),
    ("comment", {}),
]


def questions_markup(html: str) -> str:
    """The question block of a page, with the per-request CSRF token removed."""
    block = re.search(r'<div class="questions">(.*?)</div>\s*<div class="actions">', html, re.S)
    assert block, "no question block"
    return block.group(1)


def test_every_brand_renders_the_identical_battery(app, demo):
    cases = {}
    for case in db.session.scalars(db.select(Case).order_by(Case.id)):
        cases.setdefault(case.brand.code, case)
    assert set(cases) == {"star", "jobportalen", "karrierenet"}
    rendered: dict[str, list[str]] = {}
    themes = {}
    for brand, case in cases.items():
        client = app.test_client()
        client.get(f"/s/{link_token(case.response)}")
        html = client.get("/survey").get_data(as_text=True)
        client.post("/survey/start", data={"csrf_token": csrf_token(html)})
        pages = []
        for page_id, data in PAGES_TO_COMPARE:
            html = client.get(f"/survey/p/{page_id}").get_data(as_text=True)
            pages.append(questions_markup(html))
            themes[brand] = re.search(r"<style[^>]*>:root \{(.*?)\}</style>", html).group(1)
            if data:
                r = client.post(
                    f"/survey/p/{page_id}", data={**data, "csrf_token": csrf_token(html)}
                )
                assert r.status_code == 302
        rendered[brand] = pages
    assert rendered["star"] == rendered["jobportalen"] == rendered["karrierenet"]
    assert len(set(themes.values())) == 3  # the brands do differ, only outside the questions


def login(client, email):
    staff_login(client, email)  # password, then the second factor where the role needs one


ROLE_USERS = {
    "admin": "admin@star.example",
    "analyst": "analyst@star.example",
    "partner_operator": "operator@jobportalen.example",
    "supervisor": "supervisor@callcentre.example",
    "agent": "agent@callcentre.example",
}
EXPORT_ALLOWED = {"admin", "analyst", "partner_operator"}


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_each_role_on_each_staff_route(app, demo, role):
    client = app.test_client()
    assert client.get("/staff/rounds").status_code == 302  # anonymous: to the login page
    login(client, ROLE_USERS[role])
    assert client.get("/staff").status_code == 200
    for url in ("/staff/rounds", f"/staff/rounds/{ROUND}/export.csv"):
        expected = 200 if role in EXPORT_ALLOWED else 403
        assert client.get(url).status_code == expected, (role, url)


def test_partner_operator_downloads_only_its_own_brands_cases(app, demo):
    star_case = db.session.scalars(
        db.select(Case).join(Case.brand).where(Case.brand.has(code="star"))
    ).first()
    answer_survey(app.test_client(), link_token(star_case.response))
    client = app.test_client()
    login(client, "operator@jobportalen.example")
    rows = client.get(f"/staff/rounds/{ROUND}/export.csv").get_data(as_text=True).splitlines()
    brands = {line.split(",")[3] for line in rows[1:]}
    assert brands == {"jobportalen"}
    assert len(rows) - 1 == 25  # the partner's quota in the demo round
    analyst = app.test_client()
    login(analyst, "analyst@star.example")
    rows = analyst.get(f"/staff/rounds/{ROUND}/export.csv").get_data(as_text=True).splitlines()
    assert {line.split(",")[3] for line in rows[1:]} == {"star", "jobportalen", "karrierenet"}
    assert len(rows) - 1 == 120


def test_wrong_password_and_disabled_user_are_refused(app, demo):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    r = client.post(
        "/login",
        data={
            "email": "admin@star.example",
            "password": "wrong-password",
            "csrf_token": csrf_token(html),
        },
    )
    assert r.status_code == 401
    login(client, "admin@star.example")
    user = db.session.scalars(db.select(User).filter_by(email="admin@star.example")).one()
    user.active = False
    user.session_version += 1
    db.session.commit()
    assert client.get("/staff").status_code == 302  # the open session ended
