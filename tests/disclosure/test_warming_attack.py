# ruff: noqa: F811 (the fixtures of test_warming.py, imported to be used here)
"""Review of manage.py pages_warm and creditchina.cache's incr/iter_keys, from their contract
(README, "The shared page cache": "Pages are kept per day ..."). Some tests pin behaviour that
holds; the others show defects (each says what it expects and why). Against the machine's
Redis, under keys of each test's own (``redis_pages``)."""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid

import pytest
import redis
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from creditchina.cache import RedisCache
from disclosure import services, views, warming
from disclosure.models import Entity, EntityKind
from tests.factories import CreditRecordFactory
from tests.ops.test_shared_cache import redis_url

from .test_warming import CODE, DAY, at, clock, deployed, record, redis_pages, served_from_the_cache, warm  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

TOMORROW = DAY + dt.timedelta(days=1)


def kept_keys(prefix: str) -> list[str]:
    client = redis.Redis.from_url(redis_url())
    return sorted(key.decode() for key in client.scan_iter(f"{prefix}:*:p:*"))


# Defects ---------------------------------------------------------------------------------


def test_redis_down_fails_with_a_command_error_not_a_traceback(settings, clock):
    """An operator (or systemd's journal) should read one line saying the page cache is not
    reachable, as for the other configuration problems the command reports, not a
    redis-py traceback. Today: redis.exceptions.ConnectionError escapes ``handle``."""
    settings.CACHES = {
        **settings.CACHES,
        "pages": {"BACKEND": "creditchina.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0", "KEY_PREFIX": "x"},
    }
    at(clock, TOMORROW)
    with pytest.raises(CommandError, match=r"^The page cache did not answer: Error 111 connecting to 127.0.0.1:1\. Connection refused\.$"):
        warm()


def test_a_release_name_with_a_colon_still_warms(client, clock, record, deployed):
    """PAGE_CACHE_RELEASE is free-form (README: "names what kept pages were made with"); an
    image reference such as ``creditchina:2026.11`` is a natural name. ``warming._page``
    splits the key on ":" and takes the third part as the kind, so with such a release every
    key parses as an unknown kind and nothing is warmed, silently (0 pages, "answers none")."""
    deployed("creditchina:2026.11")
    assert client.get(f"/entities/{CODE}/").status_code == 200
    at(clock, TOMORROW)
    assert warm().startswith("1 pages made and kept for today")
    assert record.outcome in served_from_the_cache(client, f"/entities/{CODE}/")


@pytest.mark.parametrize("option", ["--limit", "--seconds"])
def test_a_negative_bound_is_refused(clock, option):
    """``--limit -1`` or ``--seconds -5`` (a typo in the unit, say) warms nothing and reports
    success ("0 pages made ... answers none"), indistinguishable from a night with no pages.
    The command should refuse the value."""
    at(clock, TOMORROW)
    least = {"--limit": 0, "--seconds": 1}[option]
    with pytest.raises(CommandError, match=rf"^Error: argument {option}: -5 is less than {least}$"):
        warm(option, "-5")
    with pytest.raises(CommandError, match=rf"^Error: argument {option}: 'many' is not a number$"):
        warm(option, "many")


def test_a_server_error_is_not_reported_as_a_page_gone(client, clock, record, monkeypatch):
    """The summary's "no longer pages" is for pages that are gone (README: "found gone (a
    record no longer disclosed answers 410)"). A page whose view fails (a 500: a bug, the
    database down) is counted there too, so a night where every page failed reads as "the
    pages are gone", and the command still exits 0."""
    client.get(f"/entities/{CODE}/")
    at(clock, TOMORROW)

    def broken(code):
        raise RuntimeError("database gone")

    monkeypatch.setattr("disclosure.selectors.entity_by_code", broken)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^1 pages could not be made \(see the answers above and the site's log\)\.$"):
        call_command("pages_warm", stdout=out)
    assert out.getvalue() == (
        "0 pages made and kept for today, 0 already kept, 0 made but not kept, 0 no longer pages, 1 failed (answers 500: 1).\n"
    )


def test_a_list_page_asked_for_with_a_junk_query_string_is_not_warmed(client, clock, record):
    """A list's first page is kept under its raw query string (``views._list_kept``), so
    ``?page=1&page=1``, ``?page=1&&``, ``?page=2&page=1`` ... are each a key of their own,
    made by anyone. The warmer makes every one of them again each night: visitors can make
    its work unbounded, and with ``--seconds`` (SCAN's order) crowd out the pages people
    really open. It should warm only a list page's own addresses (no query, or ``page=N``)."""
    for url in ("/lists/serious-dishonesty/", "/lists/serious-dishonesty/?page=1&page=1", "/lists/serious-dishonesty/?page=2&page=1&&"):
        assert client.get(url).status_code == 200
    assert len([key for key in kept_keys(caches["pages"].key_prefix) if ":list:" in key]) == 3
    at(clock, TOMORROW)
    assert (
        warm()
        == "1 pages made and kept for today, 0 already kept, 0 made but not kept, 0 no longer pages, 0 failed (answers 200: 1)."
    )


def test_iter_keys_with_glob_characters_in_the_key_prefix(redis_pages):
    """``iter_keys`` passes the cache's own prefix to SCAN MATCH unescaped: a KEY_PREFIX with
    ``[``, ``*`` or ``?`` (allowed by Django) finds none of its own keys, or another cache's."""
    base = f"test-warm-glob-{uuid.uuid4().hex}"
    ours = RedisCache(redis_url(), {"KEY_PREFIX": f"{base}[1]"})
    starred = RedisCache(redis_url(), {"KEY_PREFIX": f"{base}*"})
    other = RedisCache(redis_url(), {"KEY_PREFIX": f"{base}-other"})
    try:
        ours.set("p:a:2026-11-28", 1, 60)
        other.set("p:b:2026-11-28", 2, 60)
        assert list(ours.iter_keys("p:*")) == ["p:a:2026-11-28"]
        assert list(starred.iter_keys("p:*")) == []
    finally:
        client = redis.Redis.from_url(redis_url())
        for key in client.scan_iter(f"{base}*"):
            client.delete(key)


# Behaviour that holds (pinned) -----------------------------------------------------------


def test_scan_returning_a_key_twice_makes_the_page_once(client, clock, record, monkeypatch):
    client.get(f"/entities/{CODE}/")
    at(clock, TOMORROW)
    original = RedisCache.iter_keys

    def twice(cache, pattern):
        for key in original(cache, pattern):
            yield key
            yield key

    monkeypatch.setattr(RedisCache, "iter_keys", twice)
    assert (
        warm()
        == "1 pages made and kept for today, 1 already kept, 0 made but not kept, 0 no longer pages, 0 failed (answers 200: 2)."
    )


def test_a_page_kept_under_the_previous_release_is_made_once_under_the_current_one(client, clock, record, deployed):
    deployed("before")
    client.get(f"/entities/{CODE}/")
    deployed("after")  # deployed in the afternoon: asked for again under the new release
    client.get(f"/entities/{CODE}/")
    at(clock, TOMORROW)
    assert (
        warm()
        == "1 pages made and kept for today, 1 already kept, 0 made but not kept, 0 no longer pages, 0 failed (answers 200: 2)."
    )
    assert record.outcome in served_from_the_cache(client, f"/entities/{CODE}/")
    assert not [key for key in kept_keys(caches["pages"].key_prefix) if ":before:" in key and TOMORROW.isoformat() in key]


def test_person_pages_are_warmed_in_their_language(client, clock, record):
    person = services.entity_create(name="张三", kind=EntityKind.NATURAL_PERSON, identity_number="11010519491231002X")
    CreditRecordFactory(entity=person, decision_date=dt.date(2026, 6, 15), outcome="罚款人民币二万元")
    for url in (f"/persons/{person.pk}/", f"/en/persons/{person.pk}/"):
        assert client.get(url).status_code == 200
    at(clock, TOMORROW)
    assert warm().startswith("2 pages made and kept for today")
    zh = served_from_the_cache(client, f"/persons/{person.pk}/")
    en = served_from_the_cache(client, f"/en/persons/{person.pk}/")
    assert zh != en and "罚款人民币二万元" in zh


def test_the_api_search_and_unkept_pages_are_ignored(client, clock, record):
    client.get(f"/api/v1/entities/{CODE}/")
    client.get(f"/api/v1/records/{record.pk}/")
    client.get(f"/search/?q={CODE}")
    client.get(f"/entities/{CODE}/?utm=x")  # not kept: a query string
    at(clock, TOMORROW)
    assert (
        warm()
        == "0 pages made and kept for today, 0 already kept, 0 made but not kept, 0 no longer pages, 0 failed (answers none)."
    )


def test_a_withdrawn_record_is_gone_and_off_its_entitys_warmed_page(client, clock, record):
    client.get(f"/entities/{CODE}/")
    client.get(f"/records/{record.pk}/")
    at(clock, TOMORROW)
    services.record_withdraw(record=record, actor=None, reason="信用修复", reference="XF2026112900000001")
    out = warm()
    assert out.endswith("1 no longer pages, 0 failed (answers 200: 1, 410: 1).") and out.startswith("1 pages made"), out
    assert record.outcome not in served_from_the_cache(client, f"/entities/{CODE}/")


def test_a_renamed_entitys_page_shows_its_new_name(client, clock, record):
    client.get(f"/entities/{CODE}/")
    at(clock, TOMORROW)
    services.entity_rename(entity=record.entity, new_name="北京新名称有限公司", changed_on=TOMORROW)
    assert warm().startswith("1 pages made")
    assert "北京新名称有限公司" in served_from_the_cache(client, f"/entities/{CODE}/")


def test_a_write_committing_while_a_page_is_made_leaves_no_stale_page(client, clock, record, monkeypatch):
    """The rows are read, then a rename commits, then the page is kept: it is kept under the
    tokens the rename replaced, so it is never served; the next visitor sees the new name."""
    client.get(f"/entities/{CODE}/")
    at(clock, TOMORROW)
    render = views._render_profile

    def render_then_rename(request, entity):
        html = render(request, entity)
        services.entity_rename(entity=Entity.objects.get(pk=entity.pk), new_name="北京改名有限公司", changed_on=TOMORROW)
        return html

    monkeypatch.setattr(views, "_render_profile", render_then_rename)
    assert (
        warm()
        == "0 pages made and kept for today, 0 already kept, 1 made but not kept, 0 no longer pages, 0 failed (answers 200: 1)."
    )
    monkeypatch.setattr(views, "_render_profile", render)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/entities/{CODE}/")
    assert queries.captured_queries and response.get("X-Cache") != "hit"
    assert "北京改名有限公司" in response.content.decode()


def test_limit_zero_warms_nothing(client, clock, record):
    client.get(f"/entities/{CODE}/")
    at(clock, TOMORROW)
    assert (
        warm("--limit", "0")
        == "0 pages made and kept for today, 0 already kept, 0 made but not kept, 0 no longer pages, 0 failed (answers none)."
    )
    assert not [key for key in kept_keys(caches["pages"].key_prefix) if key.endswith(TOMORROW.isoformat())]


def test_the_rate_limit_setting_is_restored_when_warming_fails(settings, clock, monkeypatch):
    def fails(**kwargs):
        assert settings.RATELIMIT_ENABLE is False
        raise RuntimeError("boom")

    monkeypatch.setattr(warming, "warm", fails)
    with pytest.raises(RuntimeError):
        warm()
    assert settings.RATELIMIT_ENABLE is True


def test_incr_on_a_key_that_expired_is_a_value_error_and_makes_nothing(redis_pages):
    cache = RedisCache(redis_url(), {"KEY_PREFIX": redis_pages})
    client = redis.Redis.from_url(redis_url())
    client.set(cache.make_key("n"), 1, px=50)
    time.sleep(0.12)
    with pytest.raises(ValueError):
        cache.incr("n")
    assert client.exists(cache.make_key("n")) == 0
    cache.set("forever", 1, None)
    assert cache.decr("forever", 3) == -2
    assert client.ttl(cache.make_key("forever")) == -1
