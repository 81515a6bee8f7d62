"""Agency sync endpoints: the snapshot against PostgreSQL's own COPY of the same rows, and
feed polls (1,000 events; nothing new), single client over HTTP keep-alive.

    DATABASE_URL=postgres://... python bench/feed.py [--polls 300]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import sys
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    PORT_BASE,
    ROOT,
    Gunicorn,
    prewarm,
    rss_kib,
    site_env,
    start_run,
    summary_ms,
    write_result,
)

# What the snapshot, the feed and the COPY baseline read.
FEED_TABLES = ("disclosure_recordevent", "disclosure_publisheddocument", "disclosure_creditrecord",
               "disclosure_entity", "disclosure_catalogitem", "disclosure_department")  # fmt: skip

COPY_SQL = """
COPY (
  SELECT r.id, e.code, e.name, c.code, c.category, d.code, r.decision_number, r.decision_date, r.facts,
         r.legal_basis_cited, r.outcome, r.penalty_amount, r.severity, r.valid_from, r.valid_until,
         r.disclosure_start, r.disclosure_end, r.earliest_repair_on, r.updated_at
  FROM disclosure_creditrecord r
  JOIN disclosure_entity e ON e.id = r.entity_id
  JOIN disclosure_catalogitem c ON c.id = r.catalog_item_id
  JOIN disclosure_department d ON d.id = r.department_id
  WHERE r.status = 'disclosed' AND c.disclosure_attribute = 'public'
    AND r.disclosure_start IS NOT NULL AND r.disclosure_end >= CURRENT_DATE
  ORDER BY r.id
) TO STDOUT
"""


def issue_key(database_url: str) -> str:
    os.environ.update(site_env(database_url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditchina.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from disclosure import agencies
    from disclosure.models import Agency

    agency, _created = Agency.objects.get_or_create(code="benchmark", defaults={"name": "Benchmark"})
    return agencies.agency_key_issue(agency=agency, actor=None, label="bench/feed.py")[1]


def time_copy(database_url: str) -> dict:
    rows = size = 0
    started = time.perf_counter()
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor, cursor.copy(COPY_SQL) as copy:
        for block in copy:
            size += len(block)
            rows += bytes(block).count(b"\n")
    seconds = time.perf_counter() - started
    return {"rows": rows, "bytes": size, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def time_snapshot(port: int, key: str, worker_pids: list[int]) -> dict:
    before = {pid: rss_kib(pid) for pid in worker_pids}
    peak = dict(before)
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            for pid in worker_pids:
                peak[pid] = max(peak[pid], rss_kib(pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", "/api/v1/snapshot.ndjson", headers={"Authorization": f"Bearer {key}"})
    response = connection.getresponse()
    lines = size = 0
    while chunk := response.read(1 << 20):
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    stop.set()
    watcher.join()
    return {
        "rows": lines - 1, "bytes": size, "seconds": round(seconds, 2), "rows_per_s": round((lines - 1) / seconds),
        "status": response.status, "worker_rss_before_kib": sorted(before.values()),
        "worker_peak_rss_kib": sorted(peak.values()),
    }  # fmt: skip


def time_polls(port: int, key: str, paths: list[str], etag: bool = False) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    headers = {"Authorization": f"Bearer {key}"}
    for path in paths:
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        samples.append(time.perf_counter() - started)
        assert response.status in (200, 304), response.status
        if etag and response.status == 200:
            headers = {**headers, "If-None-Match": response.getheader("ETag")}
    return samples[5:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--polls", type=int, default=300)
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to the PostgreSQL database generate_dataset filled.")
    run = start_run(args.database_url)
    prewarm(args.database_url, FEED_TABLES)
    key = issue_key(args.database_url)
    copy_result = time_copy(args.database_url)
    print(
        f"COPY      {copy_result['rows']:>9,} rows in {copy_result['seconds']:6.2f} s  {copy_result['rows_per_s']:>9,}/s"
    )
    with psycopg.connect(args.database_url) as conn:
        latest = conn.execute("SELECT max(id) FROM disclosure_recordevent WHERE feed_type <> ''").fetchone()[0]
    with Gunicorn(args.database_url, workers=2, port=PORT_BASE + 4) as server:
        workers = [int(pid) for pid in os.popen(f"pgrep -P {server.process.pid}").read().split()]
        snapshot = time_snapshot(server.port, key, workers)
        print(
            f"snapshot  {snapshot['rows']:>9,} rows in {snapshot['seconds']:6.2f} s  {snapshot['rows_per_s']:>9,}/s"
            f"  worker RSS KiB before {snapshot['worker_rss_before_kib']} peak {snapshot['worker_peak_rss_kib']}"
        )
        rng = random.Random(1)
        page_paths = [
            f"/api/v1/changes/?after={rng.randrange(0, latest - 2000)}&limit=1000"
            for _ in range(args.polls + 5)
        ]
        full_page = summary_ms(time_polls(server.port, key, page_paths))
        idle_paths = [f"/api/v1/changes/?after={latest}&limit=1000"] * (args.polls + 5)
        idle = summary_ms(time_polls(server.port, key, idle_paths))
        idle_304 = summary_ms(time_polls(server.port, key, idle_paths, etag=True))
    print(f"poll 1,000 events    p50 {full_page['p50_ms']} ms  p99 {full_page['p99_ms']} ms")
    print(f"poll nothing new     p50 {idle['p50_ms']} ms  p99 {idle['p99_ms']} ms")
    print(f"poll nothing new 304 p50 {idle_304['p50_ms']} ms  p99 {idle_304['p99_ms']} ms")
    result = {
        "copy": copy_result, "snapshot": snapshot,
        "snapshot_vs_copy": round(snapshot["rows_per_s"] / copy_result["rows_per_s"], 3),
        "poll_1000_events": full_page, "poll_nothing_new": idle, "poll_nothing_new_304": idle_304,
    }  # fmt: skip
    print(f"snapshot/COPY rate {result['snapshot_vs_copy']}   written to {write_result('feed', result, run)}")


if __name__ == "__main__":
    main()
