import datetime as dt

import pytest
import time_machine
from django.utils import translation

from tests.factories import DepartmentFactory, UserFactory


@pytest.fixture
def department(db):
    return DepartmentFactory()


@pytest.fixture
def staff_user(department):
    user = UserFactory(username="clerk")
    department.staff.add(user)
    return user


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def english():
    with translation.override("en"):
        yield


SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def frozen_today(settings):
    """The clock stopped at noon on 2026-11-28 in the site's time zone. Redis expires keys by
    its own clock, which a stopped (or shifted) clock here cannot move: with the clock
    stopped the cache is the in-process one, whose expiry reads the test's clock."""
    if settings.CACHES["default"]["BACKEND"] != "django.core.cache.backends.locmem.LocMemCache":
        settings.CACHES = {
            **settings.CACHES,
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "frozen"},
        }
    from django.core.cache import caches

    caches["default"].clear()
    with time_machine.travel(dt.datetime(2026, 11, 28, 12, tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller
    caches["default"].clear()


@pytest.fixture(autouse=True)
def _static_files_without_collectstatic(settings):
    """Tests run with DEBUG off but without `collectstatic`: serve static files from the
    finders instead of the hashed manifest that production builds."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.STATIC_ROOT = None
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """Uploaded files (repair evidence, intake files) go to a fresh directory per test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
        "intake": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    return tmp_path / "private"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters, cached pages and page fragments do not carry over from one test to
    the next."""
    from django.core.cache import caches

    for alias in ("default", "fragments"):
        caches[alias].clear()
    yield
    for alias in ("default", "fragments"):
        caches[alias].clear()


@pytest.fixture
def shipped_rule_sets(transactional_db):
    """Transactional tests start from a flushed database, without what data migrations
    wrote: put the shipped rule sets back with the migration's own code."""
    import importlib

    from django.apps import apps

    from disclosure.models import DisclosureRuleSet

    if not DisclosureRuleSet.objects.exists():
        migration = importlib.import_module("disclosure.migrations.0008_rule_set_citations")
        migration.ship_rule_sets(apps, None)


SIGNING_PASSPHRASE = "test-passphrase"


@pytest.fixture(scope="session")
def signing_p12(tmp_path_factory):
    """A report-signing key for the session: generating RSA keys is slow enough to matter per
    test. (Production's comes from REPORT_SIGNING_P12.)"""
    from reports import signing

    path = tmp_path_factory.mktemp("signing") / "test.p12"
    signing.create_self_signed(
        path, passphrase=SIGNING_PASSPHRASE, common_name="Credit Disclosure TEST report signing"
    )
    return path


@pytest.fixture
def no_page_cache(settings):
    """The site without the shared page cache (the pages read the database every time), for
    tests that pin that path's queries; tests/disclosure/test_pagecache.py pins the other."""
    settings.CACHES = {name: value for name, value in settings.CACHES.items() if name != "pages"}


@pytest.fixture(autouse=True)
def _reads_from_the_primary(request, settings):
    """Only the tests marked ``replica`` read through a read replica. The others write and
    read back at once, which a replica shows a moment later, and their databases (the
    ``db`` fixture's open transaction) are not on the replica at all."""
    from ops import replicas

    if request.node.get_closest_marker("replica") is None:
        settings.DATABASE_REPLICAS = []
    replicas.forget_states()
    yield
    replicas.forget_states()


@pytest.fixture(autouse=True)
def _no_page_cache_failures_seen():
    """A test that made the page cache fail leaves the next one no debt check to make."""
    from disclosure import pagecache

    pagecache.forget_failures()
    yield
    pagecache.forget_failures()


def run_daily_expiries(on=None):
    """The daily job, as the deployment runs it just after midnight (deploy/): the day's
    expiry events, and the record that the day's are written, which the agency feed waits
    for."""
    import io

    from django.core.management import call_command

    args = ["--on", on.isoformat()] if on else []
    call_command("records_record_expiries", *args, stdout=io.StringIO())


@pytest.fixture
def expiries_written(db):
    """Today's daily job has run (see ``run_daily_expiries``). Use after ``frozen_today``."""
    run_daily_expiries()
