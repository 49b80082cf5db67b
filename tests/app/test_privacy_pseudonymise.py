"""Answers kept for statistics lose names, e-mails and phones once the round is closed; API
users inactive 18 months are deleted while the organisation and its usage stay."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from survey_app.core.db import db
from survey_app.core.personal_data import months_before, rules, scrub_text
from survey_app.questionnaire.models import Answer, Response
from survey_app.sampling.models import Case, FieldingRound
from survey_app.stats.api_models import ApiCall, ApiClient, ApiKey
from survey_app.stats.models import Delivery

NOW = datetime(2028, 6, 1, 12, 0)
MINUTE = timedelta(minutes=1)


def run(rule: str, dry_run: bool):
    report = rules()[rule].apply(NOW, dry_run)
    db.session.commit()
    db.session.expire_all()
    return report


def _answered_case() -> tuple[int, dict]:
    case = db.session.scalars(db.select(Case).order_by(Case.id)).first()
    name = case.posting.contact_name
    answers = {
        "respondent_role": "yes",
        "recruitment_status": "1",
        "outcome": "2",
        "positions": 3,
        "profile_gap": {"codes": ["1", "6"], "other": "Hun talte ikke dansk, spørg Mette Holm"},
        "comment": f"Ring til {name} på 20 12 34 56 eller skriv til {name.split()[0].lower()}@"
        "firma.example. Opslaget fra 10-05-2026 gav 12 ansøgere.",
        "referral": {"name": "Mette Holm", "email": "mette@firma.example", "phone": "+4520999999"},
    }
    for qid, value in answers.items():
        db.session.add(Answer(response_id=case.response_id, question_id=qid, value=value))
    context = dict(case.response.context)
    case.response.context = {**context, "job_title": f"Assistent for {name} (ring 20 30 40 50)"}
    case.response.status = "completed"
    case.response.completed_at = NOW - timedelta(days=100)
    db.session.add(
        Delivery(
            response_id=case.response_id,
            payload=json.dumps({"answers": answers}),
            payload_hash="0" * 64,
            state="delivered",
        )  # fmt: skip
    )
    db.session.commit()
    return case.response_id, answers


def _values(response_id: int) -> dict:
    rows = db.session.scalars(db.select(Answer).filter_by(response_id=response_id)).all()
    return {a.question_id: a.value for a in rows}


def test_answers_are_pseudonymised_after_the_round_closes_and_the_statistics_stay(demo):
    response_id, given = _answered_case()
    rnd = db.session.scalars(db.select(FieldingRound)).one()

    # the round is still open: nothing to do
    assert run("pseudonymise-answers", dry_run=False).affected == 0
    assert _values(response_id) == given

    rnd.status = "closed"
    db.session.commit()
    dry = run("pseudonymise-answers", dry_run=True)
    assert dry.affected >= 1 and dry.details["answers_changed"] == 3
    assert dry.details["contexts_changed"] == 1
    assert _values(response_id) == given

    real = run("pseudonymise-answers", dry_run=False)
    assert real.details["answers_changed"] == 3
    values = _values(response_id)
    # the statistical answer survives
    for qid in ("respondent_role", "recruitment_status", "outcome", "positions"):
        assert values[qid] == given[qid], qid
    assert values["profile_gap"]["codes"] == ["1", "6"]
    assert "Mette" not in values["profile_gap"]["other"]
    assert values["referral"] == {"name": None, "email": None, "phone": None}
    comment = values["comment"]
    name = given["comment"].split(" på ")[0].removeprefix("Ring til ")
    assert name not in comment and "@" not in comment and "20 12 34 56" not in comment
    assert "10-05-2026" in comment and "12 ansøgere" in comment  # a date and a count stay
    context = db.session.get(Response, response_id).context
    assert name not in context["job_title"] and "20 30 40 50" not in context["job_title"]
    assert context["job_title"].startswith("Assistent for [name]")
    assert context["posted_on"] and context["source_name"]  # the rest of the context stays
    assert db.session.get(Response, response_id).pseudonymised_at == NOW
    assert run("pseudonymise-answers", dry_run=False).affected == 0  # idempotent

    # the delivered copy of the answers follows
    assert run("pseudonymise-deliveries", dry_run=True).affected == 1
    assert run("pseudonymise-deliveries", dry_run=False).affected == 1
    delivery = db.session.scalars(db.select(Delivery)).one()
    body = json.loads(delivery.payload)
    assert body["answers"]["outcome"] == "2"
    assert "mette@firma.example" not in delivery.payload and "Mette" not in delivery.payload
    assert run("pseudonymise-deliveries", dry_run=False).affected == 0


def test_scrub_text_keeps_numbers_that_are_not_phones():
    assert scrub_text("12 ansøgere, 3 ansat i 2026") == "12 ansøgere, 3 ansat i 2026"
    assert scrub_text("ring 2012 3456") == "ring [phone]"
    assert scrub_text("skriv til a.b@c.dk") == "skriv til [e-mail]"
    assert scrub_text("Jens Hansen sagde ja", ["Jens Hansen"]) == "[name] sagde ja"


def _client(name: str, last_used, created, sole: bool = False) -> ApiClient:
    client = ApiClient(organisation=name, contact_name="Kim Kontakt",
                       contact_email=f"kim@{name.lower().replace(' ', '')}.example",
                       created_at=created, last_used_at=last_used,
                       sole_proprietorship=sole)  # fmt: skip
    db.session.add(client)
    db.session.flush()
    db.session.add(ApiKey(client_id=client.id, key_hash=f"{client.id:064d}", prefix="k"))
    return client


def test_api_users_inactive_18_months_are_deleted_the_organisation_and_usage_stay(ctx):
    cutoff = months_before(NOW, 18)
    long_ago = cutoff - timedelta(days=400)
    stale = _client("Analyse A/S", cutoff - MINUTE, long_ago)
    fresh = _client("Fresh ApS", cutoff + MINUTE, long_ago)
    sole = _client("Kim Hansens Konsulentfirma", None, cutoff - MINUTE, sole=True)
    recent_call = _client("Calls ApS", cutoff - timedelta(days=10), long_ago)
    db.session.add_all([
        ApiCall(client_id=stale.id, endpoint="/api/v1/subjects", params={}, status=200,
                duration_ms=2.0, at=cutoff - timedelta(days=3)),
        ApiCall(client_id=recent_call.id, endpoint="/api/v1/subjects", params={}, status=200,
                duration_ms=2.0, at=cutoff + MINUTE),
    ])  # fmt: skip
    db.session.commit()
    ids = {"stale": stale.id, "fresh": fresh.id, "sole": sole.id, "calls": recent_call.id}

    dry = run("api-users", dry_run=True)
    assert dry.affected == 2 and dry.details["sole_proprietorships"] == 1
    assert all(db.session.get(ApiClient, i).contact_email for i in ids.values())

    real = run("api-users", dry_run=False)
    assert real.affected == 2
    gone = db.session.get(ApiClient, ids["stale"])
    assert (gone.contact_name, gone.contact_email) == (None, None) and gone.removed_at == NOW
    assert gone.organisation == "Analyse A/S"  # the organisation's name stays
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiCall)
                             .filter_by(client_id=gone.id)) == 1  # fmt: skip
    keys = db.session.scalars(db.select(ApiKey).filter_by(client_id=gone.id)).all()
    assert all(k.revoked_at == NOW for k in keys)
    anonymised = db.session.get(ApiClient, ids["sole"])
    assert "Kim" not in anonymised.organisation and anonymised.contact_email is None
    for key in ("fresh", "calls"):
        kept = db.session.get(ApiClient, ids[key])
        assert kept.contact_email and kept.removed_at is None, key
    assert run("api-users", dry_run=False).affected == 0


def test_a_sole_proprietorship_is_marked_when_its_key_is_created(ctx, runner):
    args = ["api-keys", "create", "--org", "Kim Hansen Rådgivning", "--contact", "kim@kh.example"]
    result = runner.invoke(args=[*args, "--sole-proprietorship"])
    assert result.exit_code == 0, result.output
    client = db.session.scalars(db.select(ApiClient)).one()
    assert client.sole_proprietorship and client.removed_at is None
    # removed for inactivity, then back with a new contact person: the access works again
    client.contact_email, client.removed_at = None, NOW
    db.session.commit()
    result = runner.invoke(args=[*args[:-1], "ny@kh.example"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    client = db.session.scalars(db.select(ApiClient)).one()
    assert client.contact_email == "ny@kh.example" and client.removed_at is None
