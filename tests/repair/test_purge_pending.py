"""Files kept for a repair form that was never sent are deleted after a day."""

import os
import time

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from repair.pending import PENDING_DIR


def test_abandoned_pending_files_are_deleted_after_a_day(private_storage, capsys):
    old = default_storage.save(f"{PENDING_DIR}/old.pdf", ContentFile(b"%PDF-1.4 old"))
    fresh = default_storage.save(f"{PENDING_DIR}/fresh.pdf", ContentFile(b"%PDF-1.4 fresh"))
    evidence = default_storage.save("repair/evidence/kept.pdf", ContentFile(b"%PDF-1.4 evidence"))
    two_days_ago = time.time() - 48 * 3600
    os.utime(default_storage.path(old), (two_days_ago, two_days_ago))
    call_command("repair_purge_pending")
    assert capsys.readouterr().out == "1 files deleted\n"
    assert (default_storage.exists(old), default_storage.exists(fresh), default_storage.exists(evidence)) == (
        False,
        True,
        True,
    )
    call_command("repair_purge_pending")  # again: nothing more to do
    assert capsys.readouterr().out == "0 files deleted\n"


def test_nothing_kept_yet_is_nothing_to_do(private_storage, capsys):
    call_command("repair_purge_pending")
    assert capsys.readouterr().out == "0 files deleted\n"
