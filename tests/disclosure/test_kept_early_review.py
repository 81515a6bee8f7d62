"""Defects found reviewing KeptPageMiddleware (each test fails on c9aaca2)."""

from __future__ import annotations

import inspect

import pytest
from django.core.cache import caches
from django.test import RequestFactory
from django_ratelimit.core import get_usage

from disclosure import pagecache, views

from . import test_pagecache
from .test_kept_early import Layers
from .test_pagecache import CODE

page_cache, record = test_pagecache.page_cache, test_pagecache.record  # the same fixtures

pytestmark = pytest.mark.django_db(transaction=True)

ENTITY = f"/entities/{CODE}/"
LIST = "/lists/serious-dishonesty/"


def test_a_deployment_that_changes_a_security_header_does_not_serve_the_old_one(client, record, settings):
    """The headers replayed on an early answer were captured when the page was made: the key's
    release covers the settings and the middleware (ops/, django-csp) that make them, so a
    deployment that changes a security header (CSP, Permissions-Policy, X-Frame-Options)
    without touching disclosure/ does not serve the old one."""
    client.get(ENTITY)
    assert client.get(ENTITY)["X-Cache"] == "hit"
    settings.PERMISSIONS_POLICY = "camera=(), microphone=()"
    pagecache.release.cache_clear()  # the new deployment's processes work out their release
    try:
        answer = client.get(ENTITY)
    finally:
        pagecache.release.cache_clear()
    assert answer["Permissions-Policy"] == "camera=(), microphone=()"


def test_a_list_page_made_for_a_conditional_request_is_kept(client, record, monkeypatch):
    """A list page made afresh is rendered in full even when the answer is a 304: the
    rendering is kept (with the 304's headers, which are the 200's), so the next visitor with
    a current copy is answered from the cache instead of rendering the list again."""
    etag = client.get(LIST)["ETag"]
    caches["pages"].clear()
    assert client.get(LIST, HTTP_IF_NONE_MATCH=etag).status_code == 304  # rendered, then 304
    layers = Layers(monkeypatch)
    again = client.get(LIST, HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.get("X-Cache"), layers.reached) == (304, "hit", 0)


def test_a_request_refused_over_the_limit_is_counted_once(client, record, settings):
    """Over the limit, the middleware counts the request and hands it to the view, whose
    decorator refuses it without counting it again."""
    settings.RATELIMIT_ENABLE = True
    limit = int(views.PAGE_RATE.split("/")[0])
    statuses = [client.get(ENTITY).status_code for _ in range(limit + 1)]
    assert statuses[-1] == 429
    usage = get_usage(
        RequestFactory().get(ENTITY), fn=inspect.unwrap(views.entity_detail), key="ip", rate=views.PAGE_RATE
    )
    assert usage["count"] == limit + 1
