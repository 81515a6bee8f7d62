import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from disclosure.models import CreditRecord
from intake.models import Batch, BatchStatus

from .conftest import csv_bytes, penalty_row


def test_clerk_uploads_a_file_and_reads_its_report(client, clerk, intake_department, frozen_today):
    client.force_login(clerk)
    data = csv_bytes([penalty_row(1), penalty_row(2, code="91110000600037341X")])
    response = client.post(
        reverse("admin:intake_batch_upload"),
        {"department": intake_department.pk, "file": SimpleUploadedFile("records.csv", data)},
    )
    batch = Batch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:intake_batch_change", args=[batch.pk])
    assert (batch.status, batch.submitted_by, batch.file_name) == (BatchStatus.REJECTED, clerk, "records.csv")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "91110000600037341X" not in page.content.decode()  # the report names line and column
    report = client.get(reverse("admin:intake_batch_errors", args=[batch.pk]))
    lines = b"".join(report.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[1].split(",")[:3] == ["3", "code", "code"]
    assert CreditRecord.objects.count() == 0


def test_another_departments_clerk_cannot_upload_or_see_the_batch(client, intake_department, frozen_today, submit):
    from tests.factories import DepartmentFactory, UserFactory

    batch = submit(csv_bytes([penalty_row(1)]))
    stranger = UserFactory(username="stranger", is_superuser=False)
    DepartmentFactory().staff.add(stranger)
    from django.contrib.auth.models import Permission

    stranger.user_permissions.add(*Permission.objects.filter(codename__in=["view_batch"]))
    client.force_login(stranger)
    assert client.get(reverse("admin:intake_batch_change", args=[batch.pk])).status_code == 404
    response = client.post(
        reverse("admin:intake_batch_upload"),
        {"department": intake_department.pk, "file": SimpleUploadedFile("r.csv", csv_bytes([penalty_row(2)]))},
    )
    assert response.status_code == 200  # the form refuses a department the clerk does not act for
    assert Batch.objects.count() == 1


def test_an_upload_over_the_limit_is_refused_before_it_is_read(client, clerk, intake_department, settings, english):
    settings.INTAKE_MAX_UPLOAD_BYTES = 100 * 2**10
    client.force_login(clerk)
    response = client.post(
        reverse("admin:intake_batch_upload"),
        {"department": intake_department.pk, "file": SimpleUploadedFile("big.csv", b"x" * 300_000)},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "The file is larger than 100.0\xa0KB: split it into several batches."
    ]
    assert Batch.objects.count() == 0


def test_an_upload_just_over_the_limit_is_refused_too(client, clerk, intake_department, settings, english):
    settings.INTAKE_MAX_UPLOAD_BYTES = 100 * 2**10
    client.force_login(clerk)
    response = client.post(
        reverse("admin:intake_batch_upload"),
        {"department": intake_department.pk, "file": SimpleUploadedFile("big.csv", b"x" * (100 * 2**10 + 1))},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "The file is larger than 100.0\xa0KB: split it into several batches."
    ]
    assert Batch.objects.count() == 0


def test_templates_download_in_both_header_languages(client, clerk):
    client.force_login(clerk)
    zh = client.get(reverse("admin:intake_batch_template", args=["csv"]) + "?headers=zh")
    en = client.get(reverse("admin:intake_batch_template", args=["csv"]) + "?headers=en")
    assert zh.content.decode("utf-8-sig").splitlines()[0].split(",")[:3] == ["统一社会信用代码", "身份证号码", "主体名称"]
    assert en.content.decode("utf-8-sig").splitlines()[0].split(",")[:3] == ["code", "id_number", "entity_name"]
    assert en.content.decode("utf-8-sig").splitlines()[1].split(",")[:3] == ["91110000600037341L", "", "北京华为数字技术有限公司"]
    xlsx = client.get(reverse("admin:intake_batch_template", args=["xlsx"]))
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0]
    assert next(sheet.iter_rows(values_only=True))[0] == "统一社会信用代码"
    assert client.get(reverse("admin:intake_batch_guide")).status_code == 200


def test_an_api_batch_that_failed_shows_why_on_its_page(client, clerk, intake_department, frozen_today, english):
    from intake import queue, services

    batch = queue.batch_queue(department=intake_department, key=None,
                              upload=services.Upload(io.BytesIO(csv_bytes([penalty_row(1)])), "day.csv"))  # fmt: skip
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.IMPORTING, attempts=3, worker="host:7")
    frozen_today.shift(queue.STALE_AFTER * 2)
    assert queue.batch_claim(worker="host:8") is None  # its worker died on the last attempt: failed
    client.force_login(clerk)
    page = client.get(reverse("admin:intake_batch_change", args=[batch.pk]), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "Failed: nothing written" in text
    assert "3 attempts, last by host:7" in text
    assert Batch.objects.get(pk=batch.pk).failure in text.replace("&#x27;", "'")
