"""KeptPageMiddleware attacked from the outside: for every request, a kept page served before
the session, language, CSRF, auth and messages layers must be what the whole stack answers
(README, disclosure/pagecache.py). The oracle is the same request to the site with nothing
kept, or the answer the full stack gave before the page was kept."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from disclosure.models import Entity
from tests.factories import EntityFactory

from . import test_kept_early, test_pagecache
from .test_kept_early import Layers
from .test_pagecache import CODE

page_cache, record = test_pagecache.page_cache, test_pagecache.record  # the same fixtures
person = test_kept_early.person

pytestmark = pytest.mark.django_db(transaction=True)

ENTITY = f"/entities/{CODE}/"


def kept(client, url, **headers):
    """Asks for ``url`` twice: the second answer is served from the cache."""
    client.get(url, **headers)
    response = client.get(url, **headers)
    assert response["X-Cache"] == "hit"
    return response


# --- what the layers below the middleware refuse ------------------------------------------


def test_a_host_the_site_does_not_serve_is_refused_on_a_kept_page_too(client, record):
    """CommonMiddleware validates the Host header (ALLOWED_HOSTS): the full stack answers 400
    to a host the site does not serve, whether or not the page is kept."""
    assert Client().get(ENTITY, HTTP_HOST="attacker.example").status_code == 400
    kept(client, ENTITY)
    refused = Client().get(ENTITY, HTTP_HOST="attacker.example")
    assert (refused.status_code, refused.get("X-Cache")) == (400, None)


def test_a_nul_in_a_cookie_is_refused_on_a_kept_page_too(client, record):
    """RejectNulMiddleware answers 400 to a NUL in the cookies, on every address."""
    assert Client().get(ENTITY, HTTP_COOKIE="tracker=a\x00b").status_code == 400
    kept(client, ENTITY)
    refused = Client().get(ENTITY, HTTP_COOKIE="tracker=a\x00b")
    assert (refused.status_code, refused.get("X-Cache")) == (400, None)


# --- what the layers below the middleware add ---------------------------------------------


# A cookie the layers below put right on every answer: CsrfViewMiddleware replaces a csrftoken
# of the wrong format; SessionMiddleware deletes a sessionid that cannot name a session.
REPAIRED_COOKIES = ["csrftoken", "sessionid"]


def _with_bad_cookie(name) -> Client:
    browser = Client()
    browser.cookies[name] = "x"
    return browser


@pytest.mark.parametrize("name", REPAIRED_COOKIES)
def test_a_malformed_cookie_is_put_right_on_a_kept_page_as_by_the_whole_stack(client, record, name):
    by_stack = _with_bad_cookie(name).get("/browse/")  # not a kept page: the whole stack answers
    assert sorted(by_stack.cookies) == [name]
    kept(client, ENTITY)
    early = _with_bad_cookie(name).get(ENTITY)
    assert early.status_code == 200
    assert sorted(early.cookies) == [name]
    assert early.cookies[name]["max-age"] == by_stack.cookies[name]["max-age"]
    assert _vary(early) == _vary(by_stack)


def _vary(response) -> set[str]:
    return {name.strip() for name in response["Vary"].split(",")}


@pytest.mark.parametrize("name", REPAIRED_COOKIES)
def test_a_malformed_cookie_on_the_miss_does_not_stop_the_page_being_served_early(
    client, record, monkeypatch, name
):
    """The first request for a page, from a browser whose cookie a layer puts right, keeps
    the page without the layers' headers: the next plain visitor's answer brings them, and
    from then on the page is served before the layers (not only after the next write or at
    midnight: anyone could do this to any page)."""
    assert _with_bad_cookie(name).get(ENTITY).status_code == 200  # the miss
    layers = Layers(monkeypatch)
    for _ in range(3):
        assert client.get(ENTITY)["X-Cache"] == "hit"
    assert layers.reached == 1


# --- one key, two addresses ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["persons", "records"])
def test_a_page_asked_for_with_leading_zeros_does_not_give_its_links_to_the_plain_address(
    client, settings, record, person, kind
):
    """/persons/07/ and /persons/7/ would be one kept page (the key holds the number), but a
    page links to itself in the other language with the path it was asked for: a page kept
    for /persons/07/ would send every visitor of /persons/7/ to /en/persons/07/. The other
    spelling is sent to the page's own address instead."""
    pk = person.pk if kind == "persons" else record.pk
    caches["fragments"].clear()
    with override_settings(
        CACHES={name: value for name, value in settings.CACHES.items() if name != "pages"}
    ):
        uncached = Client().get(f"/{kind}/{pk}/").content
    assert f'<link rel="alternate" hreflang="en" href="/en/{kind}/{pk}/">'.encode() in uncached
    client.get(f"/{kind}/0{pk}/")  # kept, made for the other spelling
    served = client.get(f"/{kind}/{pk}/")
    assert served.content == uncached


# --- what the layers above the middleware still do ------------------------------------------


def test_https_is_still_enforced_and_announced_on_a_kept_page(settings, record):
    """SecurityMiddleware runs before the kept page is served: plain HTTP is redirected and
    the answer over HTTPS carries HSTS."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = False
    settings.SECURE_HSTS_PRELOAD = False
    browser = Client()
    early = kept(browser, ENTITY, secure=True)
    assert early["Strict-Transport-Security"] == "max-age=3600"
    plain = browser.get(ENTITY)
    assert (plain.status_code, plain["Location"]) == (301, f"https://testserver{ENTITY}")


def test_a_language_cookie_or_header_does_not_change_the_unprefixed_page(client, record):
    """Without a prefix the page is Chinese for everyone (prefix_default_language=False), as
    the whole stack decides; the early answer is the same for a browser that prefers English."""
    chinese = kept(client, ENTITY)
    english_browser = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_COOKIE="django_language=en")
    early = english_browser.get(ENTITY)
    assert (early["X-Cache"], early["Content-Language"]) == ("hit", "zh-hans")
    assert early.content == chinese.content


def test_an_entity_deleted_after_its_page_was_kept_is_not_found_in_either_language(
    client, page_cache, shipped_rule_sets
):
    """An entity with no records can be deleted (the admin): its code's token is renewed with
    the row, so the early look misses and the view answers 404."""
    entity = EntityFactory()
    url = f"/entities/{entity.code}/"
    for address in (url, f"/en{url}"):
        kept(client, address)
    Entity.objects.get(pk=entity.pk).delete()
    assert client.get(url).status_code == 404
    assert client.get(f"/en{url}").status_code == 404
