"""What agencies pull to keep their copies identical to the site: the change feed, the
snapshot and the digest. All three start from ``CreditRecord.objects.disclosed()`` and the
record event log, so a copy holds exactly what the site shows, for exactly its period.

- The feed serves record events in commit order (event ids follow commit order: see
  ``services.lock_event_order``); the cursor is the last event id a consumer applied.
- ``disclosed``/``updated`` events carry the record's current content while it is still
  disclosed (a record withdrawn since is never replayed with its content); ``withdrawn``,
  ``revoked`` and ``expired`` are tombstones: the record id, the reason, the time.
- The snapshot is every currently disclosed record, read in one repeatable-read transaction
  together with the feed cursor it is consistent with.
- The digest is a count and an order-independent hash of (id, version) over the disclosed
  set, overall, per bucket of ids or per entity.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, F, Func, Max, Q, TextField, When
from django.db.models.functions import Cast, Coalesce, JSONObject
from django.utils import timezone

from . import services
from .models import CreditRecord, DisclosureAttribute, EventKind, RecordEvent, RecordStatus

FEED_KIND = {
    EventKind.CREATED: "disclosed",
    EventKind.REDISCLOSED: "disclosed",
    EventKind.CORRECTED: "updated",
    EventKind.WITHDRAWN: "withdrawn",
    EventKind.REVOKED: "revoked",
    EventKind.SUPERSEDED: "revoked",
    EventKind.EXPIRED: "expired",
}
TOMBSTONES = {"withdrawn", "revoked", "expired"}
MAX_LIMIT = 5000

# The document an agency receives for a record: key -> the field it copies as it is. The
# entity's identifier, the amount and the version are added by the two builders below (in
# Python, and in PostgreSQL for the snapshot), which a test holds equal.
DOCUMENT_FIELDS = {
    "id": "id",
    "entity_name": "entity__name",
    "catalog_item": "catalog_item__code",
    "category": "catalog_item__category",
    "department": "department__code",
    "decision_number": "decision_number",
    "decision_date": "decision_date",
    "facts": "facts",
    "legal_basis_cited": "legal_basis_cited",
    "outcome": "outcome",
    "severity": "severity",
    "valid_from": "valid_from",
    "valid_until": "valid_until",
    "disclosure_start": "disclosure_start",
    "disclosure_end": "disclosure_end",
    "earliest_repair_on": "earliest_repair_on",
}
RECORD_FIELDS = (
    *DOCUMENT_FIELDS.values(), "entity__code", "entity__id_number_masked", "penalty_amount", "updated_at",
)  # fmt: skip


def _json_default(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value))


def version_of(updated_at: dt.datetime) -> str:
    """A record's version: its last change, to the microsecond, in UTC."""
    return updated_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def record_document(row: dict) -> dict:
    document = {key: row[source] for key, source in DOCUMENT_FIELDS.items()}
    document["entity"] = row["entity__code"] or row["entity__id_number_masked"]
    document["penalty_amount"] = None if row["penalty_amount"] is None else str(row["penalty_amount"])
    document["version"] = version_of(row["updated_at"])
    return document


def _published(prefix: str = "") -> Q:
    """Records the public side may ever see: a public catalog item, disclosed by the rules."""
    return Q(**{f"{prefix}catalog_item__disclosure_attribute": DisclosureAttribute.PUBLIC}) & Q(
        **{f"{prefix}disclosure_start__isnull": False}
    )


EXPIRIES_PER_REQUEST = 2000
EXPIRIES_CHECK_SECONDS = 10


def ensure_expiries_recorded(today: dt.date | None = None) -> None:
    """Expiry events appear on the day a record stops being shown, even if the daily job has
    not run yet: the feed writes what is due before it answers (one indexed look-up when
    nothing is). A request writes at most one batch; a larger backlog (after an import) is
    the daily ``records_record_expiries`` job's."""
    today = today or timezone.localdate()
    checked_key = f"feed:expiries-checked:{today.isoformat()}"
    if cache.get(checked_key):
        return
    due = CreditRecord.objects.filter(
        status=RecordStatus.DISCLOSED, disclosure_end__lt=today, expiry_recorded_on__isnull=True
    )
    # Ordered, so PostgreSQL reads the small partial index rather than guessing a scan.
    if due.order_by("disclosure_end").values_list("pk", flat=True)[:1]:
        services.records_record_expiries(on=today, batch_size=EXPIRIES_PER_REQUEST, max_batches=1)
    else:
        # Nothing was due: polls in the next seconds need not ask again. Records only become
        # due at midnight (a new key) or through a back-dated write, whose expiry then waits
        # at most this long.
        cache.set(checked_key, True, EXPIRIES_CHECK_SECONDS)


def latest_cursor() -> int:
    return RecordEvent.objects.aggregate(latest=Max("id"))["latest"] or 0


def changes(*, after: int, limit: int, today: dt.date | None = None) -> dict:
    """A page of the feed. The events are one range of the event table's primary key; the
    records they concern are then read once, by primary key, through a semi-join on that same
    range (no list of ids to send, no join for the planner to order)."""
    today = today or timezone.localdate()
    events = list(
        RecordEvent.objects.filter(id__gt=after)
        .order_by("id")
        .values("id", "kind", "occurred_at", "effective_on", "record_id", "reason", "reference")[: limit + 1]
    )
    has_more = len(events) > limit
    events = events[:limit]
    published, live = set(), {}
    if events:
        in_page = RecordEvent.objects.filter(id__gte=events[0]["id"], id__lte=events[-1]["id"]).values(
            "record_id"
        )
        records = CreditRecord.objects.filter(_published(), id__in=in_page)
        current = Q(status=RecordStatus.DISCLOSED, disclosure_end__gte=today)
        if connection.vendor == "postgresql":
            # PostgreSQL writes the documents of current records (as for the snapshot).
            rows = records.annotate(
                document=Case(When(current, then=_document_in_database()), default=None)
            ).values_list("id", "document")
            for pk, text in rows:
                published.add(pk)
                if text is not None:
                    live[pk] = json.loads(text)
        else:
            rows = records.annotate(is_current=Case(When(current, then=True), default=False)).values(
                *RECORD_FIELDS, "is_current"
            )
            for row in rows:
                published.add(row["id"])
                if row["is_current"]:
                    live[row["id"]] = record_document(row)
    out = []
    for event in events:
        if event["record_id"] not in published:
            continue  # never public: not the agencies' business
        kind = FEED_KIND[event["kind"]]
        item = {
            "cursor": event["id"],
            "type": kind,
            "record_id": event["record_id"],
            "time": event["occurred_at"],
        }
        if kind in TOMBSTONES:
            item.update(reason=event["reason"], effective_on=event["effective_on"])
            if kind == "withdrawn":
                item["repair_application"] = event["reference"]
        else:
            item["record"] = live.get(event["record_id"])  # None: no longer disclosed, a tombstone follows
        out.append(item)
    # The cursor moves past everything read, shown or not, so the next poll starts after it.
    next_cursor = events[-1]["id"] if events else after
    return {"events": out, "next": next_cursor, "has_more": has_more}


def _consistent_read(today: dt.date, read_records) -> tuple[int, Iterator]:
    """The feed cursor, then what ``read_records()`` yields, in one repeatable-read
    transaction (PostgreSQL): the records are exactly the state after the cursor's event.
    The transaction opens here and closes when the records have all been read."""
    # Lapsed records' expiry events first, so the cursor is after them: a consumer starting
    # from this snapshot is never told of an expiry of a record it never had.
    ensure_expiries_recorded(today)

    def read():
        # Inside a caller's transaction (tests) the isolation level is already set.
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if connection.vendor == "postgresql" and outermost:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield latest_cursor()
            yield from read_records()

    items = read()
    return next(items), items


def _snapshot_records(today: dt.date):
    return CreditRecord.objects.disclosed_now_or_later(on=today).order_by("id")


def snapshot(*, today: dt.date | None = None) -> tuple[int, Iterator[dict]]:
    """Every disclosed record, and the feed cursor the set is consistent with. Records whose
    disclosure starts later are included (the feed told earlier consumers of them too): a
    copy shows each record from its ``disclosure_start`` to its ``disclosure_end``. Streamed
    from a server-side cursor in constant memory."""
    today = today or timezone.localdate()

    def documents():
        records = _snapshot_records(today)
        if connection.vendor == "postgresql":
            # PostgreSQL writes each document itself: Python only passes the text on.
            texts = records.annotate(document=_document_in_database()).values_list("document", flat=True)
            for text in texts.iterator(chunk_size=5000):
                yield RawDocument(text)
        else:
            for row in records.values(*RECORD_FIELDS).iterator(chunk_size=5000):
                yield record_document(row)

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

    On PostgreSQL the documents leave the database through ``COPY … TO STDOUT``, in the same
    repeatable-read transaction as the cursor: PostgreSQL writes each line and Python passes
    the bytes on. The CSV options are chosen so COPY adds nothing: JSON text never holds a
    raw control character, so with \x01 as delimiter and \x02 as quote no value is quoted
    or escaped, and each line is exactly the document."""
    today = today or timezone.localdate()
    if connection.vendor != "postgresql":
        cursor_id, documents = snapshot(today=today)
        return cursor_id, in_blocks(to_json_line(document).encode() for document in documents)

    def lines():
        documents = (
            _snapshot_records(today).annotate(document=_document_in_database()).values_list("document")
        )
        sql, params = documents.query.sql_with_params()
        statement = (
            f"COPY ({connection.ops.compose_sql(sql, params)}) TO STDOUT "
            "(FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
        )
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            yield from in_blocks(copy)

    return _consistent_read(today, lines)


class RawDocument(str):
    """A record document already encoded as JSON by the database."""


def _document_in_database():
    """``record_document`` as PostgreSQL builds it: the same keys and values (dates as ISO
    strings, the amount as a decimal string, the version in UTC), so a consumer cannot tell
    which path wrote a line. A test checks the two against each other."""
    text = TextField()
    version = Func(
        F("updated_at"),
        template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS.US\"Z\"')",
        output_field=text,
    )
    return Cast(
        JSONObject(
            **DOCUMENT_FIELDS,
            entity=Coalesce("entity__code", "entity__id_number_masked"),
            penalty_amount=Cast("penalty_amount", text),
            version=version,
        ),
        text,
    )


def to_json_line(document) -> str:
    if isinstance(document, RawDocument):
        return document + "\n"
    return json.dumps(document, ensure_ascii=False, default=_json_default) + "\n"


def _hash(record_id: int, version: str) -> int:
    return int.from_bytes(hashlib.md5(f"{record_id}:{version}".encode()).digest()[:8], "big")


def digest(
    *, bucket_size: int | None = None, entity_code: str | None = None, today: dt.date | None = None
) -> dict:
    """Count and hash of the set disclosed on ``as_of`` (today): the hash is the sum, modulo
    2**64, of the first 8 bytes (big-endian) of md5("{id}:{version}") over the records, as
    hexadecimal. A copy computes the same over the records it shows that day."""
    records = CreditRecord.objects.disclosed(on=today)
    if entity_code:
        records = records.filter(entity__code=entity_code)
    total = {"count": 0, "hash": 0}
    buckets: dict[int, dict] = {}
    for record_id, updated_at in records.values_list("id", "updated_at").iterator(chunk_size=10000):
        value = _hash(record_id, version_of(updated_at))
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
