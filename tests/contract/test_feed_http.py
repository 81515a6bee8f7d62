"""The feed's HTTP contract: bad input gets the documented structured error (never a 500),
every answer validates against the served OpenAPI schema, paging, ETag/304, and an event
served at a cursor is served the same way forever."""

import datetime as dt
import json

import pytest

from disclosure import services
from disclosure.models import CreditRecord, DisclosureAttribute
from tests.conftest import SHANGHAI, run_daily_expiries
from tests.contract.conftest import Copy
from tests.factories import CreditRecordFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date
CHANGES = "/api/v1/changes/"


@pytest.fixture
def some_records(catalog, entity):
    return [
        CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 6, day))
        for day in (1, 2, 3)
    ]


UNICODE_DIGITS = [
    pytest.param("１２", id="fullwidth-12"),
    pytest.param("٣", id="arabic-indic-3"),
    pytest.param(" 1", id="leading-space"),
]
BAD_AFTER = ["-1", "abc", "1.5", "1e3", "0x10", "9" * 40, str(2**63), str(-(2**63) - 1), *UNICODE_DIGITS]
BAD_LIMIT = ["0", "5001", "-1", "abc", "9" * 40, str(2**63), "2.0", *UNICODE_DIGITS]


@pytest.mark.parametrize("value", BAD_AFTER)
def test_bad_after_is_a_structured_400(api, schema, some_records, value):
    resp = api.changes(value, 10)
    assert resp.status == 400, resp
    schema.check(CHANGES, "get", resp)
    error = resp.json()["error"]
    assert (error["type"], error["field"]) == ("invalid", "after"), error
    assert error["message"]


@pytest.mark.parametrize("value", BAD_LIMIT)
def test_bad_limit_is_a_structured_400(api, schema, some_records, value):
    resp = api.changes(0, value)
    assert resp.status == 400, resp
    schema.check(CHANGES, "get", resp)
    error = resp.json()["error"]
    assert (error["type"], error["field"]) == ("invalid", "limit"), error


@pytest.mark.parametrize("limit", [1, 5000])
def test_limit_bounds_are_inclusive(api, schema, some_records, limit):
    resp = api.changes(0, limit)
    assert resp.status == 200, resp
    schema.check(CHANGES, "get", resp)
    page = resp.json()
    assert len(page["events"]) == min(limit, 3)
    assert page["has_more"] is (limit < 3)


def test_cursor_beyond_the_head_is_refused_with_the_head(api, schema, some_records):
    events, head = api.all_events(0)
    assert head == events[-1]["cursor"]
    ok = api.changes(head, 10)
    assert ok.status == 200
    assert ok.json() == {"events": [], "next": head, "has_more": False, "expiries_written_through": "2026-11-28"}
    for beyond in (head + 1, head + 1000, 2**62):
        resp = api.changes(beyond, 10)
        assert resp.status == 400, resp
        schema.check(CHANGES, "get", resp)
        error = resp.json()["error"]
        assert (error["type"], error["field"], error["head"]) == ("invalid", "after", head)


def test_no_key_bad_key_and_unauthorized_agency(api, schema, agency_key, some_records):
    agency, _raw = agency_key
    for path in (CHANGES, "/api/v1/digest/", "/api/v1/snapshot.ndjson", "/api/v1/acknowledgement/"):
        resp = api.get(path, {"after": 0} if path == CHANGES else None, key=False)
        assert resp.status == 401, (path, resp)
        schema.check(path, "get", resp)
        resp = api.get(path, headers={"Authorization": "Bearer cc_not_a_key"}, key=False)
        assert resp.status == 401, (path, resp)
    agency.active = False
    agency.save()
    resp = api.changes(0)
    assert resp.status in (401, 403), resp
    schema.check(CHANGES, "get", resp)


def test_paging_with_any_limit_gives_the_same_events(api, schema, catalog, entity, some_records):
    services.record_correct(record=some_records[0], actor=None, reason="r", changes={"outcome": "罚款两万元"})
    services.record_revoke(record=some_records[1], actor=None, reason="撤销")
    whole, head = api.all_events(0, 5000)
    for limit in (1, 2, 3, 7):
        events, nxt = api.all_events(0, limit)
        assert events == whole, limit
        assert nxt == head
    cursors = [e["cursor"] for e in whole]
    assert cursors == sorted(set(cursors))
    page = api.changes(cursors[1], 2).json()
    assert [e["cursor"] for e in page["events"]] == cursors[2:4]
    assert page["next"] == cursors[3]


def test_every_agency_answer_validates_against_the_schema(api, schema, catalog, entity, some_records):
    services.record_revoke(record=some_records[1], actor=None, reason="撤销")
    schema.check(CHANGES, "get", api.changes(0, 5000))
    schema.check("/api/v1/digest/", "get", api.get("/api/v1/digest/"))
    schema.check("/api/v1/digest/", "get", api.get("/api/v1/digest/", {"bucket_size": 2}))
    schema.check("/api/v1/digest/", "get", api.get("/api/v1/digest/", {"entity": entity.code}))
    schema.check("/api/v1/acknowledgement/", "get", api.get("/api/v1/acknowledgement/"))
    schema.check("/api/v1/acknowledgement/", "post", api.post("/api/v1/acknowledgement/", {"cursor": 1}))
    schema.check("/api/v1/agency/", "get", api.get("/api/v1/agency/"))
    first, header, docs = api.snapshot()
    for doc in docs.values():
        schema.validate("RecordDocument", doc)
    assert int(header) == first["cursor"]


def test_snapshot_answers_its_documented_media_type(api, some_records):
    """The schema documents the 200 of /api/v1/snapshot.ndjson as `application/x-ndjson` (and
    the .csv as `text/csv`): a client asking for exactly that type must get it."""
    resp = api.get("/api/v1/snapshot.ndjson", headers={"Accept": "application/x-ndjson"})
    assert resp.status == 200, resp
    assert resp.headers["Content-Type"].startswith("application/x-ndjson")
    resp = api.get("/api/v1/snapshot.csv", headers={"Accept": "text/csv"})
    assert resp.status == 200, resp
    assert resp.headers["Content-Type"].startswith("text/csv")


# ------------------------------------------------------------------------- ETag / 304


def test_a_poll_with_nothing_new_is_304_and_a_new_event_is_never_hidden(
    api, catalog, entity, some_records, frozen_today
):
    _events, head = api.all_events(0)
    first = api.changes(head, 100)
    assert first.status == 200 and first.json()["events"] == []
    etag = first.headers.get("ETag")
    assert etag
    again = api.changes(head, 100, headers={"If-None-Match": etag})
    assert again.status == 304, again
    assert again.body == b""
    # a day passes, nothing is written: still nothing new
    frozen_today.move_to(dt.datetime(2026, 11, 29, 9, tzinfo=SHANGHAI))
    assert api.changes(head, 100, headers={"If-None-Match": etag}).status == 304
    run_daily_expiries()
    # a new event: the same conditional poll must now get it
    new = CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 6, 20))
    after_write = api.changes(head, 100, headers={"If-None-Match": etag})
    assert after_write.status == 200, after_write
    assert [e["record_id"] for e in after_write.json()["events"]] == [new.id]
    assert after_write.headers.get("ETag") != etag
    # the etag of another cursor's empty page does not hide this one's events
    _e, head2 = api.all_events(0)
    etag2 = api.changes(head2, 100).headers.get("ETag")
    resp = api.changes(head, 100, headers={"If-None-Match": etag2})
    assert resp.status == 200 and len(resp.json()["events"]) == 1, resp


def test_the_etag_of_one_limit_does_not_hide_another(api, some_records):
    """A page of events answered 304 must be the very page the ETag named."""
    one = api.changes(0, 1)
    etag = one.headers.get("ETag")
    if etag is None:
        pytest.skip("pages with events carry no ETag")
    resp = api.changes(0, 3, headers={"If-None-Match": etag})
    assert resp.status == 200, resp
    assert len(resp.json()["events"]) == 3


# ------------------------------------------------------------ served the same way forever


def test_an_event_is_served_identically_after_more_writes_and_a_day_change(
    api, catalog, entity, frozen_today
):
    penalty = catalog["penalty"]
    lapsing = CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2025, 11, 28))
    kept = CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2026, 6, 15))
    services.record_correct(record=kept, actor=None, reason="r", changes={"facts": "第一次更正。"})
    before = {limit: api.changes(0, limit).body for limit in (1, 2, 3)}
    before_after1 = api.changes(1, 2).body

    # later writes of every kind touching the same records
    services.record_correct(
        record=CreditRecord.objects.get(pk=kept.pk),
        actor=None,
        reason="r2",
        changes={"facts": "第二次更正。"},
    )
    services.entity_rename(
        entity=entity, new_name="更名后的测试有限公司", changed_on=D(2026, 11, 28), actor=None
    )
    services.catalog_item_update(
        item=penalty, actor=None, changes={"code": "t-penalty-renamed"}, reason="改码"
    )
    services.catalog_item_update(
        item=penalty,
        actor=None,
        changes={"disclosure_attribute": DisclosureAttribute.SHARED},
        reason="不公开",
    )
    services.catalog_item_update(
        item=penalty, actor=None, changes={"disclosure_attribute": DisclosureAttribute.PUBLIC}, reason="公开"
    )
    services.record_revoke(record=CreditRecord.objects.get(pk=kept.pk), actor=None, reason="撤销")
    frozen_today.move_to(dt.datetime(2026, 11, 30, 8, tzinfo=SHANGHAI))
    services.records_record_expiries()

    for limit, body in before.items():
        now = json.loads(api.changes(0, limit).body)
        was = json.loads(body)
        assert now["events"] == was["events"], limit
        assert now["next"] == was["next"]
    assert json.loads(api.changes(1, 2).body)["events"] == json.loads(before_after1)["events"]
    first_event = json.loads(before[1])["events"][0]
    assert first_event["record"]["entity_name"] == "北京测试合同科技有限公司"
    assert first_event["record"]["catalog_item"] == "t-penalty"
    # and a copy still ends equal to the site
    copy = Copy()
    copy.follow(api)
    site = set(CreditRecord.objects.disclosed(on=D(2026, 11, 30)).values_list("id", flat=True))
    assert set(copy.visible(D(2026, 11, 30))) == site
    assert lapsing.id not in copy.docs
