"""The README's backup, taken and restored (#12): ``pg_dump -Fc`` of a database filled
through the services, ``pg_restore`` into a fresh database, and the site answering from it
exactly as it did (pages, feed, snapshot bytes, digest), with the append-only trigger still
refusing to rewrite history."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import DatabaseError, connection, connections, transaction

from disclosure import agencies, services
from disclosure.models import Agency, EventKind, RecordEvent
from tests.conftest import run_daily_expiries
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory

D = dt.date
pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump is PostgreSQL's")


def server_major() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def pg_tool(name: str) -> str:
    """The client tool of the server's major version: Debian installs each version's under
    /usr/lib/postgresql/<major>/bin (``/usr/bin/<name>`` picks one for a cluster). A pg_dump
    older than the server refuses to dump it; the README asks for the same version."""
    major = server_major()
    debian = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    tool = str(debian) if debian.exists() else shutil.which(name)
    if tool is None:
        pytest.fail(f"{name} is not installed: apt-get install postgresql-client-{major}")
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"\(PostgreSQL\) (\d+)", version).group(1)) == major, version
    return tool


def libpq_environment(settings_dict: dict) -> dict:
    env = {**os.environ}
    for key, variable in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
    ):
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    return env


@contextlib.contextmanager
def restored_copy(tmp_path: Path):
    """Dump the test database as the README says and restore it into a fresh database; the
    name of that database, dropped afterwards."""
    source = connection.settings_dict
    restored = f"{source['NAME']}_restored"[:63]
    env = libpq_environment(source)
    dump = tmp_path / "creditchina.dump"
    subprocess.run([pg_tool("pg_dump"), "-Fc", "-f", str(dump), source["NAME"]], env=env, check=True)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
        cursor.execute(f"CREATE DATABASE \"{restored}\" TEMPLATE template0 ENCODING 'UTF8'")
    try:
        subprocess.run(
            [pg_tool("pg_restore"), "--exit-on-error", "--single-transaction", "--no-owner",
             "-d", restored, str(dump)],
            env=env,
            check=True,
        )  # fmt: skip
        yield restored
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')


@contextlib.contextmanager
def site_on(database: str):
    """The site (every query: the ORM, raw SQL, COPY) answering from ``database``: the default
    connection is pointed at it, and the caches are emptied so nothing is served from the
    pages rendered before."""
    default = connections["default"]
    original = default.settings_dict["NAME"]
    default.close()
    default.settings_dict["NAME"] = database
    for alias in ("default", "fragments"):
        caches[alias].clear()
    try:
        yield
    finally:
        default.close()
        default.settings_dict["NAME"] = original


def fill():
    """Records, a correction, a withdrawal after repair, a revocation, a rename and an agency,
    all through the services, on a day whose daily job has run."""
    run_daily_expiries()
    item = CatalogItemFactory()
    entity = EntityFactory(name="北京华为数字技术有限公司", code="91110000600037341L")
    records = [
        CreditRecordFactory(
            entity=entity, catalog_item=item, decision_date=D(2026, 6, day), outcome=f"罚款{day}千元"
        )
        for day in (1, 2, 3, 4)
    ]
    others = [CreditRecordFactory(decision_date=D(2026, 7, day)) for day in (1, 2)]
    services.record_correct(
        record=records[0], actor=None, reason="决定书金额笔误", changes={"outcome": "罚款人民币两千元"}
    )
    services.record_withdraw(record=records[1], actor=None, reason="信用修复", reference="XF2026112800000001")
    services.record_revoke(record=records[2], actor=None, reason="行政复议撤销")
    services.entity_rename(
        entity=others[0].entity, new_name="北京更名科技有限公司", changed_on=D(2026, 11, 1)
    )
    agency = Agency.objects.create(code="acme-credit", name="Acme 征信有限公司")
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None, label="backup test")
    return entity, records, raw


PAGES = [
    "/entities/91110000600037341L/",
    "/en/entities/91110000600037341L/",
    "/search/?q=华为",
    "/api/v1/entities/91110000600037341L/records/",
]
AGENCY_ANSWERS = [
    "/api/v1/changes/?after=0&limit=5000",
    "/api/v1/snapshot.ndjson",
    "/api/v1/snapshot.csv",
    "/api/v1/digest/",
    "/api/v1/digest/?bucket_size=2",
    "/api/v1/digest/?entity=91110000600037341L",
]


def body(response) -> bytes:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    return content


def answers(client, raw_key: str, record_pages: list[str]) -> dict:
    """What the site says, by address: status, the headers a cache or a copy relies on, body."""
    seen = {}
    for url in PAGES + record_pages + AGENCY_ANSWERS:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"} if url in AGENCY_ANSWERS else {}
        response = client.get(url, **headers)
        kept = {
            name: response.get(name) for name in ("ETag", "Last-Modified", "X-Feed-Cursor", "Content-Type")
        }
        seen[url] = (response.status_code, kept, body(response))
    return seen


@pytest.mark.django_db(transaction=True)
def test_a_dump_restored_into_a_fresh_database_serves_the_same_site(
    client, shipped_rule_sets, frozen_today, tmp_path
):
    entity, records, raw_key = fill()
    record_pages = [f"/records/{record.pk}/" for record in records]
    before = answers(client, raw_key, record_pages)
    assert [before[url][0] for url in PAGES + record_pages] == [200, 200, 200, 200, 200, 410, 410, 200]
    assert all(before[url][0] == 200 for url in AGENCY_ANSWERS)
    head = RecordEvent.objects.in_feed().latest("id").pk
    last_event = RecordEvent.objects.latest("id").pk
    assert before["/api/v1/snapshot.ndjson"][1]["X-Feed-Cursor"] == str(head)

    with restored_copy(tmp_path) as restored, site_on(restored):
        after = answers(client, raw_key, record_pages)
        for url in before:
            assert after[url] == before[url], url
        # The restored site goes on where the old one stopped: new events follow the feed's
        # head (the sequences came along), and the rows carry on being written.
        services.record_correct(
            record=records[3], actor=None, reason="复核", changes={"outcome": "罚款人民币五千元"}
        )
        assert RecordEvent.objects.latest("id").pk > last_event
        # History stays append-only in the restored database: its trigger came along.
        event_id = RecordEvent.objects.filter(kind=EventKind.CORRECTED).order_by("id")[0].pk
        for sql in (
            "UPDATE disclosure_recordevent SET reason = 'rewritten' WHERE id = %s",
            "DELETE FROM disclosure_recordevent WHERE id = %s",
        ):
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql, [event_id])
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            assert cursor.fetchone()[0] == restored
        assert RecordEvent.objects.get(pk=event_id).reason == "决定书金额笔误"
    # The original database was never touched by the restored site's write.
    assert RecordEvent.objects.latest("id").pk == last_event
    assert entity.records.get(pk=records[3].pk).outcome == "罚款4千元"
