"""Delete the files applicants chose for a repair application they then abandoned.

A form that came back with an error keeps the files that passed the evidence check
(``repair.pending``) so the applicant need not choose them again; an application that is
never sent leaves them behind. Run daily (``deploy/creditchina-jobs.service``): files older
than ``--hours`` go. Safe to run twice at once: a file already gone is skipped."""

import datetime as dt

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.utils import timezone

from repair.pending import PENDING_DIR


class Command(BaseCommand):
    help = "Delete files kept for repair applications that were never sent."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24, help="Keep files younger than this (default 24).")

    def handle(self, *args, hours, **options):
        if not default_storage.exists(PENDING_DIR):
            self.stdout.write("0 files deleted")
            return
        cutoff = timezone.now() - dt.timedelta(hours=hours)
        deleted = 0
        for name in default_storage.listdir(PENDING_DIR)[1]:
            path = f"{PENDING_DIR}/{name}"
            try:
                if default_storage.get_modified_time(path) < cutoff:
                    default_storage.delete(path)
                    deleted += 1
            except FileNotFoundError:
                continue  # another run got there first
        self.stdout.write(f"{deleted} files deleted")
