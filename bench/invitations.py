"""Benchmark: fan out invitations by e-mail and SMS through RQ with real worker processes.

    .venv/bin/python bench/invitations.py [--cases 10000] [--workers 2] [--batch 200]

Each case gets an e-mail (to a local aiosmtpd server) and an SMS (through the real Twilio client
to a local fake Twilio API), so 10,000 cases make 20,000 invitations. A fresh PostgreSQL database
and a free Redis database are used and removed afterwards; ``--workers`` ``survey-app worker``
processes (forking RQ workers) do the sending. Reports the seconds from the first enqueue until
every row is recorded as sent, messages/s, duplicates and lost messages (counted at the SMTP
server and the fake Twilio against the rows), and as a same-run baseline the same number of raw
``smtplib`` sends over one connection in one process. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import os
import smtplib
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import date
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import (  # noqa: E402
    messaging_env,
    postings_feed,
    scratch_database,
    scratch_redis,
    stopped_on_exit,
)
from survey_app.testing.messaging_fakes import (  # noqa: E402
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    SmtpServer,
)


def baseline(port: int, count: int) -> float:
    """``count`` raw smtplib sends of a small message over one connection, in one process."""
    start = time.perf_counter()
    conn = smtplib.SMTP("127.0.0.1", port)
    for i in range(count):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "survey@star.example", f"raw{i}@x.example", "x"
        msg.set_content("Svar her: http://survey.test/s/abc (kode ABCDEFGHJK)")
        conn.send_message(msg)
    conn.quit()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    with (
        scratch_database("bench_invitations", digits=8) as db_url,
        scratch_redis("bench-invitations") as redis_url,
    ):
        try:
            with stopped_on_exit(timeout=20) as workers:
                fan_out(args, db_url, redis_url, workers)
        finally:
            try:
                from survey_app.core.db import db as _db

                _db.engine.dispose()
            except Exception:  # noqa: BLE001 - the app may not have started
                pass


def fan_out(args, db_url: str, redis_url: str, workers: list[subprocess.Popen]) -> None:
    """Set-up, the workers (appended to ``workers``), the fan-out, the baseline, the report."""
    with (
        SmtpServer(parse=False) as smtp,
        FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, keep_bodies=False) as twilio,
    ):
        env = {
            **os.environ,
            "SURVEY_DATABASE_URL": db_url,
            "SURVEY_REDIS_URL": redis_url,
            "SURVEY_SECRET_KEY": "bench-secret-key-" + uuid.uuid4().hex,
            "SURVEY_BASE_URL": "http://survey.test",
            **messaging_env(smtp.port, twilio.url),
            "SURVEY_MESSAGING_BATCH_SIZE": str(args.batch),
            "SURVEY_LOG_LEVEL": "WARNING",
        }
        os.environ.update(env)
        from flask_migrate import upgrade

        from survey_app import create_app
        from survey_app.core.db import db
        from survey_app.followup.messaging import outbox
        from survey_app.followup.messaging.invitations import create_invitations
        from survey_app.followup.messaging.models import Message
        from survey_app.partners.services import ensure_star, require_organisation
        from survey_app.questionnaire.bank import default_bank_path
        from survey_app.questionnaire.services import load_bank_version
        from survey_app.sampling.draw import draw_sample
        from survey_app.sampling.importer import import_postings
        from survey_app.sampling.rounds import create_round

        app = create_app()
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            t0 = time.perf_counter()
            ensure_star()
            load_bank_version(default_bank_path())
            result = import_postings(
                io.BytesIO(postings_feed(0, args.cases, "2026-05-10", "b")),
                require_organisation("star"),
                "b.csv",
                "csv",
            )
            if result.rejected:
                from survey_app.sampling.importer import row_errors

                bad = list(row_errors(result.batch_id))[:5]
                raise SystemExit(f"feed rows rejected: {[(e.field, e.reason) for e in bad]}")
            rnd = create_round("B1", "bench", date(2026, 5, 1), date(2026, 5, 31))
            draw_sample(rnd, size=args.cases, seed=1)
            db.session.commit()
            print(f"setup: {args.cases} cases in {time.perf_counter() - t0:.1f} s")

            for _ in range(args.workers):
                workers.append(
                    subprocess.Popen(
                        [str(ROOT / ".venv/bin/survey-app"), "worker", "--queues", "email,sms"],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            time.sleep(3)  # the workers are up and waiting

            start = time.perf_counter()
            created = []
            for channel in ("email", "sms"):
                run = create_invitations(rnd, channel)
                db.session.commit()
                created += run.created
            queued_at = time.perf_counter()
            jobs = outbox.dispatch(created)
            enqueued_at = time.perf_counter()
            total = len(created)
            while True:
                done = db.session.execute(
                    db.select(Message.state, db.func.count()).group_by(Message.state)
                ).all()
                db.session.rollback()
                states = dict(done)
                finished = states.get("sent", 0) + states.get("failed", 0)
                if finished >= total or time.perf_counter() - start > args.timeout:
                    break
                time.sleep(0.2)
            end = time.perf_counter()
        time.sleep(1)  # late arrivals at the fakes would be duplicates: let them land

        rcpts = Counter(smtp.sink.recipients)
        numbers = Counter(m["To"] for m in twilio.messages)
        email_rows = sum(1 for _i, ch, _r in created if ch == "email")
        sms_rows = total - email_rows
        dup_email = sum(n - 1 for n in rcpts.values() if n > 1)
        dup_sms = sum(n - 1 for n in numbers.values() if n > 1)
        lost = (email_rows - len(rcpts)) + (sms_rows - len(numbers))
        seconds = end - start
        raw = baseline(smtp.port, total)

        print(f"invitations: {total} ({email_rows} e-mail, {sms_rows} SMS) in {jobs} jobs, "
              f"{args.workers} workers, batches of {args.batch}")  # fmt: skip
        print(f"  rows written:         {queued_at - start:6.2f} s")
        print(f"  enqueued:             {enqueued_at - queued_at:6.2f} s")
        print(f"  all sent + recorded:  {seconds:6.2f} s  ({total / seconds:,.0f} messages/s)")
        print(f"  states: {states}")
        print(f"  at SMTP server: {sum(rcpts.values())} ({len(rcpts)} distinct), "
              f"at fake Twilio: {sum(numbers.values())} ({len(numbers)} distinct)")  # fmt: skip
        print(f"  duplicates: {dup_email + dup_sms}, lost: {lost}")
        print(f"baseline: {total} raw smtplib sends, one connection, one process: {raw:.2f} s "
              f"({total / raw:,.0f}/s)")  # fmt: skip
        print(f"ratio (fan-out / baseline): {seconds / raw:.2f}")
        met = seconds < 60 and not dup_email + dup_sms and not lost
        print(f"goal (< 60 s, 0 duplicates, 0 lost): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
