"""The new day's pages, made before visitors ask for them.

Pages are kept per day (``pagecache.page_key``: a page says what is disclosed *today*), so at
midnight every kept page is one of yesterday's and the first visitor of each page waits for
it to be made. ``warm`` makes, for the new day, the pages visitors asked for yesterday (those
kept under yesterday's date: an entity's, a person's, a record's page, a list's or a category's
first pages), each through the site's own request handling: the page kept is the one a
visitor's request would have kept, headers included, under the tokens read before its
database reads (a write that commits meanwhile drops it as it would drop any other).

A deployment is such a start too: a page is kept under the release that made it
(``pagecache.release``). Run after a deployment, ``warm`` makes again the pages kept that
day by the release before.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from . import pagecache

# What a page that is no longer one answers: not found, no longer disclosed. (A page is asked
# for at its own address: a redirect says the site answered the warmer unlike a visitor, say
# SITE_URL on http with SECURE_SSL_REDIRECT on, and is a failure.)
GONE = frozenset({404, 410})

# A kept page's kind (``page_key``'s first part) and the URL that shows it.
KINDS = {
    "entity": "disclosure:entity",
    "person": "disclosure:person",
    "record": "disclosure:record",
    "list": None,  # ("list", "list" or "category", slug, query string): below
}


# A list's kept pages' own query strings: none, or one of the pages kept.
LIST_QUERIES = frozenset({"", *(f"page={n}" for n in pagecache.LIST_PAGE_NUMBERS_KEPT)})


@dataclass
class Warmed:
    made: int = 0  # made and kept now
    kept: int = 0  # already kept for the day (a visitor was first)
    unkept: int = 0  # made, and not kept (a write dropped it at once, say)
    gone: int = 0  # not a page any more: not found, no longer disclosed (410)
    failed: int = 0  # any other answer: the site could not make it (a 500, a refused host, a redirect)
    statuses: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    path: str
    query: str
    key: str  # the key it is kept under today


def pages_to_warm(day: dt.date):
    """The pages to make for ``day`` (a page kept in both languages is two pages): those kept
    under the day before, and those kept under ``day`` by an earlier release (a deployment
    since: they are not served any more). Read in one pass over the keys, and handed out as
    they come, without remembering them: a page met twice (SCAN may list a key twice, a page
    may be kept both days) is asked for twice, and found kept the second time."""
    cache = pagecache._cache()
    if not hasattr(cache, "iter_keys"):
        raise NotImplementedError(
            f"the page cache ({type(cache).__name__}) cannot list its keys: warming needs Redis"
        )
    current, before, today = pagecache.release(), (day - dt.timedelta(days=1)).isoformat(), day.isoformat()
    for key in cache.iter_keys("p:*"):
        kept = pagecache.read_page_key(key)
        if kept is None or kept.day not in (before, today) or (kept.day == today and kept.release == current):
            continue
        page = _page(kept)
        if page is not None:
            yield page


def _page(kept: pagecache.PageKey) -> Page | None:
    """The page kept under ``kept``; None for what is not a page (API answers, where a search
    led)."""
    kind, *parts = kept.parts
    if kind not in KINDS or kept.language not in dict(settings.LANGUAGES):
        return None
    query = ""
    if kind == "list":
        if len(parts) < 3 or parts[0] not in ("list", "category"):
            return None
        name, args, query = f"disclosure:{parts[0]}", [parts[1]], ":".join(parts[2:])
        if query not in LIST_QUERIES:
            return None  # not a list page's own address (``?page=1&page=1``): anyone can make those
    else:
        name, args = KINDS[kind], parts
    with translation.override(kept.language):
        try:
            path = reverse(name, args=args)
        except NoReverseMatch:
            return None
        return Page(path, query, pagecache.page_key(kind, *parts))


def warm(*, limit: int | None = None, seconds: float | None = None) -> Warmed:
    """Make and keep, for today, the pages kept yesterday or kept today by an earlier release
    (``pages_to_warm``; at most ``limit`` of them, for at most ``seconds``). A page is kept
    under the day it is made on: today's."""
    today = timezone.localdate()
    handler, origin = WSGIHandler(), _origin()
    deadline = None if seconds is None else time.monotonic() + seconds
    warmed = Warmed()
    for number, page in enumerate(pages_to_warm(today)):
        if (limit is not None and number >= limit) or (deadline is not None and time.monotonic() > deadline):
            break
        status, served_from_cache = _ask(handler, origin, page.path, page.query)
        warmed.statuses[status] = warmed.statuses.get(status, 0) + 1
        if status in GONE:
            warmed.gone += 1
        elif status != 200:
            warmed.failed += 1
        elif served_from_cache:
            warmed.kept += 1
        elif pagecache.lookup(page.key)[0] is not None:
            warmed.made += 1
        else:
            warmed.unkept += 1
    return warmed


def _origin() -> tuple[str, str]:
    """The scheme and a host the site answers for: SITE_URL's, else HTTPS (as behind the
    proxy) and the first of ALLOWED_HOSTS."""
    if settings.SITE_URL:
        parts = urlsplit(settings.SITE_URL)
        return parts.scheme or "https", parts.netloc
    for host in settings.ALLOWED_HOSTS:
        if host != "*":
            return "https", host.lstrip(".")
    return "https", "localhost"


def _ask(handler, origin: tuple[str, str], path: str, query: str) -> tuple[int, bool]:
    """GET ``path`` from the site, as a browser without cookies would (at ``origin``, behind
    the proxy): the status, and whether the page cache served it."""
    scheme, host = origin
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": urlsplit(f"//{host}").hostname or host,
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = {name.lower(): value for name, value in headers}

    body = handler(environ, start_response)
    try:
        for _chunk in body:
            pass
    finally:
        body.close()  # the end of the request (``request_finished``), as a server would end it
    return answer["status"], answer["headers"].get(pagecache.HIT_HEADER.lower()) == "hit"
