"""Where queries go when the site has read replicas (``DATABASE_REPLICA_URLS``).

Reads go where ``ReadRoutingMiddleware`` decided for the request (``ops.replicas``): a
replica for the public side, the primary otherwise, and always the primary inside a
transaction on it (what a transaction reads, it must read from where it writes). Writes and
migrations are for the primary only: a replica is a copy of it.
"""

from django.db import DEFAULT_DB_ALIAS, connections

from ops import replicas


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        alias = replicas.reading_from()
        if alias == DEFAULT_DB_ALIAS or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Every alias holds the same data.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
