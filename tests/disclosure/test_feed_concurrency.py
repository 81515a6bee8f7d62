import datetime as dt
import random
import threading
import time

import pytest
from django.db import connection, connections, transaction

from disclosure import feed, services
from disclosure.models import RecordEvent
from tests.conftest import run_daily_expiries
from tests.factories import CreditRecordFactory


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has a single writer already")
@pytest.mark.django_db(transaction=True)
def test_a_polling_consumer_sees_every_event_once_while_writers_commit_out_of_order(
    shipped_rule_sets, frozen_today
):
    """Four writers hold their transactions open for random times after writing, so they
    commit in a different order than they began; a consumer polls all the while. It must
    see every event exactly once, in order."""
    run_daily_expiries()
    records = [CreditRecordFactory(decision_date=dt.date(2026, 6, 1)) for _ in range(4)]
    start = RecordEvent.objects.latest("id").pk
    writers_done = threading.Event()
    errors = []

    def write(record, seed):
        rng = random.Random(seed)
        try:
            for i in range(12):
                with transaction.atomic():
                    services.record_correct(
                        record=record, actor=None, reason="更正", changes={"outcome": f"罚款{seed}-{i}"}
                    )
                    time.sleep(rng.uniform(0, 0.02))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    seen = []

    def consume():
        cursor = start
        try:
            while True:
                finished = writers_done.is_set()
                page = feed.changes(after=cursor, limit=5, until=feed.head().cursor)
                seen.extend(event["cursor"] for event in page["events"])
                cursor = page["next"]
                if finished and not page["has_more"]:
                    return
                time.sleep(0.001)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=write, args=(record, n)) for n, record in enumerate(records)]
    consumer = threading.Thread(target=consume)
    consumer.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    writers_done.set()
    consumer.join(60)
    assert errors == []
    written = list(RecordEvent.objects.filter(id__gt=start).order_by("id").values_list("id", flat=True))
    assert len(written) == 48
    assert seen == written
