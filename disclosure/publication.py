"""What agencies' copies hold, and what each change tells them.

Every service that may change a published document (a record's own fields, its status, its
dates, its entity's name, its catalog item) calls ``republish`` inside its transaction, after
its changes and under the event-order lock, for the records it touched. ``republish`` builds
each record's document from the committed state (plus the caller's own changes), compares it
with the ``PublishedDocument`` the copies hold, and says what the event must carry:

- not held before, held now: ``disclosed`` with the document;
- held before and now, document changed: ``updated`` with the document;
- held before, not now: a tombstone, named after the reason;
- otherwise nothing: the event stays in the record's history and out of the feed.

So every change to the public set, in or out, for any reason, has its event; an event's
feed content is fixed when it is written (the feed never looks at today's records); and the
snapshot (the ``PublishedDocument`` rows) is exactly the feed replayed up to its cursor.

Documents are built from one row shape (``RECORD_FIELDS``), in one function; a document's
``version`` is a hash of its content, so any change to any field changes it and the digest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from .models import (
    CreditRecord,
    EventKind,
    FeedType,
    PublishedDocument,
    published_q,
)

# The document an agency receives for a record: key -> the field it copies as it is. The
# entity's identifier, the amount and the version are added by ``document_of``.
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
RECORD_FIELDS = (*DOCUMENT_FIELDS.values(), "entity__code", "entity__id_number_masked", "penalty_amount")
DOCUMENT_KEYS = (*DOCUMENT_FIELDS, "entity", "penalty_amount", "version")

# The tombstone a status change leaves; any other way out of the copies is ``removed``, or
# ``expired`` when the record's period has simply run out.
TOMBSTONE_OF = {
    EventKind.WITHDRAWN: FeedType.WITHDRAWN,
    EventKind.REVOKED: FeedType.REVOKED,
    EventKind.SUPERSEDED: FeedType.REVOKED,
    EventKind.EXPIRED: FeedType.EXPIRED,
}


def _plain(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def document_of(row: dict) -> tuple[str, str]:
    """The (version, JSON text) of the document for a row of ``RECORD_FIELDS``."""
    document = {key: _plain(row[source]) for key, source in DOCUMENT_FIELDS.items()}
    document["entity"] = row["entity__code"] or row["entity__id_number_masked"]
    amount = row["penalty_amount"]
    document["penalty_amount"] = None if amount is None else str(amount)
    content = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    version = hashlib.sha256(content.encode()).hexdigest()[:20]
    # The same document with "version" as its last key, as ``json.dumps`` would write it.
    return version, f'{content[:-1]},"version":"{version}"}}'



def held_documents(record_ids: Iterable[int], *, on: dt.date) -> dict[int, tuple[str, str]]:
    """The documents copies should hold for these records on ``on``, by record id."""
    rows = CreditRecord.objects.disclosed_now_or_later(on=on).filter(id__in=list(record_ids))
    return {row["id"]: document_of(row) for row in rows.values(*RECORD_FIELDS)}


@dataclass(frozen=True)
class FeedEntry:
    """What one event tells agencies' copies: nothing (``type == ""``), a document, or a
    tombstone."""

    type: str = ""
    document: str = ""


NOTHING = FeedEntry()


def republish(record_ids: Iterable[int], *, kind: str, on: dt.date | None = None) -> dict[int, FeedEntry]:
    """Bring the copies' documents of these records up to date, and return what the event
    of kind ``kind`` for each record must carry. The caller holds the event-order lock
    (``services.lock_event_order``), so documents are built from the latest committed state
    and no two writers interleave their updates of the same document."""
    on = on or timezone.localdate()
    ids = list(dict.fromkeys(record_ids))
    held = held_documents(ids, on=on)
    before = dict(PublishedDocument.objects.filter(record_id__in=ids).values_list("record_id", "version"))
    entries: dict[int, FeedEntry] = {}
    upserts, gone = [], []
    for record_id in ids:
        now, was = held.get(record_id), before.get(record_id)
        if now is None and was is None:
            entries[record_id] = NOTHING
        elif now is None:
            gone.append(record_id)
        elif was is None or was != now[0]:
            version, text = now
            upserts.append(PublishedDocument(record_id=record_id, version=version, document=text))
            entries[record_id] = FeedEntry(FeedType.DISCLOSED if was is None else FeedType.UPDATED, text)
        else:
            entries[record_id] = NOTHING
    if gone:
        entries.update(_tombstones(gone, kind=kind, on=on))
        PublishedDocument.objects.filter(record_id__in=gone).delete()
    if upserts:
        PublishedDocument.objects.bulk_create(
            upserts, update_conflicts=True, unique_fields=["record"], update_fields=["version", "document"]
        )
    return entries


def _tombstones(record_ids: list[int], *, kind: str, on: dt.date) -> dict[int, FeedEntry]:
    if kind in TOMBSTONE_OF:
        return dict.fromkeys(record_ids, FeedEntry(TOMBSTONE_OF[kind]))
    # Left the copies through a correction or a catalog change: the period ran out (a
    # correction of the dates into the past), or the record is no longer published at all.
    lapsed = set(
        CreditRecord.objects.filter(published_q(), id__in=record_ids, disclosure_end__lt=on).values_list(
            "id", flat=True
        )
    )
    return {
        record_id: FeedEntry(FeedType.EXPIRED if record_id in lapsed else FeedType.REMOVED)
        for record_id in record_ids
    }
