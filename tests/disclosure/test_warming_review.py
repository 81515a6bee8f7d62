# ruff: noqa: F811
"""Review of manage.py pages_warm (disclosure/warming.py), against the machine's Redis under
keys of each test's own (``redis_pages``). Never ``caches["pages"].clear()``: that is
FLUSHDB of the whole Redis database, other runs' keys included. The first test pins
behaviour that holds; the others show defects (each says what it expects and why)."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc

import pytest
import redis
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from disclosure import pagecache, warming
from tests.ops.test_shared_cache import redis_url

from .test_warming import (  # noqa: F401
    CODE,
    DAY,
    at,
    clock,
    drop_kept_pages,
    record,
    redis_pages,
    served_from_the_cache,
    warm,
)

pytestmark = pytest.mark.django_db(transaction=True)

TOMORROW = DAY + dt.timedelta(days=1)
HOST = "credit.example.gov.cn"


@pytest.fixture
def production(settings):
    """deploy/nginx.conf in front, with the settings a deployment behind it has
    (BEHIND_TLS_PROXY=1, TRUSTED_PROXY_COUNT=1, the SSL redirect and HSTS of DEBUG off), and
    no SITE_URL: the warmer asks at the first of ALLOWED_HOSTS, over HTTPS."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    settings.SECURE_HSTS_SECONDS = 365 * 24 * 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_CONTENT_TYPE_NOSNIFF = True
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ALLOWED_HOSTS = [HOST]
    settings.SITE_URL = None
    # As nginx passes a visitor's request on: plain HTTP to gunicorn, the scheme in a header.
    return {"HTTP_HOST": HOST, "HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}


def test_behind_the_tls_proxy_a_warmed_page_is_the_one_a_proxied_visitor_would_keep(
    client, clock, record, production
):
    """Holds: the warmer's environ (wsgi.url_scheme https, no X-Forwarded-Proto) is taken as
    HTTPS with SECURE_PROXY_SSL_HEADER set, so no SSL redirect; HSTS is added outside
    KeptPageMiddleware on every answer and is not kept in the entry."""
    url = f"/en/entities/{CODE}/"
    assert client.get(url, **production).status_code == 200
    at(clock, TOMORROW)
    assert warm().startswith("1 pages made and kept for today")
    warmed = client.get(url, **production)
    assert warmed["X-Cache"] == "hit" and warmed["Strict-Transport-Security"].startswith("max-age=31536000")
    entry = pagecache._cache().get(_today_key(url))
    assert entry is not None and entry.headers
    assert "strict-transport-security" not in {name.lower() for name, _value in entry.headers}
    drop_kept_pages(redis_pages_prefix())
    assert client.get(url, **production).get("X-Cache") != "hit"  # made by a visitor
    visitors = client.get(url, **production)
    assert visitors["X-Cache"] == "hit"
    per_answer = {"Date", "X-Request-ID"}
    assert warmed.content == visitors.content
    assert {k: v for k, v in warmed.items() if k not in per_answer} == {
        k: v for k, v in visitors.items() if k not in per_answer
    }


def _today_key(url: str) -> str:
    with translation.override("en"):
        assert reverse("disclosure:entity", args=[CODE]) == url
        return pagecache.page_key("entity", CODE)


def redis_pages_prefix() -> str:
    return pagecache._cache().key_prefix


def test_a_redirect_is_a_page_that_could_not_be_made_not_one_gone(client, clock, record, settings):
    """Every page the warmer asks for is at its own address (the views keep a page only
    there; every other spelling is redirected before the cache is looked at), so a 301/302
    never means "moved": it means a layer treated the warmer's request unlike a visitor's
    (here SITE_URL over plain HTTP while SECURE_SSL_REDIRECT is on; PREPEND_WWW, a host
    redirect would do the same). ``warming.GONE`` counts it as "no longer pages" and the
    command exits 0 having warmed nothing: the night reads as "the pages are gone". It should
    be a failure (README: "exits with an error when a page could not be made")."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SITE_URL = "http://testserver"
    assert client.get(f"/entities/{CODE}/", secure=True).status_code == 200
    at(clock, TOMORROW)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^1 pages could not be made"):
        call_command("pages_warm", stdout=out)
    assert out.getvalue() == (
        "0 pages made and kept for today, 0 already kept, 0 made but not kept, 0 no longer pages, 1 failed (answers 301: 1).\n"
    )


def test_listing_the_pages_to_warm_holds_no_memory_per_page(redis_pages):
    """``pages_to_warm`` keeps every page it yields in ``seen`` (a frozen dataclass of four
    strings, in a set: about 480 bytes a page measured here), for the whole run: about
    480 MB at a million pages kept the day before, 4.8 GB at ten million, in a process the
    unit runs on the machine that serves the site.
    The only duplicates are SCAN's (rare: a rehash) and a page kept both yesterday and today
    by an earlier release, and a duplicate costs one cache hit (the page is kept by then), or
    a set of key digests would do. Listing 20,000 pages should not grow with their number."""
    day = DAY - dt.timedelta(days=1)
    client = redis.Redis.from_url(redis_url())
    pipe = client.pipeline(transaction=False)
    count = 20_000
    for n in range(count):
        pipe.set(f"{redis_pages}:1:p:old:entity:9111{n:014d}:zh-hans:{day.isoformat()}", b"1", ex=300)
    pipe.execute()
    with translation.override("zh-hans"):
        reverse("disclosure:entity", args=[CODE])  # the resolver's own caches, made once
    next(iter(warming.pages_to_warm(DAY)), None)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        listed = sum(1 for _page in warming.pages_to_warm(DAY))
        grown = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert listed == count
    assert grown < 2_000_000, f"{grown / count:.0f} bytes a page held while listing"
