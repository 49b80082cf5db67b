"""Each retention rule with rows just inside and just outside its limit: the dry run changes
nothing, the real run clears exactly the rows past the limit, a second run finds nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from survey_app.auth.models import LoginThrottle, StaffSession, User
from survey_app.auth.services import add_user
from survey_app.core.audit import AuditEvent
from survey_app.core.db import db
from survey_app.core.personal_data import months_before, rules
from survey_app.followup.messaging.models import InboundMessage, LetterBatch, Suppression
from survey_app.partners.services import ensure_star
from survey_app.sampling.models import FieldingRound, ImportBatch, ImportRowError
from survey_app.stats.api_models import ApiCall

NOW = datetime(2028, 6, 1, 12, 0)
MINUTE = timedelta(minutes=1)


def apply(rule: str, dry_run: bool, now: datetime = NOW):
    """Run one rule as the runner does and commit whatever it did (so a dry run that changed
    something would show)."""
    report = rules()[rule].apply(now, dry_run)
    db.session.commit()
    db.session.expire_all()
    return report


@dataclass
class AgeCase:
    rule: str
    #: the limit as of NOW: rows older than it go
    cutoff: Callable[[], datetime]
    #: makes one row at the given time, returns its id
    make: Callable[[datetime, int], object]
    #: whether the row's personal data is gone
    gone: Callable[[object], bool]


def _inbound(at, i):
    row = InboundMessage(
        provider_id=f"SM{i}", from_address=f"+452012340{i}", body="STOP", received_at=at
    )
    db.session.add(row)
    db.session.flush()
    return row.id


def _suppression(at, i):
    row = Suppression(
        channel="sms", address=f"+452012350{i}", reason="stop", created_at=at, lifted_at=at
    )
    db.session.add(row)
    db.session.flush()
    return row.id


def _audit(at, i):
    row = AuditEvent(at=at, action="case.viewed", ip=f"10.0.0.{i}", details={})
    db.session.add(row)
    db.session.flush()
    return row.id


def _api_call(at, i):
    row = ApiCall(endpoint="/api/v1/x", params={}, ip=f"10.0.1.{i}", status=200,
                  duration_ms=1.0, at=at)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row.id


def _staff_user_id() -> int:
    user = db.session.scalars(db.select(User).order_by(User.id)).first()
    if user is None:
        user, _password = add_user("retention@star.example", "analyst", None, "a-long-password-1")
        db.session.flush()
    return user.id


def _session(at, i):
    row = StaffSession(
        sid_hash=f"{i:064d}",
        user_id=_staff_user_id(),
        created_at=at - timedelta(hours=1),
        last_seen_at=at,
        ended_at=at,
        end_reason="logout",
        ip="10.0.2.1",
        user_agent="Firefox",
    )
    db.session.add(row)
    db.session.flush()
    return row.id


def _throttle(at, i):
    row = LoginThrottle(key=f"i:10.0.3.{i}", failures=2, lockouts=1, updated_at=at,
                        locked_until=at + MINUTE)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row.key


def _row_error(at, i):
    batch = ImportBatch(source_id=ensure_star().id, filename="f.csv", fmt="csv", started_at=at)
    db.session.add(batch)
    db.session.flush()
    row = ImportRowError(batch_id=batch.id, row_number=2, field="contact_email",
                         value=f"kontakt{i}@firma.example", reason="not an e-mail")  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row.id


def _exists(model):
    def gone(key):
        return db.session.get(model, key) is None

    return gone


def _cleared(model, column):
    def gone(key):
        return getattr(db.session.get(model, key), column) is None

    return gone


CASES = [
    AgeCase("inbound-sms", lambda: months_before(NOW, 18.5), _inbound, _exists(InboundMessage)),
    AgeCase(
        "lifted-suppressions", lambda: months_before(NOW, 18.5), _suppression, _exists(Suppression)
    ),
    AgeCase(
        "audit-addresses", lambda: NOW - timedelta(days=180), _audit, _cleared(AuditEvent, "ip")
    ),  # fmt: skip
    AgeCase(
        "api-call-addresses", lambda: NOW - timedelta(days=180), _api_call, _cleared(ApiCall, "ip")
    ),  # fmt: skip
    AgeCase("staff-sessions", lambda: NOW - timedelta(days=30), _session, _exists(StaffSession)),
    AgeCase(
        "login-throttles",
        lambda: NOW - timedelta(minutes=24 * 60 + 15),
        _throttle,
        _exists(LoginThrottle),
    ),  # fmt: skip
    AgeCase(
        "import-row-values",
        lambda: months_before(NOW, 18.5),
        _row_error,
        _cleared(ImportRowError, "value"),
    ),  # fmt: skip
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_age_rules_inside_and_outside_the_limit(ctx, case):
    cutoff = case.cutoff()
    outside = case.make(cutoff - MINUTE, 1)
    inside = case.make(cutoff + MINUTE, 2)
    db.session.commit()

    dry = apply(case.rule, dry_run=True)
    assert dry.dry_run and dry.affected == 1
    assert not case.gone(outside) and not case.gone(inside)

    real = apply(case.rule, dry_run=False)
    assert real.affected == 1
    assert case.gone(outside) and not case.gone(inside)

    assert apply(case.rule, dry_run=False).affected == 0  # idempotent
    assert not case.gone(inside)


def test_a_suppression_in_force_is_kept_however_old(ctx):
    row = Suppression(channel="email", address="nej@firma.example", reason="opt_out",
                      created_at=datetime(2020, 1, 1))  # fmt: skip
    db.session.add(row)
    db.session.commit()
    assert apply("lifted-suppressions", dry_run=False).affected == 0
    assert db.session.get(Suppression, row.id).address == "nej@firma.example"


def test_a_session_never_ended_goes_once_it_is_past_every_time_out(ctx):
    user_id = _staff_user_id()
    limit = NOW - timedelta(days=30) - timedelta(hours=12)
    old = StaffSession(sid_hash="a" * 64, user_id=user_id, created_at=limit - MINUTE,
                       last_seen_at=limit, ip="10.0.0.9")  # fmt: skip
    young = StaffSession(sid_hash="b" * 64, user_id=user_id, created_at=limit + MINUTE,
                         last_seen_at=limit, ip="10.0.0.9")  # fmt: skip
    db.session.add_all([old, young])
    db.session.commit()
    old_id, young_id = old.id, young.id
    assert apply("staff-sessions", dry_run=False).affected == 1
    assert db.session.get(StaffSession, old_id) is None
    assert db.session.get(StaffSession, young_id) is not None


def test_a_locked_throttle_is_kept_until_the_lock_ends(ctx):
    row = LoginThrottle(key="i:10.9.9.9", failures=0, lockouts=11,
                        updated_at=datetime(2020, 1, 1), locked_until=NOW + MINUTE)  # fmt: skip
    db.session.add(row)
    db.session.commit()
    assert apply("login-throttles", dry_run=False).affected == 0
    assert apply("login-throttles", dry_run=False, now=NOW + 2 * MINUTE).affected == 1


def test_letter_pdfs_go_after_the_letter_limit(demo):
    rnd = db.session.scalars(db.select(FieldingRound)).first()
    cutoff = NOW - timedelta(days=90)
    old = LetterBatch(round_id=rnd.id, day=cutoff.date(), pdf=b"%PDF-old", letters=1,
                      created_at=cutoff - MINUTE)  # fmt: skip
    young = LetterBatch(round_id=rnd.id, day=(cutoff + timedelta(days=1)).date(),
                        pdf=b"%PDF-new", letters=1, created_at=cutoff + MINUTE)  # fmt: skip
    db.session.add_all([old, young])
    db.session.commit()
    old_id, young_id = old.id, young.id
    assert apply("letter-pdfs", dry_run=True).affected == 1
    assert db.session.get(LetterBatch, old_id) is not None
    assert apply("letter-pdfs", dry_run=False).affected == 1
    assert db.session.get(LetterBatch, old_id) is None
    assert db.session.get(LetterBatch, young_id) is not None
    assert apply("letter-pdfs", dry_run=False).affected == 0


def test_export_files_go_after_the_export_limit_and_the_row_stays(demo):
    from survey_app.stats.jobs import export_dir, file_of
    from survey_app.stats.models import Export

    rnd = db.session.scalars(db.select(FieldingRound)).first()
    cutoff = NOW - timedelta(days=30)
    made = {}
    for label, finished in (("old", cutoff - MINUTE), ("new", cutoff + MINUTE)):
        export = Export(round_id=rnd.id, format="csv", state="ready", path=f"ret-{label}.csv",
                        sha256="0" * 64, finished_at=finished)  # fmt: skip
        db.session.add(export)
        db.session.flush()
        (export_dir() / export.path).write_text("case_id,referral_email\n1,a@b.example\n")
        made[label] = export.id
    db.session.commit()
    assert apply("export-files", dry_run=True).affected == 1
    assert (export_dir() / "ret-old.csv").is_file()
    assert apply("export-files", dry_run=False).affected == 1
    old, new = db.session.get(Export, made["old"]), db.session.get(Export, made["new"])
    assert not (export_dir() / "ret-old.csv").exists() and file_of(old) is None
    assert old.sha256 == "0" * 64  # the record of the export stays
    assert file_of(new) is not None
    assert apply("export-files", dry_run=False).affected == 0
