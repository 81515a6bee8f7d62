"""Writes to credit records. Every change goes through here, inside a transaction, and writes
its ``RecordEvent`` in that same transaction.

Lock order (every writer follows it, so no two writers wait on each other in a cycle):

0. an import's per-department advisory lock (``intake.services``), when the change is an
   import: one import per department at a time;
1. domain rows, each with ``FOR NO KEY UPDATE`` (``select_for_update(no_key=True,
   of=("self",))``): a repair application, then the record(s) by id, then the entity row(s)
   whose ``records_version`` the change bumps, by id;
2. the event-order lock (``lock_event_order``), held until commit;
3. after it, only rows that nobody locks without holding it: ``PublishedDocument`` rows,
   and a catalog item whose fields a catalog change rewrites.

Row locks are never plain ``FOR UPDATE``: that mode blocks the key-share locks PostgreSQL
takes when it checks the deferred foreign keys at commit, which a writer does while it holds
the event-order lock; a writer holding ``FOR UPDATE`` on a catalog item while waiting for
the event-order lock would deadlock with it.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ops.logs import current_request_id

from . import divisions, identity, pagecache, publication, rules, search, uscc
from .models import (
    CatalogItem,
    CreditRecord,
    Department,
    DisclosureRuleSet,
    Entity,
    EntityKind,
    EventKind,
    ExpiryDay,
    FormerName,
    RecordEvent,
    RecordStatus,
)

# The fields a department states; everything else on a record is computed or workflow state.
STATED_FIELDS = (
    "entity",
    "catalog_item",
    "decision_number",
    "decision_date",
    "facts",
    "legal_basis_cited",
    "outcome",
    "penalty_amount",
    "severity",
    "valid_from",
    "valid_until",
)
COMPUTED_FIELDS = ("rule_set", "disclosure_start", "disclosure_end", "earliest_repair_on")


def actor_label(actor) -> str:
    return actor.get_username() if actor is not None else "system"


def check_can_act(*, actor, department: Department) -> None:
    """Staff act only for their own department; ``actor=None`` is the system itself
    (imports, management commands)."""
    if actor is None or actor.is_superuser:
        return
    if not department.staff.filter(pk=actor.pk).exists():
        raise PermissionDenied(_("You do not act for %(department)s.") % {"department": department.name})


def check_in_scope(*, department: Department, catalog_item: CatalogItem) -> None:
    if not department.scope.filter(pk=catalog_item.pk).exists():
        raise ValidationError(
            {
                "catalog_item": _("“%(item)s” is outside the business scope of %(department)s.")
                % {"item": catalog_item.name, "department": department.name}
            }
        )


def not_applicable_message(*, catalog_item: CatalogItem, kind: str) -> str:
    """Why a record of ``catalog_item`` cannot concern an entity of ``kind`` (the item does
    not apply to it: ``CatalogItem.applies_to``)."""
    if kind == EntityKind.NATURAL_PERSON:
        message = _("“%(item)s” applies to legal persons and unincorporated organisations only, not to natural persons.")
    else:
        message = _("“%(item)s” applies to natural persons only, not to organisations.")
    return message % {"item": catalog_item.name}


def check_applies_to(*, catalog_item: CatalogItem, entity: Entity) -> None:
    """A record of ``catalog_item`` may concern ``entity``: the item's subjects include its kind."""
    if not catalog_item.applies_to(entity.kind):
        raise ValidationError({"catalog_item": not_applicable_message(catalog_item=catalog_item, kind=entity.kind)})


class NoLongerApplies(ValidationError):
    """``check_still_applies`` found the item narrowed: which item, and the kind it left out."""

    def __init__(self, message: str, *, catalog_item_id: int, kind: str):
        super().__init__({"catalog_item": message})
        self.catalog_item_id, self.kind = catalog_item_id, kind


def check_still_applies(pairs) -> None:
    """``check_applies_to`` again once the writer holds the event-order lock, for ``pairs`` of
    (catalog item id, entity kind), against the items' subjects as committed now (one query).
    ``catalog_item_update`` narrows an item only under that lock, after every writer that held
    it has committed: so a narrowing committed after this writer's first check is seen here,
    and none can commit before this writer does."""
    kinds: dict[int, set[str]] = {}
    for item_id, kind in pairs:
        kinds.setdefault(item_id, set()).add(kind)
    for item in CatalogItem.objects.only("name", "name_en", "subjects").filter(pk__in=kinds).order_by("pk"):
        for kind in sorted(kinds[item.pk]):
            if not item.applies_to(kind):
                raise NoLongerApplies(not_applicable_message(catalog_item=item, kind=kind),
                                      catalog_item_id=item.pk, kind=kind)  # fmt: skip


def check_subjects_keep_records(*, item: CatalogItem, subjects: str) -> None:
    """An item may stop applying to a kind of entity only when none of its disclosed records
    (or withdrawn ones, which a revoked repair discloses again) concerns that kind."""
    narrowed = CatalogItem(pk=item.pk, subjects=subjects)
    live = CreditRecord.objects.filter(
        catalog_item=item, status__in=(RecordStatus.DISCLOSED, RecordStatus.WITHDRAWN)
    )
    kinds = set(live.values_list("entity__kind", flat=True).distinct())
    excluded = [kind for kind in kinds if not narrowed.applies_to(kind)]
    if excluded:
        count = live.filter(entity__kind__in=excluded).count()
        raise ValidationError(
            {
                "subjects": _(
                    "%(count)d disclosed or withdrawn record(s) of this item concern a kind of entity it would no "
                    "longer apply to: correct or revoke them first."
                )
                % {"count": count}
            }
        )


def compute_periods(
    *,
    item: CatalogItem,
    severity: str,
    decision_date: dt.date,
    valid_from: dt.date | None,
    valid_until: dt.date | None,
    rule_sets: list[DisclosureRuleSet] | None = None,
) -> tuple[str, DisclosureRuleSet | None, rules.Periods]:
    """The severity, the rule set applied and the periods of a record with these facts.

    ``rule_sets`` (newest first, rules prefetched) lets bulk paths avoid a query per record;
    by default the set in force on the decision date is looked up.
    """
    if item.category in rules.VALIDITY_CATEGORIES:
        missing = {
            name: _("Required for a %(category)s.") % {"category": item.get_category_display()}
            for name, value in (("valid_from", valid_from), ("valid_until", valid_until))
            if value is None
        }
        if missing:
            raise ValidationError(missing)
        return "", None, rules.validity_periods(valid_from=valid_from, valid_until=valid_until)
    severity = severity or item.severity
    if not severity:
        raise ValidationError({"severity": _("Dishonesty information needs a severity.")})
    if rule_sets is None:
        rule_set = DisclosureRuleSet.objects.in_force_on(decision_date)
    else:
        rule_set = next((rs for rs in rule_sets if rs.effective_from <= decision_date), None)
    if rule_set is None:
        raise ValidationError(
            {
                "decision_date": _("No disclosure rule set is in force on %(date)s.")
                % {"date": decision_date.isoformat()}
            }
        )
    rule = rule_set.rule_for(severity)
    if rule is None:
        raise ValidationError(
            {
                "severity": _(
                    "The rule set in force on %(date)s (%(rule_set)s) has no rule for “%(severity)s” "
                    "information: an administrator must complete it."
                )
                % {
                    "date": decision_date.isoformat(),
                    "rule_set": rule_set.name,
                    "severity": rules.Severity(severity).label,
                }
            }
        )
    periods = rules.dishonesty_periods(
        decision_date=decision_date,
        rule=rule,
        repairable=item.repairable,
        disclosure_necessary=item.minor_disclosure_necessary,
    )
    return severity, rule_set, periods


def record_apply_rules(record: CreditRecord) -> None:
    """Set the record's severity, rule set and computed dates from what the department stated."""
    record.severity, record.rule_set, periods = compute_periods(
        item=record.catalog_item,
        severity=record.severity,
        decision_date=record.decision_date,
        valid_from=record.valid_from,
        valid_until=record.valid_until,
    )
    record.disclosure_start = periods.disclosure_start
    record.disclosure_end = periods.disclosure_end
    record.earliest_repair_on = periods.earliest_repair_on


def _check_decision_date(record: CreditRecord) -> None:
    if record.decision_date and record.decision_date > timezone.localdate():
        raise ValidationError({"decision_date": _("The decision date cannot be in the future.")})


def _json_value(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def _snapshot(record: CreditRecord) -> dict:
    return {name: _json_value(getattr(record, name)) for name in (*STATED_FIELDS, *COMPUTED_FIELDS, "status")}


# Any constant: the key of the PostgreSQL advisory lock that orders event writers.
EVENT_ORDER_LOCK = 0x637265646974  # "credit"


def lock_event_order() -> dt.datetime:
    """Make event ids follow commit order: the writer holds this lock from its first event to
    its commit, so no transaction can commit an event with a lower id after one with a
    higher id became visible. A consumer reading the log by id then never skips an event.
    (SQLite gets the same from its single writer: transactions take the write lock when they
    begin.) Call inside the transaction, before writing events.

    Returns the time the events written under it carry (``occurred_at``): read once the lock
    is held, so event times follow event ids too, and the feed can tell by an event's time
    on which day it was written (``disclosure.feed``)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_ORDER_LOCK])
    return timezone.now()


def _bump_entities(entity_ids, at) -> None:
    """Tell the entities' pages (and their ETags) that something changed. Before the
    event-order lock (see the lock order above), locked in id order."""
    ids = sorted(set(entity_ids))
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        if len(chunk) > 1:
            list(Entity.objects.select_for_update(no_key=True).filter(pk__in=chunk).order_by("pk").values("pk"))
        Entity.objects.filter(pk__in=chunk).update(records_version=F("records_version") + 1, records_changed_at=at)
    pagecache.entities_changed(ids)


def _write_event(
    *, record, kind, actor, reason="", reference="", changes=None, effective_on=None, entity_ids=()
):
    """The record's history row, with what it tells agencies' copies
    (``publication.republish``), after the bump of its entity's ``records_version``."""
    _bump_entities([record.entity_id, *entity_ids], timezone.now())
    now = lock_event_order()
    entry = publication.republish([record.pk], kind=kind)[record.pk]
    return RecordEvent.objects.create(
        record=record,
        kind=kind,
        occurred_at=now,
        actor=actor,
        actor_label=actor_label(actor),
        reason=reason,
        reference=reference,
        changes=changes or {},
        effective_on=effective_on or timezone.localdate(),
        feed_type=entry.type,
        document=entry.document,
        request_id=current_request_id(),
    )


def _write_events(*, record_ids, kind, actor, reason="", changes=None, history_only_too=False):
    """One event per record whose copies' document changed (or per record, with
    ``history_only_too``), for a change that reaches many records at once. The caller holds
    the event-order lock and has bumped the entities."""
    now, today, request_id = timezone.now(), timezone.localdate(), current_request_id()
    entries = publication.republish(record_ids, kind=kind)
    events = [
        RecordEvent(
            record_id=record_id,
            kind=kind,
            occurred_at=now,
            actor=actor,
            actor_label=actor_label(actor),
            reason=reason,
            changes=changes or {},
            effective_on=today,
            feed_type=entry.type,
            document=entry.document,
            request_id=request_id,
        )
        for record_id, entry in entries.items()
        if entry.type or history_only_too
    ]
    RecordEvent.objects.bulk_create(events)
    return events


def _save_new(record: CreditRecord) -> None:
    record.full_clean()
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        # Lost a race with another writer of the same decision number.
        raise ValidationError(
            {"decision_number": _("This department already has a record with that decision number.")}
        ) from None


@transaction.atomic
def record_create(
    *,
    actor,
    department: Department,
    entity: Entity,
    catalog_item: CatalogItem,
    decision_number: str,
    decision_date: dt.date,
    facts: str,
    legal_basis_cited: str,
    outcome: str,
    penalty_amount: Decimal | None = None,
    severity: str = "",
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    reason: str = "",
    reference: str = "",
) -> CreditRecord:
    """Publish a new record for a department.

    Checks the actor acts for the department, the catalog item is in its scope and applies
    to the entity's kind (organisation or natural person), computes
    the disclosure dates under the rule set in force on the decision date, and writes a
    ``created`` event carrying the full record.
    """
    check_can_act(actor=actor, department=department)
    check_in_scope(department=department, catalog_item=catalog_item)
    check_applies_to(catalog_item=catalog_item, entity=entity)
    record = CreditRecord(
        entity=entity,
        catalog_item=catalog_item,
        department=department,
        decision_number=decision_number.strip(),
        decision_date=decision_date,
        facts=facts,
        legal_basis_cited=legal_basis_cited,
        outcome=outcome,
        penalty_amount=penalty_amount,
        severity=severity,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    _check_decision_date(record)
    record_apply_rules(record)
    _save_new(record)
    _write_event(
        record=record,
        kind=EventKind.CREATED,
        actor=actor,
        reason=reason,
        reference=reference,
        changes=_snapshot(record),
        effective_on=record.disclosure_start,
    )
    check_still_applies([(record.catalog_item_id, record.entity.kind)])
    return record


def lock_record(record: CreditRecord) -> CreditRecord:
    """The record, locked for a change (step 1 of the lock order): the record's row only,
    in the mode that leaves foreign-key checks through it free."""
    return (
        CreditRecord.objects.select_for_update(no_key=True, of=("self",))
        .select_related("catalog_item")
        .get(pk=record.pk)
    )


def _require_reason(reason: str) -> None:
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give a reason: every change to a record is traceable.")})


@transaction.atomic
def record_correct(
    *, record: CreditRecord, actor, reason: str, changes: dict, check_actor: bool = True, reference: str = ""
) -> CreditRecord:
    """Correct what a department stated about a disclosed record.

    Locks the record, re-checks scope and, when the entity or the item changes, that the item
    applies to the entity, recomputes the dates and writes a ``corrected`` event
    with the old and new value of each changed field. A correction that changes nothing
    writes nothing. With ``changes={}`` it only recomputes the dates under the current rule
    sets (``records_recompute_periods``, whose caller checks the permission: ``check_actor``).
    """
    _require_reason(reason)
    unknown = set(changes) - set(STATED_FIELDS)
    if unknown:
        raise TypeError(f"not correctable: {sorted(unknown)}")
    record = lock_record(record)
    if check_actor:
        check_can_act(actor=actor, department=record.department)
    if record.status != RecordStatus.DISCLOSED:
        raise ValidationError(
            _("Only a disclosed record can be corrected; this one is “%(status)s”.")
            % {"status": record.get_status_display()}
        )
    if "catalog_item" in changes:
        check_in_scope(department=record.department, catalog_item=changes["catalog_item"])
    before = _snapshot(record)
    former_entity_id = record.entity_id
    for name, value in changes.items():
        setattr(record, name, value)
    if "entity" in changes or "catalog_item" in changes:
        check_applies_to(catalog_item=record.catalog_item, entity=record.entity)
    _check_decision_date(record)
    record_apply_rules(record)
    after = _snapshot(record)
    diff = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    if not diff:
        return record
    if "disclosure_end" in diff:
        record.expiry_recorded_on = None
    record.full_clean()
    record.save()
    _write_event(
        record=record,
        kind=EventKind.CORRECTED,
        actor=actor,
        reason=reason,
        reference=reference,
        changes=diff,
        entity_ids=[former_entity_id],
    )
    if "entity" in changes or "catalog_item" in changes:
        check_still_applies([(record.catalog_item_id, record.entity.kind)])
    return record


def records_recompute_periods(*, rule_set: DisclosureRuleSet, actor, reason: str) -> int:
    """Recompute the dates of the disclosed records a rule set judges, after the set was
    edited (editing it recomputes nothing by itself). Affected: the records it was applied
    to and those decided while it is in force. Each record is recomputed in its own
    transaction through ``record_correct``, so every record whose dates change gets a
    ``corrected`` event with ``reason``. Returns how many changed."""
    _require_reason(reason)
    if actor is not None and not actor.has_perm("disclosure.change_disclosureruleset"):
        raise PermissionDenied(_("Only those who may edit rule sets may recompute their records."))
    in_force = Q(decision_date__gte=rule_set.effective_from)
    until = rule_set.in_force_until()
    if until is not None:
        in_force &= Q(decision_date__lte=until)
    affected = (
        CreditRecord.objects.filter(status=RecordStatus.DISCLOSED)
        .filter(Q(rule_set=rule_set) | (in_force & Q(catalog_item__category__in=rules.DISHONESTY_CATEGORIES)))
        .order_by("id")
        .values_list("id", flat=True)
    )
    return sum(_recompute_one(record_id, actor=actor, reason=reason) for record_id in list(affected))


def _recompute_one(record_id: int, *, actor, reason: str) -> bool:
    record = CreditRecord.objects.get(pk=record_id)
    before = _snapshot(record)
    after = record_correct(record=record, actor=actor, reason=reason, changes={}, check_actor=False)
    return _snapshot(after) != before


def _transition(
    *,
    record: CreditRecord,
    to_status: str,
    allowed_from: tuple[str, ...],
    event_kind: str,
    actor,
    reason: str,
    reference: str = "",
    check_actor: bool = True,
) -> CreditRecord:
    """The one status transition: lock, check the current state, save with update_fields,
    write the event. Callers hold the transaction."""
    _require_reason(reason)
    record = lock_record(record)
    if check_actor:
        check_can_act(actor=actor, department=record.department)
    if record.status not in allowed_from:
        raise ValidationError(
            _("This record is “%(status)s”; that change is not possible now.")
            % {"status": record.get_status_display()},
            code="state",
        )
    previous = record.status
    record.status = to_status
    record.status_reason = reason
    record.status_changed_at = timezone.now()
    record.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    _write_event(
        record=record,
        kind=event_kind,
        actor=actor,
        reason=reason,
        reference=reference,
        changes={"status": [previous, to_status]},
    )
    return record


@transaction.atomic
def record_withdraw(*, record: CreditRecord, actor, reason: str, reference: str) -> CreditRecord:
    """End a record's disclosure after an approved credit repair. ``reference`` is the
    repair application number; the reviewing department's permission is checked by the
    repair workflow, which calls this inside its own transaction."""
    return _transition(
        record=record,
        to_status=RecordStatus.WITHDRAWN,
        allowed_from=(RecordStatus.DISCLOSED,),
        event_kind=EventKind.WITHDRAWN,
        actor=actor,
        reason=reason,
        reference=reference,
        check_actor=False,
    )


@transaction.atomic
def record_redisclose(*, record: CreditRecord, actor, reason: str, reference: str) -> CreditRecord:
    """Disclose a withdrawn record again, when the repair approval behind its withdrawal is
    revoked (the material proved false). It shows again for what remains of its period."""
    return _transition(
        record=record,
        to_status=RecordStatus.DISCLOSED,
        allowed_from=(RecordStatus.WITHDRAWN,),
        event_kind=EventKind.REDISCLOSED,
        actor=actor,
        reason=reason,
        reference=reference,
        check_actor=False,
    )


@transaction.atomic
def record_revoke(*, record: CreditRecord, actor, reason: str, reference: str = "") -> CreditRecord:
    """The decision itself was revoked (reconsideration, litigation): never shown again."""
    return _transition(
        record=record,
        to_status=RecordStatus.REVOKED,
        allowed_from=(RecordStatus.DISCLOSED, RecordStatus.WITHDRAWN),
        event_kind=EventKind.REVOKED,
        actor=actor,
        reason=reason,
        reference=reference,
    )


@transaction.atomic
def record_supersede(*, record: CreditRecord, actor, reason: str, changes: dict) -> CreditRecord:
    """Replace a record by a corrected decision: the old one is marked superseded and a new
    record, with the old one's stated fields and ``changes`` applied, takes its place."""
    unknown = set(changes) - set(STATED_FIELDS)
    if unknown:
        raise TypeError(f"not correctable: {sorted(unknown)}")
    old = _transition(
        record=record,
        to_status=RecordStatus.SUPERSEDED,
        allowed_from=(RecordStatus.DISCLOSED,),
        event_kind=EventKind.SUPERSEDED,
        actor=actor,
        reason=reason,
    )
    stated = {name: getattr(old, name) for name in STATED_FIELDS}
    stated.update(changes)
    replacement = record_create(actor=actor, department=old.department, reason=reason, **stated)
    old.superseded_by = replacement
    old.save(update_fields=["superseded_by", "updated_at"])
    return replacement


def records_record_expiries(*, on: dt.date | None = None, batch_size: int = 2000) -> int:
    """Write an ``expired`` event for each disclosed record whose period ended before ``on``
    (today), then record that ``on``'s expiries are written (``ExpiryDay``), in the same
    transaction as the last of them. The agency feed shows no event of ``on`` before that.

    Visibility never waits for this (``disclosed()`` compares dates); the events are there
    so the history says when a record lapsed and agencies' copies drop it. Run by the daily
    job just after midnight, and only there: never from a request. Safe to run repeatedly
    and concurrently: rows are claimed with a compare-and-swap on ``expiry_recorded_on``
    under row locks that other runs skip, and the day is recorded only once nothing is due,
    checked under the event-order lock (a concurrent run has committed its batch by then).
    """
    on = on or timezone.localdate()
    request_id = current_request_id()
    written = 0
    while True:
        with transaction.atomic():
            batch = list(
                CreditRecord.objects.expiry_due(on=on)
                .select_for_update(skip_locked=True, no_key=True)
                .order_by("disclosure_end", "id")
                .values_list("id", "disclosure_end")[:batch_size]
            )
            if batch:
                ids = [record_id for record_id, _end in batch]
                claimed = CreditRecord.objects.filter(id__in=ids, expiry_recorded_on__isnull=True).update(
                    expiry_recorded_on=on
                )
                if claimed != len(ids):
                    raise RuntimeError("expiry claim lost a race despite row locks")
                now = lock_event_order()
                entries = publication.republish(ids, kind=EventKind.EXPIRED, on=on)
                RecordEvent.objects.bulk_create(
                    RecordEvent(
                        record_id=record_id,
                        kind=EventKind.EXPIRED,
                        occurred_at=now,
                        effective_on=end + dt.timedelta(days=1),
                        actor_label=actor_label(None),
                        reason="",
                        changes={"disclosure_end": end.isoformat()},
                        feed_type=entries[record_id].type,
                        request_id=request_id,
                    )
                    for record_id, end in batch
                )
                written += len(batch)
            day_written = False
            if len(batch) < batch_size:
                # Perhaps the last batch. Under the event-order lock, every other run's batch
                # has committed: what is still due is held by another writer (a correction
                # of that record), which will commit soon.
                now = lock_event_order()
                if not CreditRecord.objects.expiry_due(on=on).exists():
                    day, created = ExpiryDay.objects.get_or_create(
                        day=on, defaults={"written_at": now, "expiry_events": written}
                    )
                    if not created and written:
                        ExpiryDay.objects.filter(day=on).update(expiry_events=F("expiry_events") + written)
                    day_written = True
        if day_written:
            return written
        if not batch:
            time.sleep(0.05)


def entity_build(
    *,
    name: str,
    kind: str,
    code: str | None = None,
    identity_number: str | None = None,
    fingerprint: identity.Fingerprint | None = None,
    legal_representative: str = "",
) -> Entity:
    """A validated, unsaved entity. Organisations are identified by their code (validated,
    with its parts and region read from it); natural persons by an identity number that is
    kept only as a keyed fingerprint and a masked form (or by that ``fingerprint``, from a
    caller that validated the number and kept nothing else of it)."""
    entity = Entity(name=(name or "").strip(), kind=kind, legal_representative=legal_representative)
    if kind == EntityKind.NATURAL_PERSON:
        if fingerprint is None:
            if not identity_number:
                raise ValidationError({"identity_number": _("A natural person needs an identity number.")})
            try:
                fingerprint = identity.fingerprint(identity.validate(identity_number))
            except ValidationError as exc:
                raise ValidationError({"identity_number": exc.messages}) from None
        entity.id_number_digest = fingerprint.digest
        entity.id_number_masked = fingerprint.masked
        entity.division_code = fingerprint.division_code
    else:
        try:
            entity.code = uscc.validate(code or "")
        except ValidationError as exc:
            raise ValidationError({"code": exc.messages}) from None
        entity.registration_authority = entity.code[0]
        entity.entity_type = entity.code[1]
        entity.division_code = entity.code[2:8]
    province, region = divisions.lookup(entity.division_code)
    entity.province_code = entity.division_code[:2] if province else ""
    entity.region = region
    entity.full_clean()
    return entity


@transaction.atomic
def entity_create(**fields) -> Entity:
    """Register an entity; see ``entity_build`` for what is checked."""
    entity = entity_build(**fields)
    entity.save()
    search.index_entity(entity)
    return entity


@transaction.atomic
def entity_rename(*, entity: Entity, new_name: str, changed_on: dt.date, actor=None, reason: str = "") -> Entity:
    """Record a change of name: the old name is kept as a former name, still searchable, and
    every published document of the entity's records is updated (an ``entity_renamed``
    event per record, which agencies' feeds carry as ``updated``)."""
    entity = Entity.objects.select_for_update(no_key=True).get(pk=entity.pk)
    new_name = (new_name or "").strip()
    if not new_name or new_name == entity.name:
        raise ValidationError({"name": _("Enter the new name.")})
    former = entity.name
    FormerName.objects.update_or_create(entity=entity, name=former, defaults={"changed_on": changed_on})
    entity.name = new_name
    entity.full_clean(exclude=["code"])
    entity.save(update_fields=["name", "updated_at"])
    search.index_entity(entity)
    _bump_entities([entity.pk], timezone.now())
    lock_event_order()
    _write_events(
        record_ids=entity.records.values_list("id", flat=True).order_by("id"),
        kind=EventKind.ENTITY_RENAMED,
        actor=actor,
        reason=reason or _("Renamed from “%(former)s”.") % {"former": former},
        changes={"entity_name": [former, new_name]},
    )
    return entity


# Catalog fields that a published document or the public set depends on.
CATALOG_PUBLISHED_FIELDS = ("code", "category", "disclosure_attribute")


@transaction.atomic
def catalog_item_update(*, item: CatalogItem, actor, changes: dict, reason: str = "") -> CatalogItem:
    """Change a catalog item. A change that alters what its records publish (its code, its
    category, whether it is public) reaches agencies' copies at once: each record that
    enters, leaves or changes in them gets a ``catalog_changed`` event (``disclosed``,
    ``removed`` or ``updated`` in the feed). Its subjects cannot leave out a kind of entity its
    disclosed or withdrawn records concern (``check_subjects_keep_records``), checked under the
    event-order lock: a narrowing waits for the writers writing records (an import included),
    and the writers that begin later check the item again (``check_still_applies``)."""
    unknown = set(changes) - {f.name for f in CatalogItem._meta.concrete_fields} - {"provider"}
    if unknown or "id" in changes:
        raise TypeError(f"not changeable: {sorted(unknown)}")
    current = CatalogItem.objects.get(pk=item.pk)
    diff = {
        name: [publication._plain(getattr(current, name)), publication._plain(value)]
        for name, value in changes.items()
        if getattr(current, name) != value and name != "provider"
    }
    for name, value in changes.items():
        setattr(current, name, value)
    current.full_clean()
    touches_documents = any(name in diff for name in CATALOG_PUBLISHED_FIELDS)
    if touches_documents:
        # The entities whose pages change, bumped before the event-order lock (lock order).
        bumped = set(current.records.values_list("entity_id", flat=True).distinct())
        _bump_entities(bumped, timezone.now())
    if touches_documents or "subjects" in diff:
        lock_event_order()  # before the item's row: see the lock order
    if "subjects" in diff:
        # Under the event-order lock: every writer that had begun writing records has
        # committed, and the others check the item again once they hold it
        # (``check_still_applies``).
        check_subjects_keep_records(item=current, subjects=changes["subjects"])
    current.save()
    if touches_documents:
        # The item's records read again under the lock: a writer that moved a record into the
        # item after the first read has committed by now, and its record must follow the item.
        record_ids = list(current.records.order_by("id").values_list("id", flat=True))
        late = set(current.records.values_list("entity_id", flat=True).distinct()) - bumped
        if late:
            # Row locks after the event-order lock only where free: an entity whose row another
            # writer holds is bumped by that writer when it commits after us.
            free = list(
                Entity.objects.select_for_update(no_key=True, skip_locked=True)
                .filter(pk__in=late)
                .values_list("pk", flat=True)
            )
            Entity.objects.filter(pk__in=free).update(
                records_version=F("records_version") + 1, records_changed_at=timezone.now()
            )
            pagecache.entities_changed(free)
        for start in range(0, len(record_ids), 2000):
            _write_events(
                record_ids=record_ids[start : start + 2000],
                kind=EventKind.CATALOG_CHANGED,
                actor=actor,
                reason=reason or _("The catalog item “%(item)s” changed.") % {"item": current.name},
                changes={name: diff[name] for name in CATALOG_PUBLISHED_FIELDS if name in diff},
            )
    item.refresh_from_db()
    return item


@transaction.atomic
def entity_add_former_name(*, entity: Entity, name: str, changed_on: dt.date) -> FormerName:
    """Record a name the entity used before (e.g. when importing its history)."""
    former = FormerName(entity=entity, name=name.strip(), changed_on=changed_on)
    former.full_clean()
    former.save()
    search.index_entity(entity)
    return former
