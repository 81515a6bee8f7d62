"""Helpers shared by the benchmarks: a gunicorn server of the site, a wrk run, RSS readings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable


def site_env(database_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY="benchmark-only-secret",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        RATELIMIT_ENABLE="0",  # one client hammering on purpose
        SECURE_COOKIES="0",
        SECURE_SSL_REDIRECT="0",  # plain HTTP on the loopback, as behind the TLS proxy
        LOG_LEVEL="WARNING",
    )
    # Production's shared cache (the site refuses to start without one when DEBUG is off).
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
    return env


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


class Gunicorn:
    """The site as gunicorn.conf.py deploys it (threaded workers, one connection each)."""

    def __init__(
        self, database_url: str, *, port: int = 8077, workers: int | None = None, prefix: tuple[str, ...] = (),
        app: str = "creditchina.wsgi", env: dict | None = None,
    ):  # fmt: skip
        self.port = port
        self.prefix = prefix  # e.g. ("nice", "-n", "10")
        self.workers = workers
        self.app = app
        self.env = {**site_env(database_url), **(env or {})}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        subprocess.run(
            [PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=self.env, check=True
        )
        self.process = subprocess.Popen(
            [*self.prefix, str(Path(PYTHON).parent / "gunicorn"), self.app,
             *(["--workers", str(self.workers)] if self.workers else []),
             "--bind", f"127.0.0.1:{self.port}", "--access-logfile", "/dev/null", "--log-level", "warning"],
            cwd=ROOT, env=self.env,
        )  # fmt: skip
        wait_for(f"http://127.0.0.1:{self.port}/robots.txt")
        return self

    def __exit__(self, *exc) -> None:
        if self.process:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def worker_rss_kib(self) -> list[int]:
        children = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout.split()
        return sorted(rss_kib(int(pid)) for pid in children)


def rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wrk(url: str, paths_file: Path, *, connections: int = 16, seconds: int = 30, threads: int = 2) -> dict:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
         str(ROOT / "bench" / "random_path.lua"), url],
        env={**os.environ, "PATHS_FILE": str(paths_file)}, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(line for line in out.splitlines() if line.startswith("JSON "))
    return json.loads(line[5:])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary_ms(samples: list[float]) -> dict:
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples) * 1000, 2),
        "p99_ms": round(percentile(samples, 99) * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2),
    }


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return path


def prewarm(database_url: str) -> None:
    """Read the site's tables and indexes into the operating system's cache, as they are on
    a server that has been up for a while (the machine has the memory for all of them)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        relations = conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relname LIKE 'disclosure%%' AND c.relkind IN ('r', 'i')"
        ).fetchall()
        for (relation,) in relations:
            conn.execute("SELECT pg_prewarm(%s, 'buffer')", [relation])
