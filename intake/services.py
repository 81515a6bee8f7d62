"""Writes for department intake: submitting a batch, releasing it, undoing it, department keys.

A batch goes through the same two passes whatever path it came by (admin upload, department
API, ``import_records``):

1. **check** (no transaction, nothing written): every row is read and checked
   (``intake.pipeline``), then compared with the records already published: new, a
   correction, a revocation, unchanged, or refused (a revocation of an unknown number, a
   change to a record that is no longer disclosed). Checked rows wait in a temporary table
   on PostgreSQL (``intake.staging``: duplicates inside the file and the comparison are one
   statement each over the whole file), in a temporary file elsewhere; memory stays flat
   however long the file.
2. **apply** (one transaction for the whole batch): under the department's intake lock,
   every row is compared again with the records as they are now; the rows that change
   nothing are counted and dropped, the records and entities the others will change are
   locked, in id order (step 1 of the lock order in ``disclosure.services``), then each of
   those rows goes through the disclosure services (or ``intake.bulk`` for many new
   records, which writes the same rows), with the batch number as the events' reference.
   A killed import leaves nothing: the transaction never commits.

By default one refused row and nothing is imported; ``import_valid_rows`` imports the rest.
The same file again finds every row unchanged and writes nothing, not even an event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import pickle
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.core.files.storage import storages
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Coalesce
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from disclosure import identity
from disclosure import services as disclosure_services
from disclosure.models import (
    CatalogItem,
    CreditRecord,
    Department,
    Entity,
    EntityKind,
    EventKind,
    RecordEvent,
    RecordStatus,
)

from . import pipeline
from .models import (
    RUNNING,
    Batch,
    BatchStatus,
    Channel,
    DepartmentIntakePolicy,
    DepartmentKey,
    RecordAction,
    RecordBatch,
)

logger = logging.getLogger("intake")

CHUNK = 10_000
# The stated fields a row is compared on, as the record holds them.
COMPARED = (
    "catalog_item_id",
    "decision_date",
    "facts",
    "legal_basis_cited",
    "outcome",
    "penalty_amount",
    "severity",
    "valid_from",
    "valid_until",
)
# ``entity_key``: the record's entity's code, or a natural person's digest (a row's ``code``).
EXISTING_FIELDS = ("id", "decision_number", "status", "entity_id", "entity_key", *COMPARED)
NUMBER_COLUMN = pipeline.FIELDS_BY_NAME["decision_number"].zh
# Any constant: the key of the advisory lock that lets one import per department run at once.
INTAKE_LOCK = 0x696E74616B65  # "intake"


class Action:
    CREATE = "create"
    CORRECT = "correct"
    REVOKE = "revoke"
    UNCHANGED = "unchanged"


@dataclass
class Outcome:
    """What the check pass found, or the apply pass did."""

    rows_total: int = 0
    errors: list[pipeline.RowError] = field(default_factory=list)
    error_counts: Counter = field(default_factory=Counter)
    refused_lines: set[int] = field(default_factory=set)
    actions: Counter = field(default_factory=Counter)
    entities_created: int = 0
    entities_renamed: int = 0
    file_format: str = ""
    encoding: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # field name -> the file's column for it

    def refuse(self, errors: list[pipeline.RowError]) -> None:
        line = errors[0].line
        if line not in self.refused_lines:
            self.refused_lines.add(line)
            self.error_counts[errors[0].code] += 1
        if len(self.errors) < settings.INTAKE_MAX_ERRORS_KEPT:
            for error in errors:  # a message quoting a cell never shows an identity number in full
                error.message = identity.mask_in(error.message)
            self.errors.extend(errors)


class BatchFailed(Exception):
    """The apply pass found a row it cannot write in an all-or-nothing batch."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome


class BatchTaken(Exception):
    """A queued batch's worker found its attempt over: another worker has taken the batch up
    (``intake.queue``). Nothing more of this attempt is written."""


# -- department keys ----------------------------------------------------------------------------


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def department_key_issue(*, department: Department, actor, label: str = "") -> tuple[DepartmentKey, str]:
    """A new key for the department's own system. Returns the key row and the key itself,
    shown to staff this once and never stored (only its SHA-256 digest is)."""
    prefix = secrets.token_hex(4)
    raw = f"dk_{prefix}_{secrets.token_urlsafe(32)}"
    key = DepartmentKey.objects.create(
        department=department, prefix=prefix, digest=_digest(raw), label=label, created_by=actor
    )
    return key, raw


def department_key_revoke(*, key: DepartmentKey) -> DepartmentKey:
    """Stop a key working, at once; a second revocation changes nothing."""
    DepartmentKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key


def department_key_authenticate(raw_key: str) -> DepartmentKey | None:
    """The live key matching ``raw_key``, or None."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != "dk":
        return None
    key = DepartmentKey.objects.select_related("department").filter(prefix=parts[1]).first()
    if key is None or not secrets.compare_digest(key.digest, _digest(raw_key)) or key.revoked_at is not None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= dt.timedelta(minutes=1):
        DepartmentKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def requires_release(department: Department) -> bool:
    return DepartmentIntakePolicy.objects.filter(department=department, requires_release=True).exists()


@transaction.atomic
def intake_policy_set(*, department: Department, requires_release: bool) -> DepartmentIntakePolicy:
    policy, _created = DepartmentIntakePolicy.objects.update_or_create(
        department=department, defaults={"requires_release": requires_release}
    )
    return policy


# -- the two passes -----------------------------------------------------------------------------


def _spool_write(spool, rows: list) -> None:
    pickle.dump([row.as_tuple() for row in rows], spool, protocol=pickle.HIGHEST_PROTOCOL)


def _spool_read(spool) -> Iterator[list[pipeline.Row]]:
    spool.seek(0)
    while True:
        try:
            chunk = pickle.load(spool)
        except EOFError:
            return
        yield [pipeline.Row(*values) for values in chunk]


def _existing(department: Department, numbers: list[str]) -> dict[str, dict]:
    """The department's current records with these decision numbers, by number: the fields
    of ``EXISTING_FIELDS``."""
    rows = CreditRecord.objects.filter(department=department, decision_number__in=numbers).exclude(
        status=RecordStatus.SUPERSEDED
    )
    rows = rows.annotate(entity_key=Coalesce("entity__code", "entity__id_number_digest"))
    return {row["decision_number"]: row for row in rows.values(*EXISTING_FIELDS)}


def _entities(codes) -> dict[str, tuple[int, str]]:
    """The known entities with these codes (or natural persons' digests): code -> (id, name)."""
    if connection.vendor != "postgresql":
        rows = Entity.objects.filter(code__in=list(codes)).values_list("pk", "code", "name")
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, code, name FROM disclosure_entity WHERE code = ANY(%s)", [list(codes)])
            rows = cursor.fetchall()
    found = {code: (pk, name) for pk, code, name in rows}
    if digests := [code for code in codes if pipeline.is_person_key(code)]:
        persons = Entity.objects.filter(id_number_digest__in=digests).values_list("pk", "id_number_digest", "name")
        found.update((digest, (pk, name)) for pk, digest, name in persons)
    return found


def classify(row: pipeline.Row, existing: dict | None, entity_id: int | None) -> tuple[str, dict, pipeline.RowError | None]:
    """What a checked row does to the records: (action, changed fields, refusal).
    ``intake.staging.unchanged_sql`` is its ``UNCHANGED`` in SQL and ``intake.staging.NEW_SQL``
    its ``CREATE`` (tests hold them together)."""
    if row.revoked:
        if existing is None:
            return "", {}, pipeline.RowError(
                row.line, NUMBER_COLUMN, "not_found",
                _("There is no record with the decision number “%(number)s” to revoke.") % {"number": row.decision_number},
            )  # fmt: skip
        if existing["status"] == RecordStatus.REVOKED:
            return Action.UNCHANGED, {}, None
        return Action.REVOKE, {}, None
    if existing is None:
        return Action.CREATE, {}, None
    changes = {name: getattr(row, name) for name in COMPARED if getattr(row, name) != existing[name]}
    if existing["entity_key"] != row.code:
        changes["entity_id"] = entity_id
    if not changes:
        return Action.UNCHANGED, {}, None
    if existing["status"] != RecordStatus.DISCLOSED:
        return "", {}, pipeline.RowError(
            row.line, NUMBER_COLUMN, "state",
            _("The record “%(number)s” is “%(status)s”: it can no longer be corrected.")
            % {"number": row.decision_number, "status": RecordStatus(existing["status"]).label},
        )  # fmt: skip
    return Action.CORRECT, changes, None


class PickledRows:
    """The checked rows of one batch in a temporary file, compared with the records
    ``CHUNK`` numbers at a time (SQLite; PostgreSQL uses ``staging.StagedRows``)."""

    python_duplicates = True

    def __init__(self, department: Department):
        self.department = department
        self.spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.work = None
        self.chunk: list[pipeline.Row] = []
        self.outcome: Outcome | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.spool.close()
        if self.work is not None:
            self.work.close()

    def add(self, row: pipeline.Row | None, keys) -> None:
        if row is not None:
            self.chunk.append(row)
            if len(self.chunk) >= CHUNK:
                self._flush()

    def _flush(self) -> None:
        existing = _existing(self.department, [row.decision_number for row in self.chunk])
        keep = []
        for row in self.chunk:
            # The entity's id only fills in a correction's changes, which this pass drops.
            action, _changes, error = classify(row, existing.get(row.decision_number), None)
            if error:
                self.outcome.refuse([error])
            else:
                self.outcome.actions[action] += 1
                keep.append(row)
        _spool_write(self.spool, keep)
        self.chunk.clear()

    def finish(self, outcome: Outcome, columns) -> None:
        self.outcome = outcome
        if self.chunk:
            self._flush()

    def plan(self) -> int:
        """Inside the batch's transaction (which holds SQLite's one write lock): compare every
        checked row with the records as they are now, keep the rows that will write
        something; return how many need nothing (unchanged, under the same entity name)."""
        unchanged = 0
        self.work = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        for chunk in _spool_read(self.spool):
            existing = _existing(self.department, [row.decision_number for row in chunk])
            known = _entities({row.code for row in chunk})
            keep = []
            for row in chunk:
                entity = known.get(row.code)
                action, _changes, _error = classify(row, existing.get(row.decision_number), entity[0] if entity else None)
                if action == Action.UNCHANGED and (row.revoked or entity[1] == row.entity_name):
                    unchanged += 1
                    continue
                keep.append(row)
            _spool_write(self.work, keep)
        return unchanged

    def changes(self) -> Iterator[list[tuple[pipeline.Row, dict | None]]]:
        for chunk in _spool_read(self.work):
            existing = _existing(self.department, [row.decision_number for row in chunk])
            yield [(row, existing.get(row.decision_number)) for row in chunk]


def checked_rows(department: Department):
    """Where a batch's checked rows wait between the passes: a temporary table on PostgreSQL
    (compared with the records in one join), a temporary file elsewhere."""
    if connection.vendor == "postgresql":
        from .staging import StagedRows

        return StagedRows(department)
    return PickledRows(department)


def batch_check(*, department: Department, stream, file_name: str, rows, progress=None) -> Outcome:
    """Pass 1: read and check every row, compare with the published records; keep the
    checked rows in ``rows`` (``checked_rows``). Raises ``pipeline.FileRefused``."""
    outcome = Outcome()
    rows.outcome = outcome
    source = pipeline.read_rows(stream, file_name)
    outcome.file_format, outcome.encoding = source.file_format, source.encoding
    checker = pipeline.RowChecker(department=department, duplicates=rows.python_duplicates)
    columns: dict[str, str] = {}
    pending = 0
    for raw in source.rows:
        outcome.rows_total += 1
        columns = raw.columns
        row, errors = checker.check(raw)
        if errors:
            outcome.refuse(errors)
        rows.add(row, checker.keys)
        pending += 1
        if progress and pending >= CHUNK:
            progress(pending)
            pending = 0
    if outcome.rows_total == 0:
        raise pipeline.FileRefused(_("The file holds no rows."))
    outcome.columns = columns
    rows.finish(outcome, columns)
    if progress and pending:
        progress(pending)
    return outcome


def _lock_department(department: Department) -> None:
    """One import per department at a time (taken before any row lock: nobody holding a row
    lock waits for it). Two overlapping imports of the same file: the second sees the
    first's records and finds its rows unchanged."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [INTAKE_LOCK % 2**31, department.pk])


class Writer:
    """Pass 2 for one batch, inside its transaction."""

    def __init__(self, *, batch: Batch, actor, import_valid_rows: bool, bulk: bool, progress=None, columns=None):
        self.batch = batch
        self.department = batch.department
        self.actor = actor
        self.import_valid_rows = import_valid_rows
        self.bulk = bulk
        self.progress = progress
        self.outcome = Outcome()
        self.checker = pipeline.RowChecker(department=self.department)
        self.item_column = pipeline.column_of(columns or {}, "catalog_item")  # as the file names it, for errors
        self.renamed: set[str] = set()
        self.today = timezone.localdate()
        self.entities: dict[str, Entity] = {}  # code -> the entity as the chunk's rows refer to it
        self.bumps: Counter = Counter()  # entity id -> records created in bulk, bumped at the end
        self._reason: str | None = None

    def write(self, rows) -> None:
        """Compare and lock (``rows.plan``), then write every row that changes something."""
        unchanged = rows.plan()
        self.outcome.actions[Action.UNCHANGED] += unchanged
        if self.progress and unchanged:
            self.progress(unchanged)
        for pairs in rows.changes():
            self.write_chunk(pairs)
        if self.bumps:
            from . import bulk

            bulk.entities_bump(self.bumps, at=timezone.now())

    def reason(self, row) -> str:
        if self._reason is None:  # translated once per batch, not once per row
            self._reason = _("Batch %(number)s, line %(line)d.")
        return self._reason % {"number": self.batch.number, "line": row.line}

    def entity_for(self, row: pipeline.Row, known: dict) -> Entity:
        found = known.get(row.code)
        if found is None:
            if row.id_number_masked:
                entity = disclosure_services.entity_create(
                    name=row.entity_name, kind=EntityKind.NATURAL_PERSON,
                    fingerprint=identity.Fingerprint(row.code, row.id_number_masked),
                )  # fmt: skip
            else:
                entity = disclosure_services.entity_create(
                    name=row.entity_name, kind=pipeline.entity_kind_of(row.code), code=row.code
                )
            known[row.code] = (entity.pk, entity.name)
            self.outcome.entities_created += 1
            return entity
        pk, name = found
        entity = self.entities.get(row.code)
        if entity is None or (entity.pk, entity.name) != found:
            entity = self.entities[row.code] = pipeline.entity_of(row, pk, name)
        if name != row.entity_name and row.code not in self.renamed:
            entity = disclosure_services.entity_rename(
                entity=entity, new_name=row.entity_name, changed_on=self.today, actor=self.actor,
                reason=_("Renamed in batch %(number)s, line %(line)d.") % {"number": self.batch.number, "line": row.line},
            )  # fmt: skip
            known[row.code] = (entity.pk, entity.name)
            self.entities[row.code] = entity
            self.renamed.add(row.code)
            self.outcome.entities_renamed += 1
        return entity

    def stated(self, row: pipeline.Row, entity: Entity) -> dict:
        items = self.checker.items_by_id
        return {
            "entity": entity, "catalog_item": items[row.catalog_item_id], "decision_number": row.decision_number,
            "decision_date": row.decision_date, "facts": row.facts, "legal_basis_cited": row.legal_basis_cited,
            "outcome": row.outcome, "penalty_amount": row.penalty_amount, "severity": row.severity,
            "valid_from": row.valid_from, "valid_until": row.valid_until,
        }  # fmt: skip

    def write_chunk(self, pairs: list[tuple[pipeline.Row, dict | None]]) -> None:
        """Rows, each with its record as it is now (under the batch's locks), or None."""
        chunk = [row for row, _record in pairs]
        known = _entities({row.code for row in chunk})
        self.entities.clear()
        if self.bulk:
            self.create_entities(chunk, known)
        links, creates = [], []
        for row, record in pairs:
            action, changes, error = classify(row, record, known.get(row.code, (None,))[0])
            if not error and action in (Action.CREATE, Action.CORRECT):
                error = self.item_error(row)
            if error:
                self.refuse(error)
                continue
            self.outcome.actions[action] += 1
            if action == Action.UNCHANGED:
                if not row.revoked:
                    self.entity_for(row, known)  # a new name is still a rename
                continue
            if action == Action.REVOKE:
                disclosure_services.record_revoke(
                    record=CreditRecord(pk=record["id"]), actor=self.actor,
                    reason=row.revoke_reason, reference=self.batch.number,
                )  # fmt: skip
                links.append((record["id"], RecordAction.REVOKED, row.line, {"status": record["status"]}))
                continue
            entity = self.entity_for(row, known)
            if action == Action.CREATE:
                creates.append((row, entity))
                continue
            stated = self.stated(row, entity)
            names = {"entity_id": "entity", "catalog_item_id": "catalog_item"}
            correction = {names.get(name, name): stated[names.get(name, name)] for name in changes}
            try:
                disclosure_services.record_correct(
                    record=CreditRecord(pk=record["id"]), actor=self.actor, reason=self.reason(row),
                    changes=correction, reference=self.batch.number,
                )  # fmt: skip
            except disclosure_services.NoLongerApplies as exc:
                self.outcome.actions[action] -= 1
                self.refuse(self.narrowed_error(row, exc))
                continue
            before = {names.get(name, name): disclosure_services._json_value(
                record["entity_id"] if name == "entity_id" else record[name]) for name in changes}  # fmt: skip
            links.append((record["id"], RecordAction.CORRECTED, row.line, before))
        if creates:
            links.extend(self.create(creates))
        self.write_links(links)
        if self.progress:
            self.progress(len(chunk))

    def item_error(self, row: pipeline.Row) -> pipeline.RowError | None:
        """The row's catalog item checked again, against the catalog and the department's scope
        as they are when the write starts: either may have changed since the check pass (a
        batch waits for its worker, or for a second clerk's release). A narrowing committed
        after this and before the import takes the event-order lock is caught under that lock
        (``disclosure.services.check_still_applies``); one made later waits for the import."""
        problem = self.checker.item_problem(self.checker.items_by_id[row.catalog_item_id], row.code, row.id_number_masked)
        return None if problem is None else pipeline.RowError(row.line, self.item_column, *problem)

    def narrowed_error(self, row: pipeline.Row, exc) -> pipeline.RowError:
        """A row refused because its item was narrowed while the import ran (``NoLongerApplies``)."""
        return pipeline.RowError(row.line, self.item_column, "subjects", exc.messages[0])

    def create_entities(self, chunk: list[pipeline.Row], known: dict) -> None:
        from . import bulk

        new = {}
        for row in chunk:
            if not row.revoked and row.code not in known and row.code not in new and self.item_error(row) is None:
                if row.id_number_masked:
                    new[row.code] = bulk.entity_build_known_person(
                        name=row.entity_name, fingerprint=identity.Fingerprint(row.code, row.id_number_masked)
                    )
                    continue
                new[row.code] = bulk.entity_build_known_code(
                    name=row.entity_name, kind=pipeline.entity_kind_of(row.code), code=row.code
                )
        for key, entity in zip(new, bulk.entities_create_bulk(list(new.values())), strict=True):
            known[key] = (entity.pk, entity.name)
        self.outcome.entities_created += len(new)

    def write_links(self, links: list[tuple[int, str, int, dict]]) -> None:
        """The batch's links to the records it wrote: (record id, action, line, before)."""
        from . import bulk

        if bulk.copying():
            bulk.copy_rows("intake_recordbatch", ("record_id", "batch_id", "action", "line", "before"), (
                (record_id, self.batch.pk, action, line, json.dumps(before, ensure_ascii=False))
                for record_id, action, line, before in links
            ))  # fmt: skip
        else:
            RecordBatch.objects.bulk_create(
                RecordBatch(record_id=record_id, batch=self.batch, action=action, line=line, before=before)
                for record_id, action, line, before in links
            )

    def create(self, creates) -> list[tuple[int, str, int, dict]]:
        if self.bulk:
            from . import bulk

            try:
                records = bulk.records_create_bulk(
                    department=self.department, actor=self.actor, reference=self.batch.number, bumps=self.bumps,
                    rows=[(self.stated(row, entity), self.reason(row), self.checker.periods(row)) for row, entity in creates],
                )  # fmt: skip
            except disclosure_services.NoLongerApplies as exc:
                # The chunk's records are written already: the batch fails as a whole, naming
                # the first row the narrowed item no longer covers.
                row = next((row for row, entity in creates
                            if row.catalog_item_id == exc.catalog_item_id and entity.kind == exc.kind), creates[0][0])  # fmt: skip
                self.outcome.refuse([self.narrowed_error(row, exc)])
                raise BatchFailed(self.outcome) from exc
            return [
                (record_id, RecordAction.CREATED, row.line, {})
                for (row, _entity), record_id in zip(creates, records, strict=True)
            ]
        links = []
        for row, entity in creates:
            try:
                record = disclosure_services.record_create(
                    actor=self.actor, department=self.department, reason=self.reason(row),
                    reference=self.batch.number, **self.stated(row, entity),
                )  # fmt: skip
            except disclosure_services.NoLongerApplies as exc:
                self.outcome.actions[Action.CREATE] -= 1
                self.refuse(self.narrowed_error(row, exc))
                continue
            except ValidationError as exc:
                # Lost a race with a writer outside intake (the admin) for the same number.
                self.outcome.actions[Action.CREATE] -= 1
                self.refuse(pipeline.RowError(row.line, NUMBER_COLUMN, "duplicate", exc.messages[0]))
                continue
            links.append((record.pk, RecordAction.CREATED, row.line, {}))
        return links

    def refuse(self, error: pipeline.RowError) -> None:
        self.outcome.refuse([error])
        if not self.import_valid_rows:
            raise BatchFailed(self.outcome)


def _new_number() -> str:
    return f"{timezone.localdate():%Y%m%d}-{secrets.token_hex(4)}"


def _fill(batch: Batch, outcome: Outcome, *, check: Outcome | None = None) -> None:
    batch.rows_total = (check or outcome).rows_total
    refused = (check.refused_lines if check else set()) | outcome.refused_lines
    batch.rows_refused = len(refused)
    batch.created = outcome.actions[Action.CREATE]
    batch.corrected = outcome.actions[Action.CORRECT]
    batch.revoked = outcome.actions[Action.REVOKE]
    batch.unchanged = outcome.actions[Action.UNCHANGED]
    batch.entities_created = outcome.entities_created
    batch.entities_renamed = outcome.entities_renamed
    errors = (check.errors if check else []) + outcome.errors
    batch.errors = [error.as_dict() for error in sorted(errors, key=lambda e: e.line)]
    counts = Counter(check.error_counts if check else {})
    counts.update(outcome.error_counts)
    batch.error_counts = dict(counts)


@dataclass
class Upload:
    """A submitted file, as the pipeline needs it: a seekable binary stream and its name."""

    stream: object
    name: str
    size: int = 0
    sha256: str = ""


class FileTooLarge(pipeline.FileRefused):
    """The file is over ``INTAKE_MAX_UPLOAD_BYTES``."""


def measure(upload: Upload) -> Upload:
    """Size and SHA-256 of the file, read in blocks; a file over the limit is refused before
    anything else is read."""
    limit = settings.INTAKE_MAX_UPLOAD_BYTES
    digest, size = hashlib.sha256(), 0
    upload.stream.seek(0)
    while block := upload.stream.read(1 << 20):
        size += len(block)
        if size > limit:
            raise FileTooLarge(too_large_message())
        digest.update(block)
    upload.stream.seek(0)
    upload.size, upload.sha256 = size, digest.hexdigest()
    return upload


def too_large_message() -> str:
    return _("The file is larger than %(limit)s: split it into several batches.") % {
        "limit": filesizeformat(settings.INTAKE_MAX_UPLOAD_BYTES)
    }


def batch_submit(
    *,
    department: Department,
    upload: Upload,
    channel: str,
    actor=None,
    key: DepartmentKey | None = None,
    import_valid_rows: bool = False,
    bulk: bool | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> Batch:
    """Check a department's file and import it (or hold it for a second clerk's release), in
    the caller's time (the admin upload, ``import_records``; the API queues instead, see
    ``intake.queue``).

    Checks the actor acts for the department; refuses a broken file (``rejected``, with the
    reason); then ``batch_process``.
    """
    if actor is not None:
        disclosure_services.check_can_act(actor=actor, department=department)
    started = time.monotonic()
    batch = Batch(
        department=department, channel=channel, submitted_by=actor, key=key,
        submitted_label=_submitter(actor, key), file_name=(upload.name or "")[:255],
        import_valid_rows=import_valid_rows,
    )  # fmt: skip
    try:
        measure(upload)
    except pipeline.FileRefused as exc:
        batch.file_sha256, batch.file_size = upload.sha256, upload.size
        return _rejected(batch, str(exc), started)
    batch.file_sha256, batch.file_size = upload.sha256, upload.size
    return batch_process(batch=batch, stream=upload.stream, file_name=upload.name, actor=actor, bulk=bulk,
                         progress=progress, started=started)  # fmt: skip


def batch_process(
    *,
    batch: Batch,
    stream,
    file_name: str | None = None,
    actor=None,
    bulk: bool | None = None,
    progress: Callable[[str, int], None] | None = None,
    importing: Callable[[], None] | None = None,
    started: float | None = None,
) -> Batch:
    """The two passes over a batch's file, whoever runs them: a batch not saved yet
    (``batch_submit``), or a queued batch its worker has claimed (``intake.queue``: every write
    to the batch's row is then fenced by the worker's attempt, ``BatchTaken`` otherwise).

    Checks every row; a broken file, or any refused row with ``import_valid_rows`` off,
    rejects the batch and writes nothing else; a department that requires release gets the
    batch ``awaiting_release`` with its file stored; otherwise ``importing`` is called and every
    valid row is written through the services in one transaction. ``bulk``: write new records
    in bulk (default: when there are many). Returns the batch in its final state.
    """
    started = time.monotonic() if started is None else started
    department = batch.department
    batch.failure = ""
    with checked_rows(department) as rows:
        try:
            check = batch_check(department=department, stream=stream, file_name=file_name or batch.file_name, rows=rows,
                                progress=(lambda n: progress("check", n)) if progress else None)  # fmt: skip
        except pipeline.FileRefused as exc:
            return _rejected(batch, str(exc), started)
        batch.file_format, batch.encoding = check.file_format, check.encoding
        if check.refused_lines and not batch.import_valid_rows:
            _fill(batch, check)
            batch.status = BatchStatus.REJECTED
            return _save(batch, started)
        if requires_release(department):
            _fill(batch, check)
            batch.status = BatchStatus.AWAITING_RELEASE
            if not batch.stored_file:
                batch.stored_file = file_store(stream, name=batch.file_name, sha256=batch.file_sha256)
            return _save(batch, started)
        if importing is not None:
            importing()
        return _apply(batch, check, rows, actor=actor, bulk=bulk, progress=progress, started=started)


# Where ``file_store`` keeps files, inside the intake storage (which may be MEDIA_ROOT itself,
# beside repair evidence: the purge looks nowhere else).
FILES_DIR = "intake"
# A stored file no batch names is an orphan once it is this old: the API saves the batch a
# moment after its file, so a file that young may be an upload in flight.
ORPHAN_AGE = dt.timedelta(hours=24)


def intake_storage():
    """Where intake files wait (``STORAGES["intake"]``, ``INTAKE_FILES_ROOT``)."""
    return storages["intake"]


def file_store(stream, *, name: str, sha256: str) -> str:
    """Keep a submitted file until it is run or released; returns its name in the storage."""
    stream.seek(0)
    return intake_storage().save(f"{FILES_DIR}/{timezone.localdate():%Y/%m}/{sha256[:16]}-{_safe(name)}", File(stream))


def file_discard(batch: Batch) -> None:
    """Delete the file of a batch that has ended (the caller has cleared ``stored_file``): the
    batch keeps the file's SHA-256, not the file, which may hold identity numbers."""
    name, batch.stored_file = batch.stored_file, ""
    if name:
        try:
            intake_storage().delete(name)
        except OSError:
            logger.exception("intake batch %s: its file %s could not be deleted", batch.number, name)


def files_purge_orphans(*, older_than: dt.timedelta = ORPHAN_AGE) -> int:
    """Delete the stored intake files that no batch names and that are older than
    ``older_than``: left by a process that died between storing a file and saving its batch,
    or whose deletion failed once its batch ended. Returns how many were deleted. Safe to run
    in several processes at once: a file already gone is skipped."""
    storage = intake_storage()
    if not storage.exists(FILES_DIR):
        return 0
    cutoff = timezone.now() - older_than
    old = []
    folders = [FILES_DIR]
    while folders:
        folder = folders.pop()
        subfolders, names = storage.listdir(folder)
        folders.extend(f"{folder}/{name}" for name in subfolders)
        for name in names:
            path = f"{folder}/{name}"
            try:
                if storage.get_modified_time(path) < cutoff:
                    old.append(path)
            except FileNotFoundError:
                continue  # deleted meanwhile
    if not old:
        return 0
    # A batch names its file from a moment after storing it: an old file no batch names now
    # never will be.
    named = set()
    for start in range(0, len(old), 500):
        chunk = old[start : start + 500]
        named.update(Batch.objects.filter(stored_file__in=chunk).values_list("stored_file", flat=True))
    deleted = 0
    for path in old:
        if path in named or not storage.exists(path):  # named, or deleted by another purge meanwhile
            continue
        storage.delete(path)
        logger.warning("intake file %s: no batch names it; deleted", path)
        deleted += 1
    return deleted


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in (name or "upload"))[-80:]


def _submitter(actor, key) -> str:
    if key is not None:
        return f"API key {key.prefix}"  # a label in the history, like actor_label's "system"
    return disclosure_services.actor_label(actor)


def _rejected(batch: Batch, message: str, started: float) -> Batch:
    batch.status = BatchStatus.REJECTED
    batch.file_error = identity.mask_in(message)  # a header that is a row of data quotes it
    return _save(batch, started)


def _save(batch: Batch, started: float) -> Batch:
    """Save a batch in its final state: a new one with its number, a claimed one under its
    worker's attempt."""
    if batch.pk is None:
        return _save_new(batch, started)
    batch.seconds = time.monotonic() - started
    with transaction.atomic():
        _hold(batch)
        batch.save()
    return batch


def _hold(batch: Batch) -> None:
    """Lock a claimed batch's row for its worker's write (after the department's intake lock,
    as ``batch_release`` and ``batch_undo`` take them); ``BatchTaken`` when the batch is no
    longer this attempt's."""
    held = Batch.objects.select_for_update().filter(pk=batch.pk, attempts=batch.attempts, status__in=RUNNING)
    if not list(held.values_list("pk", flat=True)):
        raise BatchTaken(batch.number)


def _save_new(batch: Batch, started: float) -> Batch:
    batch.seconds = time.monotonic() - started
    for _attempt in range(5):
        batch.number = _new_number()
        try:
            with transaction.atomic():
                batch.save()
            return batch
        except IntegrityError:
            continue
    raise RuntimeError("no free batch number")


def _apply(batch: Batch, check: Outcome, rows, *, actor, bulk, progress, started) -> Batch:
    if bulk is None:
        bulk = check.actions[Action.CREATE] >= settings.INTAKE_BULK_FROM
    new = batch.pk is None
    try:
        with transaction.atomic():
            _lock_department(batch.department)
            if new:
                _save_new(batch, started)
            else:
                _hold(batch)
            writer = Writer(batch=batch, actor=actor, import_valid_rows=batch.import_valid_rows, bulk=bulk,
                            progress=(lambda n: progress("import", n)) if progress else None,
                            columns=check.columns)  # fmt: skip
            writer.write(rows)
            _fill(batch, writer.outcome, check=check)
            batch.status = BatchStatus.IMPORTED
            batch.imported_at = timezone.now()
            batch.seconds = time.monotonic() - started
            batch.save()
    except BatchFailed as failed:
        if new:
            batch.pk = None  # its row was rolled back with the rest
        _fill(batch, failed.outcome, check=check)
        batch.created = batch.corrected = batch.revoked = batch.unchanged = 0
        batch.entities_created = batch.entities_renamed = 0
        batch.status = BatchStatus.REJECTED
        return _save(batch, started)
    return batch


@transaction.atomic
def _claim_for_release(batch: Batch, actor) -> Batch:
    locked = Batch.objects.select_for_update().get(pk=batch.pk)
    if locked.status != BatchStatus.AWAITING_RELEASE:
        raise ValidationError(_("This batch is “%(status)s”: there is nothing to release.") % {"status": locked.get_status_display()})
    return locked


def batch_release(*, batch: Batch, actor, bulk: bool | None = None) -> Batch:
    """Two-person review: a second clerk of the department releases a checked batch. The
    file is checked again (the published records may have changed since) and imported, in
    the batch's own row; then the file is deleted. The clerk who submitted it cannot release
    it."""
    disclosure_services.check_can_act(actor=actor, department=batch.department)
    if actor is None or (batch.submitted_by_id is not None and batch.submitted_by_id == actor.pk):
        raise PermissionDenied(_("A second clerk must release this batch: not the one who submitted it."))
    batch = _claim_for_release(batch, actor)
    with intake_storage().open(batch.stored_file, "rb") as stored:
        ended = _release(batch, stored, actor=actor, bulk=bulk)
    # Ended: the batch keeps the file's SHA-256, not the file.
    Batch.objects.filter(pk=ended.pk).update(stored_file="")
    file_discard(ended)
    return ended


def _release(batch: Batch, stored, *, actor, bulk) -> Batch:
    started = time.monotonic()
    with checked_rows(batch.department) as rows:
        try:
            check = batch_check(department=batch.department, stream=stored, file_name=batch.file_name, rows=rows)
        except pipeline.FileRefused as exc:
            raise ValidationError(str(exc)) from None
        if check.refused_lines and not batch.import_valid_rows:
            _fill(batch, check)
            batch.status = BatchStatus.REJECTED
            batch.save()
            return batch
        number = batch.number
        try:
            with transaction.atomic():
                _lock_department(batch.department)
                locked = _claim_for_release(batch, actor)
                locked.released_by = actor
                if bulk is None:
                    bulk = check.actions[Action.CREATE] >= settings.INTAKE_BULK_FROM
                writer = Writer(batch=locked, actor=actor, import_valid_rows=batch.import_valid_rows, bulk=bulk,
                                columns=check.columns)  # fmt: skip
                writer.write(rows)
                _fill(locked, writer.outcome, check=check)
                locked.status = BatchStatus.IMPORTED
                locked.imported_at = timezone.now()
                locked.seconds += time.monotonic() - started
                locked.save()
                return locked
        except BatchFailed as failed:
            batch = Batch.objects.get(number=number)
            _fill(batch, failed.outcome, check=check)
            batch.created = batch.corrected = batch.revoked = batch.unchanged = 0
            batch.status = BatchStatus.REJECTED
            batch.save()
            return batch


@transaction.atomic
def batch_undo(*, batch: Batch, actor, reason: str) -> Batch:
    """Undo an imported batch as a whole, through the services: each record it created is
    revoked, each record it corrected gets its former statement back (events, not deletes).
    Refused, with the records named, if a record has changed since (another batch, a clerk,
    a repair) or if the batch revoked records (a revocation is final). Entities it created or
    renamed stay as they are: they describe real organisations."""
    disclosure_services.check_can_act(actor=actor, department=batch.department)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give a reason: every change to a record is traceable.")})
    _lock_department(batch.department)
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != BatchStatus.IMPORTED:
        raise ValidationError(_("Only an imported batch can be undone; this one is “%(status)s”.") % {"status": batch.get_status_display()})
    links = list(batch.links.select_related("record").order_by("record_id"))
    if any(link.action == RecordAction.REVOKED for link in links):
        raise ValidationError(_("This batch revoked records, and a revocation is final: it cannot be undone as a whole."))
    # Step 1 of the lock order: the records, then their entities, in id order.
    record_ids = [link.record_id for link in links]
    if connection.vendor == "postgresql":
        for start in range(0, len(record_ids), CHUNK):
            list(CreditRecord.objects.select_for_update(no_key=True, of=("self",)).filter(pk__in=record_ids[start:start + CHUNK]).order_by("pk").values_list("pk"))
    latest = {}
    for start in range(0, len(record_ids), CHUNK):
        for record_id, reference in (
            RecordEvent.objects.filter(record_id__in=record_ids[start : start + CHUNK])
            .exclude(kind__in=[EventKind.EXPIRED, EventKind.ENTITY_RENAMED, EventKind.CATALOG_CHANGED])
            .order_by("record_id", "id")
            .values_list("record_id", "reference")
        ):
            latest[record_id] = reference
    changed = [link.record.decision_number for link in links if latest.get(link.record_id) != batch.number]
    if changed:
        raise ValidationError(
            _("These records changed after the batch, so it cannot be undone as a whole: %(numbers)s.")
            % {"numbers": ", ".join(changed[:20]) + ("…" if len(changed) > 20 else "")}
        )
    full_reason = _("Batch %(number)s undone: %(reason)s") % {"number": batch.number, "reason": reason.strip()}
    for link in links:
        if link.action == RecordAction.CREATED:
            disclosure_services.record_revoke(record=link.record, actor=actor, reason=full_reason, reference=batch.number)
        elif link.action == RecordAction.CORRECTED:
            changes = {}
            for name, value in link.before.items():
                if name == "entity":
                    value = Entity.objects.get(pk=value)
                elif name == "catalog_item":
                    value = CatalogItem.objects.get(pk=value)
                elif name in ("decision_date", "valid_from", "valid_until") and value:
                    value = dt.date.fromisoformat(value)
                elif name == "penalty_amount" and value is not None:
                    value = Decimal(value)
                changes[name] = value
            disclosure_services.record_correct(record=link.record, actor=actor, reason=full_reason, changes=changes, reference=batch.number)
    batch.status = BatchStatus.UNDONE
    batch.undone_at = timezone.now()
    batch.undone_by = actor
    batch.undo_reason = reason.strip()
    batch.save(update_fields=["status", "undone_at", "undone_by", "undo_reason"])
    return batch


__all__ = ["Channel", "batch_submit", "batch_process", "batch_release", "batch_undo"]
