"""Security headers on every answer, and the production settings pass `check --deploy` (#12)."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import SIGNING_PASSPHRASE

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; worker-src 'self' blob:"
)


def directives(header: str) -> dict[str, str]:
    """A policy as {directive: sources}: django-csp writes directives in an order of its own."""
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()"

# The production environment the README documents (Deploying with gunicorn).
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "a-long-random-production-secret-0123456789",
    "ALLOWED_HOSTS": "credit.example.gov.cn",
    "CSRF_TRUSTED_ORIGINS": "https://credit.example.gov.cn",
    "DATABASE_URL": "postgres://creditchina@db.internal:5432/creditchina",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "TRUSTED_PROXY_COUNT": "1",
    "BEHIND_TLS_PROXY": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


def production_env(**changes):
    # Not the suite's own switches (the browser tests allow async-unsafe calls, for instance).
    skip = ("SECURE_", "DEBUG", "SECRET_KEY", "SINGLE_PROCESS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(PRODUCTION)
    env.update(changes)
    return env


@pytest.mark.parametrize("url", ["/", "/en/search/?q=x", "/api/v1/entities/?q=x", "/no-such-page/"])
def test_every_answer_carries_the_policies(client, db, url):
    response = client.get(url)
    assert directives(response["Content-Security-Policy"]) == directives(CSP)
    assert response["Permissions-Policy"] == PERMISSIONS
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_the_api_docs_load_nothing_from_another_host_and_run_no_inline_script(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == directives(DOCS_CSP)
    html = response.content.decode()
    addresses = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert addresses
    assert [a for a in addresses if not a.startswith("/") or a.startswith("//")] == []
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "googleapis" not in html and "https://" not in html


def test_the_swagger_script_is_served_from_the_site(client, db):
    response = client.get("/api/v1/docs/?script=")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript"
    assert '"validatorUrl": null' in response.content.decode()


def test_https_is_required_and_remembered(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/", HTTP_HOST="localhost")
    assert (response.status_code, response["Location"]) == (301, "https://localhost/")
    secure = client.get("/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_the_forwarded_proto_is_believed_only_behind_a_declared_proxy(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/", HTTP_X_FORWARDED_PROTO="https").status_code == 301
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def run(args, env):
    return subprocess.run([sys.executable, "manage.py", *args], env=env, capture_output=True, text=True)


def test_check_deploy_is_clean_with_the_documented_production_environment(signing_p12):
    env = production_env(REPORT_SIGNING_P12=str(signing_p12), REPORT_SIGNING_PASSPHRASE=SIGNING_PASSPHRASE)
    result = run(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert (result.returncode, result.stdout.strip()) == (
        0,
        "System check identified no issues (0 silenced).",
    ), result.stderr[-2000:]


def test_the_proxy_ssl_header_is_set_only_when_a_setting_says_so():
    code = "import creditchina.settings as s; print(getattr(s, 'SECURE_PROXY_SSL_HEADER', None))"
    with_proxy = subprocess.run([sys.executable, "-c", code], env=production_env(), capture_output=True, text=True)
    assert with_proxy.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"
    without = subprocess.run(
        [sys.executable, "-c", code], env=production_env(BEHIND_TLS_PROXY="0"), capture_output=True, text=True
    )
    assert without.stdout.strip() == "None"
