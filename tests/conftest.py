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
TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def frozen_today():
    """The clock stopped at noon on 2026-11-28 in the site's time zone."""
    with time_machine.travel(dt.datetime(2026, 11, 28, 12, tzinfo=SHANGHAI), tick=False) as traveller:
        yield traveller


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
def _empty_cache():
    """Rate-limit counters and cached pages do not carry over from one test to the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
