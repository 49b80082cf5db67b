"""Contact persons inactive 18½ months: the notice one month before (written once, to the
outbox), deletion no sooner than 30 days after it, every copy of the person cleared, and what
counts as activity."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from survey_app.auth.models import User
from survey_app.core.db import db
from survey_app.core.personal_data import rules
from survey_app.followup.callcentre.models import CallAttempt
from survey_app.followup.contact_retention import limits
from survey_app.followup.messaging.models import Message, MessageEvent, Suppression
from survey_app.followup.messaging.retention_notice import texts
from survey_app.sampling.models import Case, Posting

from .messaging_fixtures import drain, smtp_fixture  # noqa: F401

NOW = datetime(2028, 6, 1, 12, 0)
MINUTE = timedelta(minutes=1)
RULE = "contact-persons"


def run(dry_run: bool, now: datetime = NOW):
    report = rules()[RULE].apply(now, dry_run)
    db.session.commit()
    db.session.expire_all()
    return report


def _set(posting: Posting, at: datetime, email: str | None, phone: str | None = "+4520111111"):
    db.session.execute(
        update(Posting)
        .where(Posting.id == posting.id)
        .values(imported_at=at, updated_at=at, contact_email=email, contact_phone=phone)
    )


def _world():
    """Every demo person active yesterday, then six persons placed around the limits."""
    notice_cutoff, delete_cutoff = limits(NOW)
    yesterday = NOW - timedelta(days=1)
    db.session.execute(update(Posting).values(imported_at=yesterday, updated_at=yesterday))
    with_case = db.session.scalars(
        db.select(Posting).join(Case, Case.posting_id == Posting.id).order_by(Posting.id)
    ).all()
    without = db.session.scalars(
        db.select(Posting).where(~Posting.id.in_(db.select(Case.posting_id))).order_by(Posting.id)
    ).all()
    p = {
        "A": with_case[0],  # e-mail, a case, stale: notice first
        "E": with_case[1],  # stale posting, but answered yesterday: active
        "B": without[0],  # e-mail, just inside the deletion limit: notice only
        "C": without[1],  # phone only, just outside: deleted at once
        "D": without[2],  # e-mail, just inside the notice limit: nothing
        "F": without[3],  # phone only, just inside: nothing
    }
    _set(p["A"], delete_cutoff - MINUTE, "anna@firma-a.example", "+4520000001")
    _set(p["E"], delete_cutoff - MINUTE, "erik@firma-e.example", "+4520000005")
    _set(p["B"], delete_cutoff + MINUTE, "bo@firma-b.example", "+4520000002")
    _set(p["C"], delete_cutoff - MINUTE, None, "+4520000003")
    _set(p["D"], notice_cutoff + MINUTE, "dorte@firma-d.example", "+4520000004")
    _set(p["F"], delete_cutoff + MINUTE, None, "+4520000006")
    case_a = db.session.scalars(db.select(Case).filter_by(posting_id=p["A"].id)).one()
    case_e = db.session.scalars(db.select(Case).filter_by(posting_id=p["E"].id)).one()
    case_e.response.started_at = yesterday
    agent = db.session.scalars(db.select(User).filter_by(role="agent")).first()
    # what we sent or tried lately does not make the person active
    invitation = Message(case_id=case_a.id, channel="email", purpose="invitation",
                         to_address="anna@firma-a.example", brand_id=case_a.brand_id,
                         state="failed", last_error="550 anna@firma-a.example unknown",
                         created_at=yesterday)  # fmt: skip
    db.session.add(invitation)
    db.session.flush()
    db.session.add(MessageEvent(message_id=invitation.id, kind="fault", state="failed",
                                detail={"error": "550 anna@firma-a.example"}))  # fmt: skip
    call = CallAttempt(case_id=case_a.id, agent_id=agent.id, started_at=yesterday,
                       ended_at=yesterday, outcome="no_answer", phone="+4520000001",
                       referred_name="Ole Olsen", referred_phone="+4520999999",
                       note="Ole Olsen tager over")  # fmt: skip
    db.session.add(call)
    db.session.commit()
    ids = {k: v.id for k, v in p.items()}
    return ids, invitation.id, call.id


def _contact(posting_id: int):
    p = db.session.get(Posting, posting_id)
    return p.contact_name, p.contact_email, p.contact_phone


def _notices() -> list[Message]:
    return db.session.scalars(
        db.select(Message).filter_by(purpose="retention").order_by(Message.to_address)
    ).all()


def test_contact_persons_notice_once_then_deletion(demo):
    ids, invitation_id, call_id = _world()
    before = {k: _contact(v) for k, v in ids.items()}

    dry = run(dry_run=True)
    assert (dry.notified, dry.affected) == (2, 1)  # A and B told; C deleted
    assert dry.details["postings"] == 1
    assert _notices() == []
    assert {k: _contact(v) for k, v in ids.items()} == before

    real = run(dry_run=False)
    assert (real.notified, real.affected) == (2, 1)
    notices = _notices()
    assert [m.to_address for m in notices] == ["anna@firma-a.example", "bo@firma-b.example"]
    assert all(m.case_id is None and m.channel == "email" for m in notices)
    assert all(m.state in ("queued", "sending", "sent") for m in notices)
    assert _contact(ids["C"]) == (None, None, None)
    assert db.session.get(Posting, ids["C"]).text is None
    for key in ("A", "B", "D", "E", "F"):
        assert _contact(ids[key]) == before[key], key

    again = run(dry_run=False)  # idempotent: no second notice, nothing new to delete
    assert (again.notified, again.affected) == (0, 0)
    assert len(_notices()) == 2

    # 29 days on: A and B are past the limit but their notice is not 30 days old yet
    run(dry_run=False, now=NOW + timedelta(days=29))
    assert _contact(ids["A"]) == before["A"] and _contact(ids["B"]) == before["B"]
    assert _contact(ids["F"]) == (None, None, None)  # no address: no notice, deleted
    assert [m.to_address for m in _notices()].count("anna@firma-a.example") == 1

    later = run(dry_run=False, now=NOW + timedelta(days=31))
    assert later.affected >= 2
    assert _contact(ids["A"]) == (None, None, None)
    assert _contact(ids["B"]) == (None, None, None)
    # every copy of A: the message to the case, its provider event, the call, the notice
    invitation = db.session.get(Message, invitation_id)
    assert invitation.to_address == "" and invitation.last_error is None
    event = db.session.scalars(db.select(MessageEvent).filter_by(message_id=invitation_id)).one()
    assert event.detail == {}
    call = db.session.get(CallAttempt, call_id)
    assert (call.phone, call.referred_name, call.referred_phone, call.note) == (None,) * 4
    assert call.outcome == "no_answer"  # the attempt stays for the response rates
    addresses = {m.to_address for m in _notices()}
    assert "anna@firma-a.example" not in addresses and "bo@firma-b.example" not in addresses
    # E answered yesterday: active, kept
    assert _contact(ids["E"]) == before["E"]
    assert run(dry_run=False, now=NOW + timedelta(days=31)).affected == 0


def test_a_person_active_again_after_the_notice_is_not_deleted(demo):
    ids, _invitation, _call = _world()
    run(dry_run=False)  # A is told
    # a source delivers a posting naming A again
    posting = db.session.get(Posting, ids["A"])
    posting.updated_at = NOW + timedelta(days=1)
    db.session.commit()
    run(dry_run=False, now=NOW + timedelta(days=31))
    assert _contact(ids["A"])[1] == "anna@firma-a.example"


def test_the_notice_names_the_deletion_date_and_the_privacy_page(demo):
    _world()
    run(dry_run=False)
    notice = _notices()[0]
    subject, body = texts(notice)
    deletion = (notice.created_at + timedelta(days=30)).strftime("%d-%m-%Y")
    assert deletion in body and "/privacy/" in body
    assert subject


def test_the_notice_goes_out_through_the_outbox_like_every_message(demo, smtp):
    _world()
    run(dry_run=False)
    drain(demo)
    db.session.expire_all()
    sent = {m["To"]: m for m in smtp.sink.messages}
    assert set(sent) == {"anna@firma-a.example", "bo@firma-b.example"}
    assert all(m.state == "sent" and m.provider_id for m in _notices())
    body = sent["anna@firma-a.example"].get_body(("plain",)).get_content()
    assert "/privacy/" in body
    # an address suppressed (e.g. it bounced) gets nothing; the notice is recorded as suppressed
    db.session.add(Suppression(channel="email", address="dorte@firma-d.example", reason="bounce"))
    db.session.commit()
    run(dry_run=False, now=NOW + timedelta(days=31))
    drain(demo)
    db.session.expire_all()
    dorte = db.session.scalars(
        db.select(Message).filter_by(purpose="retention", to_address="dorte@firma-d.example")
    ).one()
    assert dorte.state == "suppressed"
    assert "dorte@firma-d.example" not in {m["To"] for m in smtp.sink.messages}
