"""/healthz and /readyz (#12): cheap, unthrottled, plain HTTP allowed."""

import datetime as dt

import pytest

from ops import views
from tests.conftest import run_daily_expiries
from tests.factories import CreditRecordFactory


def test_healthz_answers_without_the_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert (response.status_code, response.content, response["Content-Type"]) == (200, b"ok\n", "text/plain")


def test_readyz_checks_the_database_the_cache_and_the_migrations(client, db, frozen_today):
    response = client.get("/readyz")
    # Read replicas (none here) and the daily expiry job are reported, never a reason for 503.
    assert (response.status_code, response.json()) == (
        200,
        {
            "database": "ok", "cache": "ok", "migrations": "ok",
            "replicas": {}, "expiries_written_through": None, "feed_held_back": False,
        },
    )  # fmt: skip


def test_readyz_tells_staff_the_feed_holds_back(client, db, frozen_today):
    run_daily_expiries()
    frozen_today.shift(dt.timedelta(days=1))
    CreditRecordFactory(decision_date=dt.date(2026, 6, 1))
    body = client.get("/readyz").json()
    assert (body["expiries_written_through"], body["feed_held_back"]) == ("2026-11-28", True)
    run_daily_expiries()
    body = client.get("/readyz").json()
    assert (body["expiries_written_through"], body["feed_held_back"]) == ("2026-11-29", False)


def test_readyz_says_what_is_failing(client, db, monkeypatch):
    def broken():
        raise ConnectionError("cache down")

    monkeypatch.setitem(views.CHECKS, "cache", broken)
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (
        503,
        {
            "database": "ok", "cache": "failing", "migrations": "ok",
            "replicas": {}, "expiries_written_through": None, "feed_held_back": False,
        },
    )  # fmt: skip


def test_probes_are_never_throttled_nor_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    settings.RATELIMIT_ENABLE = True
    statuses = {client.get(url).status_code for url in ["/healthz", "/readyz"] * 400}
    assert statuses == {200}


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_probes_set_no_cookie(client, db, url):
    assert client.get(url).cookies == {}
