"""Large synthetic datasets for benchmarks: millions of entities and records.

Rows are generated in Python and streamed into PostgreSQL with ``COPY`` (no per-row INSERT);
the periods come from the same ``services.compute_periods`` the site uses. Into empty tables
the indexes and constraints are built after the rows are in (see ``deferred_indexes``), and
entities are written a million at a time, so memory stays flat whatever the size. On SQLite
it falls back to ``bulk_create`` in batches, for small sizes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Case, When
from django.utils import timezone
from stdnum.cn import ric

from disclosure import divisions, identity, publication, search, services, uscc
from disclosure.fold import fold
from disclosure.models import (
    CatalogItem,
    CreditRecord,
    Department,
    DisclosureAttribute,
    DisclosureRuleSet,
    Entity,
    EntityKind,
    EventKind,
    ExpiryDay,
    FeedType,
    RecordStatus,
    published_q,
)
from disclosure.rules import VALIDITY_CATEGORIES, add_months

from . import names
from .catalog import DECISION_PREFIX, WORDING

ENTITY_COLUMNS = [
    "id",
    "code",
    "name",
    "search_name",
    "kind",
    "registration_authority",
    "entity_type",
    "division_code",
    "province_code",
    "region",
    "legal_representative",
    "id_number_digest",
    "id_number_masked",
    "indexed_names",
    "created_at",
    "updated_at",
]
RECORD_COLUMNS = [
    "id",
    "entity_id",
    "catalog_item_id",
    "department_id",
    "decision_number",
    "decision_date",
    "facts",
    "legal_basis_cited",
    "outcome",
    "penalty_amount",
    "severity",
    "valid_from",
    "valid_until",
    "rule_set_id",
    "disclosure_start",
    "disclosure_end",
    "earliest_repair_on",
    "status",
    "status_reason",
    "status_changed_at",
    "superseded_by_id",
    "expiry_recorded_on",
    "created_at",
    "updated_at",
]
NULL = "\\N"
KIND_PREFIX = {
    EntityKind.ENTERPRISE: "91",
    EntityKind.INDIVIDUAL_BUSINESS: "92",
    EntityKind.SOCIAL_ORGANISATION: "51",
    EntityKind.PUBLIC_INSTITUTION: "12",
    EntityKind.GOVERNMENT_BODY: "11",
}
KIND_WEIGHTS = [
    (EntityKind.ENTERPRISE, 70),
    (EntityKind.INDIVIDUAL_BUSINESS, 20),
    (EntityKind.SOCIAL_ORGANISATION, 3),
    (EntityKind.PUBLIC_INSTITUTION, 3),
    (EntityKind.GOVERNMENT_BODY, 2),
    (EntityKind.NATURAL_PERSON, 2),
]
# The tables a run fills: when they are all empty, their indexes and constraints are built
# once the rows are in, not maintained row by row.
BULK_TABLES = (
    "disclosure_entity",
    "disclosure_formername",
    "disclosure_namegram",
    "disclosure_creditrecord",
    "disclosure_recordevent",
    "disclosure_publisheddocument",
)


def _text(value) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


class DatasetGenerator:
    def __init__(
        self,
        *,
        entities: int,
        records: int,
        seed: int,
        as_of: dt.date,
        progress: Callable[[str], None] = print,
        batch: int = 50_000,
        chunk: int = 1_000_000,
    ):
        self.entity_count = entities
        self.record_count = records
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.progress = progress
        self.batch = batch
        self.chunk = chunk  # entities whose names are held in memory at once
        self.done: dict[str, int] = defaultdict(int)
        self.spent: dict[str, float] = defaultdict(float)
        self.now = timezone.now()
        self.names: list[tuple[int, list[str]]] = []
        self.person_ids: set[int] = set()  # the natural persons of this run: their records' items apply to them
        self.gram_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    # -- entities -------------------------------------------------------------------------
    def entity_rows(self, first_id: int, start: int, stop: int) -> Iterator[tuple]:
        """Entity rows ``start`` to ``stop`` of the run; the names (current, then former) are
        kept in ``self.names`` for the search index and the former-name rows written after."""
        rng = self.rng
        counties = divisions.current_counties()
        kinds = [k for k, _w in KIND_WEIGHTS]
        weights = [w for _k, w in KIND_WEIGHTS]
        now = self.now.isoformat()
        for offset in range(start, stop):
            entity_id = first_id + offset
            kind = rng.choices(kinds, weights)[0]
            division = rng.choice(counties)
            _province, region = divisions.lookup(division)
            city = divisions.city_name(division)
            code = authority = entity_type = digest = None
            masked = legal_rep = ""
            if kind == EntityKind.NATURAL_PERSON:
                self.person_ids.add(entity_id)
                # Birth date and sequence number from the offset: unique by construction.
                birth = dt.date(1960, 1, 1) + dt.timedelta(days=offset // 1000)
                first17 = f"{division}{birth:%Y%m%d}{offset % 1000:03d}"
                number = first17 + ric.calc_check_digit(first17 + "0")
                name = names.person_name(rng)
                digest, masked = identity.digest(number), identity.mask(number)
                authority = entity_type = ""
            else:
                # The organisation code is the entity's sequence number: unique by construction.
                code = uscc.make_code(KIND_PREFIX[kind], division, f"{entity_id:08d}")
                authority, entity_type = code[0], code[1]
                legal_rep = names.person_name(rng)
                if kind == EntityKind.ENTERPRISE:
                    name = names.enterprise_name(rng, city)
                elif kind == EntityKind.INDIVIDUAL_BUSINESS:
                    name = f"{city}{names.trade_name(rng)}{rng.choice(names.SHOPS)}"
                elif kind == EntityKind.SOCIAL_ORGANISATION:
                    name = f"{city}{names.trade_name(rng)}{rng.choice(names.ASSOCIATIONS)}"
                elif kind == EntityKind.PUBLIC_INSTITUTION:
                    name = f"{city}{names.trade_name(rng)}{rng.choice(names.INSTITUTIONS)}"
                else:
                    name = f"{region}{rng.choice(names.GOVERNMENT)}"
            entity_names = [name]
            if kind == EntityKind.ENTERPRISE and rng.random() < 0.03:
                entity_names.append(names.enterprise_name(rng, city))
            self.names.append((entity_id, entity_names))
            yield (
                entity_id, code, name, fold(name), kind, authority, entity_type, division, division[:2], region,
                legal_rep, digest, masked, json.dumps(entity_names, ensure_ascii=False), now, now,
            )  # fmt: skip

    def former_name_rows(self) -> Iterator[tuple]:
        for entity_id, entity_names in self.names:
            for former in entity_names[1:]:
                changed_on = self.as_of - dt.timedelta(days=365 + entity_id % 1000)
                yield (entity_id, former, fold(former), changed_on)

    def posting_rows(self) -> Iterator[tuple]:
        """The search postings of every new entity; the gram counts are tallied on the way."""
        for entity_id, entity_names in self.names:
            terms = search.index_terms(entity_names)
            for gram in terms.current:
                self.gram_counts[gram][0] += 1
            for gram in terms.any_name:
                self.gram_counts[gram][1] += 1
            yield from ((gram, entity_id, in_current) for gram, in_current in terms.postings.items())

    def add_gram_counts(self) -> None:
        """Add the tallied counts to the table (rows may exist from earlier data)."""
        rows = [(gram, current, any_name) for gram, (current, any_name) in self.gram_counts.items()]
        sql = (
            "INSERT INTO disclosure_namegramcount (gram, current, any_name) VALUES (%s, %s, %s) "
            "ON CONFLICT (gram) DO UPDATE SET current = disclosure_namegramcount.current + excluded.current, "
            "any_name = disclosure_namegramcount.any_name + excluded.any_name"
        )
        started = time.monotonic()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("DROP TABLE IF EXISTS gram_delta")
                cursor.execute(
                    "CREATE TEMPORARY TABLE gram_delta (gram varchar(4), current integer, any_name integer) "
                    "ON COMMIT DROP"
                )
                with cursor.connection.cursor().copy("COPY gram_delta FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(
                    sql.replace("VALUES (%s, %s, %s)", "SELECT gram, current, any_name FROM gram_delta")
                )
            else:
                for at in range(0, len(rows), self.batch):
                    cursor.executemany(sql, rows[at : at + self.batch])
        self.progress(f"  gram counts: {len(rows):,} in {time.monotonic() - started:.0f}s")

    # -- records --------------------------------------------------------------------------
    def record_rows(self, first_id: int, entity_ids: tuple[int, int]) -> Iterator[tuple]:
        # Reference data is read before the rows are streamed: no query can run during a COPY.
        items = list(CatalogItem.objects.all())
        departments = {d.pk: d for d in Department.objects.all()}
        rule_sets = list(DisclosureRuleSet.objects.prefetch_related("rules").order_by("-effective_from"))
        return self._record_rows(first_id, entity_ids, items, departments, rule_sets)

    def _record_rows(self, first_id, entity_ids, items, departments, rule_sets) -> Iterator[tuple]:
        rng = self.rng
        weights = [1 if item.category in VALIDITY_CATEGORIES else 3 for item in items]
        # The items that apply to natural persons, and to organisations: a drawn item that does not
        # apply to the drawn entity is drawn again among these.
        applicable = {
            person: [(item, weight) for item, weight in zip(items, weights, strict=True)
                     if item.applies_to(EntityKind.NATURAL_PERSON if person else EntityKind.ENTERPRISE)]
            for person in (True, False)
        }  # fmt: skip
        now = self.now.isoformat()
        low, high = entity_ids
        # Many records share an item and a decision date: compute each combination once.
        periods_cache: dict[tuple, tuple] = {}
        for offset in range(self.record_count):
            record_id = first_id + offset
            item = rng.choices(items, weights)[0]
            entity_id = rng.randint(low, high)
            person = entity_id in self.person_ids
            if not item.applies_to(EntityKind.NATURAL_PERSON if person else EntityKind.ENTERPRISE):
                if not applicable[person]:
                    raise ValueError(f"no catalog item applies to entity {entity_id}")
                item = rng.choices(*zip(*applicable[person], strict=True))[0]
            decided = self.as_of - dt.timedelta(days=int(rng.triangular(0, 1400, 200)))
            facts, basis, outcome, _amount = rng.choice(WORDING[item.code])
            valid_from = valid_until = None
            if item.category in VALIDITY_CATEGORIES:
                valid_from = decided
                valid_until = add_months(decided, 12 * rng.choice([1, 2, 3, 5])) - dt.timedelta(days=1)
            key = (item.pk, decided, valid_until)
            computed = periods_cache.get(key)
            if computed is None:
                computed = periods_cache[key] = services.compute_periods(
                    item=item,
                    severity="",
                    decision_date=decided,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    rule_sets=rule_sets,
                )
            severity, rule_set, periods = computed
            department = departments[item.provider_id]
            number = f"{DECISION_PREFIX.get(department.code, 'G')}〔{decided.year}〕G{record_id:09d}号"
            yield (
                record_id,
                entity_id,
                item.pk,
                department.pk,
                number,
                decided,
                facts,
                basis,
                outcome,
                None,
                severity,
                valid_from,
                valid_until,
                rule_set.pk if rule_set else None,
                periods.disclosure_start,
                periods.disclosure_end,
                periods.earliest_repair_on,
                RecordStatus.DISCLOSED,
                "",
                None,
                None,
                # Already lapsed: its ``expired`` event is written by ``expired_events``.
                self.as_of if periods.disclosure_end and periods.disclosure_end < self.as_of else None,
                now,
                now,
            )

    # -- writing --------------------------------------------------------------------------
    def run(self) -> None:
        started = time.monotonic()
        with transaction.atomic(), self.deferred_indexes(BULK_TABLES):
            first_entity = (Entity.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
            for start in range(0, self.entity_count, self.chunk):
                stop = min(start + self.chunk, self.entity_count)
                self.write(
                    "disclosure_entity",
                    ENTITY_COLUMNS,
                    self.entity_rows(first_entity, start, stop),
                    self.entity_count,
                    "entities",
                )
                self.write(
                    "disclosure_formername", ["entity_id", "name", "search_name", "changed_on"],
                    self.former_name_rows(), None, "former names",
                )  # fmt: skip
                self.write(
                    "disclosure_namegram",
                    ["gram", "entity_id", "in_current"],
                    self.posting_rows(),
                    None,
                    "postings",
                )
                self.names.clear()
            self.add_gram_counts()
            first_record = (
                CreditRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0
            ) + 1
            entity_ids = (first_entity, first_entity + self.entity_count - 1)
            self.write(
                "disclosure_creditrecord",
                RECORD_COLUMNS,
                self.record_rows(first_record, entity_ids),
                self.record_count,
                "records",
            )
            self.created_events(first_record)
            self.expired_events(first_record)
            self.reset_sequences()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "ANALYZE disclosure_entity, disclosure_formername, disclosure_namegram, "
                    "disclosure_namegramcount, disclosure_creditrecord, disclosure_recordevent, disclosure_publisheddocument, "
                    "disclosure_catalogitem, disclosure_department"
                )
        self.progress(f"done in {time.monotonic() - started:.0f}s")

    def write(self, table: str, columns: list[str], rows: Iterator[tuple], total: int, label: str) -> None:
        started = time.monotonic()
        if connection.vendor == "postgresql":
            self._copy(table, columns, rows, total, label, started)
        else:
            self._bulk_insert(table, columns, rows, total, label, started)

    def _report(self, label: str, done: int, total: int | None, started: float) -> None:
        """Progress of ``label`` over the whole run (a table may be written in several parts)."""
        elapsed = self.spent[label] + time.monotonic() - started
        done += self.done[label]
        rate = done / elapsed if elapsed else 0
        of_total = f"/{total:,}" if total is not None else ""
        self.progress(f"  {label}: {done:,}{of_total} ({rate:,.0f}/s)")

    def _copy(self, table, columns, rows, total, label, started) -> None:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        done = 0
        with connection.cursor() as cursor, cursor.connection.cursor().copy(sql) as copy:
            buffer = io.StringIO()
            for done, row in enumerate(rows, start=1):  # noqa: B007 - the count is reported after
                # Generated text never holds tabs, newlines or backslashes: no escaping needed.
                buffer.write("\t".join(_text(value) for value in row))
                buffer.write("\n")
                if done % self.batch == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
                    if done % (self.batch * 4) == 0:
                        self._report(label, done, total, started)
            copy.write(buffer.getvalue())
        self._report(label, done, total, started)
        self._account(label, done, started)

    def _account(self, label: str, done: int, started: float) -> None:
        self.done[label] += done
        self.spent[label] += time.monotonic() - started

    def _bulk_insert(self, table, columns, rows, total, label, started) -> None:
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
        chunk: list[tuple] = []
        done = 0
        with connection.cursor() as cursor:
            for done, row in enumerate(rows, start=1):  # noqa: B007 - the count is reported after
                chunk.append(tuple(v.isoformat() if isinstance(v, dt.date) else v for v in row))
                if len(chunk) == self.batch:
                    cursor.executemany(sql, chunk)
                    chunk = []
                    self._report(label, done, total, started)
            if chunk:
                cursor.executemany(sql, chunk)
        self._report(label, done, total, started)
        self._account(label, done, started)

    def created_events(self, first_record: int) -> None:
        """One ``created`` event per new record, in record order, each with what it told
        agencies' feeds, and the copies' documents (``disclosure.publication``); then an
        ``expired`` event for each record whose period has already ended, as on a site that
        has been running (the daily job's), which removes it from the copies again."""
        started = time.monotonic()
        services.lock_event_order()
        last = CreditRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0
        event_columns = [
            "record_id", "kind", "occurred_at", "effective_on", "actor_label", "reason", "reference",
            "changes", "feed_type", "document",
        ]  # fmt: skip
        published = Case(When(published_q(), then=True), default=False)
        events = copies = 0
        for low in range(first_record, last + 1, self.batch):
            rows = (
                CreditRecord.objects.filter(id__gte=low, id__lt=low + self.batch)
                .annotate(is_published=published)
                .order_by("id")
                .values(*publication.RECORD_FIELDS, "is_published", "created_at")
            )
            event_rows, copy_rows = [], []
            for row in rows:
                start = row["disclosure_start"] or row["decision_date"]
                if row["is_published"]:
                    version, text = publication.document_of(row)
                    event_rows.append((row["id"], EventKind.CREATED, row["created_at"], start, "system", "", "",
                                       "{}", FeedType.DISCLOSED, text))  # fmt: skip
                    if row["disclosure_end"] >= self.as_of:
                        copy_rows.append((row["id"], version, text))
                else:
                    event_rows.append((row["id"], EventKind.CREATED, row["created_at"], start, "system", "", "",
                                       "{}", "", ""))  # fmt: skip
            self._insert("disclosure_recordevent", event_columns, event_rows)
            self._insert("disclosure_publisheddocument", ["record_id", "version", "document"], copy_rows)
            events += len(event_rows)
            copies += len(copy_rows)
            self._report("events", events, self.record_count, started)
        self.progress(f"  published documents: {copies:,} in {time.monotonic() - started:.0f}s")

    def _insert(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.connection.cursor().copy(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                placeholders = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
                )

    def expired_events(self, first_record: int) -> None:
        """The new records whose period has already ended lapsed on their own day, as on a site
        that has been running: their ``expired`` events are written, as the daily job would."""
        started = time.monotonic()
        next_day = (
            "r.disclosure_end + 1"
            if connection.vendor == "postgresql"
            else "date(r.disclosure_end, '+1 day')"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO disclosure_recordevent (record_id, kind, occurred_at, effective_on, actor_label,"
                " reason, reference, changes, feed_type, document)"
                f" SELECT r.id, %s, %s, {next_day}, 'system', '', '', '{{}}',"
                " CASE WHEN c.disclosure_attribute = %s AND r.disclosure_start IS NOT NULL THEN %s ELSE '' END, ''"
                " FROM disclosure_creditrecord r JOIN disclosure_catalogitem c ON c.id = r.catalog_item_id"
                " WHERE r.id >= %s AND r.status = %s AND r.disclosure_end < %s ORDER BY r.disclosure_end, r.id",
                [EventKind.EXPIRED, self.now, DisclosureAttribute.PUBLIC, FeedType.EXPIRED, first_record,
                 RecordStatus.DISCLOSED, self.as_of],
            )  # fmt: skip
            written = cursor.rowcount
        # The records' ``expiry_recorded_on`` was set as they were generated (``_record_rows``).
        # The day's expiries are written, as the daily job records it: the feed shows the day.
        ExpiryDay.objects.get_or_create(day=self.as_of, defaults={"written_at": self.now, "expiry_events": written})
        self.progress(f"  expiry events: {written:,} in {time.monotonic() - started:.0f}s")

    @contextmanager
    def deferred_indexes(self, tables: tuple[str, ...]) -> Iterator[None]:
        """Into empty PostgreSQL tables, load first and index after, in the same transaction:
        drop the tables' foreign keys, unique and primary keys (but those a foreign key relies
        on) and other indexes, and create them again once the rows are in. Building an index
        sorts its rows once; maintaining it row by row costs a random page per row once it
        outgrows memory (the search postings' key, 21 million rows a million entities), and
        each foreign key would queue a check per row until the commit. Re-adding a unique
        key or a foreign key checks every row, as the row-by-row path would have."""
        if connection.vendor != "postgresql" or any(self._has_rows(table) for table in tables):
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT con.conrelid::regclass::text, con.conname, con.contype, pg_get_constraintdef(con.oid)"
                " FROM pg_constraint con WHERE con.conrelid = ANY(%s::regclass[]) AND con.contype IN ('f', 'p', 'u')"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = con.conindid"
                "                 AND con.contype <> 'f')"
                " ORDER BY con.contype = 'f' DESC, con.conname",
                [list(tables)],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
                " WHERE i.indrelid = ANY(%s::regclass[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
                "   WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))"
                " ORDER BY 1",
                [list(tables)],
            )
            indexes = cursor.fetchall()
            self._run_queued_checks(cursor)
            for table, name, _kind, _definition in constraints:  # foreign keys first
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {name}")
        yield
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            self._run_queued_checks(cursor)
            for _name, definition in indexes:
                cursor.execute(definition)
            for table, name, _kind, definition in reversed(constraints):  # keys before foreign keys
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        self.progress(
            f"  indexes and constraints: {len(indexes)} indexes, {len(constraints)} constraints"
            f" in {time.monotonic() - started:.0f}s"
        )

    @staticmethod
    def _run_queued_checks(cursor) -> None:
        """ALTER TABLE refuses a table with foreign-key checks still queued in the transaction
        (rows written earlier in it, e.g. the demo catalog in a test): run them now."""
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    @staticmethod
    def _has_rows(table: str) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            return cursor.fetchone()[0]

    def reset_sequences(self) -> None:
        if connection.vendor != "postgresql":
            return  # SQLite's rowid follows the largest id by itself.
        with connection.cursor() as cursor:
            for table in ("disclosure_entity", "disclosure_creditrecord"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                )
