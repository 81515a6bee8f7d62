"""gunicorn reads this file from the directory it starts in (`gunicorn creditchina.wsgi`);
command-line options still win."""

import gc


def post_worker_init(worker):
    # The application is loaded: move its long-lived objects (modules, models, settings) out
    # of the garbage collector's sight, so its collections only walk what requests create and
    # do not stall a request now and then.
    gc.freeze()
