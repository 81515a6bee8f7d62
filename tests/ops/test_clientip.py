"""One rule for the client's address (#10): X-Forwarded-For counts only past the proxies the
deployment says it has."""

import pytest
from django.test import RequestFactory

from ops.clientip import client_ip


def request_from(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "10.0.0.1"),
        (0, None, "10.0.0.1"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, None, "10.0.0.1"),
        (1, "6.6.6.6, not-an-address", "10.0.0.1"),
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (1, "6.6.6.6,2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_wrote(settings, trusted, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    assert client_ip(request_from("10.0.0.1", forwarded)) == expected


def rotating(client, url, n, **params):
    return [
        client.get(url, params, REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(n)
    ]


@pytest.fixture
def limits(settings, frozen_today):
    settings.RATELIMIT_ENABLE = True
    settings.TRUSTED_PROXY_COUNT = 0
    from disclosure.api import views

    views.PublicThrottle.THROTTLE_RATES = {"public": "3/min"}
    yield
    from rest_framework.settings import api_settings

    views.PublicThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_rotating_forwarded_for_does_not_escape_the_page_limit(client, db, limits):
    from disclosure import views

    limit = int(views.SEARCH_RATE.split("/")[0])
    assert rotating(client, "/search/", limit + 1, q="x")[-1] == 429


def test_rotating_forwarded_for_does_not_escape_the_api_limit(client, db, limits):
    assert rotating(client, "/api/v1/entities/", 4, q="x") == [200, 200, 200, 429]


def test_behind_one_proxy_each_forwarded_client_has_its_own_limit(client, db, limits, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert rotating(client, "/api/v1/entities/", 4, q="x") == [200, 200, 200, 200]
    same = [
        client.get(
            "/api/v1/entities/", {"q": "x"}, REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=f"6.6.6.{i}, 203.0.113.50"
        ).status_code
        for i in range(4)
    ]
    assert same == [200, 200, 200, 429]
