"""The load test's data, made through the service's own functions (run inside an app context).

- ``LOAD-PRIOR``: a past round of demo postings whose cases are given outcomes directly (the seed
  of a published release, so the statistics API has data to serve), published for its period;
- ``LOAD``: one posting per case with an e-mail address and a phone number; ``invitations send``
  later queues an e-mail and an SMS per case (2 invitations per case); respondents answer through
  its links. Reminder quiet hours are off for it, so the fan-out runs at any time of day;
- ``LOAD-WEB`` (optional): more cases whose links only extend the respondents' pool (long soaks);
- ``LOAD-CALLS``: cases on the call list (calls all day, every day) for the agents;
- agents (``agent<N>@load.example``) and statistics API keys, one per client.
"""

from __future__ import annotations

import io
import random
from datetime import date, timedelta

from bench.support import CALLS_ALL_DAY, postings_feed

PASSWORD = "load-password-1"  # noqa: S105 - bench credential, local database only
NO_QUIET_HOURS = {
    "steps": [{"channel": "email", "after_days": 7}, {"channel": "sms", "after_days": 10}],
    "max_reminders": 2,
    "quiet_hours": ["00:00", "00:00"],
    "no_sundays": False,
    "timezone": "Europe/Copenhagen",
}
OUTCOMES = ("success", "success", "other_profile", "not_filled", "ineligible", None)


def _import(data: bytes, fmt: str, name: str) -> None:
    from survey_app.partners.services import require_organisation
    from survey_app.sampling.importer import import_postings, row_errors

    result = import_postings(io.BytesIO(data), require_organisation("star"), name, fmt)
    if result.rejected:
        bad = [(e.field, e.reason) for e in list(row_errors(result.batch_id))[:5]]
        raise SystemExit(f"{name}: feed rows rejected: {bad}")


def _round(code: str, n: int, start: int, month: date, settings: dict):
    from survey_app.sampling.draw import draw_sample
    from survey_app.sampling.rounds import create_round

    _import(
        postings_feed(start, n, (month + timedelta(days=9)).isoformat(), "load"),
        "csv",
        f"{code}.csv",
    )
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    rnd = create_round(code, f"load test {code}", month, end, settings=settings)
    draw_sample(rnd, size=n, seed=1)
    return rnd


def _prior_round() -> int:
    """A past round with outcomes, published: what the statistics API serves."""
    from survey_app.core.db import db
    from survey_app.demo import feed as demo_feed
    from survey_app.demo import valid_cvr
    from survey_app.sampling.draw import draw_sample
    from survey_app.sampling.models import Case
    from survey_app.sampling.rounds import create_round
    from survey_app.stats.releases import publish

    rng = random.Random(2026)
    cvrs = [valid_cvr(rng) for _ in range(500)]
    _import(demo_feed("star", 600, rng, date(2026, 4, 1), cvrs), "jsonl", "prior.jsonl")
    rnd = create_round("LOAD-PRIOR", "load test, past round", date(2026, 4, 1), date(2026, 9, 30))
    draw_sample(rnd, size=400, seed=7)
    db.session.flush()
    for case in db.session.scalars(db.select(Case).filter_by(round_id=rnd.id)):
        outcome = rng.choice(OUTCOMES)
        if outcome:
            case.response.classification, case.response.status = outcome, "completed"
            case.status = "final"
    db.session.flush()
    return publish(["LOAD-PRIOR"], "2026Q3").id


def seed(cases: int, call_cases: int, web_cases: int, agents: int, api_clients: int) -> dict:
    """Everything the users need; commits. Returns the material for the data file."""
    from survey_app.auth.services import add_user
    from survey_app.core.db import db
    from survey_app.followup.callcentre import calllist
    from survey_app.partners.services import ensure_star
    from survey_app.questionnaire.bank import default_bank_path
    from survey_app.questionnaire.services import link_token, load_bank_version
    from survey_app.sampling.models import Case
    from survey_app.stats.api.keys import create_key
    from survey_app.stats.catalogue import TABLES

    ensure_star()
    load_bank_version(default_bank_path())
    db.session.commit()
    release = _prior_round()
    db.session.commit()
    rounds = [_round("LOAD", cases, 0, date(2026, 10, 1), {"reminders": NO_QUIET_HOURS})]
    if web_cases:
        rounds.append(_round("LOAD-WEB", web_cases, cases, date(2026, 12, 1), {}))
    db.session.commit()
    calls = _round(
        "LOAD-CALLS", call_cases, cases + web_cases, date(2026, 11, 1), {"calls": CALLS_ALL_DAY}
    )
    db.session.commit()
    listed = calllist.build(calls)
    db.session.commit()
    tokens = []
    for rnd in rounds:
        query = db.select(Case).filter_by(round_id=rnd.id).order_by(Case.id)
        tokens += [link_token(case.response) for case in db.session.scalars(query)]
    emails = [f"agent{n}@load.example" for n in range(1, agents + 1)]
    for email in emails:
        add_user(email, "agent", None, PASSWORD)
    keys = [
        create_key(f"Load client {n}", f"client{n}@load.example")[0]
        for n in range(1, api_clients + 1)
    ]
    db.session.commit()
    invited = db.session.scalar(
        db.select(db.func.count()).select_from(Case).where(Case.round_id == rounds[0].id)
    )
    return {
        "cases": invited,
        "release": release,
        "call_list": listed,
        "tokens": tokens,
        "agents": emails,
        "password": PASSWORD,
        "api_keys": keys,
        "tables": sorted(TABLES),
    }
