"""Public pages and public API answers, kept in the shared cache and dropped by the writes.

What is kept: an entity's page and its API answers, a record's page and API answer, and the
unfiltered pages of the public lists and category pages, each under a key naming the
language, the day in the site's time zone (a record that lapses at midnight is on no page
kept under the new day's key) and the release (templates, translations and this app's code:
a deployment never serves the previous release's pages).

How a kept answer is known to be current: every answer depends on one or more
*generations*, random tokens kept in the same cache: one per entity (its page, its records'
pages and API answers) and one for the lists. A write changes the tokens of what it touched
when its transaction commits (``entities_changed``: called where the entities'
``records_version`` is bumped, so in the same transactions that write the record events);
an answer is served from the cache only while every token it was made under is still the
current one. A reader takes the tokens *before* it reads the database, so an answer built
from rows a concurrent write was about to change is kept under tokens that write replaces:
it is never served. A token that is missing (evicted, or a cache restarted empty) is made
anew, which also retires everything kept under the old one.

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
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.utils.translation import get_language

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


def page_key(*parts) -> str:
    """A kept answer's key: what it is, then the language, the day and the release."""
    day = timezone.localdate().isoformat()
    return ":".join(["p", release(), *(str(part) for part in parts), get_language() or "", day])


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


def entities_changed(entity_ids) -> None:
    """The entities' pages and API answers, and the lists, change when the current
    transaction commits. Call it wherever an entity's ``records_version`` or row changes."""
    if not enabled():
        return
    ids = sorted(set(entity_ids))
    if ids:
        transaction.on_commit(lambda: _renew([entity_token_key(pk) for pk in ids] + [LISTS]))


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
        entities_changed([instance.pk])

    def reference_saved(sender, **kwargs):
        site_changed()

    for signal in (post_save, post_delete):
        name = "saved" if signal is post_save else "deleted"
        signal.connect(entity_saved, sender=Entity, weak=False, dispatch_uid=f"pagecache-entity-{name}")
        for model in (CatalogItem, Department, DisclosureRuleSet):
            signal.connect(reference_saved, sender=model, weak=False, dispatch_uid=f"pagecache-{model.__name__}-{name}")


def _renew(keys: list[str]) -> None:
    cache_ = _cache()
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        tokens = {key: secrets.token_hex(8) for key in chunk}
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

    tokens: dict[str, str]
    etag: str
    modified: int | None
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    data: object = None
    subject: int | None = None  # the entity the answer is about, when a reader needs it

    def conditional(self, request) -> HttpResponse | None:
        """304 when the client's copy is current."""
        response = get_conditional_response(request, etag=self.etag, last_modified=self.modified)
        if response is not None:
            validate(response, self.etag, self.modified)
        return response

    def page(self, request) -> HttpResponse:
        response = self.conditional(request)
        if response is None:
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


def lookup(key: str, *extra: str) -> tuple[Entry | None, dict]:
    """The current entry under ``key`` (or None), and the values of ``extra`` keys read in the
    same round trip."""
    if not enabled():
        return None, {}
    found = _safely(lambda: _cache().get_many([key, *extra]), {})
    entry = found.pop(key, None)
    if entry is not None:
        current = _safely(lambda: _cache().get_many(list(entry.tokens)), {})
        if any(current.get(name) != token for name, token in entry.tokens.items()):
            entry = None
    return entry, found


@dataclass
class Filling:
    """An answer being made on a miss: the tokens it depends on, taken before the database is
    read (``depend``), then ``keep`` stores it under them."""

    key: str
    tokens: dict[str, str] = field(default_factory=dict)
    spoiled: bool = False

    def depend(self, *names: str) -> None:
        if not enabled() or self.spoiled:
            return
        names = [name for name in names if name not in self.tokens]
        cache_ = _cache()
        current = _safely(lambda: cache_.get_many(names))
        if current is None:
            self.spoiled = True
            return
        for name in names:
            if name not in current:
                # A token nobody has made yet (or that was evicted): make one. If another
                # process makes it at the same moment, take theirs.
                fresh = secrets.token_hex(8)
                added = _safely(lambda n=name, f=fresh: cache_.add(n, f, TOKEN_SECONDS))
                current[name] = fresh if added else _safely(lambda n=name: cache_.get(n))
            if current[name] is None:
                self.spoiled = True
                return
            self.tokens[name] = current[name]

    def keep(self, entry: Entry) -> None:
        if not enabled() or self.spoiled or not self.tokens or _uncommitted():
            return
        entry.tokens = dict(self.tokens)
        _safely(lambda: _cache().set(self.key, entry, ENTRY_SECONDS))


def filling(key: str) -> Filling:
    """Start making the answer kept under ``key``: it depends on the site token at least."""
    fill = Filling(key)
    fill.depend(SITE)
    return fill


def body_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def read_entity(fill: Filling, *, code: str, hint: int | None):
    """The entity with ``code``, read after its token is taken (so its page cannot be kept
    under a token a concurrent rename already replaced). ``hint``: the entity's id, when the
    cache remembers it (codes do not move between entities; it is checked all the same)."""
    from . import selectors

    if hint is not None:
        fill.depend(entity_token_key(hint))
        entity = selectors.entity_by_pk(hint)
        if entity is not None and entity.code == code:
            return entity
    entity = selectors.entity_by_code(code)
    if entity is None or not enabled():
        return entity
    if not _uncommitted():
        _safely(lambda: _cache().set(code_key(code), entity.pk, TOKEN_SECONDS))
    fill.depend(entity_token_key(entity.pk))
    return selectors.entity_by_pk(entity.pk)


def code_key(code: str) -> str:
    return f"id:{code}"


def remembered_id(code: str) -> int | None:
    """The id of the entity with ``code``, if the cache remembers it (see ``read_entity``)."""
    if not enabled():
        return None
    return _safely(lambda: _cache().get(code_key(code)))
