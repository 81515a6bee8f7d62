"""Name search latency, single client, against the bare SQL of the same queries.

For 1-, 2-, 3- and 4-character Chinese fragments, each with many and with few matches (read
from the data: the most frequent gram of that length, and one matching 5 to 50 entities),
a single client asks the site under gunicorn for the first page of results with the exact
total, REPEAT times (the site closes each connection; the client reconnects). The floor is the same SQL statements the search
issued, replayed straight through psycopg.

    DATABASE_URL=postgres://... python bench/search.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PORT_BASE, ROOT, Gunicorn, prewarm, site_env, start_run, summary_ms, write_result  # noqa: E402

# What a search reads: the postings, the gram counts, the entities it lists.
SEARCH_TABLES = (
    "disclosure_namegram",
    "disclosure_namegramcount",
    "disclosure_entity",
    "disclosure_formername",
)


def setup_django(database_url: str) -> None:
    os.environ.update(site_env(database_url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditchina.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def pick_fragments() -> list[tuple[str, str, int]]:
    from disclosure.models import NameGramCount

    fragments = []
    cjk = r"^[\u4e00-\u9fff]+$"
    for length in (1, 2, 3, 4):
        grams = NameGramCount.objects.filter(gram__regex=cjk).extra(
            where=["length(gram) = %s"], params=[length]
        )
        many = grams.order_by("-any_name", "gram").first()
        # At 9M every single character is in more than 50 names: then the rarest from 5 up.
        few = (grams.filter(any_name__gte=5, any_name__lte=50).order_by("gram").first()
               or grams.filter(any_name__gte=5).order_by("any_name", "gram").first())  # fmt: skip
        fragments.append((f"{length} char, many", many.gram, many.any_name))
        fragments.append((f"{length} char, few", few.gram, few.any_name))
    fragments += hard_fragments()
    return fragments


def hard_fragments() -> list[tuple[str, str, int]]:
    """The queries whose cost grows with the data: a 4-character fragment with few matches
    made of common bigrams (its first page walks every candidate of the rarest bigram), and a
    6-character one (no gram count: the total is counted among those candidates)."""
    from django.db import connection

    from disclosure.models import Entity

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT g.gram, g.any_name FROM disclosure_namegramcount g"
            " JOIN disclosure_namegramcount b1 ON b1.gram = substr(g.gram, 1, 2)"
            " JOIN disclosure_namegramcount b2 ON b2.gram = substr(g.gram, 2, 2)"
            " JOIN disclosure_namegramcount b3 ON b3.gram = substr(g.gram, 3, 2)"
            " WHERE length(g.gram) = 4 AND g.any_name BETWEEN 5 AND 50 AND g.gram ~ '^[\u4e00-\u9fff]+$'"
            " ORDER BY least(b1.any_name, b2.any_name, b3.any_name) DESC, g.gram LIMIT 1"
        )
        gram, count = cursor.fetchone()
        cursor.execute(
            "SELECT gram FROM disclosure_namegramcount WHERE length(gram) = 4 AND gram ~ '^[\u4e00-\u9fff]+$'"
            " ORDER BY any_name DESC, gram LIMIT 1"
        )
        (frequent,) = cursor.fetchone()
    # Six characters ending with the most frequent 4-gram, from the first name that has it.
    name = (
        Entity.objects.filter(search_name__contains=frequent)
        .order_by("id")
        .values_list("search_name", flat=True)[0]
    )
    end = name.index(frequent) + len(frequent)
    six = name[max(0, end - 6) : end]
    return [("4 char, few, common bigrams", gram, count), ("6 char, many", six, -1)]


def time_http(port: int, query: str, repeat: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    path = "/search/?" + urllib.parse.urlencode({"q": query})
    samples = []
    for _ in range(repeat + 5):
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        samples.append(time.perf_counter() - started)
        assert response.status == 200, (response.status, body[:200])
    connection.close()
    return samples[5:]  # the first few warm caches


def time_sql_floor(query: str, repeat: int) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from disclosure import search

    with CaptureQueriesContext(connection) as captured:
        page = search.search(query)
    statements = [q["sql"] for q in captured.captured_queries]
    samples = []
    with connection.cursor() as cursor:
        for _ in range(repeat + 5):
            started = time.perf_counter()
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()
            samples.append(time.perf_counter() - started)
    return samples[5:], page.total, len(statements)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--fragment", action="append", default=[], metavar="TEXT",
                        help="also time this fragment (repeatable), e.g. one an earlier size picked")  # fmt: skip
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to the PostgreSQL database generate_dataset filled.")
    run = start_run(args.database_url)
    prewarm(args.database_url, SEARCH_TABLES)
    setup_django(args.database_url)
    fragments = pick_fragments() + [("asked for", text, None) for text in args.fragment]
    rows = []
    with Gunicorn(args.database_url, workers=2, port=PORT_BASE + 2) as server:
        for label, query, expected in fragments:
            http_samples = time_http(server.port, query, args.repeat)
            sql_samples, total, statements = time_sql_floor(query, args.repeat)
            rows.append({
                "fragment": label, "query": query, "total": total, "counted": expected, "statements": statements,
                "site": summary_ms(http_samples), "sql_floor": summary_ms(sql_samples),
            })  # fmt: skip
            print(
                f"{label:27} {query:6} total {total:>9,}  site p50 {rows[-1]['site']['p50_ms']:6.2f} "
                f"p99 {rows[-1]['site']['p99_ms']:6.2f} ms   SQL floor p50 {rows[-1]['sql_floor']['p50_ms']:6.2f} "
                f"p99 {rows[-1]['sql_floor']['p99_ms']:6.2f} ms ({statements} statements)"
            )
        rss = server.worker_rss_kib()
    path = write_result("search", {"repeat": args.repeat, "queries": rows, "worker_rss_kib_after": rss}, run)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
