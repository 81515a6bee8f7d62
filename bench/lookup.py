"""Entity page by code under load: the site under gunicorn against Datasette 0.65 serving a
JSON lookup of the same entity by code from the same data exported to SQLite. Both in one
run, same machine, same random codes, wrk with 16 connections.

    DATABASE_URL=postgres://... python bench/lookup.py [--seconds 30] [--workers 4] [--no-datasette]
        [--draws uniform,zipf] [--warm-seconds 30] [--no-page-cache]

Two draws of codes: uniform over the whole table, and Zipf (s = 1.0) over every entity, the
same seeded sequence for the site and for Datasette (real lookups go to a few well-known
companies far more than to the rest). With each, Django's bare "hello" view behind the same
middleware, served by the same gunicorn configuration (bench/hello/): the floor of this
stack. The site runs with the shared page cache in Redis (REDIS_URL), emptied before each
draw; a longer warm-up under the skewed draw lets it hold what a site that has been up a
while holds, and the share of answers it served is reported.

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
import urllib.parse
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    PORT_BASE,
    PYTHON,
    ROOT,
    Gunicorn,
    prewarm,
    start_run,
    summary_ms,
    wait_for,
    write_result,
    wrk,
)

WORK = ROOT / "var" / "bench"
DATASETTE_VENV = WORK / "datasette-venv"
# What the entity page reads: the entity by code, its records, the catalog.
PAGE_TABLES = ("disclosure_entity", "disclosure_creditrecord", "disclosure_catalogitem", "disclosure_department",
               "disclosure_formername")  # fmt: skip


# The two statements an uncached entity page runs (the entity by code; its records shown
# today, with their catalog item and department), as Django issues them.
ENTITY_SQL = "SELECT * FROM disclosure_entity WHERE code = %s"
RECORDS_SQL = """
SELECT r.*, c.*, d.id, d.name, d.name_en, d.code
FROM disclosure_creditrecord r
JOIN disclosure_catalogitem c ON r.catalog_item_id = c.id
JOIN disclosure_department d ON r.department_id = d.id
WHERE c.disclosure_attribute = 'public' AND r.disclosure_start IS NOT NULL AND r.status = 'disclosed'
  AND r.disclosure_end >= CURRENT_DATE AND r.disclosure_start <= CURRENT_DATE AND r.entity_id = %s
ORDER BY c.category, r.decision_date DESC, r.id DESC
"""


def time_sql_floor(database_url: str, codes: list[str]) -> dict:
    """The page's database work alone: its two statements for each code, one client."""
    samples = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for code in codes:
            started = time.perf_counter()
            entity = conn.execute(ENTITY_SQL, [code]).fetchone()
            conn.execute(RECORDS_SQL, [entity[0]]).fetchall()
            samples.append(time.perf_counter() - started)
    return summary_ms(samples)


def sqlite_copy(database_url: str) -> Path:
    """The SQLite export of one database's entities: one directory per database (the sizes
    differ), the file named ``entities.db`` in each (Datasette serves it at ``/entities/``)."""
    name = urllib.parse.urlsplit(database_url).path.strip("/") or "default"
    return WORK / name / "entities.db"


def sample_codes(database_url: str, count: int) -> list[str]:
    """``count`` codes drawn uniformly from the whole table (pages sampled at a rate that gives
    about four times as many rows, then a random subset of those)."""
    with psycopg.connect(database_url) as conn:
        total = conn.execute(
            "SELECT reltuples FROM pg_class WHERE oid = 'disclosure_entity'::regclass"
        ).fetchone()[0]
        percent = min(100.0, 400.0 * count / max(total, 1))
        rows = conn.execute(
            f"SELECT code FROM disclosure_entity TABLESAMPLE SYSTEM ({percent:.4f}) REPEATABLE (1)"
            " WHERE code IS NOT NULL ORDER BY md5(code) LIMIT %s",
            [count],
        ).fetchall()
    return [code for (code,) in rows]


def export_to_sqlite(database_url: str) -> Path:
    target_path = sqlite_copy(database_url)
    if target_path.exists():
        return target_path
    target_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    partial = target_path.with_suffix(".partial")
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
    partial.rename(target_path)
    print(f"exported the entities to {target_path} in {time.monotonic() - started:.0f}s")
    return target_path


def datasette_binary() -> Path:
    binary = DATASETTE_VENV / "bin" / "datasette"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DATASETTE_VENV)], check=True)
        subprocess.run(
            [str(DATASETTE_VENV / "bin" / "pip"), "install", "-q", "datasette==0.65.*"], check=True
        )
    return binary


def run_datasette(args, datasette_paths: Path) -> dict:
    copy = export_to_sqlite(args.database_url)
    port = PORT_BASE + 1
    datasette = subprocess.Popen(
        [str(datasette_binary()), "serve", str(copy), "--port", str(port), "--host", "127.0.0.1",
         "--setting", "sql_time_limit_ms", "5000", "--immutable", str(copy)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/-/versions.json")
        wrk(base, datasette_paths, connections=args.connections, seconds=5)  # warm-up
        return wrk(base, datasette_paths, connections=args.connections, seconds=args.seconds)
    finally:
        datasette.terminate()
        datasette.wait()


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


def ask_each(port: int, codes: list[str], *, connections: int) -> dict:
    """Every code's page once, over ``connections`` kept-alive connections."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    def ask(share: list[str]) -> int:
        conn, kept = http.client.HTTPConnection("127.0.0.1", port), 0
        for code in share:
            conn.request("GET", f"/entities/{code}/")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"/entities/{code}/ answered {response.status}")
            kept += response.getheader("X-Cache") == "hit"
        conn.close()
        return kept

    start = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        kept = sum(pool.map(ask, [codes[i::connections] for i in range(connections)]))
    return {"requests": len(codes), "seconds": round(time.perf_counter() - start, 1), "cache_hits": kept}


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
    parser.add_argument("--no-datasette", action="store_true", help="the site alone (no SQLite export)")
    parser.add_argument("--draws", default="uniform,zipf", help="uniform, zipf or both (comma-separated)")
    parser.add_argument("--warm-seconds", type=int, default=30, help="the warm-up under the skewed draw")
    parser.add_argument("--no-page-cache", action="store_true", help="run the site with PAGE_CACHE=0")
    parser.add_argument(
        "--rate-limit", action="store_true",
        help="count every page against the per-client rate limit, as production does (at a rate wrk cannot reach)",
    )  # fmt: skip
    parser.add_argument(
        "--steady", action="store_true",
        help="before the skewed draw's run, ask once for every code it holds: the cache of a site that has been up",
    )  # fmt: skip
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to the PostgreSQL database generate_dataset filled.")

    run = start_run(args.database_url)
    prewarm(args.database_url, PAGE_TABLES)
    WORK.mkdir(parents=True, exist_ok=True)
    uniform = sample_codes(args.database_url, 22_000)
    uniform, floor_codes = uniform[:20_000], uniform[20_000:]  # the floor's are read by nothing before it
    # Codes the warm-ups and runs below will not have read yet: the floor is of uncached pages.
    sql_floor = time_sql_floor(args.database_url, floor_codes)
    print(
        f"SQL floor (the page's 2 statements) p50 {sql_floor['p50_ms']:.2f} ms  p99 {sql_floor['p99_ms']:.2f} ms"
    )
    hello_paths = WORK / "hello-paths.txt"
    hello_paths.write_text("/hello/\n")
    hello_page_paths = WORK / "hello-page-paths.txt"  # hello with a page's 5 KB
    hello_page_paths.write_text("/hello/page/\n")
    extra_env = {"PAGE_CACHE": "0"} if args.no_page_cache else {}
    if args.rate_limit:
        # Production counts each page a client asks for (views.PAGE_LIMIT); the benchmark's
        # one client would be refused at production's rate, so the limit is out of its reach.
        extra_env.update(RATELIMIT_ENABLE="1", PAGE_RATE_LIMIT="1000000000/m")
    results = {}
    for draw in args.draws.split(","):
        if draw == "uniform":
            codes = uniform
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
        datasette_result = None if args.no_datasette else run_datasette(args, datasette_paths)
        with Gunicorn(args.database_url, workers=args.workers, env=extra_env) as server:
            flush_page_cache(server.env)  # every draw starts from an empty page cache
            url = f"http://127.0.0.1:{server.port}"
            warm = args.warm_seconds if draw == "zipf" else 5
            wrk(url, site_paths, connections=args.connections, seconds=warm)  # imports, connections, cache
            filled = None
            if args.steady and draw == "zipf":
                filled = ask_each(server.port, list(dict.fromkeys(codes)), connections=args.connections)
                print(f"steady: asked once for {filled['requests']} pages in {filled['seconds']:.0f} s, "
                      f"{filled['cache_hits']} already kept")  # fmt: skip
            rss_before = server.worker_rss_kib()
            site_result = wrk(url, site_paths, connections=args.connections, seconds=args.seconds)
            time.sleep(1)
            rss_after = server.worker_rss_kib()
        with Gunicorn(args.database_url, workers=args.workers, app="bench.hello.wsgi", env=extra_env) as server:
            url = f"http://127.0.0.1:{server.port}"
            wrk(url, hello_paths, connections=args.connections, seconds=5)
            hello_result = wrk(url, hello_paths, connections=args.connections, seconds=args.seconds)
            hello_page_result = wrk(url, hello_page_paths, connections=args.connections, seconds=args.seconds)
        for name, answers in (("site", site_result), ("datasette", datasette_result)):
            if answers and (answers["non2xx"] or answers["errors"]):
                print(f"!!! {name}: {answers['non2xx']} non-2xx answers, {answers['errors']} errors: its rate is not of lookups",
                      file=sys.stderr)  # fmt: skip
        results[draw] = {
            "site": site_result,
            "datasette": datasette_result,
            "hello": hello_result,
            "hello_page": hello_page_result,
            "ratio_to_datasette": round(site_result["rps"] / datasette_result["rps"], 2) if datasette_result else None,
            "share_of_hello": round(site_result["rps"] / hello_result["rps"], 2),
            "page_cache_hit_share": round(site_result["cache_hits"] / max(site_result["requests"], 1), 3),
            "distinct_codes": len(set(codes)),
            "requests_drawn": len(codes),
            "worker_rss_kib_before": rss_before,
            "worker_rss_kib_after": rss_after,
            "steady_fill": filled,
        }
    result = {
        "draws": results,
        "sql_floor": sql_floor,
        "page_cache": not args.no_page_cache,
        "rate_limit_counted": args.rate_limit,
        "gunicorn_workers": len(rss_before),
        "connections": args.connections,
        "seconds": args.seconds,
        "warm_seconds": args.warm_seconds,
        "steady": args.steady,
    }
    name = "lookup" + ("-no-page-cache" if args.no_page_cache else "") + ("-rate-limit" if args.rate_limit else "")
    path = write_result(name + ("-steady" if args.steady else ""), result, run)
    for draw, r in results.items():
        print(f"== {draw} draw ({r['distinct_codes']} distinct codes in {r['requests_drawn']} drawn)")
        for name in ("site", "datasette", "hello", "hello_page"):
            x = r[name]
            if x:
                print(f"{name:9} {x['rps']:8.1f} req/s  p50 {x['p50_ms']:.2f} ms  p99 {x['p99_ms']:.2f} ms  non-2xx {x['non2xx']}")
        print(
            f"site/datasette {r['ratio_to_datasette']}x   site/hello {r['share_of_hello']}   "
            f"served from the page cache {r['page_cache_hit_share']:.1%}   worker RSS KiB {r['worker_rss_kib_after']}"
        )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
