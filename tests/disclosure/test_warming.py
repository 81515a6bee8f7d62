"""manage.py pages_warm: the pages visitors asked for yesterday are made for the new day,
through the site's own request handling, before anyone asks; what lapsed at midnight is on
none of them. Against the machine's Redis (the warmer lists yesterday's pages there), under
keys of each test's own."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
import redis
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disclosure import pagecache
from tests.conftest import SHANGHAI
from tests.factories import CreditRecordFactory, EntityFactory
from tests.ops.test_shared_cache import redis_url

pytestmark = pytest.mark.django_db(transaction=True)

CODE = "91110000600037341L"
OTHER = "91310000MA1FL0U91B"
DAY = dt.date(2026, 11, 28)


@pytest.fixture
def redis_pages(settings):
    prefix = f"test-warm-{uuid.uuid4().hex}"
    settings.CACHES = {
        **settings.CACHES,
        "pages": {"BACKEND": "creditchina.cache.RedisCache", "LOCATION": redis_url(), "KEY_PREFIX": prefix},
    }
    yield prefix
    client = redis.Redis.from_url(redis_url())
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


@pytest.fixture
def clock(redis_pages):
    with time_machine.travel(dt.datetime.combine(DAY, dt.time(12), SHANGHAI), tick=False) as traveller:
        yield traveller


def at(clock, day: dt.date, time: dt.time = dt.time(0, 5)) -> None:
    clock.move_to(dt.datetime.combine(day, time, SHANGHAI))


@pytest.fixture
def record(clock, shipped_rule_sets):
    entity = EntityFactory(name="北京华为数字技术有限公司", code=CODE)
    return CreditRecordFactory(entity=entity, decision_date=dt.date(2026, 6, 15), outcome="罚款人民币五万元")


def warm(*args) -> str:
    out = io.StringIO()
    call_command("pages_warm", *args, stdout=out)
    return out.getvalue().strip()


def served_from_the_cache(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert (response.status_code, response.get("X-Cache"), queries.captured_queries) == (200, "hit", []), url
    return response.content.decode()


def pages_of(record) -> list[str]:
    code = record.entity.code
    return [
        f"/entities/{code}/",
        f"/en/entities/{code}/",
        f"/records/{record.pk}/",
        "/lists/serious-dishonesty/",
        "/browse/penalties/",
        "/en/browse/penalties/?page=1",
    ]


def test_the_pages_asked_for_yesterday_are_kept_for_today_before_anyone_asks(client, clock, record):
    for url in pages_of(record):
        assert client.get(url).status_code == 200
    client.get(f"/api/v1/entities/{CODE}/")  # kept, and not a page: not warmed
    client.get(f"/search/?q={CODE}")  # where a search led: not a page either
    at(clock, DAY + dt.timedelta(days=1))
    assert (
        warm()
        == "6 pages made and kept for today, 0 already kept, 0 made but not kept, 0 no longer pages, 0 failed (answers 200: 6)."
    )
    for url in pages_of(record):
        body = served_from_the_cache(client, url)
        assert "2026-11-29" in body and "2026-11-28" not in body, url
    assert record.outcome in served_from_the_cache(client, f"/entities/{CODE}/")
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/api/v1/entities/{CODE}/")
    assert queries.captured_queries  # made by its first caller today
    # Again: everything is kept already.
    assert (
        warm()
        == "0 pages made and kept for today, 6 already kept, 0 made but not kept, 0 no longer pages, 0 failed (answers 200: 6)."
    )


def drop_kept_pages(prefix: str) -> None:
    """The pages kept under this test's prefix, and nothing else of the database (the cache's
    ``clear`` empties the whole Redis database, which other caches may share)."""
    client = redis.Redis.from_url(redis_url())
    for key in client.scan_iter(f"{prefix}:*:p:*"):
        client.delete(key)


def test_a_warmed_page_is_the_one_a_visitor_would_have_kept(client, clock, record, redis_pages):
    url = f"/en/entities/{CODE}/"
    client.get(url)
    at(clock, DAY + dt.timedelta(days=1))
    warm()
    warmed = client.get(url)
    drop_kept_pages(redis_pages)
    made = client.get(url)
    visitors = client.get(url)
    assert visitors["X-Cache"] == "hit"
    assert warmed.content == visitors.content
    per_answer = {"Date", "X-Request-ID"}
    assert {k: v for k, v in warmed.items() if k not in per_answer} == {
        k: v for k, v in visitors.items() if k not in per_answer
    }
    assert made.content == visitors.content


def test_what_lapsed_at_midnight_is_on_no_warmed_page(client, clock, record):
    last_day = record.disclosure_end
    at(clock, last_day, dt.time(23, 59))
    assert record.outcome in client.get(f"/entities/{CODE}/").content.decode()
    assert client.get(f"/records/{record.pk}/").status_code == 200
    at(clock, last_day + dt.timedelta(days=1))
    assert (
        warm()
        == "1 pages made and kept for today, 0 already kept, 0 made but not kept, 1 no longer pages, 0 failed (answers 200: 1, 410: 1)."
    )
    assert record.outcome not in served_from_the_cache(client, f"/entities/{CODE}/")
    assert client.get(f"/records/{record.pk}/").status_code == 410


def test_only_yesterdays_pages_are_warmed(client, clock, record):
    client.get(f"/entities/{CODE}/")
    at(clock, DAY + dt.timedelta(days=2))
    assert (
        warm()
        == "0 pages made and kept for today, 0 already kept, 0 made but not kept, 0 no longer pages, 0 failed (answers none)."
    )
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/entities/{CODE}/")
    assert queries.captured_queries


def test_limit_stops_after_that_many_pages(client, clock, record):
    for url in pages_of(record):
        client.get(url)
    at(clock, DAY + dt.timedelta(days=1))
    assert warm("--limit", "2").startswith("2 pages made and kept for today, 0 already kept")
    assert warm().startswith("4 pages made and kept for today, 2 already kept")


def test_the_warmer_is_not_held_to_a_visitors_rate_limit(client, clock, record, settings):
    assert settings.RATELIMIT_ENABLE
    CreditRecordFactory(entity=EntityFactory(code=OTHER))
    client.get(f"/entities/{CODE}/")
    at(clock, DAY + dt.timedelta(days=1))
    limit = int(settings.PAGE_RATE_LIMIT.split("/")[0])
    for _ in range(limit):  # this address's entity pages for the minute, used up
        assert client.get(f"/entities/{OTHER}/").status_code == 200
    assert client.get(f"/entities/{OTHER}/").status_code == 429
    assert warm().startswith("1 pages made and kept for today, 0 already kept")
    assert settings.RATELIMIT_ENABLE
    assert client.get(f"/entities/{CODE}/").status_code == 429  # visitors still are


def test_without_a_page_cache_in_redis_it_says_why(settings, redis_pages):
    settings.CACHES = {
        **settings.CACHES,
        "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "warm-test"},
    }
    with pytest.raises(
        CommandError, match=r"^the page cache \(LocMemCache\) cannot list its keys: warming needs Redis$"
    ):
        warm()
    settings.CACHES = {name: value for name, value in settings.CACHES.items() if name != "pages"}
    with pytest.raises(
        CommandError,
        match=r"^There is no shared page cache \(set REDIS_URL or PAGE_CACHE_URL\): nothing to warm\.$",
    ):
        warm()


def test_it_asks_at_the_sites_address(client, clock, record, settings):
    """At SITE_URL when the deployment names it (here plain HTTP, on a host of its own), else
    over HTTPS at the first of ALLOWED_HOSTS. A host the site refuses is a failure: the
    answers say which, and the command exits with an error."""
    client.get(f"/entities/{CODE}/")
    at(clock, DAY + dt.timedelta(days=1))
    settings.SITE_URL = "http://credit.example.org:8080"
    settings.ALLOWED_HOSTS = ["testserver"]
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^1 pages could not be made"):
        call_command("pages_warm", stdout=out)
    assert out.getvalue() == (
        "0 pages made and kept for today, 0 already kept, 0 made but not kept, 0 no longer pages, 1 failed (answers 400: 1).\n"
    )
    settings.ALLOWED_HOSTS = ["testserver", "credit.example.org"]
    assert warm() == "1 pages made and kept for today, 0 already kept, 0 made but not kept, 0 no longer pages, 0 failed (answers 200: 1)."
    assert record.outcome in served_from_the_cache(client, f"/entities/{CODE}/")


@pytest.fixture
def deployed(settings):
    """Names the release that makes pages from now on (``pagecache.release``, computed once
    per process, is forgotten on both sides of the test)."""

    def deploy(name: str) -> None:
        settings.PAGE_CACHE_RELEASE = name
        pagecache.release.cache_clear()

    pagecache.release.cache_clear()
    yield deploy
    pagecache.release.cache_clear()


def test_after_a_deployment_the_days_pages_of_the_release_before_are_made_again(client, clock, record, deployed):
    deployed("2026.11.1")
    client.get(f"/entities/{CODE}/")
    client.get(f"/en/entities/{CODE}/")
    deployed("2026.11.2")  # at noon: the pages above are not served any more
    client.get(f"/records/{record.pk}/")  # kept by this release already: left as it is
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/entities/{CODE}/")
    assert queries.captured_queries  # and kept again, by this release
    assert warm() == "1 pages made and kept for today, 1 already kept, 0 made but not kept, 0 no longer pages, 0 failed (answers 200: 2)."
    assert record.outcome in served_from_the_cache(client, f"/en/entities/{CODE}/")
    assert warm() == "0 pages made and kept for today, 2 already kept, 0 made but not kept, 0 no longer pages, 0 failed (answers 200: 2)."
