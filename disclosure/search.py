"""Name search with exact totals, for queries of any length.

An entity is found when its current name or a former name contains the query, compared
folded (``fold``: full-width = half-width, case-insensitive, no spaces). Results are ranked:
the exact name, then names starting with the query, then names containing it, then entities
found only by a former name.

A trigram index cannot serve 1- and 2-character queries, and counting a frequent fragment
row by row is slow, so the site keeps its own index, updated with every name change:

- ``NameGram``: for each 1- and 2-character gram of an entity's names, one posting saying
  whether the gram is in the current name. For 1- and 2-character queries the postings are
  the exact answer; for longer ones, the postings of the query's rarest bigram are the
  candidates, checked against the names.
- ``NameGramCount``: for each gram of 1 to 4 characters, how many entities have it in their
  current name and in any name. The exact total of an unfiltered query of up to 4 characters
  is one row; longer or filtered queries are counted in the database.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet

from .fold import fold, fold_with_positions
from .models import CreditRecord, Entity, FormerName, NameGram, NameGramCount

COUNTED_UP_TO = 4
POSTED_UP_TO = 2
MAX_QUERY_LENGTH = 50
PER_PAGE = 20
MAX_PAGES = 50  # 1,000 results: past that, people refine the query rather than page


def grams(text: str, up_to: int) -> set[str]:
    return {text[i : i + n] for n in range(1, up_to + 1) for i in range(len(text) - n + 1)}


@dataclass(frozen=True)
class IndexTerms:
    current: frozenset[str]  # grams up to 4 in the current name
    any_name: frozenset[str]  # grams up to 4 in any name
    postings: dict[str, bool]  # grams up to 2 -> in the current name?


def index_terms(names: list[str]) -> IndexTerms:
    """What the index holds for an entity whose names are ``names`` (current first)."""
    if not names:
        return IndexTerms(frozenset(), frozenset(), {})
    folded = [fold(name) for name in names]
    current = grams(folded[0], COUNTED_UP_TO)
    any_name = set(current)
    for former in folded[1:]:
        any_name |= grams(former, COUNTED_UP_TO)
    postings = {gram: gram in current for gram in any_name if len(gram) <= POSTED_UP_TO}
    return IndexTerms(frozenset(current), frozenset(any_name), postings)


def entity_names(entity: Entity) -> list[str]:
    return [entity.name, *sorted(FormerName.objects.filter(entity=entity).values_list("name", flat=True))]


@transaction.atomic
def index_entity(entity: Entity) -> None:
    """Bring the index up to date with the entity's names, by difference with what was
    indexed before. Called by the services whenever a name changes."""
    entity = Entity.objects.select_for_update().get(pk=entity.pk)
    names = entity_names(entity)
    if names == entity.indexed_names:
        return
    old = index_terms(entity.indexed_names)
    new = index_terms(names)

    deltas: dict[tuple[int, int], list[str]] = defaultdict(list)
    for gram in old.any_name | new.any_name:
        delta = (
            (gram in new.current) - (gram in old.current),
            (gram in new.any_name) - (gram in old.any_name),
        )
        if delta != (0, 0):
            deltas[delta].append(gram)
    added = [gram for (dc, da), grams_ in deltas.items() if dc > 0 or da > 0 for gram in grams_]
    NameGramCount.objects.bulk_create([NameGramCount(gram=gram) for gram in added], ignore_conflicts=True)
    for (dc, da), grams_ in deltas.items():
        NameGramCount.objects.filter(gram__in=grams_).update(
            current=F("current") + dc, any_name=F("any_name") + da
        )

    gone = [gram for gram in old.postings if gram not in new.postings]
    NameGram.objects.filter(entity=entity, gram__in=gone).delete()
    for in_current in (True, False):
        flipped = [
            g
            for g, flag in new.postings.items()
            if flag == in_current and old.postings.get(g) == (not in_current)
        ]
        NameGram.objects.filter(entity=entity, gram__in=flipped).update(in_current=in_current)
    NameGram.objects.bulk_create(
        [
            NameGram(gram=g, entity=entity, in_current=flag)
            for g, flag in new.postings.items()
            if g not in old.postings
        ]
    )
    entity.indexed_names = names
    entity.save(update_fields=["indexed_names"])


# -- querying -----------------------------------------------------------------------------


@dataclass
class Hit:
    entity: Entity
    match: str  # "exact", "prefix", "substring" or "former"
    name_parts: list[tuple[str, bool]]  # the name cut into (text, is the match) for highlighting
    former_name: str = ""
    former_parts: list[tuple[str, bool]] = field(default_factory=list)


@dataclass
class SearchPage:
    query: str
    total: int
    hits: list[Hit]
    page: int
    pages: int
    per_page: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def start_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.hits else 0

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.hits) - 1 if self.hits else 0

    @property
    def capped(self) -> bool:
        """More results exist than can be paged through."""
        return self.total > MAX_PAGES * self.per_page


def highlight(name: str, query: str) -> list[tuple[str, bool]]:
    folded, origin = fold_with_positions(name)
    at = folded.find(query)
    if at < 0 or not query:
        return [(name, False)]
    start = origin[at]
    end = origin[at + len(query) - 1] + 1
    parts = [(name[:start], False), (name[start:end], True), (name[end:], False)]
    return [part for part in parts if part[0]]


@dataclass(frozen=True)
class Filters:
    kind: str = ""
    province: str = ""
    category: str = ""

    def __bool__(self) -> bool:
        return bool(self.kind or self.province or self.category)

    def apply(self, entities: QuerySet[Entity]) -> QuerySet[Entity]:
        if self.kind:
            entities = entities.filter(kind=self.kind)
        if self.province:
            entities = entities.filter(province_code=self.province)
        if self.category:
            entities = entities.filter(
                Exists(
                    CreditRecord.objects.disclosed().filter(
                        entity=OuterRef("pk"), catalog_item__category=self.category
                    )
                )
            )
        return entities


class _Segments:
    """The four ranked segments of a query's results, each a queryset of entity ids in a
    stable order, with its count."""

    def __init__(self, query: str, filters: Filters):
        self.query = query
        self.filters = filters
        self.short = len(query) <= POSTED_UP_TO

    def _entities(self) -> QuerySet[Entity]:
        return self.filters.apply(Entity.objects.all())

    def _rarest_bigram(self) -> str:
        bigrams = sorted({self.query[i : i + 2] for i in range(len(self.query) - 1)})
        counts = dict(NameGramCount.objects.filter(gram__in=bigrams).values_list("gram", "any_name"))
        return min(bigrams, key=lambda gram: (counts.get(gram, 0), gram))

    def exact(self) -> QuerySet:
        return self._entities().filter(search_name=self.query).order_by("id")

    def prefix(self) -> QuerySet:
        return (
            self._entities()
            .filter(search_name__startswith=self.query)
            .exclude(search_name=self.query)
            .order_by("search_name", "id")
        )

    def substring(self) -> QuerySet:
        """Current name contains the query, not at its start. Driven from the postings, in
        entity order, so a page stops reading as soon as it is full."""
        entities = self._entities().exclude(search_name__startswith=self.query)
        if self.short:
            entities = entities.filter(grams__gram=self.query, grams__in_current=True)
        else:
            entities = entities.filter(grams__gram=self._rarest_bigram(), search_name__contains=self.query)
        return entities.order_by("id")

    def former(self) -> QuerySet:
        """Only a former name contains the query."""
        if self.short:
            entities = self._entities().filter(grams__gram=self.query, grams__in_current=False)
        else:
            entities = (
                self._entities()
                .filter(grams__gram=self._rarest_bigram())
                .exclude(search_name__contains=self.query)
                .filter(
                    Exists(FormerName.objects.filter(entity=OuterRef("pk"), search_name__contains=self.query))
                )
            )
        return entities.order_by("id")

    def counts(self) -> list[int]:
        exact = self.exact().count()
        prefix = self.prefix().count()
        stats = None
        if not self.filters and len(self.query) <= COUNTED_UP_TO:
            stats = NameGramCount.objects.filter(gram=self.query).values_list(
                "current", "any_name"
            ).first() or (0, 0)
        if stats is not None:
            current, any_name = stats
            return [exact, prefix, current - exact - prefix, any_name - current]
        return [exact, prefix, self.substring().count(), self.former().count()]


def search(
    query: str, *, page: int = 1, filters: Filters | None = None, per_page: int = PER_PAGE
) -> SearchPage:
    """One page of ranked results and the exact total for a name fragment."""
    folded = fold(query)[:MAX_QUERY_LENGTH]
    if not folded:
        return SearchPage(query=query, total=0, hits=[], page=1, pages=1, per_page=per_page)
    filters = filters or Filters()
    segments = _Segments(folded, filters)
    counts = segments.counts()
    total = sum(counts)
    pages = max(1, min(MAX_PAGES, math.ceil(total / per_page)))
    page = min(max(1, page), pages)
    start, stop = (page - 1) * per_page, page * per_page

    hits: list[Hit] = []
    segment_start = 0
    for match, count, make in zip(
        ("exact", "prefix", "substring", "former"),
        counts,
        (segments.exact, segments.prefix, segments.substring, segments.former),
        strict=True,
    ):
        segment_stop = segment_start + count
        if count and start < segment_stop and stop > segment_start:
            offset = max(0, start - segment_start)
            limit = min(stop, segment_stop) - (segment_start + offset)
            for entity in make()[offset : offset + limit]:
                hits.append(_hit(entity, match, folded))
        segment_start = segment_stop
    _attach_former_names(hits, folded)
    return SearchPage(query=query, total=total, hits=hits, page=page, pages=pages, per_page=per_page)


def _hit(entity: Entity, match: str, folded_query: str) -> Hit:
    parts = highlight(entity.name, folded_query) if match != "former" else [(entity.name, False)]
    return Hit(entity=entity, match=match, name_parts=parts)


def _attach_former_names(hits: list[Hit], folded_query: str) -> None:
    former_hits = {hit.entity.pk: hit for hit in hits if hit.match == "former"}
    if not former_hits:
        return
    for former in FormerName.objects.filter(
        entity_id__in=former_hits, search_name__contains=folded_query
    ).order_by("entity_id", "-changed_on"):
        hit = former_hits[former.entity_id]
        if not hit.former_name:
            hit.former_name = former.name
            hit.former_parts = highlight(former.name, folded_query)
