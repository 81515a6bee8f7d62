"""Logs never carry query codes or API keys (#12)."""

import logging

import pytest

from disclosure import agencies
from disclosure.models import Agency


@pytest.fixture
def every_log_line(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def logged_text(caplog) -> str:
    return "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)


def test_the_query_code_is_never_logged(client, submit, reviewer, every_log_line):
    submission = submit()
    number, code = submission.application.number, submission.query_code
    client.post("/en/repair/status/", {"number": number, "query_code": "WRONGCODE1"})
    client.post("/en/repair/status/", {"number": number, "query_code": code})
    client.get(f"/en/repair/status/{number}/")
    client.force_login(reviewer)
    client.get(f"/en/repair/review/{number}/")
    client.post(f"/en/repair/review/{number}/accept/")
    assert every_log_line.records
    assert code not in logged_text(every_log_line)


def test_api_keys_are_never_logged(client, db, every_log_line):
    agency = Agency.objects.create(code="acme-credit", name="Acme")
    _key, raw = agencies.agency_key_issue(agency=agency, actor=None, label="x")
    client.get("/api/v1/agency/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.get("/api/v1/agency/", HTTP_AUTHORIZATION=f"Bearer {raw}x")
    client.get("/api/v1/digest/?entity=%00", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert every_log_line.records
    assert raw not in logged_text(every_log_line)
