"""The midnight warm-up (`manage.py pages_warm`): how long the new day's pages take to make.

The site (gunicorn, as deployed) is asked once for every entity page of the skewed draw
(bench/lookup.py's Zipf draw: 65,115 distinct codes at 1M entities), so the page cache holds
what a day of that traffic kept. Then `pages_warm` runs as it would just after the next
midnight (its clock moved to 00:05 of the next day, in its own process), and makes those
pages for that day.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/warm.py [--pages 65115]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, ROOT, Gunicorn, prewarm, start_run, write_result  # noqa: E402
from lookup import PAGE_TABLES, all_codes, ask_each, flush_page_cache, zipf_draw  # noqa: E402

# The command, run with its clock at 00:05 of the day after today (the site's time zone).
WARM = """
import datetime as dt, sys, time_machine
from zoneinfo import ZoneInfo
when = dt.datetime.fromisoformat(sys.argv[1]).replace(tzinfo=ZoneInfo(sys.argv[2]))
with time_machine.travel(when, tick=True):
    import django
    django.setup()
    from django.core.management import call_command
    call_command("pages_warm")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--pages", type=int, default=None, help="at most this many of the draw's codes")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to the PostgreSQL database generate_dataset filled.")
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("Set REDIS_URL: the page cache lives there.")
    run = start_run(args.database_url)
    prewarm(args.database_url, PAGE_TABLES)
    codes = list(dict.fromkeys(zipf_draw(all_codes(args.database_url), 200_000)))[: args.pages]
    with Gunicorn(args.database_url) as server:
        flush_page_cache(server.env)
        filled = ask_each(server.port, codes, connections=args.connections)
        env = server.env
    print(f"kept today: {filled['requests']} entity pages in {filled['seconds']:.0f} s")
    zone = "Asia/Shanghai"
    tomorrow = dt.datetime.now(ZoneInfo(zone)).date() + dt.timedelta(days=1)
    when = dt.datetime.combine(tomorrow, dt.time(0, 5)).isoformat()
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M %U %S", PYTHON, "-c", WARM, when, zone], cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "creditchina.settings"}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    rss_kib, user, system = done.stderr.strip().splitlines()[-1].split()
    cpu = float(user) + float(system)
    print(done.stdout.strip())
    made = int(done.stdout.split()[0])  # "N pages made and kept for today, ..."
    result = {
        "pages_asked_for_today": filled["requests"],
        "warm_output": done.stdout.strip(),
        "pages_made": made,
        "warm_seconds": round(seconds, 1),
        "warm_cpu_seconds": round(cpu, 1),
        "pages_per_second": round(made / seconds, 1),
        "peak_rss_kib": int(rss_kib),
    }
    print(
        f"warmed in {seconds:.1f} s ({result['pages_per_second']} pages/s, one process), "
        f"its CPU {cpu:.1f} s, peak RSS {int(rss_kib) / 1024:.0f} MiB"
    )
    print(f"written to {write_result('warm', result, run)}")


if __name__ == "__main__":
    main()
