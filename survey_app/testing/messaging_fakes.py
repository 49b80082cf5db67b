"""Local stand-ins for the outside world of messaging: a real SMTP server (aiosmtpd) that keeps
what it receives, and a fake Twilio REST API that the real ``twilio`` client talks to. Used by the
messaging tests and by the benchmarks in ``bench/``."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import socket
import threading
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """aiosmtpd handler: keeps messages; ``refuse[address] = "550 ..."`` rejects a recipient."""

    def __init__(self, parse: bool = True):
        self.messages: list = []
        self.recipients: list[str] = []
        #: the envelope sender (MAIL FROM) of each message, where its bounces go
        self.senders: list[str] = []
        self.refuse: dict[str, str] = {}
        self.parse = parse
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.recipients.extend(envelope.rcpt_tos)
            self.senders.append(envelope.mail_from)
            if self.parse:
                self.messages.append(
                    email.message_from_bytes(envelope.content, policy=email.policy.default)
                )
            else:
                self.messages.append(None)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, parse: bool = True):
        self.sink = SmtpSink(parse)
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class FakeTwilio:
    """POST /2010-04-01/Accounts/<sid>/Messages.json and …/Calls.json as Twilio answers them.

    ``fail(status, code)`` makes the next request(s) fail; ``fail_to[number] = (status, code)``
    fails every request to that number. ``messages`` holds the accepted form posts.

    GET …/Calls/<call sid>.json answers with the call's status as ``call_status[sid]`` has it
    (``queued`` once the call is created; a test moves it on, with ``call_duration[sid]`` in
    seconds) and 404 for a sid it does not know; ``fetched`` lists the sids asked for.
    """

    CALL = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Calls/(?P<call>CA\w+)\.json$")

    PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/(?P<kind>Messages|Calls)\.json$")

    def __init__(self, account_sid: str, auth_token: str, keep_bodies: bool = True):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[dict] = []
        #: the accepted POSTs to Calls.json (Voice)
        self.calls: list[dict] = []
        #: called with the form of each Calls.json request before it is answered
        self.on_call = None
        self.failures: deque = deque()
        self.fail_to: dict[str, tuple[int, int]] = {}
        self.keep_bodies = keep_bodies
        #: Voice: each call's current status and duration, and the sids fetched (GET)
        self.call_status: dict[str, str] = {}
        self.call_duration: dict[str, int] = {}
        self.fetched: list[str] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _reply(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _call(self, form: dict) -> None:
                sid = "CA" + uuid.uuid4().hex
                if fake.on_call is not None:
                    fake.on_call(form)
                with fake.lock:
                    fake.calls.append({**form, "sid": sid})
                    fake.call_status[sid] = "queued"
                return self._reply(
                    201,
                    {
                        "sid": sid,
                        "account_sid": fake.account_sid,
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "status": "queued",
                        "direction": "outbound-api",
                        "api_version": "2010-04-01",
                        "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Calls/{sid}.json",
                    },
                )

            def _refused(self, match) -> bool:
                """Answer 404 for another account's path, 401 for wrong credentials."""
                expected = (
                    "Basic "
                    + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                )
                if not match or match["sid"] != fake.account_sid:
                    self._reply(404, {"code": 20404, "message": "not found", "status": 404})
                    return True
                if self.headers.get("Authorization") != expected:
                    self._reply(401, {"code": 20003, "message": "auth", "status": 401})
                    return True
                return False

            def do_GET(self):
                match = fake.CALL.match(self.path.split("?", 1)[0])
                if self._refused(match):
                    return None
                sid = match["call"]
                with fake.lock:
                    fake.fetched.append(sid)
                    status = fake.call_status.get(sid)
                    duration = fake.call_duration.get(sid)
                if status is None:
                    return self._reply(
                        404,
                        {
                            "code": 20404,
                            "message": f"The requested resource {self.path} was not found",
                            "more_info": "https://www.twilio.com/docs/errors/20404",
                            "status": 404,
                        },
                    )
                return self._reply(
                    200,
                    {
                        "sid": sid,
                        "account_sid": fake.account_sid,
                        "status": status,
                        "duration": None if duration is None else str(duration),
                        "direction": "outbound-api",
                        "api_version": "2010-04-01",
                        "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Calls/{sid}.json",
                    },
                )

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                match = fake.PATH.match(self.path)
                if self._refused(match):
                    return None
                with fake.lock:
                    failure = fake.failures.popleft() if fake.failures else None
                failure = failure or fake.fail_to.get(form.get("To", ""))
                if failure:
                    status, code = failure
                    return self._reply(
                        status, {"code": code, "message": f"fake error {code}", "status": status}
                    )
                if match["kind"] == "Calls":
                    return self._call(form)
                sid = "SM" + uuid.uuid4().hex
                record = {**form, "sid": sid}
                if not fake.keep_bodies:
                    record.pop("Body", None)
                with fake.lock:
                    fake.messages.append(record)
                return self._reply(
                    201,
                    {
                        "sid": sid,
                        "account_sid": fake.account_sid,
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "messaging_service_sid": form.get("MessagingServiceSid"),
                        "body": form.get("Body"),
                        "status": "accepted" if form.get("MessagingServiceSid") else "queued",
                        "num_segments": "1",
                        "direction": "outbound-api",
                        "api_version": "2010-04-01",
                        "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json",
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def fail(self, status: int, code: int, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([(status, code)] * times)

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-twilio-auth-token"  # noqa: S105 - the fake's own credential


def twilio_config(fake: FakeTwilio) -> dict:
    return {
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
        "TWILIO_API_BASE": fake.url,
    }


def smtp_config(server: SmtpServer) -> dict:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": server.port,
        "SMTP_FROM": "survey@star.example",
    }
