"""Printable letters: one PDF per round and day with the link, the short code and a QR code."""

from __future__ import annotations

import io

import pypdfium2
import zxingcpp
from pypdf import PdfReader

from survey_app.core.audit import AuditEvent
from survey_app.core.db import db
from survey_app.followup.messaging.letters import build_letters
from survey_app.followup.messaging.models import LetterBatch, Message
from survey_app.questionnaire.services import link_token

from .helpers import staff_login
from .messaging_fixtures import cases_of, drain, make_round

PASSWORD = "a-long-test-password-1"


def qr_codes(pdf: bytes) -> list[str]:
    """The QR codes on each page, decoded from the rendered page image."""
    found = []
    document = pypdfium2.PdfDocument(pdf)
    for page in document:
        image = page.render(scale=3).to_pil()
        found += [r.text for r in zxingcpp.read_barcodes(image) if r.format.name == "QRCode"]
    return found


def test_letters_are_printed_per_round_and_day_and_downloaded_by_staff(ctx, runner, client):
    from survey_app.auth.services import add_user

    rnd = make_round(n=2)
    add_user("admin@star.example", "admin", None, PASSWORD)
    add_user("agent@callcentre.example", "agent", None, PASSWORD)
    db.session.commit()
    result = runner.invoke(args=["invitations", "send", "--round", "R1", "--channel", "letter"])
    assert result.exit_code == 0, result.output
    assert "4 invitations queued in 1 jobs" in result.output
    drain(ctx)
    db.session.expire_all()
    batch = db.session.execute(db.select(LetterBatch)).scalar_one()
    assert batch.letters == 4
    assert {m.state for m in db.session.scalars(db.select(Message))} == {"sent"}
    assert {c.status for c in cases_of(rnd)} == {"invited"}

    agent = ctx.test_client()
    staff_login(agent, "agent@callcentre.example", PASSWORD)
    assert agent.get("/staff/rounds/R1/letters.pdf").status_code == 403
    staff_login(client, "admin@star.example", PASSWORD)
    r = client.get("/staff/rounds/R1/letters.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(r.data))
    assert len(reader.pages) == 4
    texts = [page.extract_text() for page in reader.pages]
    links = {f"http://survey.test/s/{link_token(c.response)}" for c in cases_of(rnd)}
    for case in cases_of(rnd):
        page = next(t for t in texts if f"{case.posting.contact_name}\n" in t)
        assert case.response.short_code in page
        assert case.brand.name in page
        assert "survey.test" in page
    assert set(qr_codes(r.data)) == links
    assert (
        db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).filter_by(action="letters.downloaded")
        )
        == 1
    )
    assert client.get("/staff/rounds/R1/letters.pdf?day=2020-01-01").status_code == 404
    assert client.get("/staff/rounds/R1/letters.pdf?day=yesterday").status_code == 400
    assert client.get("/staff/rounds/NOPE/letters.pdf").status_code == 404


def test_a_second_build_the_same_day_adds_to_the_days_pdf_and_skips_closed_cases(ctx, runner):
    rnd = make_round(n=3, partner=False)
    first, second, third = cases_of(rnd)
    runner.invoke(args=["invitations", "send", "--round", "R1", "--channel", "letter"])
    drain(ctx)
    assert build_letters(rnd.id) is None  # nothing new: the job again does nothing
    # three more letters are queued (reminders by letter); one case has answered meanwhile
    for case in (first, second, third):
        db.session.add(
            Message(
                case_id=case.id,
                channel="letter",
                purpose="reminder",
                to_address="x",
                brand_id=case.brand_id,
                state="queued",
            )  # fmt: skip
        )
    second.response.status = "completed"
    db.session.commit()
    batch = build_letters(rnd.id)
    assert batch.letters == 5
    assert len(PdfReader(io.BytesIO(batch.pdf)).pages) == 5
    states = [m.state for m in db.session.scalars(db.select(Message).filter_by(purpose="reminder"))]
    assert sorted(states) == ["sent", "sent", "suppressed"]
    assert db.session.scalar(db.select(db.func.count(LetterBatch.id))) == 1
