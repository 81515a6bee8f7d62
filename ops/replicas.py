"""Read replicas: which database this request reads from, and whether a replica may be used.

``DATABASE_REPLICA_URLS`` adds one alias a replica (``replica1``, ``replica2``, …, listed in
``settings.DATABASE_REPLICAS``). ``ReadRoutingMiddleware`` decides, once per request, where
the request reads; ``creditchina.routers.PrimaryReplicaRouter`` reads that decision. Writes,
transactions and every query outside a request (commands, the daily jobs) go to the primary.

For other modules (keep this small):

- ``reading_from()``: the alias this request reads from (``"default"`` for the primary).
- ``read_from_primary()``: the rest of this request reads from the primary.
- ``committed_lsn()``: the primary's current WAL position (PostgreSQL), as text.
- ``replica_has(alias, lsn)``: whether that replica has replayed the WAL up to ``lsn``.
- ``replica_states()``: each replica's state as last checked, for ``/readyz``.

A replica is used only while it answers and has replayed what the primary committed up to
``REPLICA_MAX_LAG_SECONDS`` ago. Each process checks each replica at most every
``REPLICA_CHECK_SECONDS`` (two one-row queries), on the request that finds its state stale.
"""

from __future__ import annotations

import contextvars
import logging
import random
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

log = logging.getLogger("ops.replicas")

# None: no decision (outside a request, or a request that reads from the primary by default).
_reading: contextvars.ContextVar[str | None] = contextvars.ContextVar("db_reading", default=None)


def reading_from() -> str:
    """The database alias this request reads from: a replica's, or ``"default"``."""
    return _reading.get() or DEFAULT_DB_ALIAS


def read_from_primary() -> None:
    """Send the rest of this request's reads to the primary (a replica that has not caught up
    with something the request must see)."""
    if _reading.get() not in (None, DEFAULT_DB_ALIAS):
        _reading.set(DEFAULT_DB_ALIAS)


def set_reading(alias: str | None) -> contextvars.Token:
    return _reading.set(alias)


def reset_reading(token: contextvars.Token) -> None:
    _reading.reset(token)


def bound_to_reading(iterable, alias: str | None):
    """``iterable`` read with ``alias`` as this request's database: a streamed response's body
    is produced after the middleware has returned."""
    iterator = iter(iterable)
    try:
        while True:
            token = _reading.set(alias)
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            finally:
                _reading.reset(token)
            yield chunk
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


# ------------------------------------------------------------------------------ LSNs


def lsn_value(lsn: str) -> int:
    """A WAL position as text (``16/B374D848``) as a number, to compare two."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def committed_lsn() -> str | None:
    """The primary's current WAL position (``pg_current_wal_lsn()``), as text: everything
    committed before this call is at or before it. None on SQLite."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def replica_has(alias: str, lsn: str) -> bool:
    """Whether the replica ``alias`` has replayed the WAL up to ``lsn`` (from
    ``committed_lsn()``), so reading from it shows everything committed before that."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
        row = cursor.fetchone()
    return bool(row and row[0])


# ------------------------------------------------------------------------------ health


@dataclass(frozen=True)
class ReplicaState:
    state: str  # "ok", "lagging" or "down"
    lag_seconds: float | None = None
    checked_at: float = 0.0  # time.monotonic()

    def as_json(self) -> dict:
        if self.state == "lagging":
            return {"state": "lagging", "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 1)}
        return {"state": self.state}


_states: dict[str, ReplicaState] = {}
_lock = threading.Lock()


def replica_aliases() -> list[str]:
    return list(settings.DATABASE_REPLICAS)


def _measure(alias: str) -> ReplicaState:
    """The replica's state now: down if it does not answer or is not replaying; lagging if it
    has not replayed what the primary has committed and its last replayed commit is older than
    the limit (an idle primary writes nothing to replay: no lag then)."""
    now = time.monotonic()
    primary_lsn = committed_lsn()
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= %s::pg_lsn,"
                " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())",
                [primary_lsn],
            )
            in_recovery, caught_up, since_replay = cursor.fetchone()
    except DatabaseError:
        log.warning("replica %s does not answer", alias, exc_info=True)
        connections[alias].close()
        return ReplicaState("down", checked_at=now)
    if not in_recovery:
        # Promoted, or not a replica at all: it no longer follows the primary.
        log.warning("replica %s is not replaying the primary's WAL", alias)
        return ReplicaState("down", checked_at=now)
    if caught_up:
        return ReplicaState("ok", lag_seconds=0.0, checked_at=now)
    lag = None if since_replay is None else max(float(since_replay), 0.0)
    if lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS:
        return ReplicaState("ok", lag_seconds=lag, checked_at=now)
    return ReplicaState("lagging", lag_seconds=lag, checked_at=now)


def replica_state(alias: str, *, fresh: bool = False) -> ReplicaState:
    """The state of ``alias``, measured again when the last measure is older than
    ``REPLICA_CHECK_SECONDS`` (or ``fresh``)."""
    state = _states.get(alias)
    if fresh or state is None or time.monotonic() - state.checked_at >= settings.REPLICA_CHECK_SECONDS:
        with _lock:
            state = _states[alias] = _measure(alias)
    return state


def mark_down(alias: str) -> None:
    """A query on ``alias`` failed: not used again before the next check."""
    _states[alias] = ReplicaState("down", checked_at=time.monotonic())


def forget_states() -> None:
    _states.clear()


def replica_states(*, fresh: bool = False) -> dict[str, dict]:
    """Each replica's state, for ``/readyz``: ``{"replica1": {"state": "ok"}, …}``."""
    return {alias: replica_state(alias, fresh=fresh).as_json() for alias in replica_aliases()}


def choose_replica() -> str:
    """A replica in a fit state to read from, or the primary when none is."""
    usable = [alias for alias in replica_aliases() if replica_state(alias).state == "ok"]
    return random.choice(usable) if usable else DEFAULT_DB_ALIAS


# ------------------------------------------------------------------------------ requests

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The public side: pages, the public API and the agencies' feed, snapshot and digest. The
# staff pages (admin, review), credit repair, intake and reports read from the primary.
PUBLIC_NAMESPACES = frozenset({"disclosure", "notices", "api"})
# An agency's own state, which it has just written.
PRIMARY_VIEWS = frozenset({"api:acknowledgement"})
READ_YOUR_WRITES_COOKIE = "read_primary_until"


def _within_read_your_writes(request) -> bool:
    """The browser made a state-changing request less than ``READ_YOUR_WRITES_SECONDS`` ago.
    The cookie holds the end of the window (seconds since the epoch); a value further ahead
    than one window is not one this site set, and is ignored, so a forged cookie cannot pin a
    browser to the primary."""
    raw = request.COOKIES.get(READ_YOUR_WRITES_COOKIE)
    if not raw or not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        return False
    now = time.time()
    return now < int(raw) <= now + settings.READ_YOUR_WRITES_SECONDS


def reads_from_replica(request) -> bool:
    """Whether this request may read from a replica (before its health is asked)."""
    if request.method not in SAFE_METHODS:
        return False
    match = request.resolver_match
    if match is None or match.namespaces[:1] == [] or match.namespaces[0] not in PUBLIC_NAMESPACES:
        return False
    if match.view_name in PRIMARY_VIEWS:
        return False
    return not _within_read_your_writes(request)


class ReadRoutingMiddleware:
    """Decides where the request reads (``reading_from()``): a healthy replica for a public
    read, the primary for everything else. A state-changing request gets a cookie that sends
    the browser's reads to the primary for ``READ_YOUR_WRITES_SECONDS``, so it sees what it
    has just done."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _reading.set(None)
        try:
            response = self.get_response(request)
            alias = _reading.get()
        finally:
            _reading.reset(token)
        if alias not in (None, DEFAULT_DB_ALIAS) and response.streaming:
            response.streaming_content = bound_to_reading(response.streaming_content, alias)
        window = settings.READ_YOUR_WRITES_SECONDS
        if request.method not in SAFE_METHODS and window > 0:
            response.set_cookie(
                READ_YOUR_WRITES_COOKIE,
                str(int(time.time()) + window),
                max_age=window,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if replica_aliases() and reads_from_replica(request):
            _reading.set(choose_replica())

    def process_exception(self, request, exception):
        alias = _reading.get()
        failed = alias not in (None, DEFAULT_DB_ALIAS) and isinstance(exception, DatabaseError)
        if failed and not connections[alias].is_usable():
            mark_down(alias)
