import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from disclosure.models import CreditRecord
from intake import services
from intake.models import Batch

from .conftest import csv_bytes, penalty_row


@pytest.fixture
def department_key(intake_department, clerk):
    _key, raw = services.department_key_issue(department=intake_department, actor=clerk)
    return raw


def auth(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_system_submits_a_file_and_polls_the_batch(client, department_key, frozen_today):
    data = csv_bytes([penalty_row(1), penalty_row(2)])
    response = client.post("/api/v1/intake/batches/", {"file": SimpleUploadedFile("today.csv", data)}, **auth(department_key))
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["created"], body["rows"], body["errors"]) == ("imported", 2, 2, [])
    assert response["Location"] == body["url"]
    batch = Batch.objects.get(number=body["number"])
    assert (batch.channel, batch.submitted_label) == ("api", f"API key {batch.key.prefix}")
    polled = client.get(body["url"], **auth(department_key))
    assert polled.json()["number"] == body["number"]


def test_json_lines_as_the_body(client, department_key, frozen_today):
    lines = "\n".join(json.dumps(penalty_row(n), ensure_ascii=False) for n in (1, 2, 3)) + "\n"
    response = client.post("/api/v1/intake/batches/?name=day.jsonl", lines.encode(),
                           content_type="application/x-ndjson", **auth(department_key))  # fmt: skip
    assert (response.status_code, response.json()["created"], response.json()["file_format"]) == (201, 3, "jsonl")
    assert CreditRecord.objects.count() == 3


def test_bad_rows_are_listed_and_nothing_is_written(client, department_key, frozen_today, english):
    data = csv_bytes([penalty_row(1), penalty_row(2, catalog_item="nope")])
    body = client.post("/api/v1/intake/batches/", data, content_type="text/csv", HTTP_ACCEPT_LANGUAGE="en",
                       **auth(department_key)).json()  # fmt: skip
    assert body["status"] == "rejected"
    assert body["errors"] == [
        {"line": 3, "column": "catalog_item", "code": "catalog_unknown", "message": "No catalog item has the code “nope”."}
    ]
    errors = client.get(body["errors_url"], **auth(department_key))
    assert b"".join(errors.streaming_content).decode("utf-8-sig").splitlines()[1] == (
        "3,catalog_item,catalog_unknown,No catalog item has the code “nope”."
    )
    assert CreditRecord.objects.count() == 0


def test_no_key_a_revoked_key_and_another_departments_batch(client, department_key, intake_department, frozen_today):
    assert client.post("/api/v1/intake/batches/", b"", content_type="text/csv").status_code == 401
    key = intake_department.intake_keys.get()
    body = client.post("/api/v1/intake/batches/", csv_bytes([penalty_row(1)]), content_type="text/csv",
                       **auth(department_key)).json()  # fmt: skip
    from tests.factories import DepartmentFactory

    _other, other_raw = services.department_key_issue(department=DepartmentFactory(), actor=None)
    assert client.get(body["url"], **auth(other_raw)).status_code == 404
    services.department_key_revoke(key=key)
    assert client.get(body["url"], **auth(department_key)).status_code == 401


def test_too_large_is_413_before_reading(client, department_key, settings):
    settings.INTAKE_MAX_UPLOAD_BYTES = 100 * 2**10
    response = client.post("/api/v1/intake/batches/", b"x" * 300_000, content_type="text/csv", **auth(department_key))
    assert (response.status_code, response.json()["error"]["type"]) == (413, "too_large")
    assert Batch.objects.count() == 0
