"""What agencies pull to keep their copies identical to the site: the change feed, the
snapshot and the digest.

- The feed is a plain reading of the record event log: the events that changed what copies
  hold (``RecordEvent.feed_type``), in commit order (event ids follow commit order: see
  ``services.lock_event_order``), each with the document or tombstone fixed when it was
  written (``disclosure.publication``). The cursor is the last event id a consumer applied.
- The snapshot is the ``PublishedDocument`` rows, read in one repeatable-read transaction
  together with the feed cursor: exactly the feed replayed up to that cursor.
- The digest is a count and an order-independent hash of (id, version) over the records
  shown on a day (``CreditRecord.objects.disclosed``), overall, per bucket of ids or per
  entity.
- None of them shows an event of a day whose expiry events the daily job has not yet
  written (see "the feed's head" below); nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connections, transaction
from django.db.models import Max, Q
from django.utils import timezone

from ops import replicas

from . import rules
from .models import TOMBSTONES, CreditRecord, ExpiryDay, FeedType, PublishedDocument, RecordEvent

MAX_LIMIT = 5000


# ------------------------------------------------------------------------- the feed's head
#
# Events are in commit order (their ids; ``services.lock_event_order``), and each carries the
# time it was written, read under the same lock, so times follow ids. Day D's expiry events
# are written by the daily job just after midnight, which records D in ``ExpiryDay`` in the
# same transaction as the last of them. Until it has, the feed ends at the last event written
# before D began: an agency never applies an event of D before the expiries of D (records
# whose last day was D - 1) are there for it, and never one of D + 1 before those of D + 1.
# Once D is recorded, the events of D follow in id order: those written between midnight and
# the job, then the expiries, then the rest of the day.


class FeedHeldBack(Exception):
    """The feed holds back events written after the last day whose expiries are written:
    a snapshot or digest now would hold changes the feed does not yet show."""

    def __init__(self, head: Head):
        super().__init__(head)
        self.head = head


@dataclass(frozen=True)
class Head:
    cursor: int  # the feed's head: the last event it serves (0 for none)
    latest: int  # the last event written: above ``cursor`` while the feed holds back
    expiries_through: dt.date | None  # the last day whose expiry events are all written

    @property
    def held_back(self) -> bool:
        return self.latest > self.cursor


def expiries_written_through() -> dt.date | None:
    """The last day whose expiry events the daily job has all written (None: never)."""
    return ExpiryDay.objects.aggregate(last=Max("day"))["last"]


def head(today: dt.date | None = None) -> Head:
    """The feed's head today: the latest event, or, while today's expiries are not written,
    the last event written before the first day whose expiries are not (none at all before
    the daily job's first run)."""
    today = today or timezone.localdate()
    events = RecordEvent.objects.in_feed()
    through = expiries_written_through()
    latest = events.aggregate(latest=Max("id"))["latest"] or 0
    if through is not None and through >= today:
        return Head(latest, latest, through)
    if through is None:
        return Head(0, latest, None)
    cursor = (
        events.filter(id__lte=latest, occurred_at__lt=rules.day_start(through + dt.timedelta(days=1)))
        .aggregate(last=Max("id"))["last"]
        or 0
    )
    return Head(cursor, latest, through)


def held_back(today: dt.date | None = None) -> bool:
    return head(today).held_back


def latest_cursor() -> int:
    """The feed's head: the id of the last event it serves (0 for an empty feed)."""
    return head().cursor


def changes(*, after: int, limit: int, until: int) -> dict:
    """A page of the feed: the events after ``after`` up to ``until`` (the head), as they
    were written."""
    events = list(
        RecordEvent.objects.in_feed()
        .filter(id__gt=after, id__lte=until)
        .order_by("id")
        .values_list(
            "id", "feed_type", "record_id", "occurred_at", "reason", "effective_on", "reference", "document"
        )[: limit + 1]
    )
    has_more = len(events) > limit
    events = events[:limit]
    out = []
    for cursor, kind, record_id, time, reason, effective_on, reference, document in events:
        item = {"cursor": cursor, "type": kind, "record_id": record_id, "time": time}
        if kind in TOMBSTONES:
            item.update(reason=reason, effective_on=effective_on)
            if kind == FeedType.WITHDRAWN:
                item["repair_application"] = reference
        else:
            item["record"] = json.loads(document)
        out.append(item)
    return {"events": out, "next": events[-1][0] if events else after, "has_more": has_more}


def _consistent_read(today: dt.date, read_records) -> tuple[int, Iterator]:
    """The feed cursor, then what ``read_records(alias)`` yields, in one repeatable-read
    transaction (PostgreSQL) on the database this request reads from: the records are
    exactly the state after the cursor's event. The transaction opens here and closes when
    the records have all been read. Raises ``FeedHeldBack`` while the feed holds back events
    (the records would already show them)."""
    alias = replicas.reading_from()
    connection = connections[alias]

    def read():
        # Inside a caller's transaction (tests) the isolation level is already set.
        outermost = not connection.in_atomic_block
        with transaction.atomic(using=alias):
            if connection.vendor == "postgresql" and outermost:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            current = head(today)
            if current.held_back:
                raise FeedHeldBack(current)
            yield current.cursor
            yield from read_records(alias)

    items = read()
    return next(items), items


def _published_documents(alias: str):
    return PublishedDocument.objects.using(alias).order_by("record_id").values_list("document", flat=True)


def snapshot(*, today: dt.date | None = None) -> tuple[int, Iterator[dict]]:
    """Every document agencies' copies hold, and the feed cursor the set is consistent with.
    Records whose disclosure starts later are included (the feed told earlier consumers of
    them too): a copy shows each record from its ``disclosure_start`` to its
    ``disclosure_end``. Streamed from a server-side cursor in constant memory."""
    today = today or timezone.localdate()

    def documents(alias):
        for text in _published_documents(alias).iterator(chunk_size=5000):
            yield json.loads(text)

    return _consistent_read(today, documents)


SNAPSHOT_BLOCK_BYTES = 256 * 1024


def in_blocks(lines) -> Iterator[bytes]:
    """Encoded lines gathered into blocks (in C: bytearray +=), so a response is written in
    large pieces rather than a socket write per line."""
    buffer = bytearray()
    for line in lines:
        buffer += line
        if len(buffer) >= SNAPSHOT_BLOCK_BYTES:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def snapshot_ndjson(*, today: dt.date | None = None) -> tuple[int, Iterator[bytes]]:
    """``snapshot()`` as NDJSON, one document per line, in blocks of bytes, and its cursor.

    The stored documents are the lines. On PostgreSQL they leave the database through
    ``COPY … TO STDOUT``, in the same repeatable-read transaction as the cursor. The CSV
    options are chosen so COPY adds nothing: JSON text never holds a raw control character,
    so with \x01 as delimiter and \x02 as quote no value is quoted or escaped."""
    today = today or timezone.localdate()
    if connections[replicas.reading_from()].vendor != "postgresql":

        def lines(alias):
            for text in _published_documents(alias).iterator(chunk_size=5000):
                yield text.encode() + b"\n"

        cursor_id, documents = _consistent_read(today, lambda alias: in_blocks(lines(alias)))
        return cursor_id, documents

    def copied(alias):
        connection = connections[alias]
        sql, params = _published_documents(alias).query.sql_with_params()
        statement = (
            f"COPY ({connection.ops.compose_sql(sql, params)}) TO STDOUT "
            "(FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
        )
        # A client that leaves mid-download closes this generator in its request (see
        # ``closing_body`` in the API): psycopg then cancels the COPY and the transaction
        # rolls back, leaving the connection fit for the worker's next request.
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            yield from in_blocks(copy)

    return _consistent_read(today, copied)


def to_json_line(document) -> str:
    return json.dumps(document, ensure_ascii=False, default=_json_default) + "\n"


def _json_default(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value))


def _hash(record_id: int, version: str) -> int:
    return int.from_bytes(hashlib.md5(f"{record_id}:{version}".encode()).digest()[:8], "big")


def digest(
    *, bucket_size: int | None = None, entity_code: str | None = None, today: dt.date | None = None
) -> dict:
    """Count and hash of the set disclosed on ``as_of`` (today): the hash is the sum, modulo
    2**64, of the first 8 bytes (big-endian) of md5("{id}:{version}") over the records, as
    hexadecimal. A copy computes the same over the records it shows that day. Raises
    ``FeedHeldBack`` while the feed holds back events: a copy that has applied the whole
    feed could not match a set that already shows them."""
    current = head(today)
    if current.held_back:
        raise FeedHeldBack(current)
    records = CreditRecord.objects.disclosed(on=today)
    if entity_code:
        # The document's ``entity``: the code, or a natural person's masked number.
        records = records.filter(
            Q(entity__code=entity_code) | Q(entity__code__isnull=True, entity__id_number_masked=entity_code)
        )
    total = {"count": 0, "hash": 0}
    buckets: dict[int, dict] = {}
    for record_id, version in records.values_list("id", "published__version").iterator(chunk_size=10000):
        # A shown record always has its published document (the services write both in one
        # transaction); were one missing, the hash would say so.
        value = _hash(record_id, version or "")
        total["count"] += 1
        total["hash"] = (total["hash"] + value) % 2**64
        if bucket_size:
            bucket = buckets.setdefault(record_id // bucket_size, {"count": 0, "hash": 0})
            bucket["count"] += 1
            bucket["hash"] = (bucket["hash"] + value) % 2**64
    result = {
        "as_of": (today or timezone.localdate()).isoformat(),
        "count": total["count"],
        "hash": f"{total['hash']:016x}",
    }
    if bucket_size:
        result["bucket_size"] = bucket_size
        result["buckets"] = [
            {"bucket": key, "first_id": key * bucket_size, "count": b["count"], "hash": f"{b['hash']:016x}"}
            for key, b in sorted(buckets.items())
        ]
    return result
