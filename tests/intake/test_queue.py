"""The queue of batches sent through the department API, and the worker that runs them:
states, one worker per batch, a worker that fails or dies in the middle."""

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone, translation

from disclosure.models import CreditRecord, Entity, NameGram, PublishedDocument, RecordEvent
from intake import queue, services
from intake.models import Batch, BatchStatus, RecordBatch

from .conftest import auth, csv_bytes, penalty_row

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL: row and advisory locks")


def queued(department, data: bytes, *, name="records.csv", language="en", **options) -> Batch:
    key = department.intake_keys.first()
    with translation.override(language):
        return queue.batch_queue(department=department, upload=services.Upload(io.BytesIO(data), name), key=key,
                                 **options)  # fmt: skip


def run_worker() -> str:
    out = io.StringIO()
    call_command("intake_worker", "--once", stdout=out)
    return out.getvalue()


def nothing_written() -> tuple:
    return (CreditRecord.objects.count(), Entity.objects.count(), RecordEvent.objects.count(),
            PublishedDocument.objects.count(), NameGram.objects.count(), RecordBatch.objects.count())  # fmt: skip


def test_the_worker_reports_exactly_what_an_upload_reports(client, intake_department, clerk, department_key, frozen_today):
    rows = [penalty_row(1), penalty_row(2, decision_date="2027-01-01"), penalty_row(3, catalog_item="nope"), penalty_row(4)]
    data = csv_bytes(rows)
    fields = ("status", "rows_total", "rows_refused", "created", "corrected", "revoked", "unchanged", "entities_created",
              "errors", "error_counts", "file_format", "encoding", "file_sha256", "file_size")  # fmt: skip

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            upload = services.Upload(io.BytesIO(data), "records.csv")
            direct = services.batch_submit(department=intake_department, upload=upload, channel="admin", actor=clerk,
                                           import_valid_rows=True)  # fmt: skip
            expected = {name: getattr(direct, name) for name in fields}
            raise Rollback
    except Rollback:
        pass
    response = client.post("/api/v1/intake/batches/?import_valid_rows=1", data, content_type="text/csv",
                           HTTP_ACCEPT_LANGUAGE="zh-hans", **auth(department_key))  # fmt: skip
    assert response.status_code == 202
    run_worker()
    batch = Batch.objects.get(number=response.json()["number"])
    assert {name: getattr(batch, name) for name in fields} == expected
    assert (expected["status"], expected["created"], expected["rows_refused"]) == ("imported", 2, 2)


def test_a_claimed_batch_is_checking_then_imported(client, intake_department, department_key, frozen_today):
    first = queued(intake_department, csv_bytes([penalty_row(1)]))
    frozen_today.shift(dt.timedelta(seconds=1))
    second = queued(intake_department, csv_bytes([penalty_row(2)]))
    claimed = queue.batch_claim(worker="host:1")
    assert (claimed.pk, claimed.status, claimed.attempts, claimed.worker) == (first.pk, "checking", 1, "host:1")
    assert client.get(f"/api/v1/intake/batches/{first.number}/", **auth(department_key)).json()["status"] == "checking"
    ended = queue.batch_run(batch=claimed)
    assert (ended.status, ended.created, ended.attempts) == ("imported", 1, 1)
    assert Batch.objects.get(pk=second.pk).status == "queued"
    assert queue.batch_claim(worker="host:1").pk == second.pk


def test_a_department_that_requires_release_gets_its_api_batch_checked_and_held(intake_department, clerk,
                                                                                department_key, frozen_today,
                                                                                private_storage):  # fmt: skip
    services.intake_policy_set(department=intake_department, requires_release=True)
    data = csv_bytes([penalty_row(1), penalty_row(2)])
    batch = queued(intake_department, data)
    run_worker()
    batch.refresh_from_db()
    assert (batch.status, batch.created, CreditRecord.objects.count()) == ("awaiting_release", 2, 0)
    assert (private_storage / batch.stored_file).read_bytes() == data  # kept for the release
    released = services.batch_release(batch=batch, actor=clerk)
    assert (released.status, released.created, CreditRecord.objects.count()) == ("imported", 2, 2)
    assert (Batch.objects.get(pk=batch.pk).stored_file, list(private_storage.rglob("*.csv"))) == ("", [])


def fail_on_insert(number: str) -> None:
    """A fault inside the import, after some writes: the database refuses the record with this
    decision number (a trigger), as a disk or a constraint could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION intake_test_fault() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER intake_test_fault BEFORE INSERT ON disclosure_creditrecord FOR EACH ROW"
                f" WHEN (NEW.decision_number = '{number}') EXECUTE FUNCTION intake_test_fault()"
            )
        else:
            # RAISE() would be an IntegrityError, which the services read as a lost race for the
            # decision number; malformed JSON is an error of another kind.
            cursor.execute(
                "CREATE TRIGGER intake_test_fault BEFORE INSERT ON disclosure_creditrecord"
                f" WHEN NEW.decision_number = '{number}' BEGIN SELECT json('injected fault'); END"
            )


def heal() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER intake_test_fault" + (" ON disclosure_creditrecord" if connection.vendor == "postgresql" else ""))


FAULT = "database error: " + ("injected fault" if connection.vendor == "postgresql" else "malformed JSON")


@pytest.mark.parametrize("bulk_from", [500, 1])
def test_a_fault_in_the_middle_of_the_import_leaves_nothing_and_fails_the_batch_after_its_attempts(
    client, intake_department, department_key, frozen_today, settings, private_storage, bulk_from
):
    settings.INTAKE_BULK_FROM = bulk_from  # 1: the bulk path (COPY on PostgreSQL)
    fail_on_insert("京朝市监罚〔2026〕3号")
    batch = queued(intake_department, csv_bytes([penalty_row(n) for n in range(1, 6)]))
    output = run_worker()  # drains the queue: three attempts
    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.created, batch.rows_total) == ("failed", 3, 0, 0)
    assert batch.failure == (
        "The batch could not be imported in 3 attempts, and nothing was written. Submit the file again; if it fails "
        f"again, give the batch number to the site's staff. Last attempt: Attempt 3 stopped with an error ({FAULT}); "
        "nothing it wrote was kept."
    )
    assert nothing_written() == (0, 0, 0, 0, 0, 0)
    assert (batch.stored_file, list(private_storage.rglob("*.csv"))) == ("", [])
    assert output.count(f"batch {batch.number} ") == 3
    polled = client.get(f"/api/v1/intake/batches/{batch.number}/", **auth(department_key)).json()
    assert (polled["status"], polled["failure"], polled["attempts"]) == ("failed", batch.failure, 3)


def test_a_failed_attempt_puts_the_batch_back_in_the_queue_and_the_next_one_imports(intake_department, department_key,
                                                                                   frozen_today):  # fmt: skip
    fail_on_insert("京朝市监罚〔2026〕3号")
    batch = queued(intake_department, csv_bytes([penalty_row(n) for n in range(1, 6)]))
    ended = queue.batch_run(batch=queue.batch_claim(worker="host:1"))
    assert (ended.status, ended.attempts) == ("queued", 1)
    batch.refresh_from_db()
    assert (batch.status, batch.failure) == (
        "queued", f"Attempt 1 stopped with an error ({FAULT}); nothing it wrote was kept."
    )
    assert nothing_written() == (0, 0, 0, 0, 0, 0)
    heal()  # the fault was passing
    ended = queue.batch_run(batch=queue.batch_claim(worker="host:2"))
    assert (ended.status, ended.attempts, ended.created, ended.failure, ended.worker) == ("imported", 2, 5, "", "host:2")
    assert (CreditRecord.objects.count(), RecordEvent.objects.count(), RecordBatch.objects.count()) == (5, 5, 5)


def hold_batch_lock(batch: Batch) -> psycopg.Connection:
    """What a live worker holds on the batch it runs: the batch's advisory lock, in a session of
    its own."""
    other = psycopg.connect(conninfo(), autocommit=True)
    other.execute("SELECT pg_advisory_lock(%s, %s)", [queue.WORKER_LOCK, batch.pk % 2**31])
    return other


def conninfo() -> str:
    s = connection.settings_dict
    return f"host={s['HOST']} port={s['PORT'] or 5432} user={s['USER']} dbname={s['NAME']}" + (
        f" password={s['PASSWORD']}" if s["PASSWORD"] else ""
    )


def test_a_running_batch_is_left_to_its_live_worker_and_taken_up_once_its_worker_is_gone(intake_department,
                                                                                         frozen_today):  # fmt: skip
    batch = queued(intake_department, csv_bytes([penalty_row(1), penalty_row(2)]))
    claimed = queue.batch_claim(worker="host:1")
    queue._unlock(claimed)  # the claim's lock, as if another process had taken it: see below
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.IMPORTING)
    if connection.vendor == "postgresql":
        live = hold_batch_lock(batch)
        assert queue.batch_claim(worker="host:2") is None
        live.close()  # the worker's connection ends, and its lock with it
    else:
        assert queue.batch_claim(worker="host:2") is None  # seen a moment ago
        frozen_today.shift(queue.STALE_AFTER + dt.timedelta(seconds=1))
    taken = queue.batch_claim(worker="host:2")
    assert (taken.pk, taken.status, taken.attempts, taken.worker) == (batch.pk, "checking", 2, "host:2")
    assert taken.failure == "Attempt 1 stopped when its worker ended; nothing it wrote was kept."
    ended = queue.batch_run(batch=taken)
    assert (ended.status, ended.created, ended.attempts, ended.failure) == ("imported", 2, 2, "")


def test_a_batch_whose_worker_died_on_its_last_attempt_is_failed(intake_department, frozen_today, private_storage):
    batch = queued(intake_department, csv_bytes([penalty_row(1)]))
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.IMPORTING, attempts=queue.ATTEMPTS)
    frozen_today.shift(queue.STALE_AFTER + dt.timedelta(seconds=1))
    assert queue.batch_claim(worker="host:1") is None
    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.stored_file) == ("failed", 3, "")
    assert batch.failure == (
        "The batch could not be imported in 3 attempts, and nothing was written. Submit the file again; if it fails "
        "again, give the batch number to the site's staff. Last attempt: Attempt 3 stopped when its worker ended; "
        "nothing it wrote was kept."
    )
    assert list(private_storage.rglob("*.csv")) == []


# -- concurrency, on PostgreSQL --------------------------------------------------------------


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_run_each_batch_once(shipped_rule_sets, intake_department):
    services.department_key_issue(department=intake_department, actor=None)
    batches = [queued(intake_department, csv_bytes([penalty_row(n) for n in range(10 * i + 1, 10 * i + 11)]))
               for i in range(6)]  # fmt: skip
    start = threading.Barrier(2)
    outputs = []

    def work():
        try:
            start.wait()
            outputs.append(run_worker())
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = sorted(line.split(" ")[1] for output in outputs for line in output.splitlines())
    assert lines == sorted(batch.number for batch in batches)  # each batch reported by one worker, once
    assert sorted(Batch.objects.values_list("status", "attempts", "created")) == [("imported", 1, 10)] * 6
    assert (CreditRecord.objects.count(), RecordEvent.objects.count(), RecordBatch.objects.count()) == (60, 60, 60)


def poll_states(client, key, number, until: str, seen: list, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/intake/batches/{number}/", **auth(key)).json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == until:
            return
        time.sleep(0.02)
    raise AssertionError(f"{number} never reached {until}: {seen}")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_polling_shows_queued_checking_importing_then_the_final_counts(client, shipped_rule_sets, intake_department):
    _key, raw = services.department_key_issue(department=intake_department, actor=None)
    data = csv_bytes([penalty_row(n, decision_date=f"{timezone.localdate() - dt.timedelta(days=30)}") for n in range(1, 4)])
    response = client.post("/api/v1/intake/batches/", data, content_type="text/csv", **auth(raw))
    number = response.json()["number"]
    seen = []
    poll_states(client, raw, number, "queued", seen)
    # Held where each stage waits: the catalog (read as the rows are checked), and the
    # department's intake lock (taken as the import begins).
    blocker = psycopg.connect(conninfo())
    blocker.execute("LOCK TABLE disclosure_catalogitem IN ACCESS EXCLUSIVE MODE")
    blocker.execute("SELECT pg_advisory_lock(%s, %s)", [services.INTAKE_LOCK % 2**31, intake_department.pk])
    worker = threading.Thread(target=lambda: (run_worker(), connection.close()))
    worker.start()
    try:
        poll_states(client, raw, number, "checking", seen)
        blocker.commit()  # the catalog is free again; the intake lock is the session's
        poll_states(client, raw, number, "importing", seen)
        assert CreditRecord.objects.count() == 0
        blocker.execute("SELECT pg_advisory_unlock(%s, %s)", [services.INTAKE_LOCK % 2**31, intake_department.pk])
        blocker.commit()
        poll_states(client, raw, number, "imported", seen)
    finally:
        blocker.close()
        worker.join()
    assert seen == ["queued", "checking", "importing", "imported"]
    body = client.get(f"/api/v1/intake/batches/{number}/", **auth(raw)).json()
    assert (body["rows"], body["created"], body["rows_refused"], body["errors"], body["attempts"]) == (3, 3, 0, [], 1)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_an_import_leaves_nothing_and_the_next_worker_imports(
    shipped_rule_sets, intake_department, private_storage
):
    """A real worker process, killed (SIGKILL) while its import waits inside the database: the
    transaction never commits, its lock goes with its connection, and the next worker runs
    the batch again from the start."""
    services.department_key_issue(department=intake_department, actor=None)
    decided = f"{timezone.localdate() - dt.timedelta(days=30)}"
    batch = queued(intake_department, csv_bytes([penalty_row(n, decision_date=decided) for n in range(1, 6)]))
    with connection.cursor() as cursor:  # the third record's insert waits: the worker is killed then
        cursor.execute("CREATE FUNCTION intake_test_wait() RETURNS trigger LANGUAGE plpgsql AS"
                       " $$ BEGIN PERFORM pg_sleep(3); RETURN NEW; END $$")  # fmt: skip
        cursor.execute("CREATE TRIGGER intake_test_wait BEFORE INSERT ON disclosure_creditrecord FOR EACH ROW"
                       " WHEN (NEW.decision_number = '京朝市监罚〔2026〕3号') EXECUTE FUNCTION intake_test_wait()")  # fmt: skip
    s = connection.settings_dict
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_REPLICA_URLS", "REDIS_URL")},
        "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}",
        "DEBUG": "1",
        "INTAKE_FILES_ROOT": str(private_storage),
    }
    worker = subprocess.Popen([sys.executable, "manage.py", "intake_worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        backend = None
        for _ in range(300):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = %s", [s["NAME"]])
                found = cursor.fetchone()
            if found:
                backend = found[0]
                break
            time.sleep(0.05)
        assert backend is not None, worker.stderr.read1().decode() if worker.poll() is not None else "no import began"
        assert Batch.objects.get(pk=batch.pk).status == "importing"
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait(10)
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER intake_test_wait ON disclosure_creditrecord")
    assert nothing_written()[:3] == (0, 0, 0)
    # Its server session ends when the sleep does and the answer finds no one: lock and
    # transaction go with it. Until then the batch is the dead worker's.
    for _ in range(200):
        taken = queue.batch_claim(worker="host:2")
        if taken is not None:
            break
        time.sleep(0.05)
    assert (taken.pk, taken.attempts, taken.failure) == (
        batch.pk, 2, "Attempt 1 stopped when its worker ended; nothing it wrote was kept."
    )
    ended = queue.batch_run(batch=taken)
    assert (ended.status, ended.created, ended.attempts, ended.failure) == ("imported", 5, 2, "")
    assert (CreditRecord.objects.count(), RecordEvent.objects.count(), RecordBatch.objects.count()) == (5, 5, 5)
