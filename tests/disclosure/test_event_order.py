import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections, transaction

from disclosure import services
from disclosure.models import RecordEvent
from tests.factories import CreditRecordFactory


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has a single writer already")
@pytest.mark.django_db(transaction=True)
def test_event_ids_follow_commit_order(shipped_rule_sets, frozen_today):
    first_record = CreditRecordFactory(decision_date=dt.date(2026, 6, 1))
    second_record = CreditRecordFactory(decision_date=dt.date(2026, 6, 1))
    steps = []
    first_has_written = threading.Event()

    def first():
        try:
            with transaction.atomic():
                services.record_withdraw(record=first_record, actor=None, reason="修复通过", reference="XF1")
                steps.append("first wrote")
                first_has_written.set()
                time.sleep(0.5)  # hold the transaction open while the second writer tries
                steps.append("first commits")
        finally:
            connections.close_all()

    def second():
        try:
            first_has_written.wait(5)
            with transaction.atomic():
                services.record_withdraw(record=second_record, actor=None, reason="修复通过", reference="XF2")
                steps.append("second wrote")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert steps == ["first wrote", "first commits", "second wrote"]
    first_event = RecordEvent.objects.get(reference="XF1")
    second_event = RecordEvent.objects.get(reference="XF2")
    assert first_event.pk < second_event.pk
