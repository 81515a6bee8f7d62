"""The shared page cache (disclosure.pagecache), from the outside: a kept page or API answer
is served without the database, and the very next request after any committed write shows
the new state, in both languages, for the page and the API.

Transactional tests: the tokens are renewed when a write commits, and nothing read inside an
uncommitted transaction is kept. With REDIS_URL set (CI's PostgreSQL pass) the cache is the
real Redis; otherwise an in-process cache stands in (these tests are one process)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from disclosure import pagecache, services
from disclosure.models import CreditRecord, PageCacheDebt
from tests.conftest import SHANGHAI
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory, UserFactory
from tests.repair.conftest import repair_and_approve

pytestmark = pytest.mark.django_db(transaction=True)

CODE = "91110000600037341L"
NOON = dt.datetime(2026, 11, 28, 12, tzinfo=SHANGHAI)


@pytest.fixture
def page_cache(settings):
    if "pages" not in settings.CACHES:
        settings.CACHES = {
            **settings.CACHES,
            "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages-test"},
        }
    caches["pages"].clear()
    caches["default"].clear()  # the API's rate limit counts there, under a stopped clock
    assert pagecache.enabled()
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller
    with contextlib.suppress(Exception):  # a test may have pointed the cache at nothing
        caches["pages"].clear()


@pytest.fixture
def record(page_cache, shipped_rule_sets):
    entity = EntityFactory(name="北京华为数字技术有限公司", code=CODE)
    return CreditRecordFactory(
        entity=entity, decision_date=dt.date(2026, 6, 15), facts="未按规定公示年度报告。", outcome="罚款人民币五万元"
    )


def no_queries(client, url, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert [q["sql"] for q in queries.captured_queries] == []
    return response


PAGES = [
    lambda r: f"/entities/{r.entity.code}/",
    lambda r: f"/en/entities/{r.entity.code}/",
    lambda r: f"/records/{r.pk}/",
    lambda r: f"/en/records/{r.pk}/",
    lambda r: f"/api/v1/entities/{r.entity.code}/",
    lambda r: f"/api/v1/entities/{r.entity.code}/records/",
    lambda r: f"/api/v1/records/{r.pk}/",
    lambda r: "/lists/serious-dishonesty/",
    lambda r: "/browse/penalties/",
    lambda r: "/en/browse/penalties/?page=1",
]


@pytest.mark.parametrize("path", PAGES)
def test_a_kept_answer_and_its_304_read_nothing_from_the_database(client, record, path):
    url = path(record)
    first = client.get(url)
    assert first.status_code == 200
    assert first["Cache-Control"] == "no-cache"
    again = no_queries(client, url)
    assert again.status_code == 200
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == "no-cache"
    unchanged = no_queries(client, url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert unchanged.status_code == 304
    assert unchanged["ETag"] == first["ETag"]


def test_a_search_for_a_code_is_sent_to_the_entity_without_the_database(client, record):
    url = f"/search/?q={CODE.lower()}"
    first = client.get(url)
    assert (first.status_code, first["Location"]) == (302, f"/entities/{CODE}/")
    again = no_queries(client, url)
    assert (again.status_code, again["Location"], again["X-Cache"]) == (302, f"/entities/{CODE}/", "hit")
    english = client.get(f"/en/search/?q={CODE}")
    assert (english.status_code, english["Location"]) == (302, f"/en/entities/{CODE}/")


def test_a_code_searched_before_its_entity_existed_leads_to_it_once_it_does(client, shipped_rule_sets, page_cache):
    url = f"/search/?q={CODE}"
    assert client.get(url).status_code == 200  # "no entity with this code"
    EntityFactory(code=CODE)
    assert client.get(url)["Location"] == f"/entities/{CODE}/"


def test_a_miss_reads_what_a_page_without_the_cache_reads(client, record, django_assert_num_queries):
    url = f"/entities/{CODE}/"
    client.get("/browse/penalties/")  # the first request to an emptied cache looks for renewals owed (below)
    with django_assert_num_queries(2):  # the entity, its records
        client.get(url)
    with django_assert_num_queries(0):
        client.get(url)


def test_a_filtered_list_or_a_far_page_is_not_kept(client, record):
    for url in ["/browse/penalties/?province=11", "/browse/penalties/?page=11", "/browse/penalties/?page=01"]:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        assert queries.captured_queries, url


def urls_of(record) -> list[str]:
    code = record.entity.code
    return [
        f"/entities/{code}/", f"/en/entities/{code}/", f"/records/{record.pk}/", f"/en/records/{record.pk}/",
        f"/api/v1/entities/{code}/", f"/api/v1/entities/{code}/records/",
        f"/api/v1/records/{record.pk}/", "/browse/penalties/", "/en/browse/penalties/",
    ]  # fmt: skip


def warm(client, record):
    for _ in range(2):  # the second time, every one is served from the cache
        for url in urls_of(record):
            client.get(url)


def assert_current(client, record) -> dict[str, str]:
    """What the next request for each page and answer gets is what the database says now:
    the same status and bytes as when made afresh with nothing kept. Returns the bodies."""
    served = {url: client.get(url) for url in urls_of(record)}
    caches["pages"].clear()
    fresh = {url: client.get(url) for url in urls_of(record)}
    assert {url: r.status_code for url, r in served.items()} == {url: r.status_code for url, r in fresh.items()}
    assert [url for url in served if served[url].content != fresh[url].content] == []
    return {url: r.content.decode() for url, r in served.items()}


def test_a_correction_shows_on_the_very_next_request(client, record):
    warm(client, record)
    services.record_correct(
        record=CreditRecord.objects.get(pk=record.pk), actor=None, reason="更正事实", changes={"facts": "逾期未报送。"}
    )
    bodies = assert_current(client, record)
    assert "逾期未报送。" in bodies[f"/records/{record.pk}/"]
    assert "未按规定公示年度报告。" not in bodies[f"/records/{record.pk}/"]
    assert "逾期未报送。" in bodies[f"/api/v1/records/{record.pk}/"]


def test_a_rename_shows_in_both_languages_and_in_the_api(client, record):
    warm(client, record)
    services.entity_rename(entity=record.entity, new_name="北京华为新名称有限公司", changed_on=dt.date(2026, 11, 28))
    bodies = assert_current(client, record)
    for url in [f"/entities/{CODE}/", f"/en/entities/{CODE}/", f"/records/{record.pk}/", f"/api/v1/entities/{CODE}/"]:
        assert "北京华为新名称有限公司" in bodies[url], url


def test_a_withdrawal_through_repair_leaves_every_page_and_answer_at_once(client, record):
    warm(client, record)
    reviewer = UserFactory(username="reviewer")
    record.department.staff.add(reviewer)
    repair_and_approve(CreditRecord.objects.get(pk=record.pk), reviewer)
    code = record.entity.code
    assert client.get(f"/records/{record.pk}/").status_code == 410
    assert client.get(f"/en/records/{record.pk}/").status_code == 410
    assert client.get(f"/api/v1/records/{record.pk}/").status_code == 410
    assert client.get(f"/api/v1/entities/{code}/records/").json() == []
    for url in [f"/entities/{code}/", f"/en/entities/{code}/", "/browse/penalties/"]:
        assert f"/records/{record.pk}/" not in client.get(url).content.decode(), url
    assert_current(client, record)


def test_a_record_that_lapses_at_midnight_is_gone_from_the_first_request_after(client, page_cache, record):
    last_day = record.disclosure_end  # shown through its last day, both ends inclusive
    page_cache.move_to(dt.datetime.combine(last_day, dt.time(23, 59, 59), SHANGHAI))
    warm(client, record)
    assert record.outcome in assert_current(client, record)[f"/entities/{CODE}/"]
    warm(client, record)
    page_cache.move_to(dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0, 0, 0), SHANGHAI))
    code = record.entity.code
    assert client.get(f"/records/{record.pk}/").status_code == 410
    assert client.get(f"/api/v1/entities/{code}/records/").json() == []
    assert record.outcome not in client.get(f"/entities/{code}/").content.decode()
    assert record.outcome not in client.get(f"/en/entities/{code}/").content.decode()
    assert_current(client, record)


def test_a_new_record_shows_on_the_entity_page_and_the_lists(client, record):
    warm(client, record)
    client.get("/browse/penalties/")
    other = CreditRecordFactory(
        entity=record.entity, catalog_item=record.catalog_item, decision_date=dt.date(2026, 9, 1), outcome="警告一次"
    )
    assert "警告一次" in client.get(f"/entities/{CODE}/").content.decode()
    assert f"/records/{other.pk}/" in client.get("/browse/penalties/").content.decode()
    assert_current(client, record)


def test_a_department_renamed_in_the_admin_shows_on_kept_pages(client, record):
    warm(client, record)
    department = record.department
    department.name = "上海市新设局"
    department.save()
    bodies = assert_current(client, record)
    assert "上海市新设局" in bodies[f"/api/v1/records/{record.pk}/"]


def test_a_catalog_change_reaches_kept_pages(client, record):
    warm(client, record)
    services.catalog_item_update(
        item=record.catalog_item, actor=None, changes={"name": "改名后的目录项"}, reason="目录调整"
    )
    bodies = assert_current(client, record)
    assert "改名后的目录项" in bodies[f"/api/v1/records/{record.pk}/"]


def test_an_answer_made_from_rows_a_write_then_changed_is_never_served(client, record):
    """The race the tokens exist for: a reader takes its tokens and reads the old rows; a
    write commits (and renews the tokens); the reader keeps what it made. That entry must not
    be served."""
    url = f"/entities/{CODE}/"
    key = pagecache.page_key("entity", CODE)
    _kept, fill = pagecache.lookup(key, pagecache.code_token_key(CODE))
    stale = client.get(url).content  # what the reader made from the rows before the write
    caches["pages"].delete(key)
    services.entity_rename(entity=record.entity, new_name="后来的名称有限公司", changed_on=dt.date(2026, 11, 28))
    fill.keep(pagecache.Entry(tokens={}, etag='"stale"', modified=None, body=stale))
    response = client.get(url)
    assert response["ETag"] != '"stale"'
    assert "后来的名称有限公司" in response.content.decode()


def test_a_missing_token_retires_what_was_kept_under_it(client, record):
    url = f"/entities/{CODE}/"
    client.get(url)
    no_queries(client, url)
    caches["pages"].delete(pagecache.code_token_key(CODE))  # evicted
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert queries.captured_queries


def test_a_new_release_does_not_serve_the_previous_ones_pages(client, record, settings):
    url = f"/entities/{CODE}/"
    client.get(url)
    no_queries(client, url)
    settings.PAGE_CACHE_RELEASE = "next"
    pagecache.release.cache_clear()
    try:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert queries.captured_queries
    finally:
        pagecache.release.cache_clear()


def test_a_cache_that_is_down_is_a_miss_not_an_error(client, record, settings, caplog):
    settings.CACHES = {
        **settings.CACHES,
        "pages": {"BACKEND": "creditchina.cache.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"},
    }
    response = client.get(f"/entities/{CODE}/")
    assert response.status_code == 200
    assert record.outcome in response.content.decode()
    services.record_correct(
        record=CreditRecord.objects.get(pk=record.pk), actor=None, reason="更正事实", changes={"facts": "逾期未报送。"}
    )  # the renewal fails after the commit; the write stands, and the failure is logged
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "page cache: could not renew 3 tokens after a write"  # the entity under its id and code, the lists
    ]
    assert CreditRecord.objects.get(pk=record.pk).facts == "逾期未报送。"
    assert client.get(f"/api/v1/records/{record.pk}/").json()["facts"] == "逾期未报送。"


# A write while the cache is unreachable ----------------------------------------------------

UNREACHABLE = {"BACKEND": "creditchina.cache.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}


@contextlib.contextmanager
def unreachable(settings):
    """The page cache refuses connections, then answers again with what it held."""
    reachable = settings.CACHES["pages"]
    settings.CACHES = {**settings.CACHES, "pages": UNREACHABLE}
    try:
        yield
    finally:
        settings.CACHES = {**settings.CACHES, "pages": reachable}


def correct(record, facts="逾期未报送。"):
    services.record_correct(
        record=CreditRecord.objects.get(pk=record.pk), actor=None, reason="更正事实", changes={"facts": facts}
    )


def owed() -> list[list[str]]:
    return list(PageCacheDebt.objects.order_by("pk").values_list("keys", flat=True))


def test_a_write_the_cache_missed_is_owed_and_paid_before_this_process_serves_a_hit(client, record, settings):
    warm(client, record)
    with unreachable(settings):
        correct(record)
    assert owed() == [[f"gen:e:{record.entity_id}", f"gen:c:{CODE}", "gen:lists"]]
    bodies = assert_current(client, record)  # the lease is held: only this process's memory of the failure
    assert "逾期未报送。" in bodies[f"/records/{record.pk}/"]
    assert owed() == []


def test_another_process_serves_what_the_write_changed_no_longer_than_its_lease(
    client, record, settings, django_assert_num_queries
):
    url = f"/records/{record.pk}/"
    warm(client, record)
    with unreachable(settings):
        correct(record)
    pagecache.forget_failures()  # another process: it never saw the cache fail
    with django_assert_num_queries(0):  # within its lease it trusts the tokens it reads
        assert "未按规定公示年度报告。" in client.get(url).content.decode()
    caches["pages"].delete(pagecache.LEASE)  # the lease runs out
    response = client.get(url)
    assert ("逾期未报送。" in response.content.decode(), response.get("X-Cache"), owed()) == (True, None, [])
    client.get(url)
    with django_assert_num_queries(0):
        assert client.get(url)["X-Cache"] == "hit"
    assert_current(client, record)


def test_a_process_that_saw_the_cache_fail_looks_for_renewals_owed_before_its_next_hit(client, record, settings):
    url = f"/records/{record.pk}/"
    warm(client, record)
    with unreachable(settings):
        correct(record)  # by another process, below
        pagecache.forget_failures()
        assert client.get(url).status_code == 200  # this one only sees the cache fail as it reads
    response = client.get(url)  # the lease is still held
    assert ("逾期未报送。" in response.content.decode(), owed()) == (True, [])


def test_when_the_lease_runs_out_one_request_looks_for_renewals_owed_with_one_query(
    client, record, django_assert_num_queries
):
    url = f"/entities/{CODE}/"
    client.get(url)
    client.get(f"/api/v1/entities/{CODE}/")
    caches["pages"].delete(pagecache.LEASE)
    with django_assert_num_queries(1) as looked:
        assert client.get(url)["X-Cache"] == "hit"
    assert looked.captured_queries[0]["sql"].startswith('SELECT "disclosure_pagecachedebt"."id"')
    with django_assert_num_queries(0):  # the lease is held again, for every page
        assert client.get(url)["X-Cache"] == "hit"
        assert client.get(f"/api/v1/entities/{CODE}/")["X-Cache"] == "hit"


def test_while_another_reader_looks_for_renewals_owed_pages_come_from_the_database(
    client, record, django_assert_num_queries
):
    url = f"/entities/{CODE}/"
    client.get(url)
    caches["pages"].set(pagecache.LEASE, pagecache.CHECKING, 10)
    with django_assert_num_queries(2):  # the entity, its records; not the debt: the other reader reads it
        response = client.get(url)
    assert (response.status_code, response.get("X-Cache")) == (200, None)


def test_inside_a_transaction_a_page_is_not_served_without_the_lease_and_nothing_is_looked_for(
    client, record, django_assert_num_queries
):
    """A query that failed there would break the caller's transaction."""
    client.get(f"/entities/{CODE}/")
    caches["pages"].delete(pagecache.LEASE)
    with transaction.atomic(), django_assert_num_queries(0):
        kept, fill = pagecache.lookup(pagecache.page_key("entity", CODE), pagecache.code_token_key(CODE))
    assert (kept, fill.spoiled) == (None, True)


def test_renewals_owed_are_deleted_only_once_made_and_only_those_read(client, record, settings, monkeypatch):
    warm(client, record)
    with unreachable(settings):
        correct(record)
    pages = caches["pages"]
    renew = pages.set_many

    def refused(data, timeout=None):
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(pages, "set_many", refused)
    response = client.get(f"/records/{record.pk}/")
    assert (response.status_code, response.get("X-Cache"), "逾期未报送。" in response.content.decode()) == (
        200, None, True
    )  # fmt: skip
    assert owed() == [[f"gen:e:{record.entity_id}", f"gen:c:{CODE}", "gen:lists"]]

    def renewed_while_another_write_owes(data, timeout=None):
        PageCacheDebt.objects.create(keys=["gen:e:999"])
        return renew(data, timeout)

    monkeypatch.setattr(pages, "set_many", renewed_while_another_write_owes)
    client.get(f"/records/{record.pk}/")
    assert owed() == [["gen:e:999"]]  # paid on the next lease
    monkeypatch.setattr(pages, "set_many", renew)
    assert_current(client, record)


def test_a_look_for_renewals_owed_that_fails_is_a_miss_not_an_error(
    client, record, caplog, django_assert_num_queries
):
    url = f"/entities/{CODE}/"
    client.get(url)
    caches["pages"].delete(pagecache.LEASE)

    def unreadable(execute, sql, params, many, context):
        if "pagecachedebt" in sql:
            raise OperationalError("could not read block 0 of relation disclosure_pagecachedebt")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(unreadable):
        response = client.get(url)
    assert (response.status_code, response.get("X-Cache")) == (200, None)
    assert record.outcome in response.content.decode()
    assert [r.getMessage() for r in caplog.records if r.name == "disclosure.pagecache"] == [
        "page cache: could not read the tokens owed: could not read block 0 of relation disclosure_pagecachedebt"
    ]
    assert caches["pages"].get(pagecache.LEASE) is None  # the next request looks again
    with django_assert_num_queries(1):
        assert client.get(url)["X-Cache"] == "hit"


def test_a_write_that_owes_more_tokens_than_are_listed_owes_the_site_token(client, record, settings, monkeypatch):
    monkeypatch.setattr(pagecache, "DEBT_KEYS_KEPT", 2)
    other = EntityFactory()
    CreditRecordFactory(entity=other, catalog_item=record.catalog_item, outcome="警告")
    client.get(f"/entities/{other.code}/")
    warm(client, record)
    with unreachable(settings):
        correct(record)
    assert owed() == [["gen:site"]]
    pagecache.forget_failures()
    caches["pages"].delete(pagecache.LEASE)
    assert_current(client, record)
    assert owed() == []
    with CaptureQueriesContext(connection) as queries:  # every kept page was retired
        assert client.get(f"/entities/{other.code}/").get("X-Cache") is None
    assert len(queries) == 2


def test_a_write_that_can_record_nothing_says_so(client, record, settings, caplog):
    def refused(execute, sql, params, many, context):
        if "pagecachedebt" in sql:
            raise OperationalError("the database system is shutting down")
        return execute(sql, params, many, context)

    with unreachable(settings), connection.execute_wrapper(refused):
        correct(record)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "page cache: could not renew 3 tokens after a write",
        "page cache: could not record the 3 tokens to renew either: the pages kept under them can be served until midnight",
    ]
    assert (CreditRecord.objects.get(pk=record.pk).facts, owed()) == ("逾期未报送。", [])


def test_without_a_shared_cache_nothing_is_kept(client, settings, shipped_rule_sets, frozen_today):
    settings.CACHES = {name: value for name, value in settings.CACHES.items() if name != "pages"}
    assert not pagecache.enabled()
    entity = EntityFactory(code=CODE)
    CreditRecordFactory(entity=entity, catalog_item=CatalogItemFactory())
    client.get(f"/entities/{CODE}/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/entities/{CODE}/").status_code == 200
    assert queries.captured_queries


# Through a real read replica (DATABASE_REPLICA_URLS; CI makes one with .ci/pg-replica).
REPLICA = settings.DATABASE_REPLICAS[0] if settings.DATABASE_REPLICAS else None


@pytest.mark.replica
@pytest.mark.skipif(REPLICA is None, reason="no read replica configured: set DATABASE_REPLICA_URLS")
@pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, *settings.DATABASE_REPLICAS])
def test_a_replica_behind_the_last_write_never_refills_the_cache(client, record, settings):
    """A page dropped by a write is made again from the primary while the replica has not
    replayed that write: kept from the replica, the old state would be served from the cache
    long after the replica caught up."""
    from tests.ops.test_replicas import queries_on, wait_for_replica

    settings.REPLICA_MAX_LAG_SECONDS = settings.REPLICA_CHECK_SECONDS = 3600
    pagecache._replayed.clear()
    url = f"/entities/{CODE}/"
    wait_for_replica(REPLICA)
    _page, on_replica = queries_on(REPLICA, lambda: client.get(url))
    # The replica's health; whether it has replayed the fixture's writes (their tokens name
    # them): it has; then the page from it: the entity, its records.
    assert on_replica == 4
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        services.entity_rename(entity=record.entity, new_name="北京新名称科技有限公司", changed_on=dt.date(2026, 11, 28))
        page, on_replica = queries_on(REPLICA, lambda: client.get(url))
        # One look at how far the replica has replayed; then the primary.
        assert (on_replica, "北京新名称科技有限公司" in page.content.decode()) == (1, True)
        again, on_replica = queries_on(REPLICA, lambda: client.get(url))
        assert (on_replica, again["X-Cache"], again.content) == (0, "hit", page.content)
    finally:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
    wait_for_replica(REPLICA)
    caches["pages"].delete(pagecache.page_key("entity", CODE))
    page, on_replica = queries_on(REPLICA, lambda: client.get(url))
    # Caught up: the replica again (whether it has replayed the rename: it has; the entity,
    # its records, and now its former name).
    assert (on_replica, "北京新名称科技有限公司" in page.content.decode()) == (4, True)
