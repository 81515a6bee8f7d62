"""The reference consumer against a live server, over real HTTP, while records are created,
corrected, withdrawn through repair and expire: its copy must equal the disclosed set."""

import datetime as dt
import json
import sqlite3

import pytest

from clients.creditmirror import Client, Mirror
from disclosure import agencies, publication, services
from disclosure.models import Agency, CreditRecord, RecordEvent
from disclosure.rules import Category
from tests.conftest import SHANGHAI, run_daily_expiries
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory, UserFactory
from tests.repair.conftest import repair_and_approve

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date


def site_documents(on: dt.date) -> dict[int, dict]:
    rows = CreditRecord.objects.disclosed(on=on).order_by("id").values(*publication.RECORD_FIELDS)
    return {row["id"]: json.loads(publication.document_of(row)[1]) for row in rows}


@pytest.fixture
def site(frozen_today, shipped_rule_sets):
    penalty = CatalogItemFactory(name="行政处罚信息")
    licence = CatalogItemFactory(
        name="行政许可信息",
        category=Category.ADMINISTRATIVE_LICENCE,
        severity="",
        repairable=False,
        provider=penalty.provider,
    )
    entity = EntityFactory(name="北京华为数字技术有限公司", code="91110000600037341L")
    records = [
        CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2026, 6, 15)),
        CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2026, 5, 20)),
        CreditRecordFactory(catalog_item=penalty, decision_date=D(2025, 12, 1)),  # lapses after 2026-12-01
    ]
    reviewer = UserFactory(username="reviewer")
    penalty.provider.staff.add(reviewer)
    agency = Agency.objects.create(code="acme", name="Acme Credit Services")
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None)
    run_daily_expiries()
    return {
        "records": records,
        "licence": licence,
        "entity": entity,
        "reviewer": reviewer,
        "key": raw,
        "agency": agency,
    }


def test_the_mirror_stays_identical_to_the_site(live_server, site, tmp_path, frozen_today):
    first, second, lapsing = site["records"]
    mirror = Mirror(str(tmp_path / "mirror.sqlite3"), Client(live_server.url, site["key"]))

    report = mirror.sync()
    assert (report["loaded"], report["applied"], report["verified"]) == (3, 0, True)
    assert mirror.visible("2026-11-28") == site_documents(D(2026, 11, 28))

    # The site changes: a new record, a correction, a licence valid from next month, a repair.
    added = CreditRecordFactory(
        entity=site["entity"], catalog_item=first.catalog_item, decision_date=D(2026, 11, 2)
    )
    services.record_correct(
        record=first, actor=site["reviewer"], reason="更正罚款金额", changes={"outcome": "罚款人民币四万元"}
    )
    licence = CreditRecordFactory(
        entity=site["entity"],
        catalog_item=site["licence"],
        decision_date=D(2026, 11, 20),
        valid_from=D(2026, 12, 10),
        valid_until=D(2029, 12, 9),
        outcome="准予许可",
    )
    application = repair_and_approve(second, site["reviewer"])

    before = mirror.cursor
    report = mirror.sync()
    assert (report["loaded"], report["applied"], report["verified"], report["reloaded"]) == (
        None,
        4,
        True,
        False,
    )
    visible = mirror.visible("2026-11-28")
    assert visible == site_documents(D(2026, 11, 28))
    assert sorted(visible) == sorted([first.pk, lapsing.pk, added.pk])
    assert visible[first.pk]["outcome"] == "罚款人民币四万元"
    # The withdrawal came as a tombstone with the application number, without content.
    events = mirror.client.get_json("changes/", {"after": before, "limit": 10})["events"]
    assert [event["type"] for event in events] == ["disclosed", "updated", "disclosed", "withdrawn"]
    withdrawal = events[-1]
    assert withdrawal["repair_application"] == application.number
    assert "record" not in withdrawal

    # A new consumer starting from the snapshot has exactly the same copy, licence included.
    newcomer = Mirror(str(tmp_path / "newcomer.sqlite3"), Client(live_server.url, site["key"]))
    newcomer.sync()
    assert newcomer.cursor == mirror.cursor
    assert newcomer.visible("2026-12-10") == mirror.visible("2026-12-10")

    # Time passes: the lapsing record's period ends; the licence starts.
    frozen_today.move_to(dt.datetime(2026, 12, 2, 9, tzinfo=SHANGHAI))
    run_daily_expiries()
    report = mirror.sync()
    assert report["verified"] is True
    assert mirror.visible("2026-12-02") == site_documents(D(2026, 12, 2))
    assert lapsing.pk not in mirror.visible("2026-12-02")
    frozen_today.move_to(dt.datetime(2026, 12, 10, 9, tzinfo=SHANGHAI))
    run_daily_expiries()
    assert mirror.sync()["verified"] is True
    assert sorted(mirror.visible("2026-12-10")) == sorted([first.pk, added.pk, licence.pk])
    assert mirror.visible("2026-12-10") == site_documents(D(2026, 12, 10))

    # It reported what it applied.
    site["agency"].refresh_from_db()
    assert site["agency"].applied_cursor == mirror.cursor == RecordEvent.objects.latest("id").pk


def test_the_mirror_waits_while_the_feed_holds_back(live_server, site, tmp_path, frozen_today):
    """Just after midnight, before the day's expiries are written, the feed holds back and the
    digest answers 503: a run applies nothing of the new day and checks next time."""
    mirror = Mirror(str(tmp_path / "mirror.sqlite3"), Client(live_server.url, site["key"]))
    mirror.sync()
    frozen_today.move_to(dt.datetime(2026, 11, 29, 0, 5, tzinfo=SHANGHAI))
    late = CreditRecordFactory(entity=site["entity"], catalog_item=site["records"][0].catalog_item,
                               decision_date=D(2026, 11, 28))  # fmt: skip
    held = mirror.sync()
    assert (held["held_back"], held["applied"], held["verified"]) == (True, 0, None)
    run_daily_expiries()
    report = mirror.sync()
    assert (report["held_back"], report["applied"], report["verified"]) == (False, 1, True)
    assert late.pk in mirror.visible("2026-11-29")


def test_a_damaged_copy_is_found_and_reloaded(live_server, site, tmp_path):
    path = tmp_path / "mirror.sqlite3"
    mirror = Mirror(str(path), Client(live_server.url, site["key"]))
    mirror.sync()
    first = site["records"][0]
    with sqlite3.connect(path) as db:
        db.execute("UPDATE records SET version = 'stale' WHERE id = ?", [first.pk])
    check = mirror.verify(bucket_size=1)
    assert check.ok is False
    assert check.differing_buckets == [first.pk]
    assert (check.local["count"], check.remote["count"]) == (3, 3)
    report = mirror.sync()
    assert (report["reloaded"], report["verified"]) == (True, True)
    assert mirror.visible("2026-11-28") == site_documents(D(2026, 11, 28))


def test_a_revoked_key_is_a_clear_error(live_server, site, tmp_path):
    from clients.creditmirror import ApiError

    key = site["agency"].keys.get()
    agencies.agency_key_revoke(key=key)
    mirror = Mirror(str(tmp_path / "mirror.sqlite3"), Client(live_server.url, site["key"]))
    with pytest.raises(ApiError) as caught:
        mirror.sync()
    assert caught.value.status == 401
    assert caught.value.body["error"]["type"] == "not_authenticated"
    assert mirror.cursor is None
