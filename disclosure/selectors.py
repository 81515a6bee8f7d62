"""Reads for pages, lists, exports and the API. Every public read of records starts from
``CreditRecord.objects.disclosed()``."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, QuerySet
from django.utils import timezone

from . import feed, identity, rules
from .compiled import CompiledQuery
from .models import (
    Agency,
    CatalogItem,
    CreditRecord,
    Entity,
    EntityKind,
    RecordEvent,
)
from .rules import Category

# The lists the site publishes: URL slug -> the categories they show.
PUBLIC_LISTS = {
    "serious-dishonesty": (Category.SERIOUS_DISHONESTY, Category.DISHONEST_JUDGMENT_DEBTOR),
    "red": (Category.RED_LIST,),
    "abnormal-operation": (Category.ABNORMAL_OPERATION,),
}


# The entity page's two queries are made once per connection (see compiled.py): building and
# compiling them would cost Django more than running them.
_entity_with_code = CompiledQuery(lambda code: Entity.objects.filter(code=code), code="\x00marker")


def entity_by_code(code: str) -> Entity | None:
    found = _entity_with_code(code=code)
    return found[0] if found else None


def record_entity_id(pk: int) -> int | None:
    """Whose record ``pk`` is (None when there is no such record), whether disclosed or not."""
    return CreditRecord.objects.filter(pk=pk).values_list("entity_id", flat=True).first()


def person_by_identity_number(number: str) -> Entity | None:
    return Entity.objects.filter(
        kind=EntityKind.NATURAL_PERSON, id_number_digest=identity.digest(number)
    ).first()


class RecordGone(Exception):
    """The record exists but is no longer disclosed: answer 410, and say nothing else."""


def public_record(pk: int) -> CreditRecord:
    """A disclosed record, for its page and its API answer; ``RecordGone`` when it exists but
    is not disclosed any more, ``CreditRecord.DoesNotExist`` when it never did."""
    record = (
        CreditRecord.objects.disclosed()
        .select_related("entity", "catalog_item", "department")
        .filter(pk=pk)
        .first()
    )
    if record is None:
        if CreditRecord.objects.filter(pk=pk).exists():
            raise RecordGone(pk)
        raise CreditRecord.DoesNotExist(pk)
    return record


def entity_disclosed_records(*, entity: Entity, on: dt.date | None = None) -> QuerySet[CreditRecord]:
    return (
        CreditRecord.objects.disclosed(on=on)
        .filter(entity=entity)
        .select_related("catalog_item", "department")
        .order_by("catalog_item__category", "-decision_date", "-id")
    )


@dataclass
class CategoryGroup:
    category: str
    label: str
    records: list[CreditRecord]


@dataclass
class EntityProfile:
    entity: Entity
    former_names: list
    groups: list[CategoryGroup]
    record_count: int
    on_serious_dishonesty_list: bool
    on_red_list: bool


_entity_disclosed_records = CompiledQuery(
    lambda entity_id, on: entity_disclosed_records(entity=entity_id, on=on),
    entity_id=-7_301_234_567,
    on=dt.date(1, 2, 3),
)


def entity_profile(entity: Entity, *, on: dt.date | None = None) -> EntityProfile:
    records = _entity_disclosed_records(entity_id=entity.pk, on=on or timezone.localdate())
    by_category: dict[str, list[CreditRecord]] = {}
    for record in records:
        by_category.setdefault(record.catalog_item.category, []).append(record)
    order = list(Category.values)
    groups = [
        CategoryGroup(category=category, label=Category(category).label, records=by_category[category])
        for category in sorted(by_category, key=order.index)
    ]
    categories = set(by_category)
    return EntityProfile(
        entity=entity,
        # The search index keeps the names: most entities have no former name, and no query.
        former_names=list(entity.former_names.all()) if len(entity.indexed_names) > 1 else [],
        groups=groups,
        record_count=len(records),
        on_serious_dishonesty_list=bool(
            categories & {Category.SERIOUS_DISHONESTY, Category.DISHONEST_JUDGMENT_DEBTOR}
        ),
        on_red_list=Category.RED_LIST in categories,
    )


def entity_version(entity: Entity, *, on: dt.date | None = None) -> tuple[str, dt.datetime]:
    """An ETag and Last-Modified for an entity's public page. They change whenever the entity
    or any of its records changes (``records_version``: a withdrawn record included), and at
    midnight, when records may lapse: Last-Modified is never before the start of today."""
    on = on or timezone.localdate()
    modified = max(filter(None, [entity.updated_at, entity.records_changed_at, rules.day_start(on)]))
    names = "|".join(entity.indexed_names)
    token = f"{entity.pk}:{entity.updated_at.isoformat()}:{entity.records_version}:{on}:{names}"
    return hashlib.sha256(token.encode()).hexdigest()[:32], modified


def record_version(record: CreditRecord, *, on: dt.date | None = None) -> tuple[str, dt.datetime]:
    """A record page's ETag and Last-Modified: they change with the record, its entity (the
    name it shows) and, through the entity's ``records_version``, with every change any
    service makes to the record (a correction included), and at midnight."""
    on = on or timezone.localdate()
    entity = record.entity
    token = (
        f"{record.pk}:{record.updated_at.isoformat()}:{record.status}:{on.isoformat()}:"
        f"{entity.updated_at.isoformat()}:{entity.records_version}"
    )
    modified = max(filter(None, [record.updated_at, entity.updated_at, entity.records_changed_at, rules.day_start(on)]))
    return hashlib.sha256(token.encode()).hexdigest()[:32], modified


# Every category has a page of its own, browsable without typing: URL slug -> category.
CATEGORY_PAGES = {
    "licences": Category.ADMINISTRATIVE_LICENCE,
    "penalties": Category.ADMINISTRATIVE_PENALTY,
    "red-lists": Category.RED_LIST,
    "serious-dishonesty": Category.SERIOUS_DISHONESTY,
    "key-attention": Category.KEY_ATTENTION,
    "abnormal-operation": Category.ABNORMAL_OPERATION,
    "commitments": Category.CREDIT_COMMITMENT,
    "judgment-debtors": Category.DISHONEST_JUDGMENT_DEBTOR,
}
CATEGORY_SLUGS = {category: slug for slug, category in CATEGORY_PAGES.items()}


def list_entries(categories) -> QuerySet[CreditRecord]:
    """The records disclosed today in ``categories``, newest first: a list's or a category
    page's entries, before its filters."""
    return (
        CreditRecord.objects.disclosed()
        .filter(catalog_item__category__in=categories)
        .select_related("entity", "catalog_item", "department")
        .order_by("-decision_date", "-id")
    )


def site_counts() -> dict:
    """Counts for the home page, cached for ten minutes (counting millions of rows on every
    visit would make the home page the slowest page of the site)."""
    today = timezone.localdate()
    key = f"site-counts:v2:{today.isoformat()}"
    counts = cache.get(key)
    if counts is None:
        disclosed = CreditRecord.objects.disclosed(on=today)
        by_category = dict(
            disclosed.values_list("catalog_item__category").annotate(n=Count("id")).order_by()
        )
        # The example on the home page is an entity the site really publishes something about.
        example = (
            disclosed.filter(entity__code__isnull=False, catalog_item__category=Category.ADMINISTRATIVE_PENALTY)
            .order_by("id")
            .values_list("entity__code", flat=True)
            .first()
        )
        counts = {
            "entities": disclosed.values("entity_id").distinct().count(),
            "records": sum(by_category.values()),
            "by_category": [(c, by_category.get(c, 0)) for c in Category.values],
            "catalog_items": CatalogItem.objects.filter(disclosure_attribute="public").count(),
            "example_code": example or "",
        }
        cache.set(key, counts, 600)
    return counts


@dataclass(frozen=True)
class AgencyLag:
    """How far an agency's copy is behind the site: the events after the cursor it last
    reported, and since when the oldest of them has been waiting (never before the agency was
    authorized: a new agency is not late on its first day)."""

    agency: Agency
    events_behind: int
    behind_since: dt.datetime | None

    def days_behind(self, now: dt.datetime) -> int:
        return (now - self.behind_since).days if self.behind_since else 0


def agency_lag(agency: Agency, *, head: int | None = None) -> AgencyLag:
    """How far the agency's copy is behind the feed's head (``head``: the feed's, by default;
    events the feed holds back are not yet due)."""
    if head is None:
        head = feed.head().cursor
    pending = RecordEvent.objects.in_feed().filter(id__gt=agency.applied_cursor or 0, id__lte=head)
    oldest = pending.order_by("id").values_list("occurred_at", flat=True).first()
    behind_since = max(oldest, agency.created_at) if oldest else None
    return AgencyLag(agency=agency, events_behind=pending.count() if oldest else 0, behind_since=behind_since)


def agencies_late(*, days: int, now: dt.datetime | None = None) -> list[AgencyLag]:
    """Authorized agencies whose copy has lacked an event for more than ``days`` days, the
    latest first."""
    now = now or timezone.now()
    head = feed.head().cursor
    lags = [agency_lag(agency, head=head) for agency in Agency.objects.filter(active=True)]
    late = [lag for lag in lags if lag.behind_since and now - lag.behind_since > dt.timedelta(days=days)]
    return sorted(late, key=lambda lag: (lag.behind_since, lag.agency.code))


@dataclass
class RecordSummary:
    """What a search result says about an entity's records today."""

    total: int = 0
    on_serious_dishonesty_list: bool = False


def record_summaries(entity_ids: list[int]) -> dict[int, RecordSummary]:
    """Disclosed record counts per entity, in one query for a page of results."""
    summaries = {pk: RecordSummary() for pk in entity_ids}
    if not entity_ids:
        return summaries
    rows = (
        CreditRecord.objects.disclosed()
        .filter(entity_id__in=entity_ids)
        .values_list("entity_id", "catalog_item__category")
        .annotate(n=Count("id"))
        .order_by()
    )
    for entity_id, category, count in rows:
        summary = summaries[entity_id]
        summary.total += count
        if category in PUBLIC_LISTS["serious-dishonesty"]:
            summary.on_serious_dishonesty_list = True
    return summaries
