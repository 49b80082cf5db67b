"""Real processes for the fault tests: ``survey-app worker`` subprocesses, a private
``redis-server`` that keeps nothing on disk, and an SMTP server that can hold one message."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..app.messaging_fakes import SmtpSink, free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Worker:
    """``survey-app worker`` as a child process on the test's database and a given Redis."""

    def __init__(self, app, database_url: str, redis_url: str, log: Path, **settings):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
        env.update(
            SURVEY_DATABASE_URL=database_url,
            SURVEY_REDIS_URL=redis_url,
            SURVEY_SECRET_KEY=app.config["SECRET_KEY"],  # tokens are sealed with it
            SURVEY_BASE_URL=app.config["BASE_URL"],
            SURVEY_LOG_FORMAT="text",
        )
        for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_FROM"):
            if app.config.get(name) is not None:
                env[f"SURVEY_{name}"] = str(app.config[name])
        env.update({f"SURVEY_{k}": str(v) for k, v in settings.items()})
        self.log = log
        self.proc = subprocess.Popen(  # noqa: S603 - our own command
            [str(BIN / "survey-app"), "worker"],
            cwd=REPO,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def horses(self) -> list[int]:
        """The work horses this worker forked (RQ puts each in its own process group, so a kill
        of the worker alone would leave the horse sending)."""
        children: list[int] = []
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            try:
                children += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
        return children

    def kill9(self) -> list[int]:
        """SIGKILL the worker and its children (work horse, RQ scheduler) at once, as a crashed
        host would leave them."""
        victims = [self.pid, *self.horses()]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)
        for pid in victims[1:]:
            wait_for(lambda p=pid: not Path(f"/proc/{p}").exists(), 10, f"horse {pid} to die")
        return victims

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for pid in self.horses():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-tail:]


class PrivateRedis:
    """A redis-server of the test's own on a free port, with no persistence at all, so a kill
    and a restart lose everything it held."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.dir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        import redis

        self.proc = subprocess.Popen(  # noqa: S603
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--protected-mode",
                "no",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        conn = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)

        def up():
            try:
                return conn.ping()
            except redis.ConnectionError:
                return False

        wait_for(up, 10, "redis-server to answer")
        conn.close()
        return self

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class HoldingSink(SmtpSink):
    """Accepts mail like :class:`SmtpSink`, but holds the first delivery to ``hold`` (the reply
    is never sent while it is held). ``held`` is set when that message has come in; ``release``
    lets the server answer it with a temporary failure, so the held copy never counts."""

    def __init__(self, hold: str):
        super().__init__(parse=True)
        self.hold = hold.lower()
        self.held = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if self.hold in [r.lower() for r in envelope.rcpt_tos] and not self.held.is_set():
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 held by the test; the client is gone"
        return await super().handle_DATA(server, session, envelope)
