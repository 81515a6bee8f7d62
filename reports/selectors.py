"""Reads for credit reports. The records a report shows start from the entity's disclosed
records (``disclosure.selectors.entity_disclosed_records``, built on
``CreditRecord.objects.disclosed``); nothing here restates who may see what."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F, QuerySet

from disclosure import feed
from disclosure.models import CreditRecord, Department, DisclosureAttribute, DisclosureRuleSet, Entity
from disclosure.rules import Category, add_months
from disclosure.selectors import entity_disclosed_records

from .models import Report, ReportKind

# The order of a report's sections: list memberships first, then the rest.
CATEGORY_ORDER = (
    Category.SERIOUS_DISHONESTY,
    Category.DISHONEST_JUDGMENT_DEBTOR,
    Category.KEY_ATTENTION,
    Category.ABNORMAL_OPERATION,
    Category.RED_LIST,
    Category.ADMINISTRATIVE_PENALTY,
    Category.ADMINISTRATIVE_LICENCE,
    Category.CREDIT_COMMITMENT,
)
LIST_CATEGORIES = CATEGORY_ORDER[:5]
# What a special report states by default: the information that counts against an entity,
# what a certificate of "no illegal or irregular records" used to attest.
SPECIAL_DEFAULT_CATEGORIES = (
    Category.ADMINISTRATIVE_PENALTY,
    Category.SERIOUS_DISHONESTY,
    Category.DISHONEST_JUDGMENT_DEBTOR,
    Category.KEY_ATTENTION,
    Category.ABNORMAL_OPERATION,
)
WINDOW_CHOICES = (12, 24, 36)


@dataclass(frozen=True)
class Scope:
    """What a report states: everything disclosed (public), or, for a special report, the
    records of some fields (departments) and kinds decided within a window."""

    kind: str
    departments: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    window_months: int | None = None
    window_start: dt.date | None = None
    window_end: dt.date | None = None

    @classmethod
    def public(cls) -> Scope:
        return cls(kind=ReportKind.PUBLIC)

    @classmethod
    def special(cls, *, departments, categories, window_months: int, on: dt.date) -> Scope:
        """The window is the ``window_months`` months up to and including ``on``: a period
        counted back from the day of issue, the first day not counted (Civil Code 201)."""
        return cls(
            kind=ReportKind.SPECIAL,
            departments=tuple(sorted(departments)),
            categories=tuple(c for c in CATEGORY_ORDER if c in set(categories)),
            window_months=window_months,
            window_start=add_months(on, -window_months) + dt.timedelta(days=1),
            window_end=on,
        )

    @classmethod
    def of(cls, report: Report) -> Scope:
        return cls(
            kind=report.kind,
            departments=tuple(report.departments),
            categories=tuple(report.categories),
            window_months=report.window_months,
            window_start=report.window_start,
            window_end=report.window_end,
        )


def scope_records(*, entity: Entity, scope: Scope, on: dt.date, until: dt.date | None = None) -> QuerySet:
    """The records ``scope`` covers among those disclosed on ``on``, each with the version of
    its published document (``published_version``). ``until`` moves a special report's
    window end (records decided later)."""
    records = entity_disclosed_records(entity=entity, on=on)
    if scope.kind == ReportKind.SPECIAL:
        records = records.filter(
            department__code__in=scope.departments,
            catalog_item__category__in=scope.categories,
            decision_date__gte=scope.window_start,
            decision_date__lte=until or scope.window_end,
        )
    return records.annotate(published_version=F("published__version"))


@dataclass
class ReportData:
    """Everything a report states, read at one moment."""

    entity: Entity
    scope: Scope
    disclosed_on: dt.date
    feed_cursor: int
    records: list[CreditRecord]
    former_names: list
    rule_sets: list[DisclosureRuleSet]
    departments: list[Department] = field(default_factory=list)

    @property
    def record_versions(self) -> list[list]:
        return sorted([record.pk, record.published_version or ""] for record in self.records)


def report_data(*, entity: Entity, scope: Scope, on: dt.date) -> ReportData:
    """The feed cursor and the records, read in one repeatable-read transaction on
    PostgreSQL: the records are exactly the state after the cursor's event."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # The last event written, held back from the feed or not: the records read here
        # already show it.
        cursor_id = feed.head().latest
        records = list(scope_records(entity=entity, scope=scope, on=on).select_related("rule_set"))
    rule_set_ids = {record.rule_set_id for record in records if record.rule_set_id}
    in_force = DisclosureRuleSet.objects.in_force_on(on)
    if in_force is not None:
        rule_set_ids.add(in_force.pk)
    rule_sets = list(DisclosureRuleSet.objects.filter(pk__in=rule_set_ids).prefetch_related("rules"))
    departments = []
    if scope.kind == ReportKind.SPECIAL:
        by_code = Department.objects.in_bulk(scope.departments, field_name="code")
        departments = [by_code[code] for code in scope.departments if code in by_code]
    return ReportData(
        entity=entity,
        scope=scope,
        disclosed_on=on,
        feed_cursor=cursor_id,
        records=records,
        former_names=list(entity.former_names.all()),
        rule_sets=rule_sets,
        departments=departments,
    )


def report_departments() -> QuerySet[Department]:
    """The fields a special report may cover: departments that provide public information."""
    return Department.objects.filter(
        provided_items__disclosure_attribute=DisclosureAttribute.PUBLIC
    ).distinct()


def report_by_number(number: str) -> Report | None:
    return Report.objects.select_related("entity").filter(number=number).first()


def report_by_sha256(digest: str) -> Report | None:
    return Report.objects.select_related("entity").filter(pdf_sha256=digest).first()


def entity_reports(entity: Entity, *, limit: int = 10) -> list[Report]:
    return list(Report.objects.filter(entity=entity)[:limit])


@dataclass(frozen=True)
class ReportChanges:
    """How the records a report showed differ from what is disclosed on ``on``, for the same
    scope: records disclosed now and not in the report, records in the report no longer
    disclosed, and records whose published document changed. ``later`` counts, for a special
    report, records in its fields decided after its window."""

    on: dt.date
    added: int
    gone: int
    updated: int
    later: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.gone or self.updated)


def report_changes(report: Report, *, on: dt.date) -> ReportChanges:
    scope = Scope.of(report)
    current = dict(
        scope_records(entity=report.entity, scope=scope, on=on).values_list("id", "published_version")
    )
    issued = dict(report.record_versions)
    later = 0
    if scope.kind == ReportKind.SPECIAL and on > scope.window_end:
        later = (
            scope_records(entity=report.entity, scope=scope, on=on, until=on)
            .filter(decision_date__gt=scope.window_end)
            .count()
        )
    return ReportChanges(
        on=on,
        added=len(current.keys() - issued.keys()),
        gone=len(issued.keys() - current.keys()),
        updated=sum(1 for key in issued.keys() & current.keys() if issued[key] != (current[key] or "")),
        later=later,
    )


def report_scope_labels(report: Report) -> tuple[list[str], list[str]]:
    """A special report's fields and kinds of record, as the reader's language names them."""
    by_code = Department.objects.in_bulk(report.departments, field_name="code")
    departments = [by_code[code].display_name if code in by_code else code for code in report.departments]
    return departments, [str(Category(category).label) for category in report.categories]
