"""Expiries and days, as clients/README states the contract, observed over HTTP only: the
feed says how far expiries are written; between midnight and the daily job it holds back
the new day's events (and the snapshot and digest answer 503 with Retry-After); once the job
has run, the day's events follow in cursor order: those written between midnight and the
job, then the expiries, then the rest of the day."""

import datetime as dt

import pytest

from disclosure import services
from tests.conftest import SHANGHAI
from tests.contract.conftest import Copy
from tests.factories import CreditRecordFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = dt.date


def written_through(resp) -> str:
    return resp.headers["X-Expiries-Written-Through"]


def test_the_new_day_is_held_back_until_its_expiries_are_written(api, catalog, entity, frozen_today):
    lapsing = CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2025, 11, 28))
    copy = Copy().load_snapshot(api)
    copy.follow(api)
    page = api.changes(copy.cursor)
    assert (page.status, written_through(page), page.json()["expiries_written_through"]) == (
        200, "2026-11-28", "2026-11-28"
    )  # fmt: skip

    # Just after midnight: the record's last day was yesterday; a department writes at once.
    frozen_today.move_to(dt.datetime(2026, 11, 29, 0, 0, 5, tzinfo=SHANGHAI))
    early = CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 11, 28))
    held = api.changes(copy.cursor)
    assert (held.status, held.json()["events"], written_through(held)) == (200, [], "2026-11-28")
    for path in ("/api/v1/snapshot.ndjson", "/api/v1/digest/"):
        refused = api.get(path)
        assert (path, refused.status, written_through(refused)) == (path, 503, "2026-11-28")
        assert int(refused.headers["Retry-After"]) > 0

    services.records_record_expiries()  # the daily job
    later = CreditRecordFactory(entity=entity, catalog_item=catalog["penalty"], decision_date=D(2026, 11, 29))
    events = copy.follow(api)
    assert [(e["record_id"], e["type"]) for e in events] == [
        (early.id, "disclosed"),  # written between midnight and the job
        (lapsing.id, "expired"),  # the day's expiries
        (later.id, "disclosed"),  # the rest of the day
    ]
    assert [e["effective_on"] for e in events if e["type"] == "expired"] == ["2026-11-29"]
    page = api.changes(copy.cursor)
    assert (page.json()["events"], written_through(page)) == ([], "2026-11-29")
    snapshot = Copy().load_snapshot(api)
    assert snapshot.docs == copy.docs
    assert set(copy.visible(D(2026, 11, 29))) == {early.id, later.id}
