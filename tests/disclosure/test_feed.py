import csv
import datetime as dt
import hashlib
import io
import json

import pytest
from django.db import connection

from disclosure import agencies, feed, publication, services
from disclosure.models import Agency, CreditRecord, DisclosureAttribute
from disclosure.rules import Severity
from tests.conftest import run_daily_expiries
from tests.factories import CatalogItemFactory, CreditRecordFactory

D = dt.date
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def key(db):
    agency = Agency.objects.create(code="acme", name="Acme")
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None)
    return raw


@pytest.fixture
def api(client, key, frozen_today):
    run_daily_expiries()

    def get(path, **params):
        return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {key}")

    return get


def poll_all(api, after=0, limit=2):
    events = []
    while True:
        body = api("/api/v1/changes/", after=after, limit=limit).json()
        events += body["events"]
        after = body["next"]
        if not body["has_more"]:
            return events, after


def test_feed_in_order_with_tombstones(api, frozen_today):
    kept = CreditRecordFactory(decision_date=D(2026, 6, 1))
    repaired = CreditRecordFactory(decision_date=D(2026, 6, 2))
    lapsing = CreditRecordFactory(decision_date=D(2025, 11, 28), severity=Severity.GENERAL)  # last day today
    hidden = CreditRecordFactory(
        catalog_item=CatalogItemFactory(disclosure_attribute=DisclosureAttribute.SHARED),
        decision_date=D(2026, 6, 3),
    )
    services.record_correct(record=kept, actor=None, reason="更正", changes={"outcome": "罚款人民币两千元"})
    services.record_withdraw(record=repaired, actor=None, reason="信用修复", reference="XF20261128000001")
    events, cursor = poll_all(api)
    assert [(e["type"], e["record_id"]) for e in events] == [
        ("disclosed", kept.pk), ("disclosed", repaired.pk), ("disclosed", lapsing.pk), ("updated", kept.pk),
        ("withdrawn", repaired.pk),
    ]  # fmt: skip
    assert hidden.pk not in {e["record_id"] for e in events}
    assert events[3]["record"]["outcome"] == "罚款人民币两千元"
    # Each event keeps what it carried when it was written: the withdrawal that follows is
    # what removes the record from a copy replaying the feed.
    assert events[1]["record"]["id"] == repaired.pk
    assert events[0]["record"]["outcome"] != "罚款人民币两千元"
    assert events[4] == {
        "cursor": events[4]["cursor"], "type": "withdrawn", "record_id": repaired.pk, "time": events[4]["time"],
        "reason": "信用修复", "effective_on": "2026-11-28", "repair_application": "XF20261128000001",
    }  # fmt: skip
    assert events[2]["record"]["disclosure_end"] == "2026-11-28"

    # The next day, the lapsed record's expiry appears once the daily job has run; a write
    # before that waits with it (the feed shows nothing of a day before its expiries).
    frozen_today.shift(dt.timedelta(days=1))
    services.record_correct(record=kept, actor=None, reason="再更正", changes={"outcome": "罚款人民币三千元"})
    assert poll_all(api, after=cursor) == ([], cursor)
    run_daily_expiries()
    more, cursor = poll_all(api, after=cursor)
    assert [(e["type"], e["record_id"], e.get("effective_on")) for e in more] == [
        ("updated", kept.pk, None),
        ("expired", lapsing.pk, "2026-11-29"),
    ]
    assert "record" not in more[1]


def test_a_back_dated_record_already_lapsed_never_reaches_the_copies(api, frozen_today):
    """A record entered late whose period is already over is never shown, so copies are told
    nothing; its history gets its expiry from the next daily job."""
    _events, cursor = poll_all(api)
    lapsed = CreditRecordFactory(decision_date=D(2024, 3, 1))  # general: last shown 2025-03-01
    events, cursor = poll_all(api, after=cursor)
    assert events == []
    frozen_today.shift(dt.timedelta(days=1))
    run_daily_expiries()
    events, cursor = poll_all(api, after=cursor)
    assert events == []
    assert list(lapsed.events.order_by("id").values_list("kind", "feed_type", "effective_on")) == [
        ("created", "", D(2024, 3, 1)),
        ("expired", "", D(2025, 3, 2)),
    ]


def test_a_back_dated_correction_that_ends_the_period_is_an_expiry(api, frozen_today):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1))
    _events, cursor = poll_all(api)
    services.record_correct(record=record, actor=None, reason="更正决定日期", changes={"decision_date": D(2024, 3, 1)})
    events, cursor = poll_all(api, after=cursor)
    assert [(e["type"], e["record_id"], e["reason"]) for e in events] == [("expired", record.pk, "更正决定日期")]


def test_nothing_new_is_cheap_and_answers_304(api, client, key, frozen_today, django_assert_num_queries):
    CreditRecordFactory(decision_date=D(2026, 6, 1))
    body = api("/api/v1/changes/").json()
    # key, the last day whose expiries are written, latest event, the call log row in its own
    # transaction (a savepoint here: two statements; on PostgreSQL one more to commit it
    # asynchronously). The first call wrote the key's last use. Nothing else is written.
    with django_assert_num_queries(7 if connection.vendor == "postgresql" else 6):
        empty = api("/api/v1/changes/", after=body["next"])
    assert empty.json() == {
        "events": [], "next": body["next"], "has_more": False, "expiries_written_through": "2026-11-28"
    }  # fmt: skip
    assert empty["X-Expiries-Written-Through"] == "2026-11-28"
    again = client.get(
        "/api/v1/changes/",
        {"after": body["next"]},
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IF_NONE_MATCH=empty["ETag"],
    )
    assert again.status_code == 304
    CreditRecordFactory(decision_date=D(2026, 6, 1))
    changed = client.get(
        "/api/v1/changes/",
        {"after": body["next"]},
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IF_NONE_MATCH=empty["ETag"],
    )
    assert changed.status_code == 200
    assert len(changed.json()["events"]) == 1


@pytest.mark.parametrize(
    ("params", "field"), [({"after": "x"}, "after"), ({"limit": "0"}, "limit"), ({"limit": "9999"}, "limit")]
)
def test_bad_feed_parameters(api, params, field):
    response = api("/api/v1/changes/", **params)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_snapshot_then_feed_has_no_gap_and_no_overlap(api, frozen_today):
    first = CreditRecordFactory(decision_date=D(2026, 6, 1))
    CreditRecordFactory(decision_date=D(2024, 1, 1))  # lapsed long ago: not in the snapshot
    response = api("/api/v1/snapshot.ndjson")
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    header, documents = lines[0], lines[1:]
    assert int(response["X-Feed-Cursor"]) == header["cursor"]
    assert [d["id"] for d in documents] == [first.pk]
    later = CreditRecordFactory(decision_date=D(2026, 6, 2))
    events, _cursor = poll_all(api, after=header["cursor"])
    assert [(e["type"], e["record_id"]) for e in events] == [("disclosed", later.pk)]


def test_snapshot_csv(api, frozen_today):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1), outcome="罚款人民币一万元")
    response = api("/api/v1/snapshot.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(int(r["id"]), r["outcome"], r["disclosure_end"]) for r in rows] == [
        (record.pk, "罚款人民币一万元", "2027-06-01")
    ]
    assert api("/api/v1/snapshot.xml").status_code == 404


def test_digest_matches_a_copy_built_from_the_snapshot(api, frozen_today):
    records = [CreditRecordFactory(decision_date=D(2026, 6, 1)) for _ in range(5)]
    services.record_withdraw(record=records[0], actor=None, reason="修复", reference="XF1")
    lines = b"".join(api("/api/v1/snapshot.ndjson").streaming_content).decode().splitlines()
    copy = [json.loads(line) for line in lines[1:]]
    total = (
        sum(
            int.from_bytes(hashlib.md5(f"{d['id']}:{d['version']}".encode()).digest()[:8], "big")
            for d in copy
        )
        % 2**64
    )
    body = api("/api/v1/digest/", bucket_size=2).json()
    assert (body["count"], body["hash"]) == (4, f"{total:016x}")
    assert sum(b["count"] for b in body["buckets"]) == 4
    entity = records[1].entity.code
    assert api("/api/v1/digest/", entity=entity).json()["count"] == 1


def test_agency_endpoints_need_a_key(client, db):
    for path in ["/api/v1/changes/", "/api/v1/snapshot.ndjson", "/api/v1/digest/"]:
        assert client.get(path).status_code == 401


def test_snapshot_documents_are_the_published_documents_in_both_formats(api, db, frozen_today):
    records = [
        CreditRecordFactory(decision_date=D(2026, 6, 1), penalty_amount="5000.00", outcome="=1+2"),
        CreditRecordFactory(decision_date=D(2026, 6, 2)),
    ]
    expected = [
        json.loads(publication.document_of(row)[1])
        for row in CreditRecord.objects.order_by("id").values(*publication.RECORD_FIELDS)
    ]
    assert [d["id"] for d in expected] == [r.pk for r in records]
    assert expected[0]["penalty_amount"] == "5000.00"
    _cursor, documents = feed.snapshot()
    assert list(documents) == expected
    lines = b"".join(api("/api/v1/snapshot.ndjson").streaming_content).decode().splitlines()
    assert [json.loads(line) for line in lines[1:]] == expected
    rows = list(csv.DictReader(io.StringIO(b"".join(api("/api/v1/snapshot.csv").streaming_content).decode())))
    assert [row["version"] for row in rows] == [d["version"] for d in expected]
    assert rows[0]["outcome"] == "'=1+2"  # a formula, escaped


def test_events_never_public_are_not_in_the_feed_at_all(api, frozen_today):
    shared = CatalogItemFactory(disclosure_attribute=DisclosureAttribute.SHARED)
    hidden = [CreditRecordFactory(catalog_item=shared, decision_date=D(2026, 6, 1)) for _ in range(3)]
    shown = CreditRecordFactory(decision_date=D(2026, 6, 1))
    body = api("/api/v1/changes/", after=0, limit=3).json()
    assert [(e["type"], e["record_id"]) for e in body["events"]] == [("disclosed", shown.pk)]
    assert (body["next"], body["has_more"]) == (shown.events.get().pk, False)
    assert [r.events.get().feed_type for r in hidden] == ["", "", ""]


def test_the_ndjson_snapshot_lines_are_the_documents(api, frozen_today):
    """On PostgreSQL the lines come straight out of COPY: each must be exactly the document
    the Python path writes, quotes, backslashes and newlines in the text included."""
    tricky = CreditRecordFactory(
        decision_date=D(2026, 6, 1),
        facts='第一行\n第二行\t"引号" 反斜杠\\ 与 \x01\x02 控制字符',
        penalty_amount="5000.00",
    )
    plain = CreditRecordFactory(decision_date=D(2026, 6, 2))
    lines = b"".join(api("/api/v1/snapshot.ndjson").streaming_content).decode().splitlines()
    documents = [json.loads(line) for line in lines[1:]]
    expected = [
        json.loads(publication.document_of(row)[1])
        for row in CreditRecord.objects.order_by("id").values(*publication.RECORD_FIELDS)
    ]
    assert documents == expected
    assert [d["id"] for d in documents] == [tricky.pk, plain.pk]
    assert documents[0]["facts"] == '第一行\n第二行\t"引号" 反斜杠\\ 与 \x01\x02 控制字符'
