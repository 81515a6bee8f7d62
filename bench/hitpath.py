"""The page cache's hit path against Django's bare "hello" view, in process: the same
middleware, one client, no network. What a kept entity page costs a worker beside the floor
of the stack, without the load generator on the same two cores.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/hitpath.py [--entities 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # not bench/: its scripts' names are the apps' (reports, search)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("Set REDIS_URL: the page cache lives there.")
    os.environ.update(DJANGO_SETTINGS_MODULE="bench.hello.settings", DEBUG="0", SECRET_KEY="benchmark-only-secret",
                      RATELIMIT_ENABLE="0", ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0", LOG_LEVEL="ERROR")
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import caches
    from django.test import Client

    from bench.common import write_result
    from disclosure.models import Entity

    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    caches["pages"].clear()
    codes = list(Entity.objects.filter(code__isnull=False).order_by("?").values_list("code", flat=True)[: args.entities])
    client = Client()
    paths = [f"/entities/{code}/" for code in codes]
    for path in paths:  # kept now
        client.get(path)
    sizes = [len(client.get(path).content) for path in paths[:100]]
    # Wall time, and this process's CPU time: what a request costs a worker, whatever else
    # the machine's cores are busy with (it leaves out the wait for Redis's answer).
    timings = {"hit": [], "hello": [], "miss": [], "hit_cpu": [], "hello_cpu": [], "miss_cpu": []}
    for _ in range(args.rounds):
        start, cpu = time.perf_counter(), time.process_time()
        for path in paths:
            assert client.get(path)["X-Cache"] == "hit"
        timings["hit"].append((time.perf_counter() - start) / len(paths) * 1000)
        timings["hit_cpu"].append((time.process_time() - cpu) / len(paths) * 1000)
        start, cpu = time.perf_counter(), time.process_time()
        for _path in paths:
            client.get("/hello/")
        timings["hello"].append((time.perf_counter() - start) / len(paths) * 1000)
        timings["hello_cpu"].append((time.process_time() - cpu) / len(paths) * 1000)
    caches["pages"].clear()
    client.get("/hello/")  # the lease, taken again after the clear
    start, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        client.get(path)
    timings["miss"].append((time.perf_counter() - start) / len(paths) * 1000)
    timings["miss_cpu"].append((time.process_time() - cpu) / len(paths) * 1000)
    result = {name: round(statistics.median(values), 3) for name, values in timings.items()}
    result["hit_over_hello"] = round(result["hit"] / result["hello"], 2)
    result["page_bytes_median"] = int(statistics.median(sizes))
    result["load_average"] = os.getloadavg()
    path = write_result("hitpath", result)
    print(f"per request: kept page {result['hit']} ms, hello {result['hello']} ms ({result['hit_over_hello']}x), "
          f"page made afresh {result['miss']} ms; CPU: kept page {result['hit_cpu']} ms, hello {result['hello_cpu']} ms, "
          f"page made afresh {result['miss_cpu']} ms; "
          f"page {result['page_bytes_median']} bytes. "
          f"Load {result['load_average']}. Written to {path}")


if __name__ == "__main__":
    main()
