"""Entity page by code under load: the site under gunicorn against Datasette 0.65 serving a
JSON lookup of the same entity by code from the same data exported to SQLite. Both in one
run, same machine, same random codes, wrk with 16 connections.

    DATABASE_URL=postgres://... python bench/lookup.py [--seconds 30] [--workers 4]

Needs the data of `generate_dataset --entities 1000000 --records 3000000` and wrk
(apt-get install wrk). Datasette is installed into var/bench/datasette-venv on first use.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, ROOT, Gunicorn, prewarm, wait_for, write_result, wrk  # noqa: E402

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


def all_codes(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        return [code for (code,) in conn.execute("SELECT code FROM disclosure_entity WHERE code IS NOT NULL ORDER BY id")]


def zipf_draw(codes: list[str], count: int, *, s: float = 1.0, seed: int = 20261128) -> list[str]:
    """``count`` codes drawn from a Zipf distribution with exponent ``s`` over all ``codes``:
    the entity of rank r is drawn with probability proportional to 1 / r**s. Which entity has
    which rank is a seeded shuffle, so the draw is the same sequence on every run."""
    rng = random.Random(seed)
    ranked = codes[:]
    rng.shuffle(ranked)
    cumulative = list(itertools.accumulate(1 / rank**s for rank in range(1, len(ranked) + 1)))
    total = cumulative[-1]
    return [ranked[bisect.bisect_left(cumulative, rng.random() * total)] for _ in range(count)]


def run_datasette(paths: Path, args) -> dict:
    datasette = subprocess.Popen(
        [str(datasette_binary()), "serve", str(SQLITE_COPY), "--port", "8078", "--host", "127.0.0.1",
         "--setting", "sql_time_limit_ms", "5000", "--immutable", str(SQLITE_COPY)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for("http://127.0.0.1:8078/-/versions.json")
        wrk("http://127.0.0.1:8078", paths, connections=args.connections, seconds=5)  # warm-up
        return wrk("http://127.0.0.1:8078", paths, connections=args.connections, seconds=args.seconds)
    finally:
        datasette.terminate()
        datasette.wait()


def flush_page_cache(env: dict) -> None:
    subprocess.run(
        [PYTHON, "-c", "import redis, sys; redis.Redis.from_url(sys.argv[1]).flushdb()", env["REDIS_URL"]],
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, help="default: gunicorn.conf.py's (cores + 1)")
    parser.add_argument("--draws", default="uniform,zipf", help="uniform, zipf or both (comma-separated)")
    parser.add_argument(
        "--warm-seconds", type=int, default=30,
        help="requests before the measured run under the skewed draw, so the page cache holds what "
        "a site that has been up for a while holds",
    )  # fmt: skip
    parser.add_argument("--no-page-cache", action="store_true", help="run the site with PAGE_CACHE=0")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to the PostgreSQL database generate_dataset filled.")

    prewarm(args.database_url)
    export_to_sqlite(args.database_url)
    WORK.mkdir(parents=True, exist_ok=True)
    draws = {}
    for draw in args.draws.split(","):
        if draw == "uniform":
            codes = sample_codes(args.database_url, 20_000)
        elif draw == "zipf":
            codes = zipf_draw(all_codes(args.database_url), 200_000)
        else:
            raise SystemExit(f"unknown draw {draw!r}")
        site_paths = WORK / f"entity-paths-{draw}.txt"
        site_paths.write_text("".join(f"/entities/{code}/\n" for code in codes))
        datasette_paths = WORK / f"datasette-paths-{draw}.txt"
        datasette_paths.write_text(
            "".join(f"/entities/disclosure_entity.json?code={code}&_shape=array\n" for code in codes)
        )
        draws[draw] = (codes, site_paths, datasette_paths)
    hello_paths = WORK / "hello-paths.txt"
    hello_paths.write_text("/hello/\n")

    results = {}
    extra_env = {"PAGE_CACHE": "0"} if args.no_page_cache else {}
    for draw, (codes, site_paths, datasette_paths) in draws.items():
        datasette_result = run_datasette(datasette_paths, args)
        with Gunicorn(args.database_url, workers=args.workers, env=extra_env) as server:
            flush_page_cache(server.env)  # every run starts from an empty page cache
            url = f"http://127.0.0.1:{server.port}"
            warm = args.warm_seconds if draw == "zipf" else 5
            wrk(url, site_paths, connections=args.connections, seconds=warm)  # warm-up: imports, connections, cache
            rss_before = server.worker_rss_kib()
            site_result = wrk(url, site_paths, connections=args.connections, seconds=args.seconds)
            time.sleep(1)
            rss_after = server.worker_rss_kib()
        with Gunicorn(args.database_url, workers=args.workers, app="bench.hello.wsgi", env=extra_env) as server:
            url = f"http://127.0.0.1:{server.port}"
            wrk(url, hello_paths, connections=args.connections, seconds=5)
            hello_result = wrk(url, hello_paths, connections=args.connections, seconds=args.seconds)
        results[draw] = {
            "site": site_result,
            "datasette": datasette_result,
            "hello": hello_result,
            "ratio_to_datasette": round(site_result["rps"] / datasette_result["rps"], 2),
            "share_of_hello": round(site_result["rps"] / hello_result["rps"], 2),
            "page_cache_hit_share": round(site_result["cache_hits"] / max(site_result["requests"], 1), 3),
            "distinct_codes": len(set(codes)),
            "requests_drawn": len(codes),
            "worker_rss_kib_before": rss_before,
            "worker_rss_kib_after": rss_after,
        }
    result = {
        "draws": results,
        "page_cache": not args.no_page_cache,
        "gunicorn_workers": len(rss_before),
        "connections": args.connections,
        "seconds": args.seconds,
        "warm_seconds": args.warm_seconds,
        "load_average": os.getloadavg(),
    }
    path = write_result("lookup" + ("-no-page-cache" if args.no_page_cache else ""), result)
    for draw, r in results.items():
        print(f"== {draw} draw ({r['distinct_codes']} distinct codes in {r['requests_drawn']} drawn)")
        for name in ("site", "datasette", "hello"):
            x = r[name]
            print(f"{name:9} {x['rps']:8.1f} req/s  p50 {x['p50_ms']:.2f} ms  p99 {x['p99_ms']:.2f} ms  non-2xx {x['non2xx']}")
        print(
            f"site/datasette {r['ratio_to_datasette']}x   site/hello {r['share_of_hello']}   "
            f"served from the page cache {r['page_cache_hit_share']:.1%}   worker RSS KiB {r['worker_rss_kib_after']}"
        )
    print(f"load average {os.getloadavg()}; written to {path}")


if __name__ == "__main__":
    main()
