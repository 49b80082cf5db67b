"""Fixtures of the messaging tests: a small sampled round, SMTP and Twilio stand-ins, a drain
that runs queued jobs when the suite runs on real Redis."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from survey_app.core.db import db
from survey_app.partners.services import add_organisation, ensure_star, require_organisation
from survey_app.questionnaire.bank import default_bank_path
from survey_app.questionnaire.services import link_token, load_bank_version
from survey_app.sampling.draw import draw_sample
from survey_app.sampling.importer import import_postings
from survey_app.sampling.models import Case
from survey_app.sampling.rounds import create_round

from .helpers import cvr
from .messaging_fakes import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    SmtpServer,
    smtp_config,
    twilio_config,
)

COLUMNS = (
    "source_posting_id", "posted_on", "job_title", "cvr", "p_number", "company_name",
    "municipality_code", "contact_name", "contact_email", "contact_phone",
)  # fmt: skip


def postings(source: str, n: int, start: int = 0) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i in range(start, start + n):
        writer.writerow(
            {
                "source_posting_id": f"{source}-{i}",
                "posted_on": "2026-05-10",
                "job_title": "Tømrer",
                "cvr": cvr(i),
                "p_number": str(4000000000 + i),
                "company_name": f"Firma {i} ApS",
                "municipality_code": "101",
                "contact_name": f"Kontakt {i}",
                "contact_email": f"Kontakt{i}@Firma{i}.example",
                "contact_phone": f"+452012{i:04d}",
            }
        )
    return out.getvalue().encode("utf-8")


def make_round(n: int = 4, code: str = "R1", partner: bool = True, **settings):
    ensure_star()
    load_bank_version(default_bank_path())
    import_postings(io.BytesIO(postings("star", n)), require_organisation("star"), "s.csv", "csv")
    quotas = {}
    if partner:
        org = add_organisation("jobportalen", "Jobportalen")
        org.default_brand.colours = {"primary": "#6a1b4d"}
        import_postings(io.BytesIO(postings("jobportalen", 2, start=100)), org, "j.csv", "csv")
        quotas = {"jobportalen": 2}
    rnd = create_round(
        code,
        code,
        date(2026, 5, 1),
        date(2026, 5, 31),
        settings={"partner_quotas": quotas, **settings},
    )
    draw_sample(rnd, size=n + (2 if partner else 0), seed=1)
    db.session.commit()
    return rnd


def cases_of(rnd) -> list[Case]:
    return db.session.scalars(db.select(Case).filter_by(round_id=rnd.id).order_by(Case.id)).all()


def token_of(case: Case) -> str:
    return link_token(case.response)


def drain(app) -> None:
    """Run the jobs waiting in Redis (production mode); in the embedded mode they ran already."""
    if app.config["EMBEDDED_QUEUE"]:
        return
    from rq import SimpleWorker

    from survey_app.core.queue import QUEUE_NAMES, redis_connection

    SimpleWorker(list(QUEUE_NAMES), connection=redis_connection()).work(burst=True)


@pytest.fixture(name="smtp")
def smtp_fixture(app):
    with SmtpServer() as server:
        old = {k: app.config.get(k) for k in smtp_config(server)}
        app.config.update(smtp_config(server))
        yield server
        app.config.update(old)


@pytest.fixture(name="twilio")
def twilio_fixture(app):
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as fake:
        old = {k: app.config.get(k) for k in twilio_config(fake)}
        app.config.update(twilio_config(fake))
        yield fake
        app.config.update(old)
