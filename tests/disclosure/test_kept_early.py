"""Kept pages served before the session, language, CSRF, authentication and messages layers
(``disclosure.middleware.KeptPageMiddleware``): the answer is the one the view gives, headers
included; the rate limit counts it; a page meant for one visitor is never kept."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import Client

from disclosure import pagecache, services, views
from disclosure.models import EntityKind
from tests.factories import CreditRecordFactory

from . import test_pagecache
from .test_pagecache import CODE, no_queries

page_cache, record = test_pagecache.page_cache, test_pagecache.record  # the same fixtures

pytestmark = pytest.mark.django_db(transaction=True)

# Headers that differ between any two answers: who asked, when, and where the page came from.
PER_ANSWER = {"X-Request-ID", "Date", "X-Cache"}


@pytest.fixture
def person(record):
    person = services.entity_create(name="张三", kind=EntityKind.NATURAL_PERSON, identity_number="11010519491231002X")
    CreditRecordFactory(entity=person, decision_date=dt.date(2026, 6, 15))
    return person


PAGES = [
    lambda r, p: f"/entities/{CODE}/",
    lambda r, p: f"/en/entities/{CODE}/",
    lambda r, p: f"/persons/{p.pk}/",
    lambda r, p: f"/en/persons/{p.pk}/",
    lambda r, p: f"/records/{r.pk}/",
    lambda r, p: f"/en/records/{r.pk}/",
    lambda r, p: "/lists/serious-dishonesty/",
    lambda r, p: "/en/browse/penalties/",
]


class Layers:
    """Counts the requests that reached the session layer (and so every layer below it)."""

    def __init__(self, monkeypatch):
        self.reached = 0
        original = SessionMiddleware.process_request

        def counted(middleware, request):
            self.reached += 1
            return original(middleware, request)

        monkeypatch.setattr(SessionMiddleware, "process_request", counted)


def headers(response) -> dict[str, str]:
    return {name: value for name, value in response.items() if name not in PER_ANSWER}


@pytest.mark.parametrize("path", PAGES)
def test_a_kept_page_is_served_before_the_layers_with_the_views_headers(client, record, person, monkeypatch, path):
    url = path(record, person)
    layers = Layers(monkeypatch)
    made = client.get(url)
    assert (made.status_code, layers.reached) == (200, 1)
    assert "X-Cache" not in made
    kept = no_queries(client, url)
    assert (kept.status_code, kept["X-Cache"], layers.reached) == (200, "hit", 1)
    assert kept.content == made.content
    assert headers(kept) == headers(made)
    assert kept["Content-Length"] == str(len(made.content))
    assert "Content-Security-Policy" in kept and "X-Frame-Options" in kept
    assert kept["Content-Language"] == ("en" if url.startswith("/en/") else "zh-hans")


@pytest.mark.parametrize("path", PAGES)
def test_a_conditional_request_for_a_kept_page_gets_the_views_304(client, record, person, monkeypatch, path):
    url = path(record, person)
    etag = client.get(url)["ETag"]
    pagecache._cache().clear()
    by_view = client.get(url, HTTP_IF_NONE_MATCH=etag)  # a miss: the view answers 304 and keeps nothing
    assert by_view.status_code == 304 and "X-Cache" not in by_view
    client.get(url)  # kept
    layers = Layers(monkeypatch)
    early = no_queries(client, url, HTTP_IF_NONE_MATCH=etag)
    assert (early.status_code, early["X-Cache"], layers.reached) == (304, "hit", 0)
    assert early.content == b""
    assert headers(early) == headers(by_view)


def test_head_is_served_early_and_other_methods_reach_the_view(client, record, monkeypatch):
    url = f"/entities/{CODE}/"
    client.get(url)
    by_view = client.head(f"/en/entities/{CODE}/")  # a miss: the view answers
    client.get(f"/en/entities/{CODE}/")
    layers = Layers(monkeypatch)
    assert client.head(url)["X-Cache"] == "hit"
    early = client.head(f"/en/entities/{CODE}/")
    assert (early["X-Cache"], layers.reached) == ("hit", 0)
    assert headers(early) == headers(by_view)
    refused = client.post(url)
    assert (refused.status_code, layers.reached) == (405, 1)


def test_a_query_string_or_another_page_reaches_the_view(client, record, monkeypatch):
    url = f"/entities/{CODE}/"
    client.get(url)
    layers = Layers(monkeypatch)
    with_query = client.get(url, {"utm_source": "x"})
    assert (with_query.status_code, "X-Cache" in with_query, layers.reached) == (200, False, 1)
    assert client.get("/").status_code == 200
    assert client.get("/entities/9111000060003734/").status_code == 404  # no such code
    assert client.get(f"/zh-hans/entities/{CODE}/").status_code == 404
    assert layers.reached == 4


def test_a_lowercase_code_is_still_redirected_to_the_canonical_page(client, record):
    client.get(f"/entities/{CODE}/")
    response = client.get(f"/entities/{CODE.lower()}/")
    assert (response.status_code, response["Location"]) == (301, f"/entities/{CODE}/")


def test_a_page_served_early_counts_against_the_views_rate_limit(client, record, settings):
    settings.RATELIMIT_ENABLE = True
    limit = int(views.PAGE_RATE.split("/")[0])
    url = f"/entities/{CODE}/"
    statuses = [client.get(url) for _ in range(limit + 1)]
    assert [r.status_code for r in statuses[:limit]] == [200] * limit
    assert sum(r.get("X-Cache") == "hit" for r in statuses[:limit]) == limit - 1
    assert statuses[limit].status_code == 429
    # The counter is the view's: another page limited by the same view is refused too, and
    # another visitor is not.
    assert client.get(f"/en/entities/{CODE}/").status_code == 429
    assert client.get(url, REMOTE_ADDR="10.9.9.9").status_code == 200


def test_a_page_that_showed_a_visitors_messages_is_not_kept(client, record, settings):
    """A form's message left for the browser's next page (``base.html`` shows it) must not be
    kept and shown to every visitor of that page."""
    url = f"/entities/{CODE}/"
    with_message = Client()
    storage = CookieStorage(None)
    storage._loaded_data = []
    encoded = storage._encode([_message("报告 R-1 已出具。")])
    with_message.cookies[CookieStorage.cookie_name] = encoded
    theirs = with_message.get(url)
    assert "报告 R-1 已出具。" in theirs.content.decode()
    others = client.get(url)
    assert "X-Cache" not in others
    assert "报告 R-1 已出具。" not in others.content.decode()
    assert client.get(url)["X-Cache"] == "hit"


def test_without_the_shared_cache_every_request_reaches_the_view(client, settings, record, monkeypatch):
    settings.CACHES = {name: value for name, value in settings.CACHES.items() if name != "pages"}
    layers = Layers(monkeypatch)
    for _ in range(2):
        response = client.get(f"/entities/{CODE}/")
        assert response.status_code == 200 and "X-Cache" not in response
    assert layers.reached == 2


def _message(text):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message

    return Message(constants.SUCCESS, text)


@pytest.mark.parametrize("cookie", ["sessionid", "csrftoken", "messages"])
def test_a_browser_with_a_cookie_the_layers_read_is_answered_by_the_view_from_the_cache(
    client, record, monkeypatch, cookie
):
    url = f"/entities/{CODE}/"
    made = client.get(url)
    layers = Layers(monkeypatch)
    with_cookie = Client()
    with_cookie.cookies[cookie] = "x" * 32
    kept = with_cookie.get(url)
    assert (kept.status_code, kept["X-Cache"], layers.reached) == (200, "hit", 1)
    assert kept.content == made.content


@pytest.mark.parametrize("kind", ["persons", "records"])
def test_a_number_with_leading_zeros_is_sent_to_the_pages_own_address(client, record, person, kind):
    pk = person.pk if kind == "persons" else record.pk
    client.get(f"/{kind}/{pk}/")  # kept
    for prefix in ("", "/en"):
        response = client.get(f"{prefix}/{kind}/0{pk}/")
        assert (response.status_code, response["Location"]) == (301, f"{prefix}/{kind}/{pk}/")
