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
import csv
import io
import os
import signal
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

from sqlalchemy import create_engine, text  # noqa: E402

from survey_app.testing.messaging_fakes import (  # noqa: E402
    ACCOUNT_SID,
    AUTH_TOKEN,
    FakeTwilio,
    SmtpServer,
)

PG_ADMIN_URL = os.environ.get(
    "SURVEY_BENCH_PG_ADMIN_URL",
    os.environ.get(
        "SURVEY_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
)
WEIGHTS = (2, 7, 6, 5, 4, 3, 2)
COLUMNS = (
    "source_posting_id", "posted_on", "job_title", "cvr", "p_number", "company_name",
    "municipality_code", "contact_name", "contact_email", "contact_phone",
)  # fmt: skip


def cvr(n: int) -> str:
    for base in (1000000 + n, 5000000 + n):
        digits = [int(c) for c in str(base)]
        check = (-sum(w * d for w, d in zip(WEIGHTS, digits, strict=True))) % 11
        if check < 10:
            return str(base) + str(check)
    raise ValueError(n)


def feed(n: int) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i in range(n):
        writer.writerow(
            {
                "source_posting_id": f"b-{i}",
                "posted_on": "2026-05-10",
                "job_title": "Tømrer",
                "cvr": cvr(i),
                "p_number": str(4000000000 + i),
                "company_name": f"Firma {i} ApS",
                "municipality_code": "101",
                "contact_name": f"Kontakt {i}",
                "contact_email": f"kontakt{i}@firma{i}.example",
                "contact_phone": f"+45205{i:05d}",
            }
        )
    return out.getvalue().encode()


def free_redis_db():
    import redis

    marker = f"bench-invitations:{os.getpid()}:{uuid.uuid4().hex}"
    for number in range(15, 0, -1):
        conn = redis.Redis(host="127.0.0.1", port=6379, db=number)
        if conn.set("survey-test:owner", marker, nx=True, ex=3600):
            return f"redis://127.0.0.1:6379/{number}", conn
    raise SystemExit("no free Redis database (1-15)")


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

    name = f"bench_invitations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    redis_url, redis_conn = free_redis_db()
    workers: list[subprocess.Popen] = []
    try:
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
                "SURVEY_SMTP_HOST": "127.0.0.1",
                "SURVEY_SMTP_PORT": str(smtp.port),
                "SURVEY_SMTP_FROM": "survey@star.example",
                "SURVEY_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "SURVEY_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "SURVEY_TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
                "SURVEY_TWILIO_API_BASE": twilio.url,
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
                    io.BytesIO(feed(args.cases)), require_organisation("star"), "b.csv", "csv"
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
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis_conn.flushdb()
        try:
            from survey_app.core.db import db as _db

            _db.engine.dispose()
        except Exception:  # noqa: BLE001 - the app may not have started
            pass
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
