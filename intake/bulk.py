"""Many new records and entities at once, with exactly what the per-record services write.

``records_create_bulk`` writes, for a list of new records, what ``services.record_create``
writes for each: the record with its computed dates, its entity's ``records_version`` bumped
once per record, a ``created`` event with the record's snapshot, and what the event tells
agencies' feeds with the copies' ``PublishedDocument`` (from ``publication.republish``, the
one place that decides it). ``entities_create_bulk`` writes what ``services.entity_create``
writes for new entities: the entity and its search postings and gram counts.

The caller holds the transaction and has locked, in id order, the entities whose records
it adds (step 1 of the lock order in ``disclosure.services``); the event-order lock is taken
here, after the bumps (step 2), and ``PublishedDocument`` rows are written after it (step 3).
A test compares both paths on the same file (tests/intake/test_bulk.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db import connection
from django.db.models import F
from django.utils import timezone

from disclosure import divisions, publication, services
from disclosure.models import (
    CreditRecord,
    Department,
    Entity,
    EventKind,
    NameGram,
    RecordEvent,
)
from disclosure.search import index_terms

BATCH = 2000


def records_create_bulk(*, department: Department, actor, reference: str, rows: list[tuple[dict, str, tuple]]) -> list[int]:
    """Create records from ``rows`` of (stated fields, reason, (severity, rule set, periods)),
    each already checked (scope, dates, severity, lengths, unique numbers). Returns their ids,
    in order."""
    if not rows:
        return []
    records = []
    for stated, _reason, (severity, rule_set, periods) in rows:
        record = CreditRecord(department=department, **stated)
        record.decision_number = record.decision_number.strip()
        record.severity, record.rule_set = severity, rule_set
        record.disclosure_start = periods.disclosure_start
        record.disclosure_end = periods.disclosure_end
        record.earliest_repair_on = periods.earliest_repair_on
        records.append(record)
    CreditRecord.objects.bulk_create(records, batch_size=BATCH)
    now, today = timezone.now(), timezone.localdate()
    # As many bumps per entity as the services make: one per record.
    per_entity = Counter(record.entity_id for record in records)
    by_count: dict[int, list[int]] = defaultdict(list)
    for entity_id, count in per_entity.items():
        by_count[count].append(entity_id)
    for count, ids in by_count.items():
        for start in range(0, len(ids), BATCH):
            Entity.objects.filter(pk__in=ids[start : start + BATCH]).update(
                records_version=F("records_version") + count, records_changed_at=now
            )
    services.lock_event_order()
    label = services.actor_label(actor)
    for start in range(0, len(records), BATCH):
        part = records[start : start + BATCH]
        entries = publication.republish([record.pk for record in part], kind=EventKind.CREATED)
        RecordEvent.objects.bulk_create(
            RecordEvent(
                record_id=record.pk,
                kind=EventKind.CREATED,
                occurred_at=now,
                actor=actor,
                actor_label=label,
                reason=reason,
                reference=reference,
                changes=services._snapshot(record),
                effective_on=record.disclosure_start or today,
                feed_type=entries[record.pk].type,
                document=entries[record.pk].document,
            )
            for record, (_stated, reason, _periods) in zip(part, rows[start : start + BATCH], strict=True)
        )
    return [record.pk for record in records]


def entity_build_known_code(*, name: str, kind: str, code: str) -> Entity:
    """What ``services.entity_build`` makes of an organisation whose code is already
    validated (``uscc.validate``), without its per-entity uniqueness query: the caller knows
    the code is new (it holds the department's intake lock, and the unique index stands)."""
    entity = Entity(name=name.strip(), kind=kind, code=code)
    entity.registration_authority, entity.entity_type, entity.division_code = code[0], code[1], code[2:8]
    province, region = divisions.lookup(entity.division_code)
    entity.province_code = entity.division_code[:2] if province else ""
    entity.region = region
    return entity


def entities_create_bulk(entities: list[Entity]) -> list[Entity]:
    """Save new, validated entities (``services.entity_build``) and index their names as
    ``search.index_entity`` does for a new entity: its postings, and the gram counts."""
    if not entities:
        return []
    Entity.objects.bulk_create(entities, batch_size=BATCH)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    postings = []
    for entity in entities:
        terms = index_terms([entity.name])
        for gram in terms.current:
            counts[gram][0] += 1
        for gram in terms.any_name:
            counts[gram][1] += 1
        postings.extend(NameGram(gram=gram, entity_id=entity.pk, in_current=flag) for gram, flag in terms.postings.items())
        entity.indexed_names = [entity.name]
    NameGram.objects.bulk_create(postings, batch_size=10_000)
    _add_gram_counts(counts)
    for start in range(0, len(entities), BATCH):
        Entity.objects.bulk_update(entities[start : start + BATCH], ["indexed_names"])
    return entities


def _add_gram_counts(counts: dict[str, list[int]]) -> None:
    """Add to the gram counts in a few statements (an upsert per thousand grams)."""
    rows = [(gram, current, any_name) for gram, (current, any_name) in sorted(counts.items())]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            part = rows[start : start + 1000]
            cursor.execute(
                "INSERT INTO disclosure_namegramcount (gram, current, any_name) VALUES "
                + ", ".join(["(%s, %s, %s)"] * len(part))
                + " ON CONFLICT (gram) DO UPDATE SET current = disclosure_namegramcount.current + excluded.current,"
                " any_name = disclosure_namegramcount.any_name + excluded.any_name",
                [value for row in part for value in row],
            )
