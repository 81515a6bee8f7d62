"""Many new records and entities at once, with exactly what the per-record services write.

``records_create_bulk`` writes, for a list of new records, what ``services.record_create``
writes for each: the record with its computed dates, its entity's ``records_version`` bumped
once per record, a ``created`` event with the record's snapshot, and what the event tells
agencies' feeds with the copies' ``PublishedDocument``. ``entities_create_bulk`` writes what
``services.entity_create`` writes for new entities: the entity and its search postings and
gram counts.

On PostgreSQL the rows are streamed with ``COPY`` and nothing is read back but the ids of
the new records agencies' copies hold (``disclosed_now_or_later``, the one rule): the ids
come from the sequences up front, the documents are built by ``publication.document_of``
from the values in hand, in the shape ``republish`` reads from the database. A new record
has no document yet, so what ``republish`` would say of it is ``disclosed`` with its
document when copies hold it, nothing otherwise. On SQLite the same rows are written through
the ORM and ``republish`` (slower, for small files and tests).

The caller holds the transaction and has locked, in id order, the entities whose records
it adds (step 1 of the lock order in ``disclosure.services``); the event-order lock is taken
here, after the bumps (step 2), and ``PublishedDocument`` rows are written after it (step 3).
A test compares both paths with the per-record services on the same file
(tests/intake/test_bulk.py).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import F
from django.utils import timezone

from disclosure import divisions, identity, pagecache, publication, services
from disclosure.fold import fold
from disclosure.models import (
    CreditRecord,
    Department,
    Entity,
    EntityKind,
    EventKind,
    FeedType,
    NameGram,
    RecordEvent,
    RecordStatus,
)
from disclosure.search import index_terms
from ops.logs import current_request_id

BATCH = 2000
CENT = Decimal("0.01")
RECORD_COLUMNS = (
    "id", "entity_id", "catalog_item_id", "department_id", "decision_number", "decision_date", "facts",
    "legal_basis_cited", "outcome", "penalty_amount", "severity", "valid_from", "valid_until", "rule_set_id",
    "disclosure_start", "disclosure_end", "earliest_repair_on", "status", "status_reason", "created_at", "updated_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "record_id", "kind", "occurred_at", "effective_on", "actor_id", "actor_label", "reason", "reference", "changes",
    "feed_type", "document", "request_id",
)  # fmt: skip
ENTITY_COLUMNS = (
    "id", "code", "name", "search_name", "kind", "registration_authority", "entity_type", "division_code",
    "province_code", "region", "legal_representative", "id_number_masked", "indexed_names", "records_version",
    "created_at", "updated_at", "id_number_digest",
)  # fmt: skip
SNAPSHOT_FIELDS = (*services.STATED_FIELDS, *services.COMPUTED_FIELDS, "status")


def copying() -> bool:
    """Whether rows are streamed with ``COPY`` (PostgreSQL) rather than inserted by the ORM."""
    return connection.vendor == "postgresql"


def copy_rows(table: str, columns, rows) -> None:
    """Stream ``rows`` (tuples of Python values, in ``columns`` order) into ``table``."""
    with connection.cursor() as cursor, cursor.connection.cursor().copy(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)


def next_ids(model, count: int) -> list[int]:
    """``count`` ids from the table's sequence, in one statement, in the order drawn."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s) ORDER BY 1", [table, count]
        )
        return [value for (value,) in cursor.fetchall()]


def records_create_bulk(
    *, department: Department, actor, reference: str, rows: list[tuple[dict, str, tuple]], bumps: Counter | None = None
) -> list[int]:
    """Create records from ``rows`` of (stated fields, reason, (severity, rule set, periods)),
    each already checked (scope, dates, severity, lengths, unique numbers). The stated fields
    hold the ``entity`` (its current ``name`` and ``code`` set) and the ``catalog_item``.
    Returns their ids, in order.

    ``bumps``: add the entities' ``records_version`` bumps to this counter, for the caller to
    make once for many calls (``entities_bump``) rather than now; a caller that does holds
    the entities' row locks (or created them), so the late bump waits for no one."""
    if not rows:
        return []
    if not copying():
        return _records_create_orm(department=department, actor=actor, reference=reference, rows=rows, bumps=bumps)
    now, today = timezone.now(), timezone.localdate()
    ids = next_ids(CreditRecord, len(rows))
    records = []  # (id, stated, reason, severity, rule set, periods)
    for record_id, (stated, reason, (severity, rule_set, periods)) in zip(ids, rows, strict=True):
        records.append((record_id, stated, reason, severity, rule_set, periods))
    copy_rows("disclosure_creditrecord", RECORD_COLUMNS, (
        (record_id, s["entity"].pk, s["catalog_item"].pk, department.pk, s["decision_number"].strip(),
         s["decision_date"], s["facts"], s["legal_basis_cited"], s["outcome"], s["penalty_amount"], severity,
         s["valid_from"], s["valid_until"], rule_set.pk if rule_set else None, periods.disclosure_start,
         periods.disclosure_end, periods.earliest_repair_on, RecordStatus.DISCLOSED, "", now, now)
        for record_id, s, _reason, severity, rule_set, periods in records
    ))  # fmt: skip
    per_entity = Counter(stated["entity"].pk for _id, stated, *_rest in records)
    if bumps is None:
        entities_bump(per_entity, at=now)
    else:
        bumps.update(per_entity)
    occurred = services.lock_event_order()
    # The items checked again under the lock (``services.check_still_applies``): a narrowing
    # committed since the rows were checked refuses them; none can commit before this writer.
    services.check_still_applies((stated["catalog_item"].pk, stated["entity"].kind) for _id, stated, *_rest in records)
    # What agencies' copies hold, decided by the one rule, for the rows just written.
    held = set(
        CreditRecord.objects.disclosed_now_or_later(on=today)
        .filter(department=department, id__gte=ids[0], id__lte=ids[-1])
        .values_list("id", flat=True)
    )
    label = services.actor_label(actor)
    actor_id = actor.pk if actor is not None else None
    request_id = current_request_id()
    documents = []

    def events():
        # Made one by one as ``COPY`` sends them: the server stores an event while the next
        # one is made, rather than the two taking turns over the whole chunk.
        for record_id, stated, reason, severity, rule_set, periods in records:
            values = {**stated, "severity": severity, "rule_set": rule_set, "status": RecordStatus.DISCLOSED}
            values["decision_number"] = stated["decision_number"].strip()
            values.update(disclosure_start=periods.disclosure_start, disclosure_end=periods.disclosure_end,
                          earliest_repair_on=periods.earliest_repair_on)  # fmt: skip
            snapshot = json.dumps({name: services._json_value(values[name]) for name in SNAPSHOT_FIELDS}, ensure_ascii=False)
            feed_type = document = ""
            if record_id in held:
                version, document = publication.document_of(_document_row(record_id, values, department))
                feed_type = FeedType.DISCLOSED
                documents.append((record_id, version, document))
            yield (record_id, EventKind.CREATED, occurred, periods.disclosure_start or today, actor_id, label, reason,
                   reference, snapshot, feed_type, document, request_id)  # fmt: skip

    copy_rows("disclosure_recordevent", EVENT_COLUMNS, events())
    copy_rows("disclosure_publisheddocument", ("record_id", "version", "document"), documents)
    return ids


def _document_row(record_id: int, values: dict, department: Department) -> dict:
    """A row of ``publication.RECORD_FIELDS`` for a new record, as the database returns it
    (the amount with its two decimal places)."""
    entity, item, amount = values["entity"], values["catalog_item"], values["penalty_amount"]
    return {
        "id": record_id, "entity__name": entity.name, "catalog_item__code": item.code,
        "catalog_item__category": item.category, "department__code": department.code,
        "decision_number": values["decision_number"], "decision_date": values["decision_date"],
        "facts": values["facts"], "legal_basis_cited": values["legal_basis_cited"], "outcome": values["outcome"],
        "severity": values["severity"], "valid_from": values["valid_from"], "valid_until": values["valid_until"],
        "disclosure_start": values["disclosure_start"], "disclosure_end": values["disclosure_end"],
        "earliest_repair_on": values["earliest_repair_on"], "entity__code": entity.code,
        "entity__id_number_masked": entity.id_number_masked,
        "penalty_amount": None if amount is None else abs(amount.quantize(CENT)),
    }  # fmt: skip


def entities_bump(per_entity: Counter, *, at) -> None:
    """As many ``records_version`` bumps per entity as the services make: one per record."""
    pagecache.entities_changed(per_entity)
    if copying():
        pairs = sorted(per_entity.items())
        with connection.cursor() as cursor:
            for start in range(0, len(pairs), 20_000):
                part = pairs[start : start + 20_000]
                cursor.execute(
                    "UPDATE disclosure_entity e SET records_version = e.records_version + d.n, records_changed_at = %s"
                    " FROM unnest(%s::bigint[], %s::integer[]) AS d(id, n) WHERE e.id = d.id",
                    [at, [pk for pk, _n in part], [n for _pk, n in part]],
                )
        return
    by_count: dict[int, list[int]] = defaultdict(list)
    for entity_id, count in per_entity.items():
        by_count[count].append(entity_id)
    for count, ids in by_count.items():
        for start in range(0, len(ids), BATCH):
            Entity.objects.filter(pk__in=ids[start : start + BATCH]).update(
                records_version=F("records_version") + count, records_changed_at=at
            )


def _records_create_orm(*, department, actor, reference, rows, bumps) -> list[int]:
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
    per_entity = Counter(record.entity_id for record in records)
    if bumps is None:
        entities_bump(per_entity, at=now)
    else:
        bumps.update(per_entity)
    occurred = services.lock_event_order()
    services.check_still_applies((record.catalog_item_id, record.entity.kind) for record in records)
    label = services.actor_label(actor)
    for start in range(0, len(records), BATCH):
        part = records[start : start + BATCH]
        entries = publication.republish([record.pk for record in part], kind=EventKind.CREATED)
        RecordEvent.objects.bulk_create(
            RecordEvent(
                record_id=record.pk,
                kind=EventKind.CREATED,
                occurred_at=occurred,
                actor=actor,
                actor_label=label,
                reason=reason,
                reference=reference,
                changes=services._snapshot(record),
                effective_on=record.disclosure_start or today,
                feed_type=entries[record.pk].type,
                document=entries[record.pk].document,
                request_id=current_request_id(),
            )
            for record, (_stated, reason, _periods) in zip(part, rows[start : start + BATCH], strict=True)
        )
    return [record.pk for record in records]


def entity_build_known_code(*, name: str, kind: str, code: str) -> Entity:
    """What ``services.entity_build`` makes of an organisation whose code is already
    validated (``uscc.validate``), without its per-entity uniqueness query: the caller knows
    the code is new (it holds the department's intake lock, and the unique index stands)."""
    entity = Entity(name=name.strip(), kind=kind, code=code)
    entity.search_name = fold(entity.name)  # what ``Entity.save`` sets, which bulk writes skip
    entity.registration_authority, entity.entity_type, entity.division_code = code[0], code[1], code[2:8]
    province, region = divisions.lookup(entity.division_code)
    entity.province_code = entity.division_code[:2] if province else ""
    entity.region = region
    return entity


def entity_build_known_person(*, name: str, fingerprint: identity.Fingerprint) -> Entity:
    """What ``services.entity_build`` makes of a natural person whose number is already
    validated and fingerprinted, without its uniqueness query (as ``entity_build_known_code``)."""
    entity = Entity(name=name.strip(), kind=EntityKind.NATURAL_PERSON, code=None)
    entity.search_name = fold(entity.name)
    entity.id_number_digest, entity.id_number_masked = fingerprint.digest, fingerprint.masked
    entity.division_code = fingerprint.division_code
    province, region = divisions.lookup(entity.division_code)
    entity.province_code = entity.division_code[:2] if province else ""
    entity.region = region
    return entity


def entities_create_bulk(entities: list[Entity]) -> list[Entity]:
    """Save new, validated entities (``entity_build_known_code``) and index their names as
    ``search.index_entity`` does for a new entity: its postings, and the gram counts."""
    if not entities:
        return []
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    postings = []
    for entity in entities:
        terms = index_terms([entity.name])
        for gram in terms.current:
            counts[gram][0] += 1
        for gram in terms.any_name:
            counts[gram][1] += 1
        postings.append(terms.postings)
        entity.indexed_names = [entity.name]
    if copying():
        now = timezone.now()
        for entity, entity_id in zip(entities, next_ids(Entity, len(entities)), strict=True):
            entity.pk = entity_id
        copy_rows("disclosure_entity", ENTITY_COLUMNS, (
            (e.pk, e.code, e.name, e.search_name, e.kind, e.registration_authority, e.entity_type, e.division_code,
             e.province_code, e.region, "", e.id_number_masked, json.dumps(e.indexed_names, ensure_ascii=False), 0,
             now, now, e.id_number_digest)
            for e in entities
        ))  # fmt: skip
        copy_rows("disclosure_namegram", ("gram", "entity_id", "in_current"), (
            (gram, entity.pk, flag)
            for entity, grams in zip(entities, postings, strict=True) for gram, flag in grams.items()
        ))  # fmt: skip
    else:
        Entity.objects.bulk_create(entities, batch_size=BATCH)
        NameGram.objects.bulk_create(
            (NameGram(gram=gram, entity_id=entity.pk, in_current=flag)
             for entity, grams in zip(entities, postings, strict=True) for gram, flag in grams.items()),
            batch_size=10_000,
        )  # fmt: skip
    _add_gram_counts(counts)
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
