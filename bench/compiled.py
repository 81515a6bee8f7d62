"""What disclosure/compiled.py saves on the entity page's uncached path, in process: the
entity's records read through the query compiled once (``selectors._entity_disclosed_records``)
against the same queryset built and compiled on every call, and the whole uncached page
(``Client().get``, page cache off) for scale. Same entities, alternating, several rounds.

    DATABASE_URL=postgres://... python bench/compiled.py [--entities 2000] [--rounds 5]
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
    parser.add_argument("--entities", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditchina.settings")
    os.environ.update(DEBUG="0", SECRET_KEY="benchmark-only-secret", SINGLE_PROCESS="1", PAGE_CACHE="0",
                      RATELIMIT_ENABLE="0", ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0", LOG_LEVEL="ERROR")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from bench.common import write_result
    from disclosure import selectors
    from disclosure.models import Entity

    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    today = timezone.localdate()
    rows = list(Entity.objects.filter(code__isnull=False).order_by("?").values_list("pk", "code")[: args.entities])
    client = Client()

    def compiled():
        for pk, _code in rows:
            selectors._entity_disclosed_records(entity_id=pk, on=today)

    def built():
        for pk, _code in rows:
            list(selectors.entity_disclosed_records(entity=pk, on=today))

    def page():
        for _pk, code in rows:
            client.get(f"/entities/{code}/")

    timings = {"compiled": [], "built": [], "page": []}
    for run in (compiled, built, page):  # a warm-up round, not counted
        run()
    for _ in range(args.rounds):
        for name, run in (("compiled", compiled), ("built", built), ("page", page)):
            start = time.perf_counter()
            run()
            timings[name].append((time.perf_counter() - start) / len(rows) * 1000)
    result = {name: round(statistics.median(values), 3) for name, values in timings.items()}
    result["saved_ms"] = round(result["built"] - result["compiled"], 3)
    result["saved_share_of_page"] = round(result["saved_ms"] / result["page"], 3)
    result["load_average"] = os.getloadavg()
    result["entities"], result["rounds"] = len(rows), args.rounds
    path = write_result("compiled", result)
    print(f"records query: compiled {result['compiled']} ms, built each time {result['built']} ms; "
          f"whole uncached page {result['page']} ms; saved {result['saved_ms']} ms = "
          f"{result['saved_share_of_page']:.1%} of the page. Load {result['load_average']}. Written to {path}")


if __name__ == "__main__":
    main()
