"""Batches sent through the department API, and the worker that runs them.

The API keeps the file (``STORAGES["intake"]``), makes a ``queued`` batch and answers at once
(``batch_queue``). A worker (``manage.py intake_worker``) takes the oldest waiting batch
(``batch_claim``) and runs it through the same two passes as an admin upload
(``services.batch_process``, ``batch_run``): ``checking``, ``importing``, then ``imported``,
``rejected`` or ``awaiting_release``, with the same counts and errors, written in the
submitter's language.

Who runs a batch:

- A worker takes a batch in one short transaction: the waiting rows ``FOR UPDATE SKIP
  LOCKED`` (two workers never look at the same row at once), then a compare-and-swap on
  (status, attempts) that counts one more attempt. Every later write to the batch's row is
  fenced by that attempt (``services._hold``): a worker that has lost its batch writes
  nothing more to it. SQLite has no row locks; there the claim's transaction holds the one
  write lock (``BEGIN IMMEDIATE``), which serialises claims just as well.
- A worker that dies leaves its batch ``checking`` or ``importing``. On PostgreSQL a worker
  holds a session advisory lock on each batch it runs; the server drops the lock with the
  worker's connection, so a running batch whose lock is free has lost its worker and is taken
  up again at once. On SQLite a running batch whose worker has not been seen for
  ``STALE_AFTER`` (``heartbeat_at``, written as the rows are checked) is taken up again.
- An import is one transaction: a worker that dies or fails in the middle leaves nothing
  written, so running the batch again is safe. A failed attempt puts the batch back in the
  queue with the reason in ``failure``; after ``ATTEMPTS`` attempts (a worker that died
  counts) the batch is ``failed``: nothing was written, and the department submits it again.
- The file is deleted once the batch has ended (its SHA-256 stays), unless it awaits
  release.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from disclosure import identity
from disclosure.models import Department

from . import pipeline, services
from .models import RUNNING, WAITING, Batch, BatchStatus, Channel, DepartmentKey

logger = logging.getLogger("intake.worker")

ATTEMPTS = 3
STALE_AFTER = dt.timedelta(minutes=5)  # SQLite only: longer than checking CHUNK rows takes
HEARTBEAT_EVERY = dt.timedelta(seconds=20)
CLAIM_WINDOW = 50  # waiting batches looked at per claim: more than there are workers
WORKER_LOCK = 0x696E7175  # "inqu": the advisory locks' first key; the second is the batch's id


def batch_queue(*, department: Department, upload: services.Upload, key: DepartmentKey | None,
                import_valid_rows: bool = False) -> Batch:  # fmt: skip
    """Keep a file a department's system sent and queue it for the worker: a ``queued`` batch.

    Raises ``services.FileTooLarge`` past ``INTAKE_MAX_UPLOAD_BYTES``, and
    ``pipeline.FileRefused`` when the file's first bytes already say it cannot be read (not a
    spreadsheet, empty, another encoding); nothing is kept then."""
    started = time.monotonic()
    services.measure(upload)
    upload.stream.seek(0)
    pipeline.sniff(upload.stream.read(pipeline.SAMPLE_BYTES), upload.name, complete=upload.size < pipeline.SAMPLE_BYTES)
    stored = services.file_store(upload.stream, name=upload.name, sha256=upload.sha256)
    batch = Batch(
        department=department, channel=Channel.API, key=key, submitted_label=services._submitter(None, key),
        file_name=(upload.name or "")[:255], file_sha256=upload.sha256, file_size=upload.size,
        stored_file=stored, import_valid_rows=import_valid_rows,
        status=BatchStatus.QUEUED, language=translation.get_language() or settings.LANGUAGE_CODE,
    )  # fmt: skip
    try:
        return services._save_new(batch, started)
    except BaseException:
        services.intake_storage().delete(stored)
        raise


# -- the worker's side --------------------------------------------------------------------------


def _try_lock(batch: Batch) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [WORKER_LOCK, batch.pk % 2**31])
        return cursor.fetchone()[0]


def _unlock(batch: Batch) -> None:
    if connection.vendor == "postgresql" and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [WORKER_LOCK, batch.pk % 2**31])


def _free(batch: Batch, now: dt.datetime) -> bool:
    """Whether no worker runs the batch now (it is queued, or its worker died); on PostgreSQL
    this worker then holds the batch's advisory lock."""
    if connection.vendor == "postgresql":
        return _try_lock(batch)  # held by the worker running it, whatever its status says
    return batch.status == BatchStatus.QUEUED or batch.heartbeat_at is None or batch.heartbeat_at < now - STALE_AFTER


def batch_claim(*, worker: str) -> Batch | None:
    """The oldest batch waiting for a worker, now this worker's: ``checking``, one attempt
    more, ``worker`` and ``heartbeat_at`` set. A running batch whose worker died is taken up
    again, or marked ``failed`` when it has had its ``ATTEMPTS``. None when no batch waits.
    On PostgreSQL the caller holds the batch's advisory lock until ``batch_run`` ends."""
    if not Batch.objects.filter(status__in=WAITING).exists():
        return None  # the usual answer, without taking SQLite's write lock
    now = timezone.now()
    with transaction.atomic():
        waiting = (
            Batch.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("department")
            .filter(status__in=WAITING)
            .order_by("submitted_at", "pk")[:CLAIM_WINDOW]
        )
        for batch in waiting:
            if not _free(batch, now):
                continue
            try:
                claimed = _claim(batch, worker=worker, now=now)
            except BaseException:
                _unlock(batch)
                raise
            if claimed is not None:
                return claimed
            _unlock(batch)
    return None


def _claim(batch: Batch, *, worker: str, now: dt.datetime) -> Batch | None:
    fields = {"status": BatchStatus.CHECKING, "attempts": batch.attempts + 1, "worker": worker, "heartbeat_at": now}
    if batch.status in RUNNING:
        with translation.override(batch.language or settings.LANGUAGE_CODE):
            stopped = _("Attempt %(attempt)d stopped when its worker ended; nothing it wrote was kept.") % {
                "attempt": batch.attempts
            }
        if batch.attempts >= ATTEMPTS:
            _end_failed(batch, stopped)
            return None
        fields["failure"] = stopped
        logger.warning("intake batch %s: taken up again after its worker ended", batch.number)
    swapped = Batch.objects.filter(pk=batch.pk, status=batch.status, attempts=batch.attempts).update(**fields)
    if swapped != 1:
        return None
    for name, value in fields.items():
        setattr(batch, name, value)
    return batch


def _end_failed(batch: Batch, reason: str) -> None:
    with translation.override(batch.language or settings.LANGUAGE_CODE):
        batch.failure = _(
            "The batch could not be imported in %(attempts)d attempts, and nothing was written. Submit the "
            "file again; if it fails again, give the batch number to the site's staff. Last attempt: %(reason)s"
        ) % {"attempts": batch.attempts, "reason": reason}
    batch.status = BatchStatus.FAILED
    Batch.objects.filter(pk=batch.pk, attempts=batch.attempts).update(status=batch.status, failure=batch.failure)
    logger.error("intake batch %s failed after %d attempts", batch.number, batch.attempts)
    _discard_file(batch)


def batch_run(*, batch: Batch) -> Batch:
    """Run a claimed batch to its end, in the submitter's language: ``importing`` once its rows
    pass the checks, then its final state. An exception puts the batch back in the queue, or
    fails it after ``ATTEMPTS`` attempts, and is logged; nothing of the attempt is kept (the
    import is one transaction). Returns the batch as this worker left it."""
    try:
        with translation.override(batch.language or settings.LANGUAGE_CODE):
            return _run(batch)
    finally:
        _unlock(batch)


def _run(batch: Batch) -> Batch:
    beat = {"at": batch.heartbeat_at or timezone.now()}

    def heartbeat(stage: str, rows: int) -> None:
        now = timezone.now()
        if stage == "check" and now - beat["at"] >= HEARTBEAT_EVERY:
            beat["at"] = now
            try:
                with transaction.atomic():
                    Batch.objects.filter(pk=batch.pk, attempts=batch.attempts).update(heartbeat_at=now)
            except DatabaseError:
                return  # a sign of life is worth no failure (SQLite's one write lock may be busy)
            batch.heartbeat_at = now

    def importing() -> None:
        now = timezone.now()
        swapped = Batch.objects.filter(pk=batch.pk, attempts=batch.attempts, status=BatchStatus.CHECKING).update(
            status=BatchStatus.IMPORTING, heartbeat_at=now
        )
        if swapped != 1:
            raise services.BatchTaken(batch.number)
        batch.status, batch.heartbeat_at = BatchStatus.IMPORTING, now

    try:
        with services.intake_storage().open(batch.stored_file, "rb") as stream:
            ended = services.batch_process(batch=batch, stream=stream, progress=heartbeat, importing=importing)
    except services.BatchTaken:
        logger.warning("intake batch %s: another worker took it up; this attempt ends", batch.number)
        return batch
    except Exception as exc:
        logger.exception("intake batch %s: attempt %d stopped with an error", batch.number, batch.attempts)
        try:
            return _attempt_failed(batch, exc)
        except DatabaseError:
            # The attempt's end cannot be written now: the batch stays this attempt's, and is
            # taken up again as one whose worker ended.
            logger.exception("intake batch %s: attempt %d could not be recorded", batch.number, batch.attempts)
            return batch
    if ended.status != BatchStatus.AWAITING_RELEASE:
        _discard_file(ended)
    return ended


def _attempt_failed(batch: Batch, exc: Exception) -> Batch:
    """Back in the queue, or ``failed`` after the last attempt; the reason names the error
    (never an identity number: ``identity.mask_in``)."""
    first = next(iter(str(exc).strip().splitlines()), "")
    database = isinstance(exc, DatabaseError) or type(exc).__module__.startswith(("psycopg", "sqlite3"))
    kind = _("database error") if database else type(exc).__name__
    error = identity.mask_in(f"{kind}: {first}" if first else kind)[:300]
    reason = _("Attempt %(attempt)d stopped with an error (%(error)s); nothing it wrote was kept.") % {
        "attempt": batch.attempts, "error": error,
    }  # fmt: skip
    current = Batch.objects.filter(pk=batch.pk, attempts=batch.attempts, status__in=RUNNING)
    if batch.attempts >= ATTEMPTS:
        if current.exists():
            _end_failed(batch, reason)
        return batch
    if current.update(status=BatchStatus.QUEUED, failure=reason):
        batch.status, batch.failure = BatchStatus.QUEUED, reason
    return batch


def _discard_file(batch: Batch) -> None:
    Batch.objects.filter(pk=batch.pk, attempts=batch.attempts).update(stored_file="")
    services.file_discard(batch)
