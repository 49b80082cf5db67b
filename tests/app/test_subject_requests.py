"""Data-subject requests: an administrator finds a person by e-mail or phone, exports, corrects,
restricts and erases them; the statistical answer stays, nothing else of the person does."""

from __future__ import annotations

import html as htmllib
import json
import re

import pytest
from sqlalchemy import JSON, String, Text

from survey_app.auth.models import User
from survey_app.core.audit import AuditEvent
from survey_app.core.db import db
from survey_app.core.subject_match import mentions
from survey_app.followup.callcentre.models import CallAttempt
from survey_app.followup.messaging import outbox, services
from survey_app.followup.messaging.models import InboundMessage, Message, Suppression
from survey_app.privacy.requests import restricted_addresses
from survey_app.privacy.subject_models import SubjectRequest, SubjectRestriction
from survey_app.questionnaire.models import Answer
from survey_app.sampling.models import Case, Posting

from .helpers import csrf_token, staff_login
from .messaging_fixtures import smtp_fixture  # noqa: F401

NAME = "Karen Testesen"
EMAIL = "karen.testesen@eksempel.example"
PHONE = "+4531987654"
OTHER = {"name": "Ole Andersen", "email": "ole.andersen@andet.example", "phone": "+4542424242"}
ADMIN = "admin@star.example"
URL = "/staff/privacy/subjects"


def _cases(n: int) -> list[Case]:
    return db.session.scalars(db.select(Case).order_by(Case.id).limit(n)).all()


def _agent_id() -> int:
    return db.session.scalars(db.select(User.id).filter_by(role="agent")).first()


def seed(optout: bool = True) -> dict:
    """Karen is the contact of case A's posting (as stored by the import: mixed case, another
    notation), got an e-mail, sent an SMS, was referred to on case B (whose comment names her)
    and typed into case C's referral answer. Ole is the contact of case D."""
    a, b, c, d, e = _cases(5)
    a.posting.contact_name = NAME
    a.posting.contact_email = "Karen.Testesen@Eksempel.example"
    a.posting.contact_phone = "+45 31 98 76 54"
    d.posting.contact_name, d.posting.contact_email = OTHER["name"], OTHER["email"]
    d.posting.contact_phone = OTHER["phone"]
    message = Message(
        case_id=a.id, channel="email", purpose="invitation", to_address=EMAIL, brand_id=a.brand_id
    )
    other_message = Message(
        case_id=d.id,
        channel="email",
        purpose="invitation",
        to_address=OTHER["email"],
        brand_id=d.brand_id,
    )
    db.session.add_all([message, other_message])
    db.session.add(InboundMessage(provider_id="SM0001", from_address=PHONE, body="Hvem er I?"))
    agent = _agent_id()
    db.session.add_all(
        [
            CallAttempt(
                case_id=b.id,
                agent_id=agent,
                outcome="referred",
                phone=b.posting.contact_phone,
                referred_name=NAME,
                referred_phone="31 98 76 54",
            ),
            CallAttempt(case_id=b.id, agent_id=agent, outcome="no_answer", phone="0045 3198 7654"),
        ]
    )
    answers = {
        "respondent_role": "yes",
        "recruitment_status": "1",
        "outcome": "2",
        "positions": 3,
        "comment": f"Spørg {NAME} på 31-98-76-54, hun stod for det.",
    }
    for qid, value in answers.items():
        db.session.add(Answer(response_id=b.response_id, question_id=qid, value=value))
    db.session.add(
        Answer(
            response_id=c.response_id,
            question_id="referral",
            value={"name": NAME, "email": "KAREN.TESTESEN@eksempel.example", "phone": "31987654"},
        )
    )
    db.session.add(
        Answer(
            response_id=e.response_id, question_id="comment", value=f"Skriv til {OTHER['email']}"
        )
    )
    db.session.commit()
    if optout:
        services.opt_out(a, "link")
        db.session.commit()
    return {
        "a": a.id,
        "b": b.id,
        "c": c.id,
        "d": d.id,
        "message": message.id,
        "other_message": other_message.id,
    }


def admin(app):
    client = app.test_client()
    staff_login(client, ADMIN)
    client.get("/lang/en")
    return client


def text(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def post(client, path: str, **data):
    html = client.get(URL).get_data(as_text=True)
    return client.post(f"{URL}{path}", data={"csrf_token": csrf_token(html), **data})


def test_find_by_email_and_by_phone_in_another_notation(app, demo, caplog):
    ids = seed()
    client = admin(app)
    caplog.set_level("DEBUG")
    page = post(client, "", kind="email", value="  Karen.TESTESEN@eksempel.example ")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    for source in ("posting_contacts", "messages", "cases", "answers", "opt_outs", "suppressions"):
        assert f'id="source-{source}"' in html, source
    assert f'id="record-posting_contacts-{_cases(1)[0].posting_id}"' in html
    assert OTHER["email"] not in html
    # her number, from her posting, is offered as the next search
    assert f'name="value" value="{PHONE}"' in html.split('id="linked"')[1].split("</div>")[0]

    page = post(client, "", kind="phone", value="31 98 76 54")
    html = page.get_data(as_text=True)
    for source in ("posting_contacts", "call_attempts", "answers", "inbound_sms", "cases"):
        assert f'id="source-{source}"' in html, source
    assert "Spørg Karen Testesen" in html  # the comment that mentions her number
    b_calls = db.session.scalars(db.select(CallAttempt.id).filter_by(case_id=ids["b"])).all()
    for call_id in b_calls:
        assert f'id="record-call_attempts-{call_id}"' in html

    # recorded and audited, without the address or number anywhere
    requests = db.session.scalars(db.select(SubjectRequest).order_by(SubjectRequest.id)).all()
    assert [(r.action, r.kind) for r in requests] == [("find", "email"), ("find", "phone")]
    assert requests[1].sources["call_attempts"] == 2
    events = db.session.scalars(db.select(AuditEvent).filter_by(action="subject.find")).all()
    assert len(events) == 2 and events[0].object_id == str(requests[0].id)
    for text in [caplog.text] + [json.dumps(e.details) for e in events]:
        assert "karen" not in text.lower() and "98 76 54" not in text and PHONE not in text


def test_unusable_search_values_are_refused_with_the_reason(app, demo):
    client = admin(app)
    r = post(client, "", kind="email", value="karen@")
    assert r.status_code == 400
    assert "'karen@' is not an e-mail address" in text(r)
    r = post(client, "", kind="phone", value="12")
    assert r.status_code == 400 and "'12' is not a valid phone number" in text(r)
    r = post(client, "", kind="fax", value="12")
    assert r.status_code == 400


def test_export_holds_every_record_and_nothing_of_anyone_else(app, demo):
    ids = seed()
    client = admin(app)
    r = post(client, "/export", kind="phone", value="+45 3198 7654")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    text = r.get_data(as_text=True)
    doc = json.loads(text)
    assert doc["subject"] == {"kind": "phone", "value": PHONE}
    sources = doc["sources"]
    assert {r["id"] for r in sources["posting_contacts"]} == {
        db.session.get(Case, ids["a"]).posting_id
    }
    assert {r["data"]["case_id"] for r in sources["call_attempts"]} == {ids["b"]}
    assert {r["data"]["question_id"] for r in sources["answers"]} == {"comment", "referral"}
    assert [r["data"]["from_address"] for r in sources["inbound_sms"]] == [PHONE]
    assert {r["data"]["address"] for r in sources["suppressions"]} == {PHONE}
    assert [r["id"] for r in sources["cases"]] == [ids["a"]]
    assert [r["data"]["case_id"] for r in sources["opt_outs"]] == [ids["a"]]
    # by e-mail: the message too
    doc = json.loads(post(client, "/export", kind="email", value=EMAIL).get_data(as_text=True))
    assert [r["id"] for r in doc["sources"]["messages"]] == [ids["message"]]
    # nothing of another person: the only e-mail addresses in it are hers
    emails = {m.lower() for m in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)}
    assert emails <= {EMAIL}
    for value in OTHER.values():
        assert value not in text
    assert (
        db.session.scalar(
            db.select(db.func.count()).select_from(AuditEvent).filter_by(action="subject.export")
        )
        == 2
    )


def test_correction_and_its_validation_errors(app, demo):
    ids = seed(optout=False)
    client = admin(app)
    posting_id = db.session.get(Case, ids["a"]).posting_id
    r = post(client, "/correct", kind="email", value=EMAIL, source="posting_contacts",
             row_id=str(posting_id), field="contact_phone", new_value="12")  # fmt: skip
    assert r.status_code == 400
    assert (
        f"posting_contacts record {posting_id}, field contact_phone: '12' is not a valid phone "
        "number"
    ) in text(r)
    r = post(client, "/correct", kind="email", value=EMAIL, source="posting_contacts",
             row_id=str(posting_id), field="contact_email", new_value="karen(at)firma")  # fmt: skip
    assert r.status_code == 400
    assert (
        f"posting_contacts record {posting_id}, field contact_email: 'karen(at)firma' is not an "
        "e-mail address"
    ) in text(r)
    r = post(client, "/correct", kind="email", value=EMAIL, source="posting_contacts",
             row_id=str(posting_id), field="company_cvr", new_value="1")  # fmt: skip
    assert r.status_code == 400
    assert "field company_cvr: not a field that can be corrected" in text(r)
    # another person's record cannot be reached through her request
    other_posting = db.session.get(Case, ids["d"]).posting_id
    r = post(client, "/correct", kind="email", value=EMAIL, source="posting_contacts",
             row_id=str(other_posting), field="contact_phone", new_value="31987654")  # fmt: skip
    assert r.status_code == 400 and "no such record of this person" in text(r)
    db.session.expire_all()
    assert db.session.get(Posting, posting_id).contact_phone == "+45 31 98 76 54"

    r = post(client, "/correct", kind="email", value=EMAIL, source="posting_contacts",
             row_id=str(posting_id), field="contact_phone", new_value="20 11 22 33")  # fmt: skip
    assert r.status_code == 200, r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Posting, posting_id).contact_phone == "+4520112233"
    assert db.session.get(Posting, other_posting).contact_phone == OTHER["phone"]
    request = db.session.scalars(db.select(SubjectRequest).filter_by(action="correct")).one()
    assert request.detail == {"source": "posting_contacts", "row": str(posting_id),
                              "field": "contact_phone"}  # fmt: skip


def test_restriction_stops_a_queued_message(app, demo, smtp):
    ids = seed(optout=False)
    client = admin(app)
    r = post(client, "/restrict", kind="phone", value="31987654")
    assert r.status_code == 200
    assert 'id="restricted"' in text(r)
    db.session.expire_all()
    # every channel of her case stops at once, as with an opt-out
    message = db.session.get(Message, ids["message"])
    assert message.state == "suppressed"
    assert db.session.get(Case, ids["a"]).status == "opted_out"
    assert {(s.channel, s.address) for s in db.session.scalars(db.select(Suppression))} == {
        ("email", EMAIL),
        ("sms", PHONE),
    }
    # the case she was referred to on is called no more
    assert db.session.get(Case, ids["b"]).status == "opted_out"

    # the send path itself refuses her: a message queued afterwards (another case, the
    # suppressions lifted) is not sent, while another person's in the same batch is
    services.lift("email", EMAIL, ("opt_out",), "test")
    services.lift("sms", PHONE, ("opt_out",), "test")
    e = _cases(5)[4]
    mail = Message(case_id=e.id, channel="email", purpose="reminder", to_address=EMAIL,
                   brand_id=e.brand_id)  # fmt: skip
    db.session.add(mail)
    db.session.commit()
    counts = outbox.send_batch([mail.id, ids["other_message"]])
    db.session.expire_all()
    assert db.session.get(Message, mail.id).state == "suppressed"
    assert "restricted" in db.session.get(Message, mail.id).last_error
    assert db.session.get(Message, ids["other_message"]).state == "sent"
    assert [m["To"] for m in smtp.sink.messages] == [OTHER["email"]]
    assert counts["suppressed"] == 1
    # restricted by phone, her e-mail (from her posting) is restricted too
    assert sorted(db.session.scalars(db.select(SubjectRestriction.kind))) == ["email", "phone"]
    assert set(db.session.scalars(db.select(SubjectRestriction.reason))) == {"restricted"}
    assert restricted_addresses("sms", [PHONE, OTHER["phone"]]) == {PHONE}


def _traces(kind: str, value) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    low = text.lower()
    return (
        "karen" in low
        or "testesen" in low
        or mentions("phone", text, PHONE)
        or "31987654" in re.sub(r"\D", "", text)
    )


def test_erasure_leaves_no_trace_and_keeps_the_statistical_answer(app, demo):
    ids = seed()
    # a delivery copy of case B's answers, made before the erasure
    from survey_app.stats.delivery import encode, payloads

    b = db.session.get(Case, ids["b"])
    payload = encode(payloads([b.response_id])[b.response_id])
    assert NAME in payload
    from survey_app.stats.models import Delivery

    db.session.add(Delivery(response_id=b.response_id, payload=payload, payload_hash="0" * 64))
    db.session.commit()
    client = admin(app)

    r = post(client, "/erase", kind="email", value=EMAIL)  # not confirmed
    assert r.status_code == 400 and "Tick the box" in text(r)
    db.session.expire_all()
    assert db.session.get(Posting, b.posting_id) is not None
    assert db.session.get(Case, ids["a"]).posting.contact_email is not None

    r = post(client, "/erase", kind="phone", value=PHONE, confirm="yes", also="email:karen@")
    assert r.status_code == 400 and "'karen@' is not an e-mail address" in text(r)
    # one request: her number, and her address which the page offers ticked
    r = post(client, "/erase", kind="phone", value="31 98 76 54", confirm="yes",
             also=f"email:{EMAIL}")  # fmt: skip
    assert r.status_code == 200
    assert 'id="nothing"' in text(r)
    assert 'id="nothing"' in text(post(client, "", kind="email", value=EMAIL))

    db.session.expire_all()
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:
            continue
        for row in db.session.execute(db.select(*columns)).all():
            for column, value in zip(columns, row, strict=True):
                if value is not None and _traces("any", value):
                    found.append(f"{table.name}.{column.name}: {str(value)[:80]}")
    assert found == []

    # the statistical answer stays: case, response and coded answers of case B
    b = db.session.get(Case, ids["b"])
    values = {a.question_id: a.value for a in b.response.answers}
    assert values == {"respondent_role": "yes", "recruitment_status": "1", "outcome": "2",
                      "positions": 3, "comment": None}  # fmt: skip
    assert db.session.get(Case, ids["a"]) is not None
    assert db.session.get(Message, ids["message"]).channel == "email"
    assert (
        json.loads(db.session.scalars(db.select(Delivery.payload)).one())["answers"]["outcome"]
        == "2"
    )
    # Ole is untouched
    d = db.session.get(Case, ids["d"])
    assert (d.posting.contact_name, d.posting.contact_email) == (OTHER["name"], OTHER["email"])
    assert db.session.get(Message, ids["other_message"]).to_address == OTHER["email"]
    assert set(db.session.scalars(db.select(SubjectRestriction.reason))) == {"erased"}
    assert (
        db.session.scalar(
            db.select(db.func.count()).select_from(AuditEvent).filter_by(action="subject.erase")
        )
        == 2
    )


@pytest.mark.parametrize("role", ["analyst", "partner_operator", "supervisor", "agent"])
def test_roles_other_than_administrator_are_refused(app, demo, role):
    seed(optout=False)
    emails = {
        "analyst": "analyst@star.example",
        "partner_operator": "operator@jobportalen.example",
        "supervisor": "supervisor@callcentre.example",
        "agent": "agent@callcentre.example",
    }
    client = app.test_client()
    staff_login(client, emails[role])
    assert client.get(URL).status_code == 403
    html = client.get("/staff").get_data(as_text=True)
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        for path in ("", "/export", "/correct", "/restrict", "/erase"):
            r = client.post(
                f"{URL}{path}", data={"kind": "email", "value": EMAIL, "confirm": "yes"}
            )
            assert r.status_code == 403, (role, path)
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    assert URL not in html
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(SubjectRequest)) == 0
    assert db.session.get(Case, _cases(1)[0].id).posting.contact_email is not None


def test_anonymous_is_sent_to_login(app, demo):
    r = app.test_client().get(URL)
    assert r.status_code == 302 and "/login" in r.location
