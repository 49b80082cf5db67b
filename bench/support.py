"""Set-up and tear-down shared by the benchmarks: a scratch PostgreSQL database, a free Redis
database, free ports, waiting for and stopping server processes, the settings of the local
messaging fakes, peak RSS, valid CVR numbers, postings feeds and latency percentiles.

The scripts put the repository root on ``sys.path`` before importing ``bench.support``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get(
    "SURVEY_BENCH_PG_ADMIN_URL",
    os.environ.get(
        "SURVEY_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
)
CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)
#: Call-list settings with calls all day, every day (``round.settings["calls"]``).
CALLS_ALL_DAY = {
    "enabled": True,
    "after_days": 0,
    "calling_days": [0, 1, 2, 3, 4, 5, 6],
    "day_start": "00:00",
    "day_end": "24:00",
    "slices": [["day", "00:00", "24:00"]],
}
#: The columns of the postings feeds made by ``postings_feed``.
FEED_COLUMNS = (
    "source_posting_id", "posted_on", "job_title", "cvr", "p_number", "company_name",
    "municipality_code", "contact_name", "contact_email", "contact_phone",
)  # fmt: skip


@contextmanager
def scratch_database(prefix: str = "survey_bench", digits: int = 10) -> Iterator[str]:
    """Create an empty database ``<prefix>_<hex>`` next to ``PG_ADMIN_URL`` and yield its URL;
    it is dropped ``WITH (FORCE)`` on the way out, also after an error or Ctrl-C."""
    name = f"{prefix}_{uuid.uuid4().hex[:digits]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except BaseException:
        admin.dispose()
        raise
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_redis_db(label: str = "survey-bench", ttl: int = 3600):
    """Claim a Redis database (15 down to 1) no test or other run holds, by setting its
    ``survey-test:owner`` key for ``ttl`` seconds; ``(url, connection)``. The caller empties it
    with ``connection.flushdb()`` at the end."""
    import redis

    marker = f"{label}:{os.getpid()}:{uuid.uuid4().hex}"
    for number in range(15, 0, -1):
        conn = redis.Redis(host="127.0.0.1", port=6379, db=number)
        if conn.set("survey-test:owner", marker, nx=True, ex=ttl):
            return f"redis://127.0.0.1:6379/{number}", conn
    raise SystemExit("no free Redis database (1-15)")


@contextmanager
def scratch_redis(label: str = "survey-bench", ttl: int = 3600) -> Iterator[str]:
    """``free_redis_db`` as a context manager: yields the URL and empties the database after."""
    url, conn = free_redis_db(label, ttl)
    try:
        yield url
    finally:
        conn.flushdb()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free at the time of the call."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(process: subprocess.Popen, url: str, failure: str, seconds: float = 180):
    """Poll ``url`` until it answers (any status) and return ``process``; after ``seconds``
    without an answer, kill the process and exit with ``failure``."""
    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            httpx.get(url, timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(failure)


def messaging_env(smtp_port: int, twilio_url: str) -> dict[str, str]:
    """The settings that send e-mail to a local SMTP sink on ``smtp_port`` and SMS to the
    fake Twilio API at ``twilio_url`` (``survey_app.testing.messaging_fakes``)."""
    from survey_app.testing.messaging_fakes import ACCOUNT_SID, AUTH_TOKEN

    return {
        "SURVEY_SMTP_HOST": "127.0.0.1",
        "SURVEY_SMTP_PORT": str(smtp_port),
        "SURVEY_SMTP_FROM": "survey@star.example",
        "SURVEY_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "SURVEY_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SURVEY_TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
        "SURVEY_TWILIO_API_BASE": twilio_url,
    }


def stop_processes(processes: Sequence[subprocess.Popen], timeout: float = 10) -> None:
    """SIGTERM every process, then wait up to ``timeout`` seconds for each; kill the ones that
    are still running."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def stopped_on_exit(timeout: float = 10) -> Iterator[list[subprocess.Popen]]:
    """Yield a list for the processes a run starts; on the way out, also after an error, they
    are stopped with ``stop_processes``."""
    processes: list[subprocess.Popen] = []
    try:
        yield processes
    finally:
        stop_processes(processes, timeout)


#: the secret key of the app in the benchmarks that serve it
SECRET_KEY = "bench-secret-key"


@contextmanager
def served_app_scratch() -> Iterator[tuple[str, str, list[subprocess.Popen]]]:
    """For a benchmark that serves the app: a scratch PostgreSQL database, a free Redis database,
    and a list for the servers it starts, stopped on the way out. Yields (url, redis_url, list)."""
    with (
        scratch_database() as url,
        scratch_redis() as redis_url,
        stopped_on_exit() as servers,
    ):
        yield url, redis_url, servers


def app_env(url: str, redis_url: str, **settings: str) -> dict[str, str]:
    """The environment of an app server on ``served_app_scratch``'s database and Redis, plus
    ``settings`` (``SURVEY_``-prefixed names)."""
    return {
        "SURVEY_DATABASE_URL": url,
        "SURVEY_REDIS_URL": redis_url,
        "SURVEY_SECRET_KEY": SECRET_KEY,
        **settings,
    }


def peak_mb() -> float:
    """The peak RSS of this process so far, in MB (getrusage)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cvr(n: int) -> str:
    """A distinct valid CVR per n < 4,000,000 (modulus 11; bases whose check is 10 move up)."""
    for base in (1000000 + n, 5000000 + n):
        digits = [int(c) for c in str(base)]
        check = (-sum(w * d for w, d in zip(CVR_WEIGHTS, digits, strict=True))) % 11
        if check < 10:
            return str(base) + str(check)
    raise ValueError(f"no valid CVR for {n}")


def phone(i: int) -> str:
    """Valid Danish mobile numbers +4520500000 to +4520699999 (200,000 of them)."""
    if i >= 200000:
        raise SystemExit("at most 200,000 distinct phone numbers")
    return f"+45205{i:05d}" if i < 100000 else f"+45206{i - 100000:05d}"


def postings_feed(start: int, n: int, posted_on: str, prefix: str) -> bytes:
    """A CSV feed of ``n`` postings of distinct companies and P-units numbered from ``start``,
    each with a contact e-mail address and phone number (``FEED_COLUMNS``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, FEED_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i in range(start, start + n):
        writer.writerow(
            {
                "source_posting_id": f"{prefix}-{i}",
                "posted_on": posted_on,
                "job_title": "Tømrer",
                "cvr": cvr(i),
                "p_number": str(4000000000 + i),
                "company_name": f"Firma {i} ApS",
                "municipality_code": "101",
                "contact_name": f"Kontakt {i}",
                "contact_email": f"kontakt{i}@firma{i}.example",
                "contact_phone": phone(i),
            }
        )
    return out.getvalue().encode()


def percentile(ordered: Sequence[float], p: float) -> float:
    """The ``p`` (0 to 1) percentile of sorted values: the value at index ``int(p * n)``, the
    last one at most; 0 when there are none."""
    if not ordered:
        return 0
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def copy_rows(cur, table: str, columns: list[str], rows) -> None:
    """COPY ``rows`` (tuples in the order of ``columns``) into ``table`` (psycopg cursor)."""
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def defaults_for(table, given: list[str]) -> tuple[list[str], list]:
    """Non-null columns the generator does not set, with their model defaults."""
    names, values = [], []
    for col in table.columns:
        if col.name in given or col.nullable or col.primary_key or col.server_default is not None:
            continue
        if col.default is None:
            raise SystemExit(f"{table.name}.{col.name}: not null without default; extend the bench")
        arg = col.default.arg
        value = arg(None) if callable(arg) else arg
        if isinstance(value, dict | list):
            value = json.dumps(value)
        names.append(col.name)
        values.append(value)
    return names, values
