"""The users of the fielding-day load test (locust): respondents, call-centre agents, API clients,
and the bare-Flask baseline user.

``bench/load/run.py`` seeds the database and writes the users' material (links, agent logins,
API keys, the app addresses, think times, counts) to a JSON file named by ``BENCH_LOAD_DATA``;
``bench/load/drive.py`` runs these classes in phases. They are plain locust users, so locust's
own command line (``locust -f bench/load/locustfile.py Respondent Agent ApiClient``) can run them
as well, given such a file for a seeded topology.

The users are spread over the two app processes round robin (each user keeps to one, though
any would do: the app keeps no state in its processes).
Requests carry ``X-Forwarded-For`` with an address of the user's own (the topology runs with
``SURVEY_PROXY_FIX=1``, as behind the TLS proxy), so the per-IP rate limits stay on and count
each simulated client separately.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, between, constant, task

DATA = (
    json.loads(Path(os.environ["BENCH_LOAD_DATA"]).read_text())
    if "BENCH_LOAD_DATA" in os.environ
    else {}
)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SECRET = re.compile(r'data-secret="([A-Z2-7]+)"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# One pass through the questionnaire of a "recruited with another profile" respondent.
PAGES = [
    ("role", {"respondent_role": "yes"}),
    ("status", {"recruitment_status": "1"}),
    ("outcome", {"outcome": "2", "positions": "3", "positions_filled": "2"}),
    ("applicants", {"applicants": "12", "qualified_applicants": "4"}),
    ("reasons", {"profile_gap": ["1", "3"]}),
    ("channels", {"channels": ["1", "3"], "job_order": "2"}),
    ("comment", {"comment": "Svært at finde folk med den rette erfaring."}),
]
#: what happened besides the timed requests (read by drive.py)
COUNTERS: Counter = Counter()

_hosts = itertools.cycle(DATA.get("apps") or ["http://127.0.0.1:8001"])
_baseline_hosts = itertools.cycle(DATA.get("baseline") or ["http://127.0.0.1:8101"])
_tokens = iter(DATA.get("tokens", []))
_agents = iter(DATA.get("agents", []))
_keys = itertools.cycle(DATA.get("api_keys") or ["missing"])
_addresses = (f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}" for n in itertools.count(1))
_secrets: dict[str, str] = {}


def _think(name: str) -> tuple[float, float]:
    lo, hi = DATA.get("think", {}).get(name, (1.0, 3.0))
    return float(lo), float(hi)


def _csrf(html: str) -> str | None:
    match = CSRF.search(html or "")
    return match.group(1) if match else None


def _why(r, expect) -> str:
    error = getattr(r, "error", None)
    return f"status {r.status_code}, expected {expect}" + (f" ({error!r})" if error else "")


def _form(data: dict) -> str:
    return urlencode(data, doseq=True)


class _Client(FastHttpUser):
    abstract = True

    def __init__(self, environment):
        self.host = next(_hosts)
        super().__init__(environment)
        self.address = next(_addresses)

    def get(self, path: str, name: str, expect=(200,), pause_follows: bool = False):
        """A GET; ``pause_follows``: the user thinks longer than gunicorn keeps an idle
        connection (5 s) before the next request, so it asks to close this one, as a browser
        would open a new connection after such a pause (a reused connection that the server
        closed meanwhile fails in the load tool without reaching the app)."""
        headers = {"X-Forwarded-For": self.address}
        if pause_follows:
            headers["Connection"] = "close"
        with self.client.get(
            path,
            name=name,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code not in expect:
                r.failure(_why(r, expect))
            return r

    def post(self, path: str, name: str, data: dict, expect=(302,), pause_follows=False):
        headers = {**FORM, "X-Forwarded-For": self.address}
        if pause_follows:
            headers["Connection"] = "close"
        with self.client.post(
            path,
            name=name,
            data=_form(data),
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code not in expect:
                r.failure(_why(r, expect))
            return r


class Respondent(_Client):
    """Opens an invitation link and answers the questionnaire page by page, thinking between
    pages; then takes the next link (a new company) with fresh cookies."""

    wait_time = constant(0)

    def pause(self) -> None:
        gevent.sleep(random.uniform(*_think("respondent")))

    def on_start(self) -> None:
        # respondents arrive at random, not all at once (drive.py measures after a warm-up)
        gevent.sleep(random.uniform(0, 2 * _think("respondent")[1]))

    @task
    def answer(self) -> None:
        token = next(_tokens, None)
        if token is None:
            COUNTERS["respondent links used up"] += 1
            gevent.sleep(30)
            return
        self.client.cookiejar.clear()
        r = self.get(f"/s/{token}", "/s/[token]", expect=(302,))
        if r.status_code != 302:
            return
        r = self.get("/survey", "/survey", pause_follows=True)
        token = _csrf(r.text)
        self.pause()
        r = self.post("/survey/start", "/survey/start", {"csrf_token": token})
        if r.status_code != 302:
            return
        for page, answers in PAGES:
            r = self.get(f"/survey/p/{page}", "/survey/p/[page]", pause_follows=True)
            token = _csrf(r.text)
            if token is None:
                return
            self.pause()
            r = self.post(
                f"/survey/p/{page}", "/survey/p/[page] save", {**answers, "csrf_token": token}
            )
            if r.status_code != 302:
                return
        r = self.get("/survey/review", "/survey/review", pause_follows=True)
        self.pause()
        r = self.post("/survey/submit", "/survey/submit", {"csrf_token": _csrf(r.text)})
        if r.status_code == 302:
            self.get("/survey/done", "/survey/done")
            COUNTERS["surveys completed"] += 1


class Agent(_Client):
    """Logs in (password, then TOTP: enrolment on the first login), then works the call list:
    next case, the case screen, an outcome."""

    wait_time = constant(0)
    OUTCOMES = ("no_answer", "busy", "answering_machine")

    def on_start(self) -> None:
        import pyotp

        self.email = next(_agents, None)
        if self.email is None:
            COUNTERS["agents without a login"] += 1
            return
        r = self.get("/login", "/login")
        r = self.post(
            "/login",
            "/login",
            {"email": self.email, "password": DATA["password"], "csrf_token": _csrf(r.text)},
        )
        where = r.headers.get("Location", "") if r.status_code == 302 else ""
        if where.endswith("/login/enrol"):
            r = self.get("/login/enrol", "/login/enrol")
            secret = SECRET.search(r.text).group(1)
            _secrets[self.email] = secret
            code = pyotp.TOTP(secret).now()
            self.post(
                "/login/enrol",
                "/login/enrol",
                {"code": code, "csrf_token": _csrf(r.text)},
                expect=(200,),
            )
        elif where.endswith("/login/code"):
            r = self.get("/login/code", "/login/code")
            code = pyotp.TOTP(_secrets[self.email]).now()
            self.post("/login/code", "/login/code", {"code": code, "csrf_token": _csrf(r.text)})

    @task
    def call(self) -> None:
        if self.email is None:
            gevent.sleep(30)
            return
        r = self.get("/agent", "/agent")
        # an empty list makes the agent wait: the connection is not kept for that
        r = self.post(
            "/agent/next", "/agent/next", {"csrf_token": _csrf(r.text)}, pause_follows=True
        )
        if r.status_code != 302:
            return
        where = r.headers.get("Location", "") if r.status_code == 302 else ""
        if "/agent/case/" not in where:
            COUNTERS["call list empty"] += 1
            gevent.sleep(random.uniform(*_think("agent")))
            return
        path = "/agent/case/" + where.split("/agent/case/", 1)[1]
        r = self.get(path, "/agent/case/[id]", pause_follows=True)
        gevent.sleep(random.uniform(*_think("agent")))
        self.post(
            f"{path}/outcome",
            "/agent/case/[id]/outcome",
            {"csrf_token": _csrf(r.text), "outcome": random.choice(self.OUTCOMES)},
        )
        COUNTERS["calls logged"] += 1


class ApiClient(_Client):
    """Reads the statistics API with its own key: the catalogue, a table's description, data as
    JSON and as CSV."""

    wait_time = between(*_think("api"))

    def on_start(self) -> None:
        self.auth = {"Authorization": f"Bearer {next(_keys)}"}
        if _think("api")[1] >= 4:  # pauses past gunicorn's keep-alive (5 s): new connections
            self.auth["Connection"] = "close"
        self.tables = DATA.get("tables") or ["recruitment_total"]

    def api(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, headers=self.auth, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(_why(r, (200,)))

    @task(1)
    def catalogue(self) -> None:
        self.api("/api/v1/subjects", "/api/v1/subjects")
        self.api("/api/v1/tables", "/api/v1/tables")

    @task(1)
    def describe(self) -> None:
        self.api(f"/api/v1/tables/{random.choice(self.tables)}", "/api/v1/tables/[id]")

    @task(3)
    def data_json(self) -> None:
        self.api(f"/api/v1/data/{random.choice(self.tables)}", "/api/v1/data/[id]")

    @task(1)
    def data_csv(self) -> None:
        self.api(f"/api/v1/data/{random.choice(self.tables)}?format=csv", "/api/v1/data/[id] csv")


class Bare(FastHttpUser):
    """The baseline: GET / on a trivial Flask app behind the same gunicorn settings. ``paced``
    thinks like a respondent; ``saturated`` asks again as soon as the answer comes."""

    abstract = True

    def __init__(self, environment):
        self.host = next(_baseline_hosts)
        super().__init__(environment)

    close = False

    @task
    def hello(self) -> None:
        # paced: a pause longer than gunicorn's keep-alive follows, as in the respondents' GETs
        headers = {"Connection": "close"} if self.close else {}
        self.client.get("/", name="bare /", headers=headers)


class BarePaced(Bare):
    wait_time = between(*_think("respondent"))
    close = True


class BareSaturated(Bare):
    wait_time = constant(0)
