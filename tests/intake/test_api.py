import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from disclosure.models import CreditRecord, Entity, RecordEvent
from intake import services
from intake.models import Batch

from .conftest import auth, csv_bytes, penalty_row


def run_worker() -> str:
    out = io.StringIO()
    call_command("intake_worker", "--once", stdout=out)
    return out.getvalue()


def test_a_system_submits_a_file_and_polls_the_batch(client, department_key, frozen_today, private_storage):
    data = csv_bytes([penalty_row(1), penalty_row(2)])
    response = client.post("/api/v1/intake/batches/", {"file": SimpleUploadedFile("today.csv", data)}, **auth(department_key))
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["created"], body["rows"], body["errors"], body["attempts"]) == ("queued", 0, 0, [], 0)
    assert response["Location"] == body["url"]
    # Nothing is read into the records before the worker runs: the file waits in the storage.
    assert (CreditRecord.objects.count(), Entity.objects.count(), RecordEvent.objects.count()) == (0, 0, 0)
    batch = Batch.objects.get(number=body["number"])
    assert (batch.channel, batch.submitted_label, batch.file_size) == ("api", f"API key {batch.key.prefix}", len(data))
    assert (private_storage / batch.stored_file).read_bytes() == data
    assert client.get(body["url"], **auth(department_key)).json()["status"] == "queued"

    run_worker()

    polled = client.get(body["url"], **auth(department_key)).json()
    assert (polled["number"], polled["status"], polled["created"], polled["rows"], polled["errors"]) == (
        body["number"], "imported", 2, 2, []
    )
    assert (polled["file_format"], polled["encoding"], polled["attempts"], polled["failure"]) == ("csv", "utf-8", 1, "")
    assert CreditRecord.objects.count() == 2
    batch.refresh_from_db()
    assert (batch.stored_file, list(private_storage.rglob("*.csv"))) == ("", [])  # the file is not kept


def test_json_lines_as_the_body(client, department_key, frozen_today):
    lines = "\n".join(json.dumps(penalty_row(n), ensure_ascii=False) for n in (1, 2, 3)) + "\n"
    response = client.post("/api/v1/intake/batches/?name=day.jsonl", lines.encode(),
                           content_type="application/x-ndjson", **auth(department_key))  # fmt: skip
    assert (response.status_code, response.json()["status"], CreditRecord.objects.count()) == (202, "queued", 0)
    run_worker()
    polled = client.get(response["Location"], **auth(department_key)).json()
    assert (polled["status"], polled["created"], polled["file_format"]) == ("imported", 3, "jsonl")
    assert CreditRecord.objects.count() == 3


def test_bad_rows_are_listed_and_nothing_is_written(client, department_key, frozen_today, english):
    data = csv_bytes([penalty_row(1), penalty_row(2, catalog_item="nope")])
    response = client.post("/api/v1/intake/batches/", data, content_type="text/csv", HTTP_ACCEPT_LANGUAGE="en",
                           **auth(department_key))  # fmt: skip
    assert response.status_code == 202
    run_worker()  # in the submitter's language, whatever the worker's
    body = client.get(response["Location"], **auth(department_key)).json()
    assert body["status"] == "rejected"
    assert body["errors"] == [
        {"line": 3, "column": "catalog_item", "code": "catalog_unknown", "message": "No catalog item has the code “nope”."}
    ]
    errors = client.get(body["errors_url"], **auth(department_key))
    assert b"".join(errors.streaming_content).decode("utf-8-sig").splitlines()[1] == (
        "3,catalog_item,catalog_unknown,No catalog item has the code “nope”."
    )
    assert CreditRecord.objects.count() == 0


def test_a_broken_file_found_by_the_worker_is_a_rejected_batch(client, department_key, frozen_today, english):
    data = "统一社会信用代码,主体名称\n".encode()
    response = client.post("/api/v1/intake/batches/", data, content_type="text/csv", HTTP_ACCEPT_LANGUAGE="en",
                           **auth(department_key))  # fmt: skip
    assert response.status_code == 202
    run_worker()
    body = client.get(response["Location"], **auth(department_key)).json()
    assert (body["status"], body["file_error"]) == (
        "rejected",
        "Missing columns: 目录项编码 (catalog_item), 决定文书号 (decision_number), 决定日期 (decision_date), 事实 (facts), "
        "依据 (legal_basis_cited), 结果 (outcome). Use the template's headers, in Chinese or in English.",
    )


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
    assert client.post("/api/v1/intake/batches/", csv_bytes([penalty_row(2)]), content_type="text/csv",
                       **auth(department_key)).status_code == 401  # fmt: skip
    assert Batch.objects.count() == 1


def test_too_large_is_413_before_reading(client, department_key, settings, private_storage):
    settings.INTAKE_MAX_UPLOAD_BYTES = 100 * 2**10
    response = client.post("/api/v1/intake/batches/", b"x" * 300_000, content_type="text/csv", **auth(department_key))
    assert (response.status_code, response.json()["error"]["type"]) == (413, "too_large")
    multipart = client.post("/api/v1/intake/batches/", {"file": SimpleUploadedFile("big.csv", b"x" * (100 * 2**10 + 1))},
                            **auth(department_key))  # fmt: skip
    assert (multipart.status_code, multipart.json()["error"]["type"]) == (413, "too_large")
    assert Batch.objects.count() == 0
    assert not private_storage.exists() or list(private_storage.rglob("*.*")) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7\n...", "This is a PDF file, not a spreadsheet: submit CSV, XLSX or JSON lines."),
        (b"", "The file is empty."),
        (b"\xff\xfec\x00o\x00d\x00e\x00", "The file is UTF-16: save it as UTF-8 (or GB18030) and submit it again."),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_at_once(client, department_key, frozen_today, english, private_storage,
                                                       data, message):  # fmt: skip
    for kwargs in ({"data": data, "content_type": "text/csv"}, {"data": {"file": SimpleUploadedFile("a.csv", data)}}):
        response = client.post("/api/v1/intake/batches/", HTTP_ACCEPT_LANGUAGE="en", **kwargs, **auth(department_key))
        assert (response.status_code, response.json()) == (
            400, {"error": {"type": "invalid", "message": message, "field": "file", "fields": {"file": [message]}}}
        )
    assert Batch.objects.count() == 0
    assert not private_storage.exists() or list(private_storage.rglob("*.*")) == []


def test_no_file_in_a_multipart_body_is_400(client, department_key, english):
    response = client.post("/api/v1/intake/batches/", {"import_valid_rows": "1"}, HTTP_ACCEPT_LANGUAGE="en",
                           **auth(department_key))  # fmt: skip
    assert (response.status_code, response.json()["error"]["field"], response.json()["error"]["message"]) == (
        400, "file", "Send the file in the “file” field."
    )
    assert Batch.objects.count() == 0
