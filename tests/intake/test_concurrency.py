import io
import threading

import pytest
from django.db import connection

from disclosure.models import CreditRecord, RecordEvent
from intake import services
from intake.models import Batch, Channel

from .conftest import csv_bytes, penalty_row

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and advisory locks")


def import_at_once(department, files) -> list[tuple]:
    """Each file imported by a thread of its own, all started at the same moment: each
    batch's (status, created, unchanged)."""
    start = threading.Barrier(len(files))
    outcomes = []

    def run(data):
        try:
            start.wait()
            batch = services.batch_submit(department=department, upload=services.Upload(io.BytesIO(data), "a.csv"),
                                          channel=Channel.COMMAND)  # fmt: skip
            outcomes.append((batch.status, batch.created, batch.unchanged))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(data,)) for data in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_imports_of_one_file_never_duplicate_a_record(shipped_rule_sets, intake_department, frozen_today):
    data = csv_bytes([penalty_row(n) for n in range(1, 41)])
    outcomes = import_at_once(intake_department, [data, data])
    assert sorted(outcomes) == [("imported", 0, 40), ("imported", 40, 0)]
    assert CreditRecord.objects.count() == 40
    assert RecordEvent.objects.count() == 40
    assert Batch.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_files_at_once_create_each_record_once(shipped_rule_sets, intake_department, frozen_today):
    files = [csv_bytes([penalty_row(n) for n in range(1, 41)]), csv_bytes([penalty_row(n) for n in range(21, 61)])]
    outcomes = import_at_once(intake_department, files)
    assert sorted(outcomes) == [("imported", 20, 20), ("imported", 40, 0)]
    assert CreditRecord.objects.count() == 60
    assert RecordEvent.objects.count() == 60
