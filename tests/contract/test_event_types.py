"""Every documented feed event type reaches a copy, over real HTTP, and the copy equals the
site after each step: same ids shown today, same documents, same digest. README: "`disclosed`
and `updated` carry the whole document (put it in the copy); `withdrawn` (after a repair,
with its application number), `revoked` (decision revoked or superseded), `expired` (period
over) and `removed` (no longer published for another reason: a correction, a catalog item
made non-public) are tombstones (take the record out)"."""

import datetime as dt

import pytest

from disclosure import services
from disclosure.models import CreditRecord, DisclosureAttribute
from repair import services as repair_services
from tests.conftest import SHANGHAI
from tests.contract.conftest import TODAY, Copy, digest_of
from tests.factories import CreditRecordFactory, EntityFactory, UserFactory
from tests.repair.conftest import repair_and_approve

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date


def site_ids(day):
    return set(CreditRecord.objects.disclosed(on=day).values_list("id", flat=True))


def assert_copy_is_site(api, copy, day, note=""):
    """The copy equals the site on `day`: same ids as the site's own visibility rule, and as
    the public API; same documents as a fresh snapshot; the digest agrees."""
    ids = site_ids(day)
    shown = copy.visible(day)
    assert set(shown) == ids, f"{note}: copy {sorted(shown)} vs site {sorted(ids)}"
    _first, _hdr, fresh = api.snapshot()
    fresh_shown = {
        i: d for i, d in fresh.items() if d["disclosure_start"] <= day.isoformat() <= d["disclosure_end"]
    }
    assert shown == fresh_shown, f"{note}: documents differ from a fresh snapshot"
    digest = api.get("/api/v1/digest/").json()
    count, total = digest_of(shown)
    assert (digest["count"], int(digest["hash"], 16)) == (count, total), note
    assert digest["as_of"] == day.isoformat()


def step(api, copy, note):
    before = copy.cursor
    events = copy.follow(api)
    snapshot_of_copy = dict(copy.docs)
    # Replayed twice: idempotent.
    copy.apply(events)
    assert copy.docs == snapshot_of_copy, f"{note}: replaying the same events changed the copy"
    assert all(e["cursor"] > before for e in events)
    return events


def types(events):
    return sorted((e["record_id"], e["type"]) for e in events)


@pytest.fixture
def reviewer(catalog):
    user = UserFactory(username="reviewer")
    catalog["department"].staff.add(user)
    return user


def test_every_event_type_reaches_the_copy(api, catalog, entity, reviewer, frozen_today, schema):
    penalty = catalog["penalty"]
    copy = Copy().load_snapshot(api)
    assert copy.docs == {}

    # disclosed
    p1 = CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2026, 6, 15))
    p2 = CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2026, 6, 16))
    p3 = CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2026, 6, 17))
    p4 = CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2026, 6, 18))
    other = CreditRecordFactory(catalog_item=penalty, decision_date=D(2026, 7, 1))
    events = step(api, copy, "created")
    assert types(events) == sorted((r.id, "disclosed") for r in (p1, p2, p3, p4, other))
    assert_copy_is_site(api, copy, TODAY, "created")

    # updated: a correction of one field
    services.record_correct(record=p1, actor=None, reason="笔误", changes={"outcome": "罚款人民币两万元"})
    events = step(api, copy, "corrected")
    assert types(events) == [(p1.id, "updated")]
    assert events[0]["record"]["outcome"] == "罚款人民币两万元"
    assert_copy_is_site(api, copy, TODAY, "corrected")

    # updated: a correction of the decision date moves the period
    services.record_correct(
        record=CreditRecord.objects.get(pk=p1.pk),
        actor=None,
        reason="日期更正",
        changes={"decision_date": D(2026, 7, 20)},
    )
    events = step(api, copy, "date corrected")
    assert types(events) == [(p1.id, "updated")]
    assert events[0]["record"]["decision_date"] == "2026-07-20"
    assert events[0]["record"]["disclosure_end"] == "2027-07-20"
    assert_copy_is_site(api, copy, TODAY, "date corrected")

    # revoked + disclosed: a supersession
    new = services.record_supersede(
        record=p2, actor=None, reason="更正决定", changes={"facts": "逾期未公示年度报告。"}
    )
    events = step(api, copy, "superseded")
    new_id = new.id if hasattr(new, "id") else CreditRecord.objects.get(supersedes=p2).id
    assert types(events) == sorted([(p2.id, "revoked"), (new_id, "disclosed")])
    assert_copy_is_site(api, copy, TODAY, "superseded")

    # withdrawn: through credit repair, with the application number
    application = repair_and_approve(CreditRecord.objects.get(pk=p3.pk), reviewer)
    events = step(api, copy, "withdrawn")
    assert types(events) == [(p3.id, "withdrawn")]
    assert events[0]["repair_application"] == application.number
    assert events[0]["effective_on"] == TODAY.isoformat()
    assert_copy_is_site(api, copy, TODAY, "withdrawn")

    # disclosed again: the approval is revoked (material proved false)
    application.refresh_from_db()
    repair_services.repair_revoke_approval(application=application, reviewer=reviewer, reason="材料虚假")
    events = step(api, copy, "redisclosed")
    assert types(events) == [(p3.id, "disclosed")]
    assert_copy_is_site(api, copy, TODAY, "redisclosed")

    # revoked
    services.record_revoke(
        record=CreditRecord.objects.get(pk=p4.pk), actor=None, reason="复议撤销", reference="复决〔2026〕1号"
    )
    events = step(api, copy, "revoked")
    assert types(events) == [(p4.id, "revoked")]
    assert_copy_is_site(api, copy, TODAY, "revoked")

    # updated: the entity's new name, on every published document of the entity
    services.entity_rename(
        entity=entity, new_name="北京合同更名科技有限公司", changed_on=TODAY, actor=None, reason="更名"
    )
    events = step(api, copy, "renamed")
    shown_of_entity = {i for i, d in copy.docs.items() if d["entity"] == entity.code}
    assert types(events) == sorted((i, "updated") for i in shown_of_entity)
    assert {e["record"]["entity_name"] for e in events} == {"北京合同更名科技有限公司"}
    assert_copy_is_site(api, copy, TODAY, "renamed")

    # updated: the catalog item's new code
    services.catalog_item_update(item=penalty, actor=None, changes={"code": "t-penalty-2"}, reason="编码调整")
    events = step(api, copy, "catalog code")
    assert types(events) == sorted((i, "updated") for i in site_ids(TODAY))
    assert {e["record"]["catalog_item"] for e in events} == {"t-penalty-2"}
    assert_copy_is_site(api, copy, TODAY, "catalog code")

    # removed, then disclosed: the catalog item made non-public and public again
    shown = site_ids(TODAY)
    services.catalog_item_update(
        item=penalty,
        actor=None,
        changes={"disclosure_attribute": DisclosureAttribute.SHARED},
        reason="调整公开属性",
    )
    events = step(api, copy, "catalog shared")
    assert types(events) == sorted((i, "removed") for i in shown)
    assert copy.docs == {}
    assert_copy_is_site(api, copy, TODAY, "catalog shared")
    services.catalog_item_update(
        item=penalty,
        actor=None,
        changes={"disclosure_attribute": DisclosureAttribute.PUBLIC},
        reason="恢复公开",
    )
    events = step(api, copy, "catalog public")
    assert types(events) == sorted((i, "disclosed") for i in shown)
    assert_copy_is_site(api, copy, TODAY, "catalog public")

    # removed: a correction after which the rules do not disclose the record (minor)
    services.record_correct(
        record=CreditRecord.objects.get(pk=p1.pk),
        actor=None,
        reason="改为轻微",
        changes={"severity": "minor"},
    )
    events = step(api, copy, "minor")
    assert [e["record_id"] for e in events] == [p1.id]
    assert events[0]["type"] in {"removed"}, events
    assert_copy_is_site(api, copy, TODAY, "minor")

    # expired: a record whose period ends today is shown today, not tomorrow; the job's
    # tombstone says the first day it is no longer shown
    lapsing = CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2025, 11, 28))
    assert lapsing.disclosure_end == TODAY
    step(api, copy, "lapsing created")
    assert lapsing.id in copy.visible(TODAY)
    frozen_today.move_to(dt.datetime(2026, 11, 29, 0, 0, 1, tzinfo=SHANGHAI))
    services.records_record_expiries()
    events = step(api, copy, "expired")
    assert types(events) == [(lapsing.id, "expired")]
    assert events[0]["effective_on"] == "2026-11-29"
    assert_copy_is_site(api, copy, D(2026, 11, 29), "expired")

    # The whole feed replayed from 0 ends at the same copy; every page validates.
    replay = Copy()
    replay.follow(api)
    assert replay.visible(D(2026, 11, 29)) == copy.visible(D(2026, 11, 29))
    resp = api.changes(0, 5000)
    schema.check("/api/v1/changes/", "get", resp)


def test_correction_into_a_past_period_takes_the_record_out_of_copies(api, catalog, entity, frozen_today):
    """A correction whose new dates end before today: the record leaves the site at once; a
    copy must drop it (by a tombstone, or by dates it carries) and the digest agree."""
    record = CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 6, 15))
    copy = Copy().load_snapshot(api)
    services.record_correct(
        record=record, actor=None, reason="日期更正", changes={"decision_date": D(2025, 6, 15)}
    )
    copy.follow(api)
    assert site_ids(TODAY) == set()
    assert copy.visible(TODAY) == {}
    assert_copy_is_site(api, copy, TODAY, "corrected into the past")


def test_rename_of_an_entity_without_published_records_writes_nothing(api, catalog, frozen_today):
    entity = EntityFactory()
    head = api.head()
    services.entity_rename(entity=entity, new_name="无记录更名有限公司", changed_on=TODAY, actor=None)
    assert api.head() == head
