"""Bounces after the send: RFC 3464 delivery status notifications matched back to the outbox."""

from __future__ import annotations

from survey_app.core.db import db, utcnow
from survey_app.followup.messaging import outbox
from survey_app.followup.messaging.invitations import create_invitations
from survey_app.followup.messaging.models import Message, MessageEvent, Reminder, Suppression

from .messaging_fixtures import cases_of, drain, make_round, smtp_fixture  # noqa: F401

BOUNCES = "bounces@star.example"


def dsn(
    to: str,
    recipient: str,
    status: str,
    action: str = "failed",
    original: bytes | None = None,
    diagnostic: str = "smtp; 550 5.1.1 <x>: Recipient address rejected: User unknown",
) -> bytes:
    """A bounce as a receiving MTA (Postfix style) writes it."""
    parts = [
        b"From: MAILER-DAEMON@mx.firma.example (Mail Delivery System)\r\n"
        b"To: " + to.encode() + b"\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"\r\n'
        b"\r\n--BOUND\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"I'm sorry to have to inform you that your message could not be delivered.\r\n"
        b"\r\n--BOUND\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.firma.example\r\n"
        b"Arrival-Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n\r\n"
        b"Final-Recipient: rfc822; " + recipient.encode() + b"\r\n"
        b"Original-Recipient: rfc822;" + recipient.encode() + b"\r\n"
        b"Action: " + action.encode() + b"\r\n"
        b"Status: " + status.encode() + b"\r\n"
        b"Diagnostic-Code: " + diagnostic.encode() + b"\r\n"
    ]
    if original is not None:
        parts.append(
            b"\r\n--BOUND\r\nContent-Type: text/rfc822-headers\r\n\r\n" + original + b"\r\n"
        )
    parts.append(b"\r\n--BOUND--\r\n")
    return b"".join(parts)


def send_invitations(app, smtp, n=2):
    rnd = make_round(n=n, partner=False)
    run = create_invitations(rnd, "email")
    db.session.commit()
    outbox.dispatch(run.created)
    drain(app)
    db.session.expire_all()
    return rnd


def headers_of(mail) -> bytes:
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in mail.items())


def test_permanent_bounce_by_verp_fails_suppresses_and_moves_the_case_on(
    ctx, smtp, runner, tmp_path
):
    ctx.config["SMTP_BOUNCE_ADDRESS"] = BOUNCES
    try:
        rnd = send_invitations(ctx, smtp)
    finally:
        ctx.config.pop("SMTP_BOUNCE_ADDRESS")
    case, other = cases_of(rnd)
    message = db.session.scalars(db.select(Message).filter_by(case_id=case.id)).one()
    assert message.state == "sent"
    # the envelope sender is the signed VERP address naming the outbox row
    verp = next(s for s in smtp.sink.senders if f"+m{message.id}-" in s)
    assert verp.startswith("bounces+m") and verp.endswith("@star.example")
    assert f".m{message.id}@" in message.provider_id

    report = tmp_path / "bounce.eml"
    report.write_bytes(dsn(verp, message.to_address, "5.1.1"))
    result = runner.invoke(args=["followup", "bounce", str(report)])
    assert result.exit_code == 0, result.output
    assert f"message {message.id} (case {case.id}) 5.1.1 failed: failed permanently" in (
        result.output
    )
    db.session.expire_all()
    message = db.session.get(Message, message.id)
    assert message.state == "failed" and message.error_permanent
    assert message.last_error.startswith("bounce 5.1.1")
    sup = db.session.execute(db.select(Suppression)).scalar_one()
    assert (sup.channel, sup.address, sup.reason) == ("email", message.to_address, "bounce")
    # the case moves on: its e-mail step is dropped, the next step (SMS) is due now
    steps = {
        r.channel: r for r in db.session.scalars(db.select(Reminder).filter_by(case_id=case.id))
    }
    assert steps["email"].state == "cancelled"
    assert steps["sms"].state == "pending" and steps["sms"].due_at <= utcnow()
    # the other case is untouched
    assert {
        m.state for m in db.session.scalars(db.select(Message).filter_by(case_id=other.id))
    } == {"sent"}
    event = db.session.scalars(db.select(MessageEvent).filter_by(kind="bounce")).one()
    assert event.raw_status == "5.1.1" and event.detail["applied"] is True

    # the same report again (a repeated delivery) is recorded but changes nothing
    again = runner.invoke(args=["followup", "bounce", str(report)])
    assert again.exit_code == 0 and "(already failed)" in again.output
    assert db.session.scalar(db.select(db.func.count(Suppression.id))) == 1
    assert (
        db.session.scalar(db.select(db.func.count(MessageEvent.id)).filter_by(kind="bounce")) == 2
    )


def test_temporary_bounce_is_an_event_only(ctx, smtp, runner):
    rnd = send_invitations(ctx, smtp)
    case = cases_of(rnd)[0]
    message = db.session.scalars(db.select(Message).filter_by(case_id=case.id)).one()
    original = headers_of(next(m for m in smtp.sink.messages if m["To"] == message.to_address))
    report = dsn(
        "survey@star.example",
        message.to_address,
        "4.2.2",
        action="delayed",
        original=original,
        diagnostic="smtp; 452 4.2.2 Mailbox full",
    )
    result = runner.invoke(args=["followup", "bounce", "-"], input=report)
    assert result.exit_code == 0, result.output
    assert "4.2.2 delayed: temporary failure recorded" in result.output
    db.session.expire_all()
    message = db.session.get(Message, message.id)
    assert message.state == "sent" and not message.error_permanent
    assert db.session.scalar(db.select(db.func.count(Suppression.id))) == 0
    event = db.session.scalars(db.select(MessageEvent).filter_by(kind="bounce")).one()
    assert (event.raw_status, event.state, event.detail["permanent"]) == ("4.2.2", "sent", False)
    assert event.detail["diagnostic"] == "452 4.2.2 Mailbox full"
    pending = db.session.scalars(
        db.select(Reminder).filter_by(case_id=case.id, channel="email")
    ).one()
    assert pending.state == "pending" and pending.due_at > utcnow()


def test_http_endpoint_matches_by_message_id_and_needs_its_token(ctx, smtp, client):
    rnd = send_invitations(ctx, smtp)
    case = cases_of(rnd)[1]
    message = db.session.scalars(db.select(Message).filter_by(case_id=case.id)).one()
    original = headers_of(next(m for m in smtp.sink.messages if m["To"] == message.to_address))
    report = dsn("survey@star.example", message.to_address, "5.2.1", original=original)
    headers = {"Content-Type": "message/rfc822"}
    assert client.post("/hooks/email/bounce", data=report, headers=headers).status_code == 404
    ctx.config["BOUNCE_TOKEN"] = "bounce-token-for-tests"
    try:
        wrong = client.post(
            "/hooks/email/bounce", data=report, headers={**headers, "Authorization": "Bearer x"}
        )
        assert wrong.status_code == 403
        auth = {**headers, "Authorization": "Bearer bounce-token-for-tests"}
        ok = client.post("/hooks/email/bounce", data=report, headers=auth)
        assert ok.status_code == 200, ok.get_data(as_text=True)
        assert ok.json == {
            "message": message.id,
            "case": case.id,
            "status": "5.2.1",
            "action": "failed",
            "outcome": "failed",
            "applied": True,
        }
        bad = client.post("/hooks/email/bounce", data=b"Subject: hi\r\n\r\nhello", headers=auth)
        assert bad.status_code == 400
        assert "Content-Type is text/plain" in bad.json["error"]
    finally:
        ctx.config.pop("BOUNCE_TOKEN")
    db.session.expire_all()
    assert db.session.get(Message, message.id).state == "failed"


def test_malformed_and_unmatched_reports_get_clear_errors(ctx, smtp, runner, tmp_path):
    ctx.config["SMTP_BOUNCE_ADDRESS"] = BOUNCES
    try:
        rnd = send_invitations(ctx, smtp, n=1)
    finally:
        ctx.config.pop("SMTP_BOUNCE_ADDRESS")
    message = db.session.scalars(db.select(Message)).one()
    verp = smtp.sink.senders[0]
    forged = verp.replace(verp.split("-")[-1].split("@")[0], "0123456789ab")
    cases = {
        "plain.eml": (b"From: a@b\r\nSubject: hello\r\n\r\nnot a report\r\n", "Content-Type is"),
        "empty.eml": (b"", "empty input"),
        "nostatus.eml": (
            dsn(verp, message.to_address, "bogus"),
            "recipient block 1: Status 'bogus' is not a status code",
        ),
        "noaction.eml": (
            dsn(verp, message.to_address, "5.1.1", action="exploded"),
            "Action 'exploded' is not one of",
        ),
        "forged.eml": (
            dsn(forged, message.to_address, "5.1.1"),
            "with a signature that is not ours",
        ),
        "unknown.eml": (
            dsn(
                "survey@star.example",
                "x@y.example",
                "5.1.1",
                original=b"Message-ID: <nobody@elsewhere.example>\r\n",
            ),
            "no e-mail in the outbox matches Message-ID <nobody@elsewhere.example>",
        ),
        "unnamed.eml": (dsn("survey@star.example", "x@y.example", "5.1.1"), "names no message"),
    }
    for name, (raw, _expected) in cases.items():
        (tmp_path / name).write_bytes(raw)
    result = runner.invoke(args=["followup", "bounce", *[str(tmp_path / n) for n in cases]])
    assert result.exit_code == 1
    for name, (_raw, expected) in cases.items():
        line = next(x for x in result.output.splitlines() if x.startswith(str(tmp_path / name)))
        assert expected in line, (name, line)
    db.session.expire_all()
    assert db.session.get(Message, message.id).state == "sent"
    assert db.session.scalar(db.select(db.func.count(Suppression.id))) == 0
    assert rnd.id


def test_message_id_names_a_send_that_was_not_recorded_yet(ctx):
    """A crash between the SMTP send and its recording leaves the row without a provider id;
    the outbox id in the Message-ID still finds it, but never a row sent with another one."""
    from survey_app.followup.messaging.bounces import BounceError, ingest

    rnd = make_round(n=2, partner=False)
    first, second = cases_of(rnd)
    rows = []
    for case, pid in ((first, None), (second, "<other.m0@star.example>")):
        row = Message(
            case_id=case.id,
            channel="email",
            purpose="invitation",
            to_address=case.posting.contact_email.lower(),
            brand_id=case.brand_id,
            state="sending",
            provider_id=pid,
        )
        db.session.add(row)
        rows.append(row)
    db.session.commit()
    unrecorded, recorded = rows
    original = f"Message-ID: <1.2.3.m{unrecorded.id}@star.example>\r\n".encode()
    result = ingest(dsn("survey@star.example", unrecorded.to_address, "5.1.1", original=original))
    assert (result.message_id, result.outcome, result.applied) == (unrecorded.id, "failed", True)
    original = f"Message-ID: <1.2.3.m{recorded.id}@star.example>\r\n".encode()
    try:
        ingest(dsn("survey@star.example", recorded.to_address, "5.1.1", original=original))
    except BounceError as exc:
        assert "no e-mail in the outbox matches Message-ID" in str(exc)
    else:
        raise AssertionError("a Message-ID that is not the recorded one must not match")
