"""/healthz and /readyz (#12): cheap, unthrottled, plain HTTP allowed."""

import pytest

from ops import views


def test_healthz_answers_without_the_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert (response.status_code, response.content, response["Content-Type"]) == (200, b"ok\n", "text/plain")


def test_readyz_checks_the_database_the_cache_and_the_migrations(client, db):
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (
        200,
        {"database": "ok", "cache": "ok", "migrations": "ok"},
    )


def test_readyz_says_what_is_failing(client, db, monkeypatch):
    def broken():
        raise ConnectionError("cache down")

    monkeypatch.setitem(views.CHECKS, "cache", broken)
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (
        503,
        {"database": "ok", "cache": "failing", "migrations": "ok"},
    )


def test_probes_are_never_throttled_nor_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    settings.RATELIMIT_ENABLE = True
    statuses = {client.get(url).status_code for url in ["/healthz", "/readyz"] * 400}
    assert statuses == {200}


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_probes_set_no_cookie(client, db, url):
    assert client.get(url).cookies == {}
