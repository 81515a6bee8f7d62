"""Public pages and public API answers, kept in the shared cache and dropped by the writes.

What is kept: an entity's page and its API answers, a record's page and API answer, and the
unfiltered pages of the public lists and category pages, each under a key naming the
language, the day in the site's time zone (a record that lapses at midnight is on no page
kept under the new day's key) and the release (templates, translations and this app's code:
a deployment never serves the previous release's pages).

How a kept answer is known to be current: every answer depends on *tokens*, random values
kept in the same cache: one per entity (under its id and, for the answers asked for by code,
under its code), one for the lists, one for the reference tables every page shows. A write
renews the tokens of what it touched when its transaction commits (``entities_changed``:
called where the entities' ``records_version`` is bumped, in the transactions that write
the record events, and when an entity row is saved; ``site_changed`` for departments,
catalog items and rule sets). An answer is served only while every token it was made under
is still current. A reader takes the tokens *before* it reads the database (in the round
trip that finds the entry missing), so an answer built from rows a concurrent write was
about to change is kept under tokens that write replaces: it is never served. A missing
token (evicted, or a cache restarted empty) is made anew, which retires everything kept
under the old one. A hit costs one round trip to the cache (two for a record, whose entity
is only known from the entry) and no query.

Without a configured shared cache (``CACHES["pages"]``, from ``PAGE_CACHE_URL`` or
``REDIS_URL``) nothing here is used, and the pages work as without it. A cache that fails
while the site runs is a miss, never an error page: the answer comes from the database.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sys
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, DatabaseError, transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.utils.translation import get_language

from ops import replicas

logger = logging.getLogger(__name__)

ALIAS = "pages"
LISTS = "gen:lists"
# What every kept answer shows besides its entity and records: departments' and catalog
# items' names, the rule sets. Renewed when one of them is saved.
SITE = "gen:site"
# Kept entries and tokens outlive the day their key names; a day's entries go stale by key at
# midnight, and the cache's own eviction (allkeys-lru) removes them.
ENTRY_SECONDS = 26 * 3600
TOKEN_SECONDS = 3 * 86400
# Pages of a list beyond this are read from the database every time: the first pages are the
# ones people open, and the key space of an unbounded page number is not worth keeping.
LIST_PAGES_KEPT = 10
# Marks an answer served from the cache, for operators and the benchmarks.
HIT_HEADER = "X-Cache"


def enabled() -> bool:
    return ALIAS in settings.CACHES


def _cache():
    return caches[ALIAS]


@cache
def release() -> str:
    """What a kept page was made with: the templates, the translations and this app's code
    (or ``PAGE_CACHE_RELEASE`` when the deployment names its release itself)."""
    if settings.PAGE_CACHE_RELEASE:
        return settings.PAGE_CACHE_RELEASE
    digest = hashlib.sha256()
    roots = [settings.BASE_DIR / "templates", settings.BASE_DIR / "locale", settings.BASE_DIR / "disclosure"]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in {".html", ".txt", ".mo", ".py"}:
                digest.update(str(path.relative_to(settings.BASE_DIR)).encode())
                digest.update(path.read_bytes())
    manifest = settings.STATIC_ROOT and (settings.STATIC_ROOT / "staticfiles.json")
    if manifest and manifest.is_file():
        digest.update(manifest.read_bytes())
    return digest.hexdigest()[:12]


def entity_token_key(entity_id: int) -> str:
    return f"gen:e:{entity_id}"


def code_token_key(code: str) -> str:
    """The same entity's token under its code, for the answers asked for by code: a reader
    has it in the round trip that reads the kept answer."""
    return f"gen:c:{code}"


def page_key(*parts) -> str:
    """A kept answer's key: what it is, then the language, the day and the release."""
    day = timezone.localdate().isoformat()
    return ":".join(["p", release(), *(str(part) for part in parts), get_language() or "", day])


# The WAL position each replica is known (by this process) to have replayed.
_replayed: dict[str, int] = {}


def _uncommitted() -> bool:
    """Inside a transaction, what was read may never commit (and the tokens are renewed only
    when a write commits): nothing read there is kept."""
    return transaction.get_connection().in_atomic_block


def _safely(operation, default=None):
    try:
        return operation()
    except Exception:  # A cache that fails is a miss: the database answers.
        logger.warning("page cache unavailable: %s", sys.exc_info()[1])
        return default


# Writes -----------------------------------------------------------------------------------


def entities_changed(entity_ids, *, codes=()) -> None:
    """The entities' pages and API answers, and the lists, change when the current
    transaction commits. Call it wherever an entity's ``records_version`` or row changes.
    ``codes``: the entities' codes, when the caller has them (a deleted entity's)."""
    if not enabled():
        return
    ids = sorted(set(entity_ids))
    if ids or codes:
        transaction.on_commit(lambda: _renew_entities(ids, list(codes)))


def _renew_entities(ids: list[int], codes: list[str]) -> None:
    from .models import Entity

    codes = set(codes)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        codes.update(Entity.objects.filter(pk__in=chunk, code__isnull=False).values_list("code", flat=True))
    _renew([*map(entity_token_key, ids), *map(code_token_key, sorted(codes)), LISTS])


def site_changed() -> None:
    """Everything kept changes when the current transaction commits: a department, catalog
    item or rule set was saved (rare, and shown on most pages)."""
    if enabled():
        transaction.on_commit(lambda: _renew([SITE, LISTS]))


def connect() -> None:
    """Saves outside the services that change what kept answers show: an entity's row (the
    admin's edits, its search names), and the reference tables every page shows."""
    from django.db.models.signals import post_delete, post_save

    from .models import CatalogItem, Department, DisclosureRuleSet, Entity

    def entity_saved(sender, instance, **kwargs):
        entities_changed([instance.pk], codes=[instance.code] if instance.code else [])

    def reference_saved(sender, **kwargs):
        site_changed()

    for signal in (post_save, post_delete):
        name = "saved" if signal is post_save else "deleted"
        signal.connect(entity_saved, sender=Entity, weak=False, dispatch_uid=f"pagecache-entity-{name}")
        for model in (CatalogItem, Department, DisclosureRuleSet):
            signal.connect(reference_saved, sender=model, weak=False, dispatch_uid=f"pagecache-{model.__name__}-{name}")


def _renew(keys: list[str]) -> None:
    cache_ = _cache()
    # With read replicas, a token says where in the primary's WAL the write that made it had
    # committed: a reader that would fill its answer from a replica that has not replayed
    # that far reads from the primary instead (``Filling.check_replica``).
    lsn = replicas.committed_lsn() if settings.DATABASE_REPLICAS else None
    suffix = f"@{lsn}" if lsn else ""
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        tokens = {key: secrets.token_hex(8) + suffix for key in chunk}
        try:
            cache_.set_many(tokens, TOKEN_SECONDS)
        except Exception:
            # The kept answers of these entities can no longer be known to be stale: say so as
            # loudly as a failed write. They go at midnight, or when the cache is flushed.
            logger.error("page cache: could not renew %d tokens after a write", len(chunk), exc_info=True)
            return


# Reads ------------------------------------------------------------------------------------


@dataclass
class Entry:
    """A kept answer: the body (or, for the API, the data to render) and its validators."""

    etag: str
    modified: int | None
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    data: object = None
    location: str = ""  # a kept redirect's target
    tokens: dict[str, str] = field(default_factory=dict)  # set by ``Filling.keep``

    def conditional(self, request) -> HttpResponse | None:
        """304 when the client's copy is current."""
        response = get_conditional_response(request, etag=self.etag, last_modified=self.modified)
        if response is not None:
            validate(response, self.etag, self.modified)
        return response

    def page(self, request) -> HttpResponse:
        if self.location:
            response = HttpResponseRedirect(self.location)
        elif (response := self.conditional(request)) is None:
            response = HttpResponse(self.body, status=self.status, content_type=self.content_type)
            validate(response, self.etag, self.modified)
        response[HIT_HEADER] = "hit"
        return response


def validate(response, etag: str, modified: int | None) -> None:
    """The validators and ``no-cache``: a browser or proxy must ask again every time (and
    gets a 304 while nothing changed), so a withdrawal shows at once."""
    response["ETag"] = etag
    if modified is not None:
        response["Last-Modified"] = http_date(modified)
    patch_cache_control(response, no_cache=True)


def lookup(key: str, *tokens: str, request=None) -> tuple[Entry | None, Filling]:
    """The current entry under ``key``, or None and the ``Filling`` to make it with. Reads
    the entry and the tokens the caller names (the site's always) in one round trip; an
    entry that depends on others asks for them in a second one. On a miss the filling holds
    those tokens, read before the caller reads the database. A page asked for with a query
    string is neither served from nor kept in the cache (``request``): its language links
    carry that query string, which no other visitor's page may show."""
    fill = Filling(key)
    if not enabled() or (request is not None and request.META.get("QUERY_STRING")):
        fill.spoiled = True
        return None, fill
    names = [SITE, *tokens]
    found = _safely(lambda: _cache().get_many([key, *names]))
    if found is None:
        fill.spoiled = True
        return None, fill
    entry = found.pop(key, None)
    if entry is not None:
        others = [name for name in entry.tokens if name not in names]
        current = dict(found)
        if others:
            current.update(_safely(lambda: _cache().get_many(others), {}))
        if all(current.get(name) == token for name, token in entry.tokens.items()):
            return entry, fill
    fill.take(names, found)
    fill.check_replica()
    return None, fill


@dataclass
class Filling:
    """An answer being made on a miss: the tokens it depends on, taken before the database is
    read (``lookup``, ``depend``), then ``keep`` stores it under them."""

    key: str
    tokens: dict[str, str] = field(default_factory=dict)
    spoiled: bool = False

    def depend(self, *names: str) -> None:
        names = [name for name in names if name not in self.tokens]
        if not enabled() or self.spoiled or not names:
            return
        current = _safely(lambda: _cache().get_many(names))
        if current is None:
            self.spoiled = True
            return
        self.take(names, current)
        self.check_replica()

    def check_replica(self) -> None:
        """If this request reads from a replica that has not replayed the latest write these
        tokens name, read from the primary instead: the answer is kept under those tokens,
        so it must show that write."""
        alias = replicas.reading_from()
        positions = [token.split("@", 1)[1] for token in self.tokens.values() if "@" in token]
        if alias == DEFAULT_DB_ALIAS or not positions:
            return
        newest = max(positions, key=replicas.lsn_value)
        if replicas.lsn_value(newest) <= _replayed.get(alias, -1):
            return
        try:
            caught_up = replicas.replica_has(alias, newest)
        except DatabaseError:
            caught_up = False
        if caught_up:
            _replayed[alias] = max(_replayed.get(alias, -1), replicas.lsn_value(newest))
        else:
            replicas.read_from_primary()

    def take(self, names, current: dict) -> None:
        """Take the tokens ``names`` from ``current`` (what the cache holds); one nobody has
        made yet (or that was evicted) is made here. If another process makes it at the
        same moment, theirs is taken."""
        cache_ = _cache()
        for name in names:
            token = current.get(name)
            if token is None:
                fresh = secrets.token_hex(8)
                added = _safely(lambda n=name, f=fresh: cache_.add(n, f, TOKEN_SECONDS))
                token = fresh if added else _safely(lambda n=name: cache_.get(n))
            if token is None:
                self.spoiled = True
                return
            self.tokens[name] = token

    def keep(self, entry: Entry) -> None:
        if not enabled() or self.spoiled or not self.tokens or _uncommitted():
            return
        entry.tokens = dict(self.tokens)
        _safely(lambda: _cache().set(self.key, entry, ENTRY_SECONDS))


def body_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
