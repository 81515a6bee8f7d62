"""Run the batches departments' systems send through the API (``intake.queue``).

Run one or more, on one machine or several sharing the database and ``INTAKE_FILES_ROOT``:
each batch is run by one worker. SIGTERM or SIGINT stops a worker after the batch in hand; a
worker stopped harder leaves nothing written, and its batch is taken up again.

A worker also deletes the intake files no batch names (``services.files_purge_orphans``)
when it starts and then every hour, between batches."""

import os
import signal
import socket
import threading
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection

from intake import queue, services

PURGE_EVERY = 3600  # seconds between looks for orphaned intake files


class Command(BaseCommand):
    help = "Run the intake batches sent through the department API, oldest first."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every waiting batch, then exit.")
        parser.add_argument(
            "--sleep", type=float, default=2.0, help="Seconds between looks at an empty queue (default 2)."
        )

    def handle(self, *args, once, sleep, **options):
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_args: stop.set())
        worker = f"{socket.gethostname()}:{os.getpid()}"
        if threading.current_thread() is not threading.main_thread():
            worker += f":{threading.current_thread().name}"
        failures = 0
        next_purge = time.monotonic()
        while not stop.is_set():
            if not connection.in_atomic_block:
                close_old_connections()  # between batches: a connection PostgreSQL dropped is made again
            if time.monotonic() >= next_purge:
                next_purge = time.monotonic() + PURGE_EVERY
                self.purge()
            try:
                batch = queue.batch_claim(worker=worker)
            except DatabaseError as exc:
                # The database is down or busy (SQLite: another writer holds its one lock).
                failures += 1
                if once and failures >= 5:
                    raise
                self.stderr.write(f"intake worker: cannot take a batch now ({exc}); trying again")
                stop.wait(max(sleep, 1.0))
                continue
            failures = 0
            if batch is None:
                if once:
                    break
                stop.wait(sleep)
                continue
            started = time.monotonic()
            try:
                ended = queue.batch_run(batch=batch)
            except DatabaseError as exc:
                # Not even the attempt's end could be written: the batch is taken up again later.
                if once:
                    raise
                self.stderr.write(f"intake worker: batch {batch.number} left unfinished ({exc})")
                stop.wait(max(sleep, 1.0))
                continue
            self.stdout.write(
                f"batch {ended.number} ({ended.department.code}): {ended.status}, attempt {ended.attempts}, "
                f"rows {ended.rows_total}, created {ended.created}, corrected {ended.corrected}, "
                f"revoked {ended.revoked}, unchanged {ended.unchanged}, refused {ended.rows_refused}, "
                f"{time.monotonic() - started:.1f} s"
            )

    def purge(self) -> None:
        """Files a process that died left without their batch; a failure waits for the next look."""
        try:
            deleted = services.files_purge_orphans()
        except (DatabaseError, OSError, NotImplementedError) as exc:
            self.stderr.write(f"intake worker: cannot look for orphaned intake files now ({exc})")
            return
        if deleted:
            self.stdout.write(f"{deleted} orphaned intake file(s) deleted")
