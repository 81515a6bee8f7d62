import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from creditchina.settings import env_bool, env_int


def run_settings(env):
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "DATABASE_REPLICA_URLS"}}
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import creditchina.settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'])",
        ],
        env=clean,
        capture_output=True,
        text=True,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_settings({"DEBUG": "0"})
    assert result.returncode == 1
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_sqlite_is_the_default_and_database_url_switches():
    assert run_settings({"DEBUG": "1"}).stdout.split() == ["True", "django.db.backends.sqlite3"]
    result = run_settings({"SECRET_KEY": "x", "DATABASE_URL": "postgres://u@localhost:5432/db"})
    assert result.stdout.split() == ["False", "django.db.backends.postgresql"]


def test_unknown_boolean_is_an_error_not_a_default(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG")
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False


def test_bad_number_is_an_error(monkeypatch):
    monkeypatch.setenv("N", "ten")
    with pytest.raises(ImproperlyConfigured):
        env_int("N", 1)


def test_site_language_and_time_zone(settings):
    assert (settings.LANGUAGE_CODE, settings.TIME_ZONE) == ("zh-hans", "Asia/Shanghai")
    assert [code for code, _name in settings.LANGUAGES] == ["zh-hans", "en"]
