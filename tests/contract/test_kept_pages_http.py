"""The shared page cache as README ("The shared page cache") describes it, over real HTTP: a
kept page says ``X-Cache: hit`` and is the answer the view gives, headers included; a
conditional request gets its 304 the same way; the write that changes the page drops it at
the moment it commits; a browser with a session cookie is shown the same page."""

import datetime as dt
import http.client
import urllib.parse

import pytest

from disclosure import services
from tests.disclosure import test_pagecache

pytestmark = pytest.mark.django_db(transaction=True)

page_cache, record = test_pagecache.page_cache, test_pagecache.record  # the same fixtures
CODE = test_pagecache.CODE
# Headers that say something of one answer only.
PER_ANSWER = {"date", "x-request-id", "x-cache", "server"}


def get(live_server, path, **headers):
    address = urllib.parse.urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, response.read()
    finally:
        connection.close()


def same_headers(headers):
    return {name: value for name, value in headers.items() if name not in PER_ANSWER}


def test_a_kept_page_over_http_is_the_views_answer_until_a_write_drops_it(live_server, record):
    path = f"/en/entities/{CODE}/"
    status, made, body = get(live_server, path)
    assert (status, "x-cache" in made) == (200, False)
    status, kept, kept_body = get(live_server, path)
    assert (status, kept["x-cache"], kept_body) == (200, "hit", body)
    assert same_headers(kept) == same_headers(made)

    status, unchanged, empty = get(live_server, path, **{"If-None-Match": made["etag"]})
    assert (status, unchanged["x-cache"], empty) == (304, "hit", b"")

    status, with_session, session_body = get(live_server, path, Cookie="sessionid=" + "x" * 32)
    assert (status, with_session["x-cache"], session_body) == (200, "hit", body)

    services.entity_rename(entity=record.entity, new_name="北京契约改名科技有限公司", changed_on=dt.date(2026, 11, 28))
    status, after, renamed = get(live_server, path)
    assert (status, "x-cache" in after) == (200, False)
    assert "北京契约改名科技有限公司" in renamed.decode()
    assert after["etag"] != made["etag"]
