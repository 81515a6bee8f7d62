"""REDIS_URL works, production requires a shared cache and refuses the console mail backend,
and every documented setting starts the site (#12)."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SIGNING_PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]


def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis on 127.0.0.1:6379")
    return url


def settings_env(**env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SINGLE_PROCESS", "REDIS_URL", "EMAIL_BACKEND", "DATABASE_URL", "DATABASE_REPLICA_URLS"}
    }
    base.update(env)
    return base


def import_settings(env):
    return subprocess.run(
        [sys.executable, "-c", "import creditchina.settings as s; print(s.CACHES['default']['BACKEND'])"],
        env=settings_env(**env),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_production_refuses_to_start_without_a_shared_cache():
    result = import_settings({"DEBUG": "0"})
    assert result.returncode == 1
    assert "REDIS_URL must be set when DEBUG is off" in result.stderr


def test_a_single_process_or_development_needs_no_redis():
    for env in ({"DEBUG": "0", "SINGLE_PROCESS": "1"}, {"DEBUG": "1"}):
        result = import_settings(env)
        assert result.stdout.strip() == "django.core.cache.backends.locmem.LocMemCache"


def test_production_refuses_the_console_mail_backend():
    result = import_settings(
        {"DEBUG": "0", "REDIS_URL": "redis://x:6379/0", "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
    assert result.returncode == 1
    assert "EMAIL_BACKEND cannot be the console backend when DEBUG is off" in result.stderr


# A value for every setting the README's table documents: the site is started with all of them.
DOCUMENTED = {
    "DATABASE_URL": None,  # the test's own SQLite file
    "DEBUG": "0",
    "SECRET_KEY": "documented-settings-test-secret-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "credit.example.gov.cn,testserver",
    "CSRF_TRUSTED_ORIGINS": "https://credit.example.gov.cn",
    "BEHIND_TLS_PROXY": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "600",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_COOKIES": "1",
    "IDENTITY_HASH_KEY": "another-key",
    "REDIS_URL": None,  # the machine's Redis
    "PAGE_CACHE_URL": None,  # the machine's Redis
    "PAGE_CACHE": "1",
    "PAGE_CACHE_RELEASE": "2026.11-documented",
    "PAGE_CACHE_LEASE_SECONDS": "2",
    "SINGLE_PROCESS": "0",
    "DATABASE_REPLICA_URLS": None,  # none: the test's own SQLite file has no replica
    "REPLICA_MAX_LAG_SECONDS": "10",
    "REPLICA_CHECK_SECONDS": "5",
    "READ_YOUR_WRITES_SECONDS": "15",
    "DB_CONN_MAX_AGE": "0",
    "DB_CONN_HEALTH_CHECKS": "1",
    "TRUSTED_PROXY_COUNT": "1",
    "SEARCH_RATE_LIMIT": "30/m",
    "PAGE_RATE_LIMIT": "100/m",
    "RATELIMIT_ENABLE": "1",
    "API_RATE_LIMIT": "100/min",
    "AGENCY_RATE_LIMIT": "100/min",
    "LOGIN_FAILURE_LIMIT": "3",
    "LOGIN_LOCKOUT_MINUTES": "10",
    "MEDIA_ROOT": None,  # a temporary directory
    "REPAIR_ACCEPT_DAYS": "3",
    "REPAIR_DECIDE_DAYS": "7",
    "REPAIR_OVERALL_DAYS": "10",
    "INTAKE_MAX_UPLOAD_MB": "512",
    "INTAKE_MAX_ERRORS_KEPT": "100000",
    "INTAKE_BULK_FROM": "500",
    "INTAKE_FILES_ROOT": None,  # a temporary directory
    "REPORT_SIGNING_P12": None,  # the session's test key
    "REPORT_SIGNING_PASSPHRASE": None,
    "REPORT_RATE_LIMIT": "20/m",
    "REPORT_VERIFY_RATE_LIMIT": "30/m",
    "REPORT_MAX_UPLOAD_MB": "20",
    "REPORT_FONT": None,  # the shipped font
    "SITE_URL": "https://credit.example.gov.cn",
    "REPAIR_EXTENSION_DAYS": "10",
    "REPAIR_MATERIAL_DAYS": "10",
    "REPAIR_BAR_YEARS": "3",
    "REPAIR_MAX_FILE_MB": "5",
    "REPAIR_MAX_FILES": "4",
    "REPAIR_STATUS_RATE_LIMIT": "5/m",
    "REPAIR_APPLY_RATE_LIMIT": "10/h",
    "AGENCY_LATE_DAYS": "5",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "mail.internal",
    "EMAIL_PORT": "587",
    "DEFAULT_FROM_EMAIL": "noreply@credit.example.gov.cn",
    "TIME_ZONE": "Asia/Shanghai",
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "json",
    "WEB_CONCURRENCY": "2",
}


def documented_settings() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n### ", 1)[0]
    names = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split(" | ")[0]))
    return names


def test_every_documented_setting_has_a_value_here():
    assert documented_settings() == set(DOCUMENTED)


STARTED = """
import django, json
django.setup()
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
# Static files from the finders, as in the rest of the suite (no collectstatic here).
settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="203.0.113.5", REMOTE_ADDR="10.0.0.1")
statuses = [client.get(url).status_code for url in ("/", "/en/search/?q=abc", "/api/v1/entities/?q=abc", "/healthz", "/readyz")]
name = lambda cache: f"{type(cache).__module__}.{type(cache).__name__}"
print(json.dumps({"statuses": statuses, "backend": name(caches["default"]), "pages": name(caches["pages"])}))
"""


def test_the_site_starts_and_serves_with_every_documented_setting(tmp_path, signing_p12):
    env = {k: v for k, v in DOCUMENTED.items() if v is not None}
    env.update(
        REPORT_SIGNING_P12=str(signing_p12),
        REPORT_SIGNING_PASSPHRASE=SIGNING_PASSPHRASE,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL=redis_url(),
        PAGE_CACHE_URL=redis_url(),
        MEDIA_ROOT=str(tmp_path / "private"),
        INTAKE_FILES_ROOT=str(tmp_path / "intake"),
        DJANGO_SETTINGS_MODULE="creditchina.settings",
    )
    result = subprocess.run(
        [sys.executable, "-c", STARTED], env=settings_env(**env), capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == (
        '{"statuses": [200, 200, 200, 200, 200], "backend": "creditchina.cache.RedisCache", '
        '"pages": "creditchina.cache.RedisCache"}'
    )


def test_with_redis_the_limits_count_in_the_shared_cache(client, db, settings, frozen_today):
    url = redis_url()
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    settings.RATELIMIT_ENABLE = True
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    caches["default"].clear()
    from disclosure import views

    limit = int(views.SEARCH_RATE.split("/")[0])
    statuses = [client.get("/search/", {"q": "x"}).status_code for _ in range(limit + 1)]
    assert (statuses[:limit], statuses[limit]) == ([200] * limit, 429)
    another_worker = RedisCache(url, {})
    assert another_worker._cache.get_client().dbsize() >= 1
    caches["default"].clear()
