"""Entity page by code under load: the site under gunicorn against Datasette 0.65 serving a
JSON lookup of the same entity by code from the same data exported to SQLite. Both in one
run, same machine, same random codes, wrk with 16 connections.

    DATABASE_URL=postgres://... python bench/lookup.py [--seconds 30] [--workers 4]

Needs the data of `generate_dataset --entities 1000000 --records 3000000` and wrk
(apt-get install wrk). Datasette is installed into var/bench/datasette-venv on first use.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, Gunicorn, prewarm, wait_for, write_result, wrk  # noqa: E402

WORK = ROOT / "var" / "bench"
DATASETTE_VENV = WORK / "datasette-venv"
SQLITE_COPY = WORK / "entities.db"


def sample_codes(database_url: str, count: int) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT code FROM disclosure_entity TABLESAMPLE SYSTEM (5) WHERE code IS NOT NULL LIMIT %s",
            [count],
        ).fetchall()
    return [code for (code,) in rows]


def export_to_sqlite(database_url: str) -> None:
    if SQLITE_COPY.exists():
        return
    WORK.mkdir(parents=True, exist_ok=True)
    partial = SQLITE_COPY.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    target = sqlite3.connect(partial)
    columns = "id, code, name, kind, registration_authority, entity_type, division_code, province_code, region, legal_representative"
    target.execute(f"CREATE TABLE disclosure_entity ({columns.replace(', ', ' TEXT, ')} TEXT)")
    with psycopg.connect(database_url) as conn, conn.cursor(name="export") as cursor:
        cursor.itersize = 50_000
        cursor.execute(f"SELECT {columns} FROM disclosure_entity ORDER BY id")
        batch = []
        for row in cursor:
            batch.append(row)
            if len(batch) == 50_000:
                target.executemany(f"INSERT INTO disclosure_entity VALUES ({', '.join('?' * 10)})", batch)
                batch = []
        target.executemany(f"INSERT INTO disclosure_entity VALUES ({', '.join('?' * 10)})", batch)
    target.execute("CREATE INDEX entity_code ON disclosure_entity (code)")
    target.commit()
    target.close()
    partial.rename(SQLITE_COPY)


def datasette_binary() -> Path:
    binary = DATASETTE_VENV / "bin" / "datasette"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DATASETTE_VENV)], check=True)
        subprocess.run(
            [str(DATASETTE_VENV / "bin" / "pip"), "install", "-q", "datasette==0.65.*"], check=True
        )
    return binary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, help="default: gunicorn.conf.py's (cores + 1)")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to the PostgreSQL database generate_dataset filled.")

    prewarm(args.database_url)
    codes = sample_codes(args.database_url, 20_000)
    WORK.mkdir(parents=True, exist_ok=True)
    site_paths = WORK / "entity-paths.txt"
    site_paths.write_text("".join(f"/entities/{code}/\n" for code in codes))
    datasette_paths = WORK / "datasette-paths.txt"
    datasette_paths.write_text(
        "".join(f"/entities/disclosure_entity.json?code={code}&_shape=array\n" for code in codes)
    )

    export_to_sqlite(args.database_url)
    datasette = subprocess.Popen(
        [str(datasette_binary()), "serve", str(SQLITE_COPY), "--port", "8078", "--host", "127.0.0.1",
         "--setting", "sql_time_limit_ms", "5000", "--immutable", str(SQLITE_COPY)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for("http://127.0.0.1:8078/-/versions.json")
        wrk("http://127.0.0.1:8078", datasette_paths, connections=args.connections, seconds=5)  # warm-up
        datasette_result = wrk(
            "http://127.0.0.1:8078", datasette_paths, connections=args.connections, seconds=args.seconds
        )
    finally:
        datasette.terminate()
        datasette.wait()

    with Gunicorn(args.database_url, workers=args.workers) as server:
        url = f"http://127.0.0.1:{server.port}"
        wrk(url, site_paths, connections=args.connections, seconds=5)  # warm-up: imports, connections
        rss_before = server.worker_rss_kib()
        site_result = wrk(url, site_paths, connections=args.connections, seconds=args.seconds)
        time.sleep(1)
        rss_after = server.worker_rss_kib()

    result = {
        "site": site_result,
        "datasette": datasette_result,
        "ratio": round(site_result["rps"] / datasette_result["rps"], 2),
        "gunicorn_workers": len(rss_before),
        "worker_rss_kib_before": rss_before,
        "worker_rss_kib_after": rss_after,
        "connections": args.connections,
        "seconds": args.seconds,
        "codes_sampled": len(codes),
    }
    path = write_result("lookup", result)
    print(
        f"site      {site_result['rps']:8.1f} req/s  p50 {site_result['p50_ms']:.2f} ms  p99 {site_result['p99_ms']:.2f} ms  non-2xx {site_result['non2xx']}"
    )
    print(
        f"datasette {datasette_result['rps']:8.1f} req/s  p50 {datasette_result['p50_ms']:.2f} ms  p99 {datasette_result['p99_ms']:.2f} ms"
    )
    print(f"ratio     {result['ratio']}x    worker RSS KiB before {rss_before} after {rss_after}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
