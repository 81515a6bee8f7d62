"""The boundaries of a record's period, day by day, in the site's time zone: a copy that
follows the feed (and shows a record "from its disclosure_start to its disclosure_end,
inclusive") shows exactly the site's set, which the public API gives (200 for a record shown,
not 200 otherwise) and the digest counts."""

import datetime as dt

import pytest

from disclosure import services
from tests.conftest import SHANGHAI
from tests.contract.conftest import Copy, digest_of
from tests.factories import CreditRecordFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date


def public_shown(api, ids):
    shown = set()
    for record_id in ids:
        resp = api.get(f"/api/v1/records/{record_id}/", key=False)
        assert resp.status in (200, 404, 410), resp
        if resp.status == 200:
            shown.add(record_id)
    return shown


def check_day(api, copy, day, ids, *, run_job):
    if run_job:
        services.records_record_expiries()
    copy.follow(api)
    copy_ids = set(copy.visible(day))
    assert copy_ids == public_shown(api, ids), day
    digest = api.get("/api/v1/digest/").json()
    assert digest["as_of"] == day.isoformat()
    count, total = digest_of(copy.visible(day))
    assert (digest["count"], int(digest["hash"], 16)) == (count, total), day
    return copy_ids


@pytest.mark.parametrize("run_job", [True, False], ids=["expiry-job-runs", "no-job"])
def test_first_and_last_day_shown_and_the_day_after(api, catalog, entity, frozen_today, run_job):
    penalty, licence = catalog["penalty"], catalog["licence"]
    ends_today = CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2025, 11, 28))
    ends_tomorrow = CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2025, 11, 29))
    decided_today = CreditRecordFactory(entity=entity, catalog_item=penalty, decision_date=D(2026, 11, 28))
    next_month = CreditRecordFactory(
        entity=entity,
        catalog_item=licence,
        decision_date=D(2026, 11, 20),
        valid_from=D(2026, 12, 1),
        valid_until=D(2026, 12, 31),
    )
    one_day = CreditRecordFactory(
        entity=entity,
        catalog_item=licence,
        decision_date=D(2026, 11, 20),
        valid_from=D(2026, 11, 30),
        valid_until=D(2026, 11, 30),
    )
    assert (ends_today.disclosure_start, ends_today.disclosure_end) == (D(2025, 11, 28), D(2026, 11, 28))
    assert ends_tomorrow.disclosure_end == D(2026, 11, 29)
    assert decided_today.disclosure_start == D(2026, 11, 28)
    assert (next_month.disclosure_start, next_month.disclosure_end) == (D(2026, 12, 1), D(2026, 12, 31))
    ids = [r.id for r in (ends_today, ends_tomorrow, decided_today, next_month, one_day)]

    copy = Copy().load_snapshot(api)
    # The snapshot holds what is shown today or later: the licence of next month too.
    assert set(copy.docs) == set(ids)

    expected = {
        # the first and last moments of each day in Asia/Shanghai
        D(2026, 11, 28): {ends_today.id, ends_tomorrow.id, decided_today.id},
        D(2026, 11, 29): {ends_tomorrow.id, decided_today.id},
        D(2026, 11, 30): {decided_today.id, one_day.id},
        D(2026, 12, 1): {decided_today.id, next_month.id},
        D(2026, 12, 31): {decided_today.id, next_month.id},
        D(2027, 1, 1): {decided_today.id},
    }
    for day, shown in expected.items():
        for hour, minute, second in ((0, 0, 1), (23, 59, 59)):
            frozen_today.move_to(
                dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)
            )
            assert check_day(api, copy, day, ids, run_job=run_job) == shown, (day, hour)
    # Lapsed records have left the copy (job) or are merely hidden by their dates (no job).
    if run_job:
        assert set(copy.docs) == {decided_today.id}


def test_snapshot_taken_on_the_last_day_and_followed_the_next(api, catalog, entity, frozen_today):
    """A copy loaded on a record's last day keeps it exactly through that day."""
    record = CreditRecordFactory(
        entity=entity, catalog_item=catalog["penalty"], decision_date=D(2025, 11, 28)
    )
    frozen_today.move_to(dt.datetime(2026, 11, 28, 23, 59, 59, tzinfo=SHANGHAI))
    copy = Copy().load_snapshot(api)
    assert set(copy.visible(D(2026, 11, 28))) == {record.id}
    frozen_today.move_to(dt.datetime(2026, 11, 29, 0, 0, 0, tzinfo=SHANGHAI))
    # Before the day's job, a snapshot still holds it (with the cursor before its tombstone),
    # hidden by its dates; once the job has run, the snapshot no longer holds it.
    early = Copy().load_snapshot(api)
    assert (set(early.docs), early.visible(D(2026, 11, 29))) == ({record.id}, {})
    services.records_record_expiries()
    fresh = Copy().load_snapshot(api)
    assert fresh.docs == {}
    assert [e["type"] for e in early.follow(api)] == ["expired"]
    events = copy.follow(api)
    assert [(e["record_id"], e["type"], e["effective_on"]) for e in events] == [
        (record.id, "expired", "2026-11-29")
    ]
    assert copy.docs == fresh.docs == {}


def test_redisclosed_after_its_period_ended_is_not_shown(api, catalog, entity, frozen_today):
    """record_redisclose: "It shows again for what remains of its period" - nothing remains."""
    record = CreditRecordFactory(
        entity=entity, catalog_item=catalog["penalty"], decision_date=D(2025, 11, 29)
    )
    copy = Copy().load_snapshot(api)
    services.record_withdraw(record=record, actor=None, reason="修复", reference="XF-9")
    copy.follow(api)
    assert copy.docs == {}
    frozen_today.move_to(dt.datetime(2026, 11, 30, 9, tzinfo=SHANGHAI))
    services.record_redisclose(
        record=type(record).objects.get(pk=record.pk), actor=None, reason="撤销修复", reference="XF-9"
    )
    services.records_record_expiries()
    copy.follow(api)
    day = D(2026, 11, 30)
    assert copy.visible(day) == {}
    assert public_shown(api, [record.id]) == set()
    assert Copy().load_snapshot(api).docs == {}
    digest = api.get("/api/v1/digest/").json()
    assert digest["count"] == 0
