"""What the export tests and their neighbours share: answer sets for whole questionnaires, a
filled case, the demo round, and staff requesting exports through the queue."""

from __future__ import annotations

from survey_app.core.db import db
from survey_app.demo import ROUND
from survey_app.partners.models import Brand
from survey_app.questionnaire import services, store
from survey_app.questionnaire.services import bank_of
from survey_app.sampling.models import Case, FieldingRound

from .helpers import csrf_token, staff_login

OTHER_PROFILE = {
    "role": {"respondent_role": "yes"},
    "status": {"recruitment_status": 1},
    "outcome": {"outcome": 2, "positions": 3, "positions_filled": 2},
    "applicants": {"applicants": "dont_know"},
    "reasons": {"profile_gap": [1, 6], "profile_gap_other": "Kørekort"},
    "channels": {"channels": [1, 3], "job_order": 2},
    "comment": {"comment": '=HYPERLINK("http://evil.example","klik")'},
}
NOT_FILLED = {
    "role": {"respondent_role": "yes"},
    "status": {"recruitment_status": 1},
    "outcome": {"outcome": 3, "positions": 1},
    "applicants": {"applicants": 4, "qualified_applicants": 0},
    "reasons": {"unfilled_reason": [2]},
    "channels": {"channels": [8], "job_order": 1},
    "comment": {},
}
REFERRED = {
    "role": {"respondent_role": "no"},
    "referral": {"referral": {"name": "Ida Holm", "email": "ida@firma.example", "phone": ""}},
}


def fill(case: Case, pages: dict, mode: str = "web", lang: str = "da") -> None:
    response = case.response
    bank = bank_of(response.bank_version)
    services.record_notice_shown(response, lang, mode)
    draft = store.locked(response.id)
    for page_id, values in pages.items():
        store.save_page(draft, bank, page_id, values, mode=mode, lang=lang, device="desktop")
    services.complete(response, bank)
    db.session.commit()


def first_case(brand_code: str, skip: int = 0) -> Case:
    return db.session.scalars(
        db.select(Case)
        .join(Brand, Brand.id == Case.brand_id)
        .where(Brand.code == brand_code)
        .order_by(Case.id)
        .offset(skip)
        .limit(1)
    ).one()


def the_round() -> FieldingRound:
    return db.session.execute(db.select(FieldingRound).filter_by(code=ROUND)).scalar_one()


def run_exports_queue(app) -> None:
    """Production mode: a worker runs the queued export (embedded mode ran it inline)."""
    if app.config["EMBEDDED_QUEUE"]:
        return
    from rq import SimpleWorker

    from survey_app.core.queue import redis_connection

    SimpleWorker(["exports"], connection=redis_connection()).work(burst=True)


def request_export(client, fmt: str, code: str = ROUND):
    html = client.get(f"/staff/rounds/{code}/exports").get_data(as_text=True)
    return client.post(
        f"/staff/rounds/{code}/exports", data={"format": fmt, "csrf_token": csrf_token(html)}
    )


def login(app, email):
    client = app.test_client()
    staff_login(client, email)
    return client
