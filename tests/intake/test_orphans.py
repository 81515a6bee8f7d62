"""Intake files no batch names: the department API stores a file, then saves its batch, and a
process that dies in between leaves the file behind. The worker (and ``intake_purge_files``)
deletes such a file once it is older than an upload in flight can be."""

import io
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from intake import services
from intake.models import Batch, BatchStatus, DepartmentIntakePolicy

from .conftest import auth, csv_bytes, penalty_row

HOUR = 3600


def stored(name: str, *, hours_old: float) -> str:
    storage = services.intake_storage()
    path = storage.save(name, ContentFile(b"code,entity_name\n"))
    then = time.time() - hours_old * HOUR
    os.utime(storage.path(path), (then, then))
    return path


def age(path: str, *, hours_old: float) -> None:
    then = time.time() - hours_old * HOUR
    os.utime(services.intake_storage().path(path), (then, then))


def exists(*paths) -> tuple[bool, ...]:
    return tuple(services.intake_storage().exists(path) for path in paths)


@pytest.fixture
def queued(client, intake_department, department_key):
    """A batch the API queued (its file is named by it), stored a day and more ago."""
    response = client.post("/api/v1/intake/batches/", csv_bytes([penalty_row(1)]), content_type="text/csv",
                           **auth(department_key))  # fmt: skip
    assert response.status_code == 202
    batch = Batch.objects.get()
    assert batch.status == BatchStatus.QUEUED
    age(batch.stored_file, hours_old=30)
    return batch


def test_an_old_file_no_batch_names_is_deleted_and_the_rest_kept(queued, private_storage, caplog):
    orphan = stored("intake/2026/11/0123456789abcdef-records.csv", hours_old=25)
    young = stored(
        "intake/2026/11/fedcba9876543210-records.csv", hours_old=23
    )  # an upload in flight, perhaps
    elsewhere = stored("repair/evidence/kept.pdf", hours_old=500)  # the same root holds repair evidence
    assert services.files_purge_orphans() == 1
    assert exists(orphan, young, queued.stored_file, elsewhere) == (False, True, True, True)
    assert [record.getMessage() for record in caplog.records if record.name == "intake"] == [
        f"intake file {orphan}: no batch names it; deleted"
    ]
    assert services.files_purge_orphans() == 0  # again: nothing more to do


def test_a_file_awaiting_release_is_kept_however_old(submit, intake_department, db):
    DepartmentIntakePolicy.objects.create(department=intake_department, requires_release=True)
    held = submit(csv_bytes([penalty_row(1)]))
    assert held.status == BatchStatus.AWAITING_RELEASE
    age(held.stored_file, hours_old=24 * 40)
    assert services.files_purge_orphans() == 0
    assert exists(held.stored_file) == (True,)


def test_nothing_stored_yet_is_nothing_to_do(db, private_storage):
    assert services.files_purge_orphans() == 0


def test_the_worker_deletes_orphans_when_it_starts_and_runs_the_queue(queued, private_storage):
    orphan = stored("intake/2026/10/0123456789abcdef-day.jsonl", hours_old=48)
    out = io.StringIO()
    call_command("intake_worker", "--once", stdout=out)
    assert out.getvalue().splitlines()[0] == "1 orphaned intake file(s) deleted"
    queued.refresh_from_db()
    assert (queued.status, queued.stored_file) == (BatchStatus.IMPORTED, "")  # its file went with its end
    assert list((private_storage / "intake").rglob("*.*")) == []
    assert exists(orphan) == (False,)


def test_the_command_takes_another_age_but_never_an_upload_in_flight(queued):
    orphan = stored("intake/2026/11/0123456789abcdef-records.csv", hours_old=3)
    out = io.StringIO()
    call_command("intake_purge_files", stdout=out)
    assert (out.getvalue(), exists(orphan)) == ("0 files deleted\n", (True,))
    call_command("intake_purge_files", "--hours", "2", stdout=out)
    assert (out.getvalue().splitlines()[-1], exists(orphan, queued.stored_file)) == (
        "1 files deleted",
        (False, True),
    )
    with pytest.raises(CommandError, match="at least 1"):
        call_command("intake_purge_files", "--hours", "0")
