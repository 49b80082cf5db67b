"""The supervisor's dashboard against a hand-built set of calls and answers; CSV downloads."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from survey_app.auth.models import User
from survey_app.core.db import db, utcnow
from survey_app.demo import ROUND
from survey_app.followup.callcentre import calllist, services
from survey_app.followup.callcentre.models import Appointment, CallAttempt
from survey_app.partners.models import Brand
from survey_app.questionnaire.models import Response
from survey_app.sampling.models import Case
from survey_app.sampling.rounds import get_round

from .helpers import staff_login
from .test_callcentre import ALL_DAY


def test_dashboard_numbers_and_csv(demo, app):
    rnd = get_round(ROUND)
    rnd.settings = {**rnd.settings, "calls": ALL_DAY}
    brand = db.session.scalar(db.select(Brand).filter_by(code="jobportalen"))
    brand.name = "=HYPERLINK(1)"
    db.session.commit()
    agent = db.session.scalar(db.select(User.id).filter_by(email="agent@callcentre.example"))
    cases = db.session.scalars(db.select(Case).order_by(Case.id)).all()
    total = len(cases)
    # two completes on the web, one refusal, one no answer, one answering machine, one call-back
    for case in cases[:2]:
        response = db.session.get(Response, case.response_id)
        response.status, response.classification = "completed", "success"
    # Yesterday late morning in Copenhagen: the four calls fall within one working day whatever
    # the time the test runs (an agent's span is counted per local day).
    start = (utcnow() - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    outcomes = ["refusal", "no_answer", "answering_machine", "callback"]
    for i, (case, outcome) in enumerate(zip(cases[2:6], outcomes, strict=True)):
        at = start + timedelta(minutes=30 * i)
        assert calllist.lock_case(case.id, agent, timedelta(minutes=15), at)
        call = CallAttempt(case_id=case.id, agent_id=agent, started_at=at, phone="+4520000000")
        db.session.add(call)
        db.session.flush()
        callback = None
        if outcome == "callback":
            due = (utcnow() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
            callback = services.Callback(due, hard=True, mine=False)
        services.record_outcome(
            case, agent, outcome, callback=callback, now=at + timedelta(minutes=4)
        )
    db.session.commit()

    # RR1 by hand: I / all cases with known or unknown eligibility (no case is ineligible here)
    interviews, refusals, contacts = 2, 1, 1
    others_unknown = total - interviews - refusals - contacts
    rr1 = interviews / (interviews + refusals + contacts + others_unknown)
    coop1 = interviews / (interviews + refusals)

    client = app.test_client()
    staff_login(client, "supervisor@callcentre.example")
    html = client.get("/staff/callcentre").get_data(as_text=True)
    assert html.count("<svg") >= 8

    def table(name):
        r = client.get(f"/staff/callcentre/{name}.csv?round={ROUND}")
        assert r.status_code == 200 and r.mimetype == "text/csv"
        return list(csv.reader(io.StringIO(r.get_data(as_text=True))))

    rates = dict(table("rates")[1:])
    assert float(rates["RR1"]) == round(rr1, 4)
    assert float(rates["COOP1"]) == round(coop1, 4)
    dispositions = {row[0]: int(row[3]) for row in table("dispositions")[1:]}
    assert dispositions == {
        "1.1": 2, "2.111": 1, "2.21": 1, "3.11": total - 6, "3.13": 1, "3.14": 1,
    }  # fmt: skip
    attempts = {row[0]: int(row[1]) for row in table("attempts")[1:]}
    assert attempts == {"0": total - 4, "1": 4}
    agents = table("agents")
    assert agents[1][0] == "agent@callcentre.example"
    assert agents[1][1] == "4"  # calls
    # four calls from the first start to the last end (1 h 34 min): calls per hour
    assert float(agents[1][3]) == round(4 / (94 / 60), 1)
    assert agents[1][5] == "240"  # four-minute calls
    appointments = table("appointments")
    assert [int(v) for v in appointments[1][1:]] == [1, 0, 1]
    progress = {row[0]: row for row in table("progress_round")[1:]}
    assert progress[ROUND][1:4] == [str(total), "2", "0"]
    brands = [row[0] for row in table("progress_brand")[1:]]
    assert "'=HYPERLINK(1)" in brands  # formula-safe
    assert db.session.scalar(db.select(db.func.count()).select_from(Appointment)) == 1


def test_a_shift_across_utc_midnight_is_one_working_day(demo, app):
    rnd = get_round(ROUND)
    rnd.settings = {**rnd.settings, "calls": ALL_DAY}
    db.session.commit()
    agent = db.session.scalar(db.select(User.id).filter_by(email="agent@callcentre.example"))
    cases = db.session.scalars(db.select(Case).order_by(Case.id).limit(2)).all()
    # 23:30 and 00:30 UTC in January are 00:30 and 01:30 in Copenhagen: one local day, two UTC days.
    first = datetime(2026, 1, 14, 23, 30)
    for i, case in enumerate(cases):
        at = first + timedelta(hours=i)
        assert calllist.lock_case(case.id, agent, timedelta(minutes=15), at)
        db.session.add(
            CallAttempt(case_id=case.id, agent_id=agent, started_at=at, phone="+4520000000")
        )
        db.session.flush()
        services.record_outcome(case, agent, "no_answer", now=at + timedelta(minutes=4))
    db.session.commit()

    client = app.test_client()
    staff_login(client, "supervisor@callcentre.example")
    r = client.get(f"/staff/callcentre/agents.csv?round={ROUND}")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    # From the first call's start to the last call's end: 64 minutes, not two spans of 4.
    assert rows[1][:4] == ["agent@callcentre.example", "2", str(round(64 / 60, 2)), "1.9"]
