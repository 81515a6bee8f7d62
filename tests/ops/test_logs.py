"""JSON logs with a request id; staff access to non-public data is logged (#12)."""

import io
import json
import logging

import pytest
from django.conf import settings as django_settings
from pythonjsonlogger.json import JsonFormatter

from ops.logs import RequestIdFilter


@pytest.fixture
def json_lines():
    """The access log as the production configuration writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    options = {k: v for k, v in django_settings.LOGGING["formatters"]["json"].items() if k != "()"}
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("ops.access")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_every_answer_names_its_request(client, db, settings):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_the_proxys_request_id_is_kept_only_behind_a_trusted_proxy(client, db, settings):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abcdef0123456789")["X-Request-ID"] != "abcdef0123456789"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abcdef0123456789")["X-Request-ID"] == "abcdef0123456789"
    assert (
        client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
        != "bad id\nwith newline"
    )


def test_staff_access_to_non_public_pages_is_logged_as_json_with_who_and_the_request(
    client, staff_user, json_lines
):
    client.force_login(staff_user)
    response = client.get("/en/repair/review/", REMOTE_ADDR="192.0.2.8")
    client.get("/search/?q=x")
    lines = json_lines()
    assert len(lines) == 1
    line = lines[0]
    assert set(line) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "user",
        "method",
        "path",
        "status",
        "client",
    }
    assert {k: line[k] for k in line if k != "time"} == {
        "level": "INFO",
        "logger": "ops.access",
        "message": "non-public access",
        "request_id": response["X-Request-ID"],
        "user": "clerk",
        "method": "GET",
        "path": "/en/repair/review/",
        "status": 200,
        "client": "192.0.2.8",
    }
