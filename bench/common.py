"""Helpers shared by the benchmarks: a gunicorn server of the site, a wrk run, RSS readings,
the PostgreSQL settings and load average a run happened under."""

from __future__ import annotations

import datetime as dt
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
# The ports the scripts' servers listen on are PORT_BASE + an offset per script (8077 and up
# unless BENCH_PORT_BASE says otherwise), so two runs on one machine can keep apart.
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "8077"))

# The PostgreSQL settings bench/README.md's figures are measured under ("Settings" there):
# PostgreSQL 15 as the package installs it. A run under other settings says so loudly.
DOCUMENTED_SERVER_MAJOR = 15
DOCUMENTED_SETTINGS = {
    "shared_buffers": "128MB",
    "effective_cache_size": "4GB",
    "work_mem": "4MB",
    "max_connections": "100",
    "synchronous_commit": "on",
    "jit": "on",
}


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
        self,
        database_url: str,
        *,
        port: int = PORT_BASE,
        workers: int | None = None,
        prefix: tuple[str, ...] = (),
        app: str = "creditchina.wsgi",
        env: dict | None = None,
    ):
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


def postgres_settings(database_url: str) -> dict:
    """The server's version and the settings DOCUMENTED_SETTINGS names, as SHOW prints them."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        settings = {
            name: conn.execute("SELECT current_setting(%s)", [name]).fetchone()[0]
            for name in DOCUMENTED_SETTINGS
        }
        settings["server_version"] = conn.execute("SHOW server_version").fetchone()[0]
    return settings


def settings_differences(settings: dict) -> dict:
    differences = {
        name: {"documented": documented, "actual": settings[name]}
        for name, documented in DOCUMENTED_SETTINGS.items()
        if settings[name] != documented
    }
    major = settings["server_version"].split(".")[0]
    if major != str(DOCUMENTED_SERVER_MAJOR):
        differences["server_version"] = {
            "documented": f"{DOCUMENTED_SERVER_MAJOR}.x",
            "actual": settings["server_version"],
        }
    return differences


def database_facts(database_url: str) -> dict:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        name, size = conn.execute(
            "SELECT current_database(), pg_database_size(current_database())"
        ).fetchone()
        entities = conn.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = 'disclosure_entity'::regclass"
        ).fetchone()[0]
    return {"name": name, "size_bytes": size, "entities_estimate": entities}


def start_run(database_url: str) -> dict:
    """Print and return what a run happens under: the PostgreSQL settings (with a loud warning
    for each one that differs from the documented baseline), the database, the load average.
    Pass the answer to ``write_result``, which adds the load average at the end."""
    load = os.getloadavg()
    settings = postgres_settings(database_url)
    differences = settings_differences(settings)
    database = database_facts(database_url)
    print(
        f"PostgreSQL {settings['server_version']}: "
        + ", ".join(f"{name} = {settings[name]}" for name in DOCUMENTED_SETTINGS)
    )
    print(
        f"database {database['name']}: {database['size_bytes'] / 2**30:.1f} GiB, "
        f"~{database['entities_estimate']:,} entities; load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"on {os.cpu_count()} cores"
    )
    if differences:
        banner = "!" * 78
        lines = [banner, "WARNING: PostgreSQL runs with settings other than bench/README.md's baseline:"]
        lines += [
            f"    {name} = {d['actual']}  (documented: {d['documented']})" for name, d in differences.items()
        ]
        lines += ["Figures from this run are NOT comparable with the README's tables.", banner]
        print("\n".join(lines), file=sys.stderr, flush=True)
    return {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_start": [round(value, 2) for value in load],
        "cpu_count": os.cpu_count(),
        "postgresql": settings,
        "settings_differ_from_documented": differences,
        "database": database,
    }


def write_result(name: str, data: dict, run: dict | None = None) -> Path:
    """Write a run's figures to bench/results/<name>[-<database>].json; with the ``start_run``
    answer, also what the run happened under and the load average at its end."""
    if run is not None:
        load = os.getloadavg()
        run = {
            **run,
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "load_average_end": [round(value, 2) for value in load],
        }
        data = {**data, "run": run}
        name = f"{name}-{run['database']['name']}"
        print(f"load average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return path


def prewarm(database_url: str, tables: tuple[str, ...] | None = None) -> None:
    """Read the given tables (default: all of the site's ``disclosure_*`` tables) and their
    indexes into the operating system's cache, as they are on a server that has been up for a
    while. Only what a benchmark reads: at 10 million entities the whole database is larger
    than the machine's memory."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        relations = conn.execute(
            "SELECT c.oid::regclass::text, pg_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN pg_index i ON i.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = i.indrelid"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"
            " AND (CASE WHEN %(all)s THEN coalesce(t.relname, c.relname) LIKE 'disclosure%%'"
            "      ELSE coalesce(t.relname, c.relname) = ANY(%(tables)s) END)",
            {"all": tables is None, "tables": list(tables or ())},
        ).fetchall()
        for relation, _size in relations:
            conn.execute("SELECT pg_prewarm(%s, 'read')", [relation])
    total = sum(size for _relation, size in relations)
    print(
        f"prewarmed {len(relations)} relations, {total / 2**30:.2f} GiB, in {time.monotonic() - started:.0f}s"
    )
