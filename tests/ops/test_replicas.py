"""Read replicas (#16): public reads from a replica, everything else from the primary, a
browser that has just written reads its writes, and a replica that lags or is down is left
aside (and /readyz says so).

The tests marked ``replica`` read through a real PostgreSQL streaming replica
(``DATABASE_REPLICA_URLS``; CI makes one with ``.ci/pg-replica``). The test database is made on
the primary and reaches the replica by replication, so those tests commit what they write
(``transaction=True``) and wait for the replica to replay it.
"""

import time

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone

from creditchina.routers import PrimaryReplicaRouter
from disclosure import agencies, feed, services
from disclosure.models import Agency, CreditRecord
from ops import replicas
from tests.conftest import run_daily_expiries
from tests.factories import CreditRecordFactory, EntityFactory, UserFactory

REPLICA = settings.DATABASE_REPLICAS[0] if settings.DATABASE_REPLICAS else None
needs_replica = [
    pytest.mark.replica,
    pytest.mark.skipif(
        REPLICA is None,
        reason="no read replica configured: set DATABASE_REPLICA_URLS (CI starts one with .ci/pg-replica)",
    ),
    pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, *settings.DATABASE_REPLICAS]),
]


@pytest.fixture(autouse=True)
def _pages_from_the_database(no_page_cache):
    """These tests watch where pages read from; the shared page cache would answer some of
    them without reading at all (its own replica behaviour: tests/disclosure/test_pagecache.py)."""


# ------------------------------------------------------------------ routing, no replica needed


def _request(method, path, cookies=None):
    request = getattr(RequestFactory(), method.lower())(path)
    request.COOKIES.update(cookies or {})
    request.resolver_match = resolve(path)
    return request


@pytest.mark.parametrize(
    ("method", "path", "replica"),
    [
        ("GET", "/", True),
        ("GET", "/entities/91110000600037341L/", True),
        ("HEAD", "/records/1/", True),
        ("GET", "/api/v1/entities/91110000600037341L/", True),
        ("GET", "/api/v1/changes/", True),
        ("GET", "/api/v1/snapshot.ndjson", True),
        ("GET", "/api/v1/digest/", True),
        ("GET", "/notices/", True),
        ("GET", "/api/v1/acknowledgement/", False),  # the agency's own state, just written
        ("POST", "/api/v1/acknowledgement/", False),
        ("POST", "/search/", False),
        ("GET", "/admin/", False),
        ("GET", "/repair/", False),
        ("GET", "/repair/review/", False),
        ("GET", "/quality/", False),
        ("GET", "/api/v1/intake/batches/", False),
        ("GET", "/reports/verify/", False),
        ("GET", "/readyz", False),
    ],
)
def test_which_requests_read_from_a_replica(method, path, replica):
    assert replicas.reads_from_replica(_request(method, path)) is replica


def test_a_browser_reads_its_writes_for_a_capped_window(settings):
    settings.READ_YOUR_WRITES_SECONDS = 15
    now = int(time.time())
    cookie = replicas.READ_YOUR_WRITES_COOKIE

    def from_replica(value):
        return replicas.reads_from_replica(_request("GET", "/", {cookie: value}))

    assert [from_replica(str(now + 10)), from_replica(str(now + 15)), from_replica(str(now - 1))] == [
        False,
        False,
        True,
    ]
    # A value the site never set (further ahead than one window, or not a time) is ignored:
    # a forged cookie cannot pin a browser to the primary.
    assert [from_replica(str(now + 16)), from_replica("9" * 40), from_replica("soon"), from_replica("²")] == [
        True,
        True,
        True,
        True,
    ]


def test_a_state_changing_request_opens_the_window(client, db, settings):
    settings.READ_YOUR_WRITES_SECONDS = 15
    before = int(time.time())
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    cookie = response.cookies[replicas.READ_YOUR_WRITES_COOKIE]
    assert before + 15 <= int(cookie.value) <= int(time.time()) + 15
    assert (cookie["max-age"], cookie["httponly"], cookie["samesite"]) == (15, True, "Lax")
    assert replicas.READ_YOUR_WRITES_COOKIE not in client.get("/").cookies


def test_the_router_writes_and_migrates_on_the_primary_only(monkeypatch):
    router = PrimaryReplicaRouter()
    token = replicas.set_reading("replica1")
    try:
        assert router.db_for_read(CreditRecord) == "replica1"
        assert router.db_for_write(CreditRecord) == DEFAULT_DB_ALIAS
        with monkeypatch.context() as inside:
            # What a transaction reads, it reads where it writes.
            inside.setattr(connections[DEFAULT_DB_ALIAS], "in_atomic_block", True)
            assert router.db_for_read(CreditRecord) == DEFAULT_DB_ALIAS
        replicas.read_from_primary()
        assert (replicas.reading_from(), router.db_for_read(CreditRecord)) == (DEFAULT_DB_ALIAS, DEFAULT_DB_ALIAS)
    finally:
        replicas.reset_reading(token)
    assert replicas.reading_from() == DEFAULT_DB_ALIAS
    assert [router.allow_migrate(alias, "disclosure") for alias in ("default", "replica1")] == [True, False]


def test_without_replicas_readyz_names_none(client, db):
    assert client.get("/readyz").json()["replicas"] == {}


# ------------------------------------------------------------------ through the real replica


def wait_for_replica(alias=REPLICA, timeout=120.0):
    """Until the replica has replayed everything committed so far (a loaded machine, or
    other databases' writes on the same primary, can keep it seconds behind)."""
    lsn = replicas.committed_lsn()
    deadline = time.monotonic() + timeout
    while not replicas.replica_has(alias, lsn):
        assert time.monotonic() < deadline, f"{alias} did not replay {lsn} in {timeout} s"
        time.sleep(0.02)


@pytest.fixture
def paused_replay(transactional_db):
    """A function that stops the replica replaying the primary's WAL (pg_wal_replay_pause),
    once it has everything committed so far; replay resumes after the test."""
    paused = []

    def pause():
        wait_for_replica()
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_pause()")
        paused.append(True)

    yield pause
    if paused:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
        wait_for_replica()


def queries_on(alias, call):
    with CaptureQueriesContext(connections[alias]) as captured:
        result = call()
    return result, len(captured.captured_queries)


@pytest.fixture
def renamed_while_paused(paused_replay, shipped_rule_sets, settings):
    """An entity with a record, replicated; then, with replay paused, renamed on the primary."""
    settings.REPLICA_MAX_LAG_SECONDS = 3600
    entity = EntityFactory(name="北京旧名称科技有限公司", code="91110000600037341L")
    CreditRecordFactory(entity=entity)
    paused_replay()
    services.entity_rename(entity=entity, new_name="北京新名称科技有限公司", changed_on=timezone.localdate(), actor=None)
    return entity


def _apply(marks):
    def decorate(function):
        for mark in reversed(marks):
            function = mark(function)
        return function

    return decorate


@_apply(needs_replica)
def test_public_reads_come_from_the_replica_staff_and_writers_from_the_primary(client, renamed_while_paused):
    entity = renamed_while_paused
    page, on_replica = queries_on(REPLICA, lambda: client.get(f"/entities/{entity.code}/"))
    assert (page.status_code, on_replica > 0) == (200, True)
    assert ("北京旧名称科技有限公司" in page.content.decode(), "北京新名称科技有限公司" in page.content.decode()) == (
        True,
        False,
    )
    api = client.get(f"/api/v1/entities/{entity.code}/", HTTP_ACCEPT_LANGUAGE="en")
    assert api.json()["name"] == "北京旧名称科技有限公司"

    # Staff: the admin reads from the primary.
    staff = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(staff)  # a session written on the primary, read there too
    admin_page, on_replica = queries_on(REPLICA, lambda: client.get(f"/admin/disclosure/entity/{entity.pk}/change/"))
    assert (admin_page.status_code, on_replica, "北京新名称科技有限公司" in admin_page.content.decode()) == (
        200,
        0,
        True,
    )
    for path in ("/repair/", "/repair/review/", "/quality/"):
        _response, on_replica = queries_on(REPLICA, lambda path=path: client.get(path))
        assert (path, on_replica) == (path, 0)
    client.logout()

    # A browser that has just written (a POST) reads from the primary for a while.
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page, on_replica = queries_on(REPLICA, lambda: client.get(f"/entities/{entity.code}/"))
    assert (on_replica, "北京新名称科技有限公司" in page.content.decode()) == (0, True)


@_apply(needs_replica)
def test_a_lagging_replica_is_left_aside_and_readyz_says_so(client, renamed_while_paused, settings):
    entity = renamed_while_paused
    settings.REPLICA_MAX_LAG_SECONDS = 1
    time.sleep(1.5)
    replicas.forget_states()
    page, on_replica = queries_on(REPLICA, lambda: client.get(f"/entities/{entity.code}/"))
    # One look at the replica's position, then every read from the primary.
    assert (on_replica, "北京新名称科技有限公司" in page.content.decode()) == (1, True)
    ready = client.get("/readyz")
    state = ready.json()["replicas"][REPLICA]
    assert (ready.status_code, state["state"], state["lag_seconds"] >= 1.5) == (200, "lagging", True)


@_apply(needs_replica)
def test_a_replica_that_is_down_is_left_aside_and_readyz_says_so(client, shipped_rule_sets, settings):
    settings.REPLICA_MAX_LAG_SECONDS = 3600
    entity = EntityFactory(name="北京测试科技有限公司", code="91110000600037341L")
    replica = connections[REPLICA]
    port = replica.settings_dict["PORT"]
    replica.close()
    replica.settings_dict["PORT"] = 1  # nothing listens there: refused at once
    try:
        page = client.get(f"/entities/{entity.code}/")
        ready = client.get("/readyz")
    finally:
        replica.close()
        replica.settings_dict["PORT"] = port
    assert page.status_code == 200
    assert (ready.status_code, ready.json()["database"], ready.json()["replicas"]) == (
        200,
        "ok",
        {REPLICA: {"state": "down"}},
    )
    replicas.forget_states()
    assert client.get("/readyz").json()["replicas"] == {REPLICA: {"state": "ok"}}


@_apply(needs_replica)
def test_a_cursor_ahead_of_the_replica_is_answered_from_the_primary(client, paused_replay, shipped_rule_sets, settings):
    settings.REPLICA_MAX_LAG_SECONDS = 3600
    agency = Agency.objects.create(code="acme", name="Acme")
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None)
    CreditRecordFactory()
    run_daily_expiries()
    replicated = feed.head().cursor
    paused_replay()
    CreditRecordFactory()
    head = feed.head()  # outside a request: the primary's
    assert head.held_back is False

    def changes(after):
        return client.get("/api/v1/changes/", {"after": after}, HTTP_AUTHORIZATION=f"Bearer {raw}")

    # The replica has not seen the newest event: a cursor at it is not "beyond the head".
    response, on_replica = queries_on(REPLICA, lambda: changes(head.cursor))
    assert (response.status_code, response.json()["events"], response.json()["next"]) == (200, [], head.cursor)
    assert on_replica > 0
    # An older cursor is answered by the replica, with what it has.
    older = client.get("/api/v1/changes/", {"after": 0}, HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert [event["cursor"] for event in older["events"]] == [replicated]
    # Beyond the primary's head too: refused.
    beyond = changes(head.cursor + 1)
    assert (beyond.status_code, beyond.json()["error"]["head"]) == (400, head.cursor)
