"""The call centre on the database: call list, leases, outcomes, dispositions, phone interviews."""

from __future__ import annotations

from datetime import timedelta

import pytest

from survey_app.auth.models import User
from survey_app.auth.services import add_user
from survey_app.core.audit import AuditEvent
from survey_app.core.db import db, utcnow
from survey_app.demo import ROUND
from survey_app.followup.callcentre import calllist, services
from survey_app.followup.callcentre.models import (
    Appointment,
    CallAttempt,
    CallListItem,
    CaseDisposition,
    CaseLock,
)
from survey_app.questionnaire.models import Answer, PageVisit, Response
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case
from survey_app.sampling.rounds import get_round

from .helpers import OTHER_PROFILE_PATH, answer_survey, csrf_token, staff_login

ALL_DAY = {
    "enabled": True,
    "after_days": 0,
    "calling_days": [0, 1, 2, 3, 4, 5, 6],
    "day_start": "00:00",
    "day_end": "24:00",
    "slices": [["day", "00:00", "24:00"]],
}
PASSWORD = "a-long-test-password-1"


@pytest.fixture
def calls(demo):
    """The demo round fielded by the call centre around the clock, its list built."""
    rnd = get_round(ROUND)
    rnd.settings = {**rnd.settings, "calls": ALL_DAY}
    db.session.commit()
    counts = calllist.build(rnd)
    db.session.commit()
    assert counts["open"] > 100
    return rnd


def agent_id(email="agent@callcentre.example") -> int:
    return db.session.scalar(db.select(User.id).filter_by(email=email))


def second_agent() -> int:
    user, _password = add_user("agent2@callcentre.example", "agent", None, PASSWORD)
    db.session.commit()
    return user.id


def take(case_id: int, agent: int, now=None) -> Case:
    now = now or utcnow()
    assert calllist.lock_case(case_id, agent, timedelta(minutes=15), now)
    db.session.commit()
    return db.session.get(Case, case_id)


def first_callable(now=None) -> list[int]:
    now = now or utcnow()
    query = calllist.candidates_query(agent_id(), [get_round(ROUND).id], now, 200)
    return [i.case_id for i in db.session.scalars(query)]


def test_priority_hard_appointment_then_soft_then_first_calls(calls):
    now = utcnow()
    ids = first_callable(now)
    first, soft_case, hard_case = ids[0], ids[10], ids[20]
    db.session.add_all(
        [
            Appointment(case_id=hard_case, due_at=now - timedelta(minutes=1), hard=True),
            Appointment(case_id=soft_case, due_at=now - timedelta(hours=1), hard=False),
        ]
    )
    db.session.flush()
    calllist.replan([hard_case, soft_case], now)
    db.session.commit()
    order = first_callable(now)
    assert order[:3] == [hard_case, soft_case, first]
    me = agent_id()
    assert calllist.claim_next(me, now) == hard_case
    db.session.commit()
    # the agent holding a case gets it back rather than a second one
    assert calllist.claim_next(me, now) == hard_case


def test_lock_keeps_a_second_agent_off_and_expires(calls, app):
    other = second_agent()
    c1, c2 = app.test_client(), app.test_client()
    staff_login(c1, "agent@callcentre.example")
    staff_login(c2, "agent2@callcentre.example", PASSWORD)
    token = csrf_token(c1.get("/agent").get_data(as_text=True))
    r1 = c1.post("/agent/next", data={"csrf_token": token})
    token = csrf_token(c2.get("/agent").get_data(as_text=True))
    r2 = c2.post("/agent/next", data={"csrf_token": token})
    assert r1.status_code == r2.status_code == 302
    assert "/agent/case/" in r1.location and "/agent/case/" in r2.location
    assert r1.location != r2.location
    # the second agent cannot open the first agent's case
    r = c2.get(r1.location)
    assert r.status_code == 302 and r.location.endswith("/agent")
    assert c1.get(r1.location).status_code == 200
    # who saw a case (and its contact person) is in the audit log; a refused look is not
    seen = db.session.execute(
        db.select(AuditEvent.actor_label, AuditEvent.object_id).filter_by(action="case.viewed")
    ).all()
    assert seen == [("agent@callcentre.example", r1.location.rsplit("/", 1)[1])]
    # the lease runs out: the case is free again
    first_case = int(r1.location.rsplit("/", 1)[1])
    db.session.expire_all()
    later = utcnow() + timedelta(minutes=16)
    db.session.execute(db.delete(CaseLock).where(CaseLock.agent_id == other))
    db.session.commit()
    assert calllist.claim_next(other, later) == first_case


def test_web_answer_drops_the_case_at_once(calls, app):
    best = first_callable()[0]
    case = db.session.get(Case, best)
    answer_survey(app.test_client(), link_token(case.response))
    assert best not in first_callable()
    assert calllist.claim_next(agent_id()) != best


def test_six_no_answers_stop_the_calls(calls):
    me = agent_id()
    case_id = first_callable()[0]
    now = utcnow()
    for i in range(6):
        case = take(case_id, me, now)
        services.record_outcome(case, me, "no_answer", now=now)
        db.session.commit()
        item = db.session.scalar(db.select(CallListItem).filter_by(case_id=case_id))
        if i < 5:
            assert item.state == "open" and item.priority == 4
            assert item.due_at >= now + timedelta(hours=2)  # the minimum gap after no answer
        now += timedelta(hours=3)
    assert item.state == "done" and "no_answer 6 of 6" in item.reason
    assert case_id not in first_callable(now)
    assert db.session.get(CaseDisposition, case_id).code == "3.13"


def test_refusal_stops_every_channel(calls):
    from survey_app.followup.messaging.models import Reminder

    me = agent_id()
    case_id = first_callable()[0]
    db.session.add(Reminder(case_id=case_id, channel="email", step=1, due_at=utcnow()))
    db.session.commit()
    case = take(case_id, me)
    services.record_outcome(case, me, "refusal", note="Vil ikke deltage")
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case.status == "refused"
    assert db.session.scalar(db.select(Reminder.state).filter_by(case_id=case_id)) == "cancelled"
    assert db.session.get(CaseDisposition, case_id).code == "2.111"
    assert db.session.get(CaseLock, case_id) is None
    assert case_id not in first_callable()


def test_dispositions_follow_the_outcomes(calls):
    me = agent_id()
    a, b, c = first_callable()[:3]
    now = utcnow()
    services.record_outcome(take(a, me, now), me, "busy", now=now)
    services.record_outcome(take(b, me, now), me, "answering_machine", now=now)
    services.record_outcome(
        take(c, me, now),
        me,
        "callback",
        callback=services.Callback(now + timedelta(days=1), hard=True, mine=True),
        now=now,
    )
    db.session.commit()
    got = {cid: db.session.get(CaseDisposition, cid).code for cid in (a, b, c)}
    assert got == {a: "3.12", b: "3.14", c: "2.21"}
    item = db.session.scalar(db.select(CallListItem).filter_by(case_id=c))
    assert item.priority == 1 and item.preferred_agent_id == me
    assert item.due_at == now + timedelta(days=1) - timedelta(minutes=5)


def _walk(client, base: str, path) -> None:
    for page_id, data in path:
        html = client.get(f"{base}/p/{page_id}").get_data(as_text=True)
        r = client.post(f"{base}/p/{page_id}", data={**data, "csrf_token": csrf_token(html)})
        assert r.status_code == 302, (page_id, r.get_data(as_text=True)[:1500])


def test_phone_answers_then_web_continuation(calls, app):
    agent = app.test_client()
    staff_login(agent, "agent@callcentre.example")
    token = csrf_token(agent.get("/agent").get_data(as_text=True))
    case_url = agent.post("/agent/next", data={"csrf_token": token}).location
    case_id = int(case_url.rsplit("/", 1)[1])
    html = agent.get(case_url).get_data(as_text=True)
    r = agent.post(f"{case_url}/interview", data={"csrf_token": csrf_token(html)})
    base = f"/agent/case/{case_id}/survey"
    assert r.location.endswith(base)
    html = agent.get(base).get_data(as_text=True)
    agent.post(f"{base}/start", data={"csrf_token": csrf_token(html)})
    _walk(agent, base, OTHER_PROFILE_PATH[:4])
    # the company asks to finish on the web: the agent books a call-back and leaves the case
    html = agent.get(case_url).get_data(as_text=True)
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    r = agent.post(
        f"{case_url}/outcome",
        data={
            "csrf_token": csrf_token(html),
            "outcome": "callback",
            "callback_date": tomorrow,
            "callback_time": "10:00",
            "callback_kind": "soft",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    case = db.session.get(Case, case_id)
    me = agent_id()
    answers = db.session.scalars(db.select(Answer).filter_by(response_id=case.response_id)).all()
    assert answers and all(a.mode == "phone" and a.agent_id == me for a in answers)
    assert db.session.scalar(db.select(Response.mode).filter_by(id=case.response_id)) == "phone"
    visits = db.session.scalars(db.select(PageVisit.mode).filter_by(response_id=case.response_id))
    assert set(visits) == {"phone"}

    web = app.test_client()
    web.get(f"/s/{link_token(case.response)}")
    r = web.get("/survey")
    assert r.status_code == 302 and r.location.endswith("/survey/p/reasons")
    _walk(web, "/survey", OTHER_PROFILE_PATH[4:])
    review = web.get("/survey/review").get_data(as_text=True)
    assert "12" in review  # the applicants the agent entered
    web.post("/survey/submit", data={"csrf_token": csrf_token(review)})
    db.session.expire_all()
    modes = {
        qid: mode
        for qid, mode in db.session.execute(
            db.select(Answer.question_id, Answer.mode).filter_by(response_id=case.response_id)
        )
    }
    assert modes["applicants"] == "phone" and modes["comment"] == "web"
    assert db.session.get(Response, case.response_id).status == "completed"
    assert case_id not in first_callable()


def test_phone_interview_completes_and_marks_mixed(calls, app):
    """Web answers first, then the agent finishes by phone: the response becomes mixed."""
    case_id = first_callable()[0]
    case = db.session.get(Case, case_id)
    answer_survey(app.test_client(), link_token(case.response), OTHER_PROFILE_PATH[:2], False)
    agent = app.test_client()
    staff_login(agent, "agent@callcentre.example")
    take(case_id, agent_id())
    base = f"/agent/case/{case_id}/survey"
    html = agent.get(f"/agent/case/{case_id}").get_data(as_text=True)
    agent.post(f"/agent/case/{case_id}/interview", data={"csrf_token": csrf_token(html)})
    assert agent.get(base).location.endswith(f"{base}/p/outcome")
    _walk(agent, base, OTHER_PROFILE_PATH[2:])
    review = agent.get(f"{base}/review").get_data(as_text=True)
    r = agent.post(f"{base}/submit", data={"csrf_token": csrf_token(review)})
    assert r.location.endswith(f"{base}/done")
    db.session.expire_all()
    response = db.session.get(Response, case.response_id)
    assert response.status == "completed" and response.mode == "mixed"
    case = db.session.get(Case, case_id)
    assert case.status == "responded"
    call = db.session.scalar(db.select(CallAttempt).filter_by(case_id=case_id))
    assert call.outcome == "completed" and call.ended_at is not None
    assert db.session.get(CaseDisposition, case_id).code == "1.1"
    assert db.session.get(CaseLock, case_id) is None


def test_outcome_form_errors_name_the_field(calls, app):
    agent = app.test_client()
    staff_login(agent, "agent@callcentre.example")
    case_id = first_callable()[0]
    take(case_id, agent_id())
    html = agent.get(f"/agent/case/{case_id}").get_data(as_text=True)
    r = agent.post(
        f"/agent/case/{case_id}/outcome",
        data={"csrf_token": csrf_token(html), "outcome": "callback", "callback_time": "10:00"},
    )
    assert r.status_code == 400
    assert "Choose the day of the call-back." in r.get_data(as_text=True) or (
        "Vælg dagen" in r.get_data(as_text=True)
    )
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 0


def test_roles(calls, app):
    for email in ("operator@jobportalen.example",):
        c = app.test_client()
        staff_login(c, email)
        assert c.get("/agent").status_code == 403
        assert c.get("/staff/callcentre").status_code == 403
    c = app.test_client()
    staff_login(c, "agent@callcentre.example")
    assert c.get("/staff/callcentre").status_code == 403
    assert c.get("/agent").status_code == 200


def test_cli_build(demo, runner):
    # the demo round keeps the default 14 days before a case without a hand-over is called
    result = runner.invoke(args=["calls", "build", "--round", ROUND])
    assert result.exit_code == 0, result.output
    assert f"round {ROUND}: 0 on the list" in result.output
    result = runner.invoke(args=["calls", "build", "--round", ROUND, "--after-days", "0"])
    assert result.exit_code == 0, result.output
    open_items = db.session.scalar(
        db.select(db.func.count()).select_from(CallListItem).filter_by(state="open")
    )
    assert open_items > 100 and f"round {ROUND}: {open_items} on the list" in result.output
    result = runner.invoke(args=["calls", "list", "--round", ROUND, "--limit", "3"])
    assert result.exit_code == 0 and result.output.count("priority 3") == 3
    result = runner.invoke(args=["calls", "build", "--round", "nope"])
    assert result.exit_code != 0 and "does not exist" in result.output


def test_case_page_queries_do_not_grow_with_history(calls, app):
    from sqlalchemy import event

    agent = app.test_client()
    staff_login(agent, "agent@callcentre.example")
    me = agent_id()
    a, b = first_callable()[:2]
    now = utcnow() - timedelta(days=2)
    for _ in range(5):  # five calls on b, none on a
        services.record_outcome(take(b, me, now), me, "busy", now=now)
        now += timedelta(hours=1)
    db.session.commit()
    counts = []
    for case_id in (a, b):
        take(case_id, me)
        seen = []

        def count(*_args, seen=seen):
            seen.append(1)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert agent.get(f"/agent/case/{case_id}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(seen))
        db.session.execute(db.delete(CaseLock))
        db.session.commit()
    assert counts[0] == counts[1], counts


@pytest.mark.postgres_only
def test_two_agents_claim_at_the_same_moment(calls, app):
    """Both transactions stay open together: SKIP LOCKED hands them different cases, no waiting."""
    import threading

    other = second_agent()
    me = agent_id()
    barrier = threading.Barrier(2, timeout=20)
    got: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def work(agent: int) -> None:
        try:
            with app.app_context():
                got[agent] = calllist.claim_next(agent)
                barrier.wait()  # neither has committed yet
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(a,)) for a in (me, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert got[me] and got[other] and got[me] != got[other]
    locks = db.session.scalars(db.select(CaseLock.case_id)).all()
    assert sorted(locks) == sorted([got[me], got[other]])
