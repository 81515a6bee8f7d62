"""Writers that share a catalog item and an entity never deadlock: every writer takes its
locks in the order written at the top of ``disclosure/services.py``."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from disclosure import services
from disclosure.models import CreditRecord, PublishedDocument, RecordEvent
from tests.factories import CatalogItemFactory, CreditRecordFactory, EntityFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has a single writer already"),
    pytest.mark.django_db(transaction=True),
]


def run_writers(count, work):
    errors = []

    def run(n):
        try:
            work(n)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors


def test_creates_corrections_and_renames_on_one_item_and_entity_never_deadlock(shipped_rule_sets, frozen_today):
    """Creating a record checks its catalog item's key at commit, while holding the
    event-order lock; a correction that locked that item's row outright while waiting for the
    event-order lock deadlocked with it (PostgreSQL aborted one of the two)."""
    item = CatalogItemFactory()
    entity = EntityFactory()
    records = [CreditRecordFactory(catalog_item=item, entity=entity, decision_date=dt.date(2026, 6, 1)) for _ in range(4)]

    def work(n):
        for i in range(30):
            if n == 3 and i % 10 == 0:
                services.entity_rename(entity=entity, new_name=f"改名{i}有限公司", changed_on=dt.date(2026, 11, 28))
            elif i % 2:
                CreditRecordFactory(catalog_item=item, entity=entity, decision_date=dt.date(2026, 6, 2))
            else:
                services.record_correct(
                    record=records[n], actor=None, reason="更正", changes={"outcome": f"罚款{n}-{i}"}
                )

    assert run_writers(4, work) == []
    # And what copies hold is what they should.
    assert set(PublishedDocument.objects.values_list("record_id", flat=True)) == set(
        CreditRecord.objects.disclosed_now_or_later().values_list("id", flat=True)
    )
    final_name = entity.__class__.objects.get(pk=entity.pk).name
    assert {d.split('"entity_name":"')[1].split('"')[0] for d in PublishedDocument.objects.values_list("document", flat=True)} == {final_name}
    assert RecordEvent.objects.in_feed().count() >= 4 + 60
