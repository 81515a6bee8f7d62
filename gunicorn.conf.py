"""gunicorn reads this file from the directory it starts in (`gunicorn creditchina.wsgi`);
command-line options still win."""

import gc
import os

# One worker per core for the pages, and one more for a long response (an agency's snapshot)
# to occupy. PostgreSQL on the same machine wants its share of the cores too: on the 2-core
# benchmark machine 3 workers served the entity page faster than 4 (bench/README.md).
workers = int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1))

# Threaded workers keep telling the master they are alive while a long response streams (an
# agency's snapshot takes minutes; a sync worker would be killed by --timeout in the middle
# of it). One thread and one connection at a time: a worker that is busy leaves new
# connections in the kernel's queue for a worker that is free, as sync workers do. A worker
# that accepted more would make them wait behind its current request: under load that was
# the difference between a p99 of 62 and of 124 ms on the entity page (bench/README.md).
# Keep-alive to clients is the reverse proxy's job.
worker_class = "gthread"
threads = 1
worker_connections = 1
keepalive = 0


def post_worker_init(worker):
    # The application is loaded: move its long-lived objects (modules, models, settings) out
    # of the garbage collector's sight, so its collections only walk what requests create and
    # do not stall a request now and then.
    gc.freeze()
