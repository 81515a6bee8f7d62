"""Every path by which a published document can change reaches the feed, the snapshot and
the digest; an event, once served at a cursor, is served the same way forever."""

import datetime as dt
import json

import pytest
from django.db import IntegrityError, transaction

from disclosure import agencies, feed, services
from disclosure.models import (
    Agency,
    CreditRecord,
    DisclosureAttribute,
    PublishedDocument,
    RecordEvent,
)
from disclosure.rules import Category, Severity
from tests.conftest import run_daily_expiries
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory

D = dt.date


@pytest.fixture
def api(client, db, frozen_today):
    agency = Agency.objects.create(code="acme", name="Acme")
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None)

    run_daily_expiries()
    def get(path, **params):
        return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {raw}")

    return get


def poll(api, after=0):
    events = []
    while True:
        body = api("/api/v1/changes/", after=after, limit=100).json()
        events += body["events"]
        after = body["next"]
        if not body["has_more"]:
            return events, after


def snapshot_ids(api):
    lines = b"".join(api("/api/v1/snapshot.ndjson").streaming_content).decode().splitlines()
    return [json.loads(line)["id"] for line in lines[1:]]


def test_a_correction_to_a_severity_that_is_not_disclosed_removes_the_record(api, frozen_today):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1), severity=Severity.GENERAL)
    _events, cursor = poll(api)
    services.record_correct(record=record, actor=None, reason="改为轻微", changes={"severity": Severity.MINOR})
    record.refresh_from_db()
    assert record.disclosure_end is None  # 2026 rules: minor information not disclosed (item does not say so)
    events, cursor = poll(api, after=cursor)
    assert [(e["type"], e["record_id"], e["reason"], e["effective_on"]) for e in events] == [
        ("removed", record.pk, "改为轻微", "2026-11-28")
    ]
    assert snapshot_ids(api) == []
    assert api("/api/v1/digest/").json()["count"] == 0
    # Corrected back: disclosed again, with its document.
    services.record_correct(record=record, actor=None, reason="改回一般", changes={"severity": Severity.GENERAL})
    events, _cursor = poll(api, after=cursor)
    assert [(e["type"], e["record"]["severity"]) for e in events] == [("disclosed", "general")]
    assert snapshot_ids(api) == [record.pk]


def test_moving_a_record_to_an_item_that_is_not_public_removes_it(api, frozen_today):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1))
    shared = CatalogItemFactory(disclosure_attribute=DisclosureAttribute.SHARED, provider=record.department)
    record.department.scope.add(shared)
    _events, cursor = poll(api)
    services.record_correct(record=record, actor=None, reason="改目录", changes={"catalog_item": shared})
    events, _cursor = poll(api, after=cursor)
    assert [(e["type"], e["record_id"]) for e in events] == [("removed", record.pk)]
    assert list(record.events.order_by("id").values_list("kind", "feed_type")) == [
        ("created", "disclosed"),
        ("corrected", "removed"),
    ]


def test_switching_a_catalog_item_off_and_on_tells_every_copy(api, frozen_today, superuser):
    item = CatalogItemFactory()
    records = [CreditRecordFactory(catalog_item=item, decision_date=D(2026, 6, day)) for day in (1, 2, 3)]
    other = CreditRecordFactory(decision_date=D(2026, 6, 4))
    _events, cursor = poll(api)
    services.catalog_item_update(
        item=item, actor=superuser, changes={"disclosure_attribute": DisclosureAttribute.SHARED}, reason="调整目录"
    )
    events, cursor = poll(api, after=cursor)
    assert [(e["type"], e["record_id"], e["reason"]) for e in events] == [
        ("removed", r.pk, "调整目录") for r in records
    ]
    assert snapshot_ids(api) == [other.pk]
    assert api("/api/v1/digest/").json()["count"] == 1
    services.catalog_item_update(item=item, actor=superuser, changes={"disclosure_attribute": "public"})
    events, cursor = poll(api, after=cursor)
    assert [(e["type"], e["record_id"]) for e in events] == [("disclosed", r.pk) for r in records]
    # A change that publishes nothing different writes nothing.
    services.catalog_item_update(item=item, actor=superuser, changes={"name": "行政处罚信息（更名）"})
    assert poll(api, after=cursor)[0] == []
    # A new code is in every document.
    services.catalog_item_update(item=item, actor=superuser, changes={"code": "penalty-renamed"})
    events, _cursor = poll(api, after=cursor)
    assert [(e["type"], e["record"]["catalog_item"]) for e in events] == [("updated", "penalty-renamed")] * 3


def test_a_rename_updates_every_document_and_changes_the_digests(api, frozen_today, staff_user):
    entity = EntityFactory(name="北京旧名称科技有限公司")
    records = [CreditRecordFactory(entity=entity, decision_date=D(2026, 6, day)) for day in (1, 2)]
    withdrawn = CreditRecordFactory(entity=entity, decision_date=D(2026, 6, 3))
    services.record_withdraw(record=withdrawn, actor=None, reason="修复", reference="XF1")
    _events, cursor = poll(api)
    overall = api("/api/v1/digest/").json()
    own = api("/api/v1/digest/", entity=entity.code).json()
    services.entity_rename(entity=entity, new_name="北京新名称科技有限公司", changed_on=D(2026, 11, 28), actor=staff_user)
    events, _cursor = poll(api, after=cursor)
    assert [(e["type"], e["record_id"], e["record"]["entity_name"]) for e in events] == [
        ("updated", r.pk, "北京新名称科技有限公司") for r in records
    ]
    assert api("/api/v1/digest/").json()["hash"] != overall["hash"]
    after = api("/api/v1/digest/", entity=entity.code).json()
    assert (after["count"], after["hash"] != own["hash"]) == (2, True)
    # The withdrawn record's history says nothing happened to it.
    assert list(withdrawn.events.values_list("kind", flat=True)) == ["created", "withdrawn"]
    assert list(records[0].events.values_list("kind", "actor_label", "reason")) == [
        ("created", "system", ""),
        ("entity_renamed", "clerk", "由“北京旧名称科技有限公司”更名。"),
    ]
    assert list(entity.former_names.values_list("name", flat=True)) == ["北京旧名称科技有限公司"]


def test_an_event_is_served_the_same_way_at_its_cursor_forever(api, frozen_today, superuser):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1))
    services.record_correct(record=record, actor=None, reason="更正", changes={"outcome": "罚款人民币两万元"})
    first = api("/api/v1/changes/", after=0).json()
    services.record_correct(record=record, actor=None, reason="再更正", changes={"facts": "新的事实"})
    services.entity_rename(entity=record.entity, new_name="改名后的公司", changed_on=D(2026, 11, 28))
    services.catalog_item_update(
        item=record.catalog_item, actor=superuser, changes={"disclosure_attribute": DisclosureAttribute.SHARED}
    )
    frozen_today.shift(dt.timedelta(days=400))
    later = api("/api/v1/changes/", after=0, limit=len(first["events"])).json()
    assert later["events"] == first["events"]
    assert [e["record"]["outcome"] for e in later["events"]] == ["罚款人民币一万元", "罚款人民币两万元"]


def test_a_cursor_beyond_the_head_is_refused_with_the_head(api, frozen_today):
    CreditRecordFactory(decision_date=D(2026, 6, 1))
    head = feed.latest_cursor()
    response = api("/api/v1/changes/", after=head + 1)
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "type": "invalid",
            "message": f"游标 {head + 1} 超出了变更流的最新位置 {head}：从未有过这样的事件。",
            "field": "after",
            "head": head,
        }
    }
    assert api("/api/v1/changes/", after=head).json() == {
        "events": [], "next": head, "has_more": False, "expiries_written_through": "2026-11-28"
    }  # fmt: skip


def test_the_snapshot_is_the_feed_replayed(api, frozen_today, superuser):
    """Replaying the whole feed gives exactly the snapshot, document for document."""
    item = CatalogItemFactory()
    records = [CreditRecordFactory(catalog_item=item, decision_date=D(2026, 6, day)) for day in range(1, 6)]
    services.record_correct(record=records[0], actor=None, reason="更正", changes={"outcome": "警告"})
    services.record_withdraw(record=records[1], actor=None, reason="修复", reference="XF1")
    services.record_revoke(record=records[2], actor=None, reason="复议撤销")
    services.record_supersede(record=records[3], actor=None, reason="重新决定", changes={"outcome": "罚款五千元"})
    services.entity_rename(entity=records[4].entity, new_name="改名公司", changed_on=D(2026, 11, 28))
    licence = CatalogItemFactory(category=Category.ADMINISTRATIVE_LICENCE, severity="", provider=item.provider)
    item.provider.scope.add(licence)
    CreditRecordFactory(  # valid from next month: not yet shown, held all the same
        catalog_item=licence, decision_date=D(2026, 11, 1), valid_from=D(2026, 12, 1), valid_until=D(2027, 11, 30)
    )
    copy = {}
    for event in poll(api)[0]:
        if event["type"] in ("disclosed", "updated"):
            copy[event["record_id"]] = event["record"]
        else:
            copy.pop(event["record_id"], None)
    lines = b"".join(api("/api/v1/snapshot.ndjson").streaming_content).decode().splitlines()
    snapshot = {doc["id"]: doc for doc in map(json.loads, lines[1:])}
    assert copy == snapshot
    assert len(snapshot) == 4
    assert set(PublishedDocument.objects.values_list("record_id", flat=True)) == set(
        CreditRecord.objects.disclosed_now_or_later().values_list("id", flat=True)
    )


def test_disclosure_dates_go_together_even_with_a_null_start(db, frozen_today):
    record = CreditRecordFactory(decision_date=D(2026, 6, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditRecord.objects.filter(pk=record.pk).update(disclosure_start=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditRecord.objects.filter(pk=record.pk).update(disclosure_end=None)
    CreditRecord.objects.filter(pk=record.pk).update(disclosure_start=None, disclosure_end=None)


def test_history_only_events_stay_out_of_the_feed_and_the_lag(api, frozen_today):
    shared = CatalogItemFactory(disclosure_attribute=DisclosureAttribute.SHARED)
    hidden = CreditRecordFactory(catalog_item=shared, decision_date=D(2026, 6, 1))
    services.record_correct(record=hidden, actor=None, reason="更正", changes={"outcome": "警告"})
    assert feed.latest_cursor() == 0
    assert RecordEvent.objects.count() == 2
    assert api("/api/v1/acknowledgement/").json()["events_behind"] == 0
