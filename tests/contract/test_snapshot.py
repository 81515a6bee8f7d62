"""The snapshot's cursor: "load it, then follow the feed from that cursor"; "the snapshot at
cursor c is exactly the feed replayed up to c". A copy = snapshot + feed equals a copy that
replayed the feed from 0 and equals the site, also when writes commit while the snapshot is
streaming."""

import csv
import datetime as dt
import io
import json
import threading
import time

import pytest
from django.db import connection

from disclosure import services
from disclosure.models import CreditRecord
from tests.contract.conftest import TODAY, Copy, digest_of, first_line_cursor
from tests.factories import CreditRecordFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date


def site_ids(day=TODAY):
    return set(CreditRecord.objects.disclosed(on=day).values_list("id", flat=True))


def replay_until(api, cursor):
    copy = Copy()
    events, _head = api.all_events(0)
    copy.apply([e for e in events if e["cursor"] <= cursor])
    return copy


def churn(records, catalog, entity):
    services.record_correct(
        record=CreditRecord.objects.get(pk=records[0].pk),
        actor=None,
        reason="r",
        changes={"facts": "更正后的事实。"},
    )
    services.record_revoke(record=CreditRecord.objects.get(pk=records[1].pk), actor=None, reason="撤销")
    services.record_withdraw(
        record=CreditRecord.objects.get(pk=records[2].pk), actor=None, reason="修复", reference="XF-1"
    )
    services.record_supersede(
        record=CreditRecord.objects.get(pk=records[3].pk),
        actor=None,
        reason="重作",
        changes={"outcome": "警告"},
    )
    CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 8, 8))


def test_snapshot_plus_feed_equals_replay_from_zero_equals_site(api, catalog, entity):
    records = [
        CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 6, d))
        for d in range(1, 9)
    ]
    churn(records, catalog, entity)
    copy = Copy().load_snapshot(api)
    c = copy.cursor
    # the snapshot at c is the feed replayed up to c
    assert copy.held(TODAY) == replay_until(api, c).held(TODAY)
    churn(records[4:], catalog, entity)
    copy.follow(api)
    replayed = Copy()
    replayed.follow(api)
    assert copy.visible(TODAY) == replayed.visible(TODAY)
    assert set(copy.visible(TODAY)) == site_ids()
    digest = api.get("/api/v1/digest/").json()
    assert (digest["count"], int(digest["hash"], 16)) == digest_of(copy.visible(TODAY))
    _f, header, _docs = api.snapshot()
    assert int(header) == copy.cursor


BIG = 2500
FACTS = "违" * 1500  # ~4.5 kB a document: the snapshot is ~11 MB, far past socket buffers


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_writes_committed_while_the_snapshot_streams(api, catalog, entity):
    penalty = catalog["penalty"]
    records = [
        CreditRecordFactory(
            entity=entity, catalog_item=penalty, decision_date=D(2026, 6, 1 + i % 28), facts=FACTS
        )
        for i in range(BIG)
    ]
    first_id, last_id = records[0].id, records[-1].id
    stream = api.open_stream("/api/v1/snapshot.ndjson")
    header_cursor = int(stream.headers["X-Feed-Cursor"])
    first = json.loads(stream.readline())
    cursor = first_line_cursor(first)
    assert cursor == header_cursor
    head_lines = [stream.readline() for _ in range(5)]

    done = threading.Event()
    errors = []

    def writer():
        try:
            churn(records, catalog, entity)  # the first ids: already streamed
            services.record_correct(
                record=CreditRecord.objects.get(pk=last_id),
                actor=None,
                reason="r",
                changes={"facts": "尾部更正。"},
            )
            services.record_revoke(record=CreditRecord.objects.get(pk=last_id - 1), actor=None, reason="撤销")
            services.record_withdraw(
                record=CreditRecord.objects.get(pk=last_id - 2), actor=None, reason="修复", reference="XF-2"
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    finished_while_streaming = done.wait(60)
    rest = []
    while chunk := stream.read(64 * 1024):
        rest.append(chunk)
        time.sleep(0.001)
    stream.close()
    thread.join(60)
    assert not errors, errors
    assert finished_while_streaming, "the writers waited for the snapshot to finish streaming"

    text = b"".join(head_lines).decode() + b"".join(rest).decode()
    docs = {}
    for line in text.splitlines():
        if line.strip():
            doc = json.loads(line)
            docs[doc["id"]] = doc
    # consistent with its cursor: the writes after it are not in it
    assert docs[first_id]["facts"] == FACTS
    assert docs[last_id]["facts"] == FACTS
    assert last_id - 1 in docs and last_id - 2 in docs
    assert docs == replay_until(api, cursor).held(TODAY)

    copy = Copy()
    copy.docs, copy.cursor = docs, cursor
    copy.follow(api)
    assert copy.docs[first_id]["facts"] == "更正后的事实。"
    assert copy.docs[last_id]["facts"] == "尾部更正。"
    assert set(copy.visible(TODAY)) == site_ids()
    digest = api.get("/api/v1/digest/").json()
    assert (digest["count"], int(digest["hash"], 16)) == digest_of(copy.visible(TODAY))
    fresh = Copy().load_snapshot(api)
    assert fresh.docs == copy.held(TODAY)


def test_csv_snapshot_escapes_formulas_and_otherwise_equals_the_ndjson(api, catalog, entity):
    risky = ["=SUM(A1:A2)", "+86 10 1234", "-5", "@cmd", "\tTabbed", "\rCR", "plain", "'quoted"]
    for i, facts in enumerate(risky):
        CreditRecordFactory(
            entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 6, 1 + i), facts=facts
        )
    _first, _hdr, docs = api.snapshot()
    resp = api.get("/api/v1/snapshot.csv", headers={"Accept": "*/*"})
    assert resp.status == 200, resp
    assert int(resp.headers["X-Feed-Cursor"]) == int(_hdr)
    rows = list(csv.DictReader(io.StringIO(resp.body.decode("utf-8-sig"), newline="")))
    assert len(rows) == len(docs)
    for row in rows:
        doc = docs[int(row["id"])]
        facts = row["facts"]
        if doc["facts"][:1] in ("=", "+", "-", "@", "\t", "\r", "'"):
            assert facts == "'" + doc["facts"], (facts, doc["facts"])
        else:
            assert facts == doc["facts"]
        assert row["version"] == doc["version"]
        assert row["disclosure_end"] == doc["disclosure_end"]


def test_csv_read_as_the_schema_advises_gives_the_ndjson_text(api, catalog, entity):
    for i, facts in enumerate(["=1+1", "'quoted", "''twice"]):
        CreditRecordFactory(
            entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 6, 1 + i), facts=facts
        )
    _first, _hdr, docs = api.snapshot()
    body = api.get("/api/v1/snapshot.csv", headers={"Accept": "*/*"}).body.decode("utf-8-sig")
    for row in csv.DictReader(io.StringIO(body, newline="")):
        read = row["facts"][1:] if row["facts"].startswith("'") else row["facts"]
        assert read == docs[int(row["id"])]["facts"]
