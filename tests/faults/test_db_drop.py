"""The database connection dropped under a stream of respondent page saves.

Respondents walk the questionnaire at the same time through the live HTTP server while the
app's PostgreSQL backends are terminated: by the server itself at chosen points of a save (as
an answer row is written, and at COMMIT), and at random from a second thread
(``pg_terminate_backend``). The chosen points are triggers, so they hold whichever way the app
sends its SQL. Every save the server acknowledged (a redirect) is in the answers table
afterwards; every save that failed got the clear 503 page with ``Retry-After``, and sending it
again succeeded. A second test, on either engine, breaks one save as its answers are written
and checks the page and the retry.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from contextlib import contextmanager

import pytest
import requests
from flask_babel import force_locale, gettext
from markupsafe import escape as html_escape
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from survey_app.core.db import db
from survey_app.questionnaire.models import Answer
from survey_app.questionnaire.services import link_token

from ..app.helpers import OTHER_PROFILE_PATH, answer_survey
from ..app.messaging_fixtures import cases_of, make_round

RESPONDENTS = 6
ACKNOWLEDGED = (302, 303)


class Killer:
    """Terminates the app's backends at random, and counts the kills."""

    def __init__(self, database_url: str):
        self.engine = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.stop = threading.Event()
        self.kills = Counter()
        self.lock = threading.Lock()

    def random_kills(self) -> None:
        rng = random.Random(7)  # noqa: S311 - test timing, not security
        with self.engine.connect() as conn:
            while not self.stop.wait(rng.uniform(0.15, 0.4)):
                n = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend'"
                    )
                ).scalar()
                with self.lock:
                    self.kills["random"] += n


#: A trigger function that ends its own backend on one call in ``every`` (TG_ARGV: the sequence
#: that counts the calls, every, which one). The pg_sleep is where the termination lands, so the
#: statement or the COMMIT it runs in never completes.
KILL_FUNCTION = """
CREATE FUNCTION fault_kill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval(TG_ARGV[0]::regclass) % TG_ARGV[1]::int = TG_ARGV[2]::int THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
        PERFORM pg_sleep(10);
    END IF;
    RETURN NEW;
END $$;
"""


def answers_kill(every: int, nth: int) -> str:
    """The answers' kill point: one in ``every`` answer rows written ends its backend."""
    return (
        "CREATE SEQUENCE fault_answers;"
        "CREATE TRIGGER fault_kill_answers BEFORE INSERT OR UPDATE ON answers FOR EACH ROW"
        f" EXECUTE FUNCTION fault_kill('fault_answers', {every}, {nth});"
    )


#: Before every 4th answer row is written, and at every 7th COMMIT of a page save (a deferred
#: constraint trigger on the page visit runs at COMMIT).
KILL_POINTS = (
    KILL_FUNCTION
    + answers_kill(4, 1)
    + """
CREATE SEQUENCE fault_commit;
CREATE CONSTRAINT TRIGGER fault_kill_commit AFTER INSERT ON page_visits
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fault_kill('fault_commit', 7, 3);
"""
)
#: how often each kill point was reached
TRIGGER_CALLS = """
SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM fault_answers) AS answers,
       (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM fault_commit) AS commit
"""
DROP_KILL_POINTS = """
DROP TRIGGER IF EXISTS fault_kill_answers ON answers;
DROP TRIGGER IF EXISTS fault_kill_commit ON page_visits;
DROP FUNCTION IF EXISTS fault_kill();
DROP SEQUENCE IF EXISTS fault_answers, fault_commit;
"""


def csrf(html: str) -> str | None:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    return match.group(1) if match else None


def walk(base: str, token: str, log: list, errors: list) -> None:
    """One respondent: every step is sent again until the server acknowledges it."""
    s = requests.Session()

    def until_ok(method: str, path: str, data: dict | None = None, ok=ACKNOWLEDGED + (200,)):
        for _ in range(50):
            if data is not None:
                page = s.get(base + path if path != "/survey/start" else base + "/survey")
                token_value = csrf(page.text) if page.status_code == 200 else None
                if token_value is None:
                    errors.append((path, "GET", page.status_code, page.text, page.headers))
                    continue
                r = s.post(base + path, data={**data, "csrf_token": token_value},
                           allow_redirects=False)  # fmt: skip
            else:
                r = s.request(method, base + path, allow_redirects=False)
            if r.status_code in ok:
                return r
            errors.append((path, method, r.status_code, r.text, r.headers))
        raise AssertionError(f"{path}: no success after 50 tries")

    until_ok("GET", f"/s/{token}")
    until_ok("POST", "/survey/start", {})
    for page_id, data in OTHER_PROFILE_PATH:
        r = until_ok("POST", f"/survey/p/{page_id}", data)
        assert r.status_code in ACKNOWLEDGED, (page_id, r.status_code)
        log.append((token, page_id))


def answers_of(response_id: int) -> dict:
    return dict(
        db.session.execute(
            db.select(Answer.question_id, Answer.value).filter_by(response_id=response_id)
        ).all()
    )


@pytest.mark.postgres_only
def test_acknowledged_saves_survive_dropped_connections(ctx, live_server, database_url):
    rnd = make_round(n=RESPONDENTS + 1, partner=False)
    cases = cases_of(rnd)
    # the reference: one respondent on a healthy database
    reference_case, cases = cases[0], cases[1:]
    answer_survey(ctx.test_client(), link_token(reference_case.response), submit=False)
    expected = answers_of(reference_case.response_id)
    assert len(expected) >= len(OTHER_PROFILE_PATH)
    tokens = {link_token(c.response): c.response_id for c in cases}
    db.session.remove()

    killer = Killer(database_url)
    engine = db.engine
    randomly = threading.Thread(target=killer.random_kills, daemon=True)
    acked: list = []
    errors: list = []
    threads = [
        threading.Thread(target=walk, args=(live_server, t, acked, errors), daemon=True)
        for t in tokens
    ]
    with killer.engine.connect() as admin:
        admin.execute(text(KILL_POINTS))
    try:
        randomly.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a respondent never finished"
    finally:
        killer.stop.set()
        randomly.join(5)
        with killer.engine.connect() as admin:  # the random kills have stopped
            calls = admin.execute(text(TRIGGER_CALLS)).one()
            killer.kills["answers"] = sum(1 for n in range(1, calls.answers + 1) if n % 4 == 1)
            killer.kills["commit"] = sum(1 for n in range(1, calls.commit + 1) if n % 7 == 3)
            admin.execute(text(DROP_KILL_POINTS))
        killer.engine.dispose()
        engine.dispose()

    assert killer.kills["answers"] >= 3 and killer.kills["commit"] >= 3, killer.kills
    assert errors, "no request met a dropped connection"
    assert len(acked) == RESPONDENTS * len(OTHER_PROFILE_PATH)
    # every acknowledged save is there, exactly as a healthy database stored it
    for token, response_id in tokens.items():
        assert answers_of(response_id) == expected, token
    # every failure was the clear page (in the respondent's language), with nothing leaking
    with force_locale("da"):
        page_texts = [
            html_escape(gettext(m)) for m in ("Please try again", "Answers saved earlier are kept.")
        ]
    statuses = Counter(e[2] for e in errors)
    assert set(statuses) == {503}, statuses
    for _path, _method, _status, body, headers in errors:
        assert headers["Retry-After"] == "5"
        assert "Content-Security-Policy" in headers
        assert all(text in body for text in page_texts)
        assert "Traceback" not in body and "psycopg" not in body and "SELECT" not in body


@contextmanager
def next_answer_write_breaks(engine):
    """The connection of the next write of an answer row breaks. PostgreSQL: a trigger ends its
    own backend (whichever way the app sends the SQL). SQLite, which has no server to lose: the
    driver layer raises what a dropped connection raises."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(KILL_ONCE))
        try:
            yield
        finally:
            with engine.begin() as conn:
                conn.execute(text(DROP_KILL_POINTS))
        return
    from sqlalchemy.exc import OperationalError

    broken = {"left": 1}

    def break_once(conn, cursor, statement, parameters, context, executemany):
        if re.match(r"\s*INSERT INTO answers", statement) and broken["left"]:
            broken["left"] -= 1
            raise OperationalError(statement, parameters, Exception("server closed the connection"))

    event.listen(engine, "before_cursor_execute", break_once)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", break_once)


#: the first answer row written ends its backend
KILL_ONCE = KILL_FUNCTION + answers_kill(1_000_000, 1)


def test_a_failed_save_gets_the_clear_page_and_the_retry_stores_it(ctx):
    """The same on either engine: the connection breaks as the answers are written."""
    from ..app.helpers import csrf_token

    rnd = make_round(n=1, partner=False)
    (case,) = cases_of(rnd)
    client = ctx.test_client()
    token = link_token(case.response)
    answer_survey(client, token, path=[], submit=False)
    page_id, data = OTHER_PROFILE_PATH[0]
    db.session.commit()
    with next_answer_write_breaks(db.engine):
        html = client.get(f"/survey/p/{page_id}").get_data(as_text=True)
        r = client.post(f"/survey/p/{page_id}", data={**data, "csrf_token": csrf_token(html)})
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.headers["Cache-Control"] == "no-store"
    with force_locale("da"):
        assert html_escape(gettext("Answers saved earlier are kept.")) in r.get_data(as_text=True)
    db.session.expire_all()
    assert answers_of(case.response_id) == {}  # nothing of the failed save
    html = client.get(f"/survey/p/{page_id}").get_data(as_text=True)
    r = client.post(f"/survey/p/{page_id}", data={**data, "csrf_token": csrf_token(html)})
    assert r.status_code == 302
    db.session.expire_all()
    assert answers_of(case.response_id) == {"respondent_role": "yes"}
