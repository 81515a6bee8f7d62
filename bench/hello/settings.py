"""The site's settings with one more URL, /hello/: Django's bare "hello" view behind the same
middleware, served by the same gunicorn configuration. The floor of this stack: no page can
be served faster than this one (bench/lookup.py)."""

from creditchina.settings import *  # noqa: F403

ROOT_URLCONF = "bench.hello.urls"
