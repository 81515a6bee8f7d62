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
is only known from the entry) and no query (one query per lease for the whole site, below).

The pages people look up most are served before most of the middleware runs
(``disclosure.middleware.KeptPageMiddleware``): their entries are kept, on the way out of the
request that made them, with the headers the layers inside that middleware added (``Capture``),
and ``Entry.page`` sets them again on every hit.

Without a configured shared cache (``CACHES["pages"]``, from ``PAGE_CACHE_URL`` or
``REDIS_URL``) nothing here is used, and the pages work as without it. A cache that fails
while the site runs is a miss, never an error page: the answer comes from the database.

A write whose renewal fails (the cache unreachable from that process) records the tokens it
owes in the database (``PageCacheDebt``, one short transaction after its own commit) and
logs at ERROR; they are renewed, and only then the rows deleted, by the first reader that
looks. Readers trust tokens under a *lease*, ``gen:lease``, read in the same round trip as
the entry and kept ``PAGE_CACHE_LEASE_SECONDS``: the one reader that finds it gone marks it
"checking" (the others meanwhile answer from the database), reads the debt (one query, on
the primary), renews what is owed, and sets the lease again. So a page such a write changed
is served by no process later than one lease after the debt row is committed; and not at
all by the process that made the write, or any process that saw the cache fail, once it has
seen the failure: it checks the debt on its next contact with the cache before serving
anything from it (its other threads may serve for the moment between the failed renewal and
the debt row). In particular:
- a cache restarted empty has no lease (and no tokens): the debt is paid at once;
- a cache that only the writer cannot reach: readers elsewhere keep serving until their
  lease runs out, then pay the debt; the writer's own requests are misses meanwhile;
- a debt row committed just after a reader looked is found when that reader's lease ends;
- two readers paying at once (a "checking" mark that outlived a slow reader) renew the same
  tokens twice and delete the rows each read: a few more misses, nothing stale;
- a debt check or renewal that fails is a miss, and the lease is not set, so the next
  reader tries again;
- inside a transaction a reader without the lease serves nothing from the cache and does
  not look (a query that failed there would break the transaction);
- a write whose debt row cannot be written either (the database gone too) is logged at
  ERROR, and its pages can stay stale until midnight.
The bound counts from the debt row's commit, which follows the failed renewal: a cache that
does not refuse connections but lets them hang delays both by the client's timeouts.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import secrets
import sys
import threading
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, DatabaseError, Error, transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.http.response import ResponseHeaders
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
# Those pages' numbers as a list page is asked for them (``?page=N``).
LIST_PAGE_NUMBERS_KEPT = frozenset(str(n) for n in range(1, LIST_PAGES_KEPT + 1))
# Marks an answer served from the cache, for operators and the benchmarks.
HIT_HEADER = "X-Cache"
# While this key is present, the tokens are trusted (``_trusted``): a reader found no
# renewal owed, or made it, less than PAGE_CACHE_LEASE_SECONDS ago. CHECKING while a reader
# is looking; that mark outlives a reader that dies looking by at most CHECKING_SECONDS.
LEASE = "gen:lease"
TRUSTED = "trusted"
CHECKING = "checking"
CHECKING_SECONDS = 10
# A debt of more tokens than this is recorded, and paid, as the site token: every kept
# answer depends on it, so renewing it retires them all.
DEBT_KEYS_KEPT = 1000
DEBTS_READ = 1000


def enabled() -> bool:
    return ALIAS in settings.CACHES


def _cache():
    return caches[ALIAS]


# The settings that make the headers kept with a page (``Entry.headers``): the layers that add
# them, the content security and permissions policies, framing, the languages.
HEADER_SETTINGS = ("MIDDLEWARE", "CONTENT_SECURITY_POLICY", "PERMISSIONS_POLICY", "X_FRAME_OPTIONS", "LANGUAGES")


@cache
def release() -> str:
    """What a kept page was made with: the templates, the translations, this app's, the
    project's and ``ops``' code, the settings that make its headers and the versions of the
    libraries that add them (or ``PAGE_CACHE_RELEASE`` when the deployment names its release
    itself, and answers for all of that)."""
    if settings.PAGE_CACHE_RELEASE:
        # A key's parts are separated by ":" (``page_key``; ``warming`` reads them back): a
        # release named like an image ("creditchina:2026.11") must not add one.
        return settings.PAGE_CACHE_RELEASE.replace(":", "_")
    digest = hashlib.sha256()
    for name in HEADER_SETTINGS:
        digest.update(repr(getattr(settings, name, None)).encode())
    for package in ("django", "django-csp"):
        digest.update(importlib.metadata.version(package).encode())
    roots = [settings.BASE_DIR / name for name in ("templates", "locale", "disclosure", "creditchina", "ops")]
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


@dataclass(frozen=True)
class PageKey:
    release: str
    parts: tuple[str, ...]  # what it is: ``page_key``'s parts
    language: str
    day: str


def read_page_key(key: str) -> PageKey | None:
    """``page_key``'s parts read back from a key it made; None for any other key."""
    fields = key.split(":")
    if len(fields) < 5 or fields[0] != "p":
        return None
    return PageKey(fields[1], tuple(fields[2:-2]), fields[-2], fields[-1])


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
        _failed()
        return default


# The cache failures this process has seen, and how many of them the last debt check it made
# came after: while the first is ahead, it trusts no token before checking (``_trusted``).
_lock = threading.Lock()
_failures = 0
_checked = 0


def _failed() -> None:
    global _failures
    with _lock:
        _failures += 1


def forget_failures() -> None:
    """This process has seen no failure of the cache (tests: another process)."""
    global _failures, _checked
    with _lock:
        _failures = _checked = 0


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
    owed = _renew_tokens(keys)
    if owed:
        # The kept answers of these entities can no longer be known to be stale: say so as
        # loudly as a failed write, and leave the renewal to the first reader that can.
        logger.error("page cache: could not renew %d tokens after a write", len(owed))
        _owe(owed)


def _renew_tokens(keys: list[str]) -> list[str]:
    """New tokens under ``keys``; returns those the cache did not take."""
    cache_ = _cache()
    # With read replicas, a token says where in the primary's WAL the write that made it had
    # committed: a reader that would fill its answer from a replica that has not replayed
    # that far reads from the primary instead (``Filling.check_replica``).
    lsn = replicas.committed_lsn() if settings.DATABASE_REPLICAS else None
    suffix = f"@{lsn}" if lsn else ""
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        tokens = {key: secrets.token_hex(8) + suffix for key in chunk}
        if not _safely(lambda tokens=tokens: cache_.set_many(tokens, TOKEN_SECONDS) or True):
            return keys[start:]
    return []


def _owe(keys: list[str]) -> None:
    """Record in the database that the tokens ``keys`` must be renewed (the write that should
    have renewed them has committed)."""
    from .models import PageCacheDebt

    try:
        with transaction.atomic(using=DEFAULT_DB_ALIAS):
            PageCacheDebt.objects.using(DEFAULT_DB_ALIAS).create(keys=keys if len(keys) <= DEBT_KEYS_KEPT else [SITE])
    except Error:
        logger.error(
            "page cache: could not record the %d tokens to renew either: the pages kept under them can "
            "be served until midnight", len(keys), exc_info=True,
        )  # fmt: skip
    # After the row: a check that this process starts from now on finds it.
    _failed()


def _trusted(lease) -> bool:
    """Whether the tokens read with ``lease`` (the value of ``LEASE`` in the same round trip)
    are current. Yes while the lease is held and this process has seen no cache failure
    since it last checked; otherwise this reader checks the debt and pays it (one query when
    nothing is owed), unless another one is checking: then no, and the answer comes from the
    database. No too when a renewal was just made: the tokens read are the old ones."""
    global _checked
    seen = _failures
    if lease == TRUSTED and seen == _checked:
        return True
    if _uncommitted():  # a failed query would break the caller's transaction
        return False
    if lease != TRUSTED and not _safely(lambda: _cache().add(LEASE, CHECKING, CHECKING_SECONDS)):
        return False
    paid = _pay_debts()
    if paid is None:
        if lease != TRUSTED:
            _safely(lambda: _cache().delete(LEASE))
        return False
    _safely(lambda: _cache().set(LEASE, TRUSTED, settings.PAGE_CACHE_LEASE_SECONDS))
    with _lock:
        _checked = max(_checked, seen)
    return not paid


def _pay_debts() -> bool | None:
    """Renew the tokens owed (``_owe``) and delete the rows paid. True if there were some,
    False if none, None if the database or the cache failed (nothing deleted)."""
    from .models import PageCacheDebt

    debts = PageCacheDebt.objects.using(DEFAULT_DB_ALIAS)
    try:
        owed = list(debts.order_by("pk").values_list("pk", "keys")[:DEBTS_READ])
    except Error:
        logger.warning("page cache: could not read the tokens owed: %s", sys.exc_info()[1])
        return None
    if not owed:
        return False
    keys = sorted({key for _pk, keys in owed for key in keys})
    if len(keys) > DEBT_KEYS_KEPT or len(owed) == DEBTS_READ:
        keys = [SITE]
    try:
        if _renew_tokens(keys):
            return None
    except Error:  # the primary's WAL position, with replicas
        logger.warning("page cache: could not renew the tokens owed: %s", sys.exc_info()[1])
        return None
    try:
        debts.filter(pk__in=[pk for pk, _keys in owed]).delete()
    except Error:  # renewed: paying again later retires a few more pages, nothing worse
        logger.warning("page cache: could not delete the tokens owed once renewed: %s", sys.exc_info()[1])
    logger.warning("page cache: renewed %d tokens a write could not renew", len(keys))
    return True


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
    # The headers the layers between ``KeptPageMiddleware`` and the view added to the answer
    # this entry was made for (``Capture``); an entry that has them is served by that
    # middleware, before those layers run. Empty: served by its view only. (A 304's headers
    # are a 200's: those layers add the same to both.)
    headers: tuple[tuple[str, str], ...] = ()
    prepared: ResponseHeaders | None = None  # ``prepare``

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
            # ``prepared`` is unpickled from the cache for this answer alone.
            response.headers = self.prepared or self.full_headers()
        else:
            for name, value in self.headers:
                response[name] = value
        response[HIT_HEADER] = "hit"
        return response

    def full_headers(self) -> ResponseHeaders:
        """Every header of the answer that is not a 304 or a redirect."""
        response = HttpResponse(self.body, status=self.status, content_type=self.content_type)
        validate(response, self.etag, self.modified)
        for name, value in self.headers:
            response[name] = value
        response["Content-Length"] = str(len(self.body))
        return response.headers

    def prepare(self) -> None:
        """``full_headers`` made and checked once, when the entry is kept, rather than header
        by header on every hit (a fifth of a kept page's time)."""
        self.prepared = self.full_headers()


def validate(response, etag: str, modified: int | None) -> None:
    """The validators and ``no-cache``: a browser or proxy must ask again every time (and
    gets a 304 while nothing changed), so a withdrawal shows at once."""
    response["ETag"] = etag
    if modified is not None:
        response["Last-Modified"] = http_date(modified)
    patch_cache_control(response, no_cache=True)


def lookup(key: str, *tokens: str, request=None, query_in_key: bool = False) -> tuple[Entry | None, Filling]:
    """The current entry under ``key``, or None and the ``Filling`` to make it with. Reads
    the entry and the tokens the caller names (the site's always) in one round trip; an
    entry that depends on others asks for them in a second one. On a miss the filling holds
    those tokens, read before the caller reads the database. A page asked for with a query
    string is neither served from nor kept in the cache (``request``): its language links
    carry that query string, which no other visitor's page may show (unless the caller has
    put it in the key: ``query_in_key``). A key this request already looked up and missed
    (``KeptPageMiddleware``) is not looked up again."""
    missed = getattr(request, "_pagecache_missed", None)
    if missed is not None and missed.key == key:
        missed.check_replica()  # the request's database was chosen after that look
        return None, missed
    fill = Filling(key, request=request)
    if not enabled() or (request is not None and not query_in_key and request.META.get("QUERY_STRING")):
        fill.spoiled = True
        return None, fill
    names = [SITE, *tokens]
    found = _safely(lambda: _cache().get_many([key, LEASE, *names]))
    if found is None or not _trusted(found.pop(LEASE, None)):
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
    request: object = field(default=None, repr=False)

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
        if not enabled() or self.spoiled or not self.tokens or _uncommitted() or personal(self.request):
            return
        entry.tokens = dict(self.tokens)
        capturing = getattr(self.request, "_pagecache_capture", None)
        if capturing is not None and capturing.key == self.key:
            capturing.entry = entry  # kept with the answer's headers, on its way out
            return
        store(self.key, entry)


def store(key: str, entry: Entry) -> None:
    _safely(lambda: _cache().set(key, entry, ENTRY_SECONDS))


def personal(request) -> bool:
    """Whether the page made for ``request`` showed something meant for this visitor only:
    the messages (``base.html``) a form left for the browser's next page. Such a page is
    served to its visitor and not kept."""
    storage = getattr(request, "_messages", None)
    return bool(getattr(storage, "used", False))


# Headers ``Entry.page`` sets itself, or that say something of one answer only.
NOT_CAPTURED = frozenset(
    {"content-length", "content-type", "etag", "last-modified", "cache-control", "expires", "date", HIT_HEADER.lower()}
)


@dataclass
class Capture:
    """An entry being made for the page ``key`` while ``KeptPageMiddleware`` waits for the
    answer: kept once the answer has passed the layers inside that middleware, with the
    headers they added."""

    key: str
    entry: Entry | None = None

    def finish(self, response) -> None:
        if self.entry is None or response.streaming:
            return
        if response.status_code not in (self.entry.status, 304 if self.entry.status == 200 else None):
            return  # not the answer the entry was made for (an error on the way out)
        if response.cookies or "cookie" in response.get("Vary", "").lower():
            # A layer set a cookie or read the session for this answer: its headers are not
            # every visitor's. The entry is kept without them (its view serves it), and the
            # next plain visitor's answer brings them (``KeptPageMiddleware``).
            store(self.key, self.entry)
            return
        self.entry.headers = tuple(
            (name, value) for name, value in response.items() if name.lower() not in NOT_CAPTURED
        )
        self.entry.prepare()
        store(self.key, self.entry)


def body_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
