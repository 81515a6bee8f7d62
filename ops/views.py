"""Health checks for the load balancer and the process supervisor: cheap, unthrottled, no
session, no language."""

import logging

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from ops import replicas

_migrated = False


@never_cache
def healthz(request):
    """The process is up and answers: nothing else is asked."""
    return HttpResponse("ok\n", content_type="text/plain")


def _database() -> bool:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _cache() -> bool:
    cache.set("readyz", "ok", 10)
    return cache.get("readyz") == "ok"


def _migrations() -> bool:
    # Reading the migration graph costs tens of milliseconds: once this process has seen every
    # migration applied it stays so (its code cannot change under it).
    global _migrated
    if not _migrated:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrated


CHECKS = {"database": _database, "cache": _cache, "migrations": _migrations}


def _information() -> dict:
    """What staff should know but which does not stop the site answering: each read
    replica's state (a replica that is lagging or down is left aside and the primary serves
    its reads), and the last day whose expiry events are written (the agency feed holds
    back past it)."""
    from disclosure import feed

    expiries = feed.expiries_written_through()
    return {
        "replicas": replicas.replica_states(fresh=True),
        "expiries_written_through": expiries.isoformat() if expiries else None,
        "feed_held_back": feed.held_back(),
    }


@never_cache
def readyz(request):
    """Ready for traffic: the database and the cache answer and every migration is applied.
    503 with the failing parts otherwise (their errors go to the log, not to the caller).
    Replicas and the daily expiry job are reported, never a reason for 503: the primary can
    serve every read."""
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = "ok" if check() else "failing"
        except Exception:
            logging.getLogger("ops.readyz").exception("readiness check %s failed", name)
            results[name] = "failing"
    ready = all(value == "ok" for value in results.values())
    if results["database"] == "ok" and results["migrations"] == "ok":
        try:
            results.update(_information())
        except Exception:
            logging.getLogger("ops.readyz").exception("readiness information failed")
    return JsonResponse(results, status=200 if ready else 503)
