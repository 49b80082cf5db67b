"""Processes of the load test: the topology (``scripts/topology.sh``), the bare-Flask baseline
servers, and the memory sampler (RSS of every app and worker process over time)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - local server
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, seconds: float = 30) -> None:
    """Stop one process we started: ``sig``, then SIGKILL after ``seconds``."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class Topology:
    """``scripts/topology.sh up`` / ``down`` with this run's environment and directory."""

    def __init__(self, env: dict, directory: Path):
        self.env, self.dir = env, directory
        self.started = False

    def up(self) -> str:
        self.started = True
        out = subprocess.run(
            [str(ROOT / "scripts" / "topology.sh"), "up"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if out.returncode:
            raise SystemExit(f"topology did not start:\n{out.stdout}{out.stderr}")
        return out.stdout

    def down(self) -> None:
        """``topology.sh down`` (SIGTERM, graceful); whatever of ours is still alive after it
        (a worker that did not stop in 30 s, a work horse) is killed, by pid."""
        if not self.started:
            return
        ours = []
        for pid in self.roots().values():
            try:
                root = psutil.Process(pid)
                ours += [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
        out = subprocess.run(
            [str(ROOT / "scripts" / "topology.sh"), "down"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if out.stderr.strip():
            print(out.stderr.strip())
        # What is left after the graceful stop is killed: the processes seen before, and any
        # started since (a worker that restarts its RQ loop forks a new scheduler), found by
        # this run's TOPOLOGY_DIR in their environment; again until none is left.
        for _round in range(5):
            left = {p.pid: p for p in ours}
            for proc in psutil.process_iter():
                try:
                    mine = proc.environ().get("TOPOLOGY_DIR") == self.env["TOPOLOGY_DIR"]
                    if mine and proc.pid != os.getpid():
                        left[proc.pid] = proc
                except psutil.Error:
                    continue
            alive = []
            for proc in left.values():
                try:
                    if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                        name = " ".join(proc.cmdline()[1:3])
                        print(f"still running after topology.sh down: pid {proc.pid} ({name})")
                        proc.kill()
                        alive.append(proc)
                except psutil.Error:
                    continue
            if not alive:
                break
            psutil.wait_procs(alive, timeout=5)
            ours = []
        self.started = False

    def roots(self) -> dict[str, int]:
        """name -> pid of each gunicorn master and RQ worker (from the pid files)."""
        out = {}
        for pidfile in sorted(self.dir.glob("*.pid")):
            try:
                out[pidfile.stem] = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                continue
        return out


class BaselineServers:
    """The bare-Flask app on ``ports``, one gunicorn per port with the app's gunicorn settings."""

    def __init__(self, ports: list[int], env: dict, logdir: Path):
        self.ports, self.env, self.logdir = ports, env, logdir
        self.procs: list[subprocess.Popen] = []

    def __enter__(self):
        env = {k: v for k, v in self.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        for port in self.ports:
            log = open(self.logdir / f"baseline-{port}.log", "ab")  # noqa: SIM115
            self.procs.append(
                subprocess.Popen(
                    [
                        str(BIN / "gunicorn"),
                        "--config",
                        str(ROOT / "deploy" / "gunicorn.conf.py"),
                        "--chdir",
                        str(ROOT / "bench" / "load"),
                        "baseline:app",
                    ],
                    env={**env, "SURVEY_BIND": f"127.0.0.1:{port}"},
                    stdout=log,
                    stderr=log,
                )
            )
            log.close()
        for port in self.ports:
            wait_http(f"http://127.0.0.1:{port}/")
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            stop(proc)


class MemorySampler(threading.Thread):
    """Every ``every`` seconds: the RSS of each topology process (gunicorn masters and their
    workers, RQ workers; an RQ worker's short-lived work horses are left out)."""

    def __init__(self, topology: Topology, every: float):
        super().__init__(daemon=True)
        self.topology, self.every = topology, every
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.halt = threading.Event()

    def sample(self) -> dict[str, int]:
        rss = {}
        for name, pid in self.topology.roots().items():
            try:
                root = psutil.Process(pid)
                rss[name] = root.memory_info().rss
                if name.startswith("web-"):
                    for n, child in enumerate(sorted(root.children(), key=lambda p: p.pid), 1):
                        rss[f"{name}/worker-{n} (pid {child.pid})"] = child.memory_info().rss
            except psutil.Error:
                continue
        return rss

    def run(self) -> None:
        start = time.monotonic()
        while not self.halt.is_set():
            self.samples.append((time.monotonic() - start, self.sample()))
            self.halt.wait(self.every)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=10)

    def growth(self) -> list[dict]:
        """Per process: first, last, peak RSS in MiB, growth and growth per hour."""
        if len(self.samples) < 2:
            return []
        (t0, first), (t1, last) = self.samples[0], self.samples[-1]
        hours = max(t1 - t0, 1e-9) / 3600
        rows = []
        for name in sorted(set(first) & set(last)):
            peak = max(s[name] for _t, s in self.samples if name in s)
            delta = (last[name] - first[name]) / 2**20
            rows.append(
                {
                    "process": name,
                    "first_mib": first[name] / 2**20,
                    "last_mib": last[name] / 2**20,
                    "peak_mib": peak / 2**20,
                    "growth_mib": delta,
                    "growth_mib_per_hour": delta / hours,
                }
            )
        return rows


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
