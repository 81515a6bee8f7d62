"""Delete the stored intake files that no batch names (``services.files_purge_orphans``).

The department API stores a file, then saves its batch; a process that dies in between leaves
the file behind. Every intake worker runs this when it starts and then every hour; run it by
hand (or from a timer) where no worker runs. Files younger than ``--hours`` are kept: they may
be uploads in flight."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from intake import services


class Command(BaseCommand):
    help = "Delete stored intake files that no batch names."

    def add_arguments(self, parser):
        default = int(services.ORPHAN_AGE.total_seconds() // 3600)
        parser.add_argument(
            "--hours", type=int, default=default, help=f"Keep files younger than this (default {default})."
        )

    def handle(self, *args, hours, **options):
        if hours < 1:
            raise CommandError("--hours must be at least 1: a younger file may be an upload in flight.")
        deleted = services.files_purge_orphans(older_than=dt.timedelta(hours=hours))
        self.stdout.write(f"{deleted} files deleted")
