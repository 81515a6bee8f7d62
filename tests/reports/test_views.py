import datetime as dt
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from disclosure import services as disclosure_services
from disclosure.models import EntityKind
from reports.models import Report, ReportKind

ISSUE = "/reports/entities/91110000600037341L/"


def test_entity_page_links_to_its_reports(client, entity, english):
    response = client.get(f"/en/entities/{entity.code}/")
    assert response.status_code == 200
    assert b'href="/en/reports/entities/91110000600037341L/"' in response.content


def test_person_page_links_to_its_reports(client, db):
    person = disclosure_services.entity_create(
        kind=EntityKind.NATURAL_PERSON, name="王五", identity_number="11010519491231002X"
    )
    response = client.get(f"/persons/{person.pk}/")
    assert f'href="/reports/persons/{person.pk}/"'.encode() in response.content
    assert client.get(f"/reports/persons/{person.pk}/").status_code == 200


def test_issue_page_offers_both_kinds(client, entity, market, penalty):
    response = client.get(ISSUE)
    assert response.status_code == 200
    special = response.context["special_form"]
    assert special.fields["departments"].choices == [("samr", "市场监督管理局")]
    assert special.initial["kind"] == ReportKind.SPECIAL
    assert response.context["public_form"].initial == {"kind": ReportKind.PUBLIC, "language": "zh-hans"}


def test_unknown_entity_is_404(client, db):
    assert client.get("/reports/entities/91110000600037341L/").status_code == 404


def test_public_report_issued_and_downloadable(client, entity, penalty):
    response = client.post(ISSUE, {"kind": "public", "language": "en"})

    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/reports/verify/?number={report.number}"
    assert (report.kind, report.language, report.entity) == (ReportKind.PUBLIC, "en", entity)
    download = client.get(f"/reports/{report.number}.pdf")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == f'attachment; filename="{report.number}.pdf"'
    body = b"".join(download.streaming_content)
    assert hashlib.sha256(body).hexdigest() == report.pdf_sha256


def test_special_report_with_choices(client, entity, penalty):
    response = client.post(
        ISSUE,
        {"kind": "special", "language": "zh-hans", "departments": ["samr"],
         "categories": ["penalty", "serious_dishonesty"], "window_months": "36"},
    )  # fmt: skip
    report = Report.objects.get()
    assert response.status_code == 302
    assert (report.departments, report.categories, report.window_months) == (
        ["samr"], ["serious_dishonesty", "penalty"], 36,
    )  # fmt: skip
    assert report.record_versions == [[penalty.pk, penalty.published.version]]


def test_special_report_without_choices_says_what_is_missing(client, entity, penalty, english):
    response = client.post(f"/en{ISSUE}", {"kind": "special", "language": "en", "window_months": "36"})
    assert response.status_code == 400
    form = response.context["special_form"]
    assert form.errors == {
        "departments": ["Choose at least one field."],
        "categories": ["Choose at least one kind of record."],
    }
    assert Report.objects.count() == 0


def test_no_signing_key_is_503_and_no_report(client, entity, settings):
    settings.REPORT_SIGNING_P12 = None
    response = client.post(ISSUE, {"kind": "public", "language": "zh-hans"})
    assert response.status_code == 503
    assert response["Retry-After"] == "3600"
    assert Report.objects.count() == 0


def test_issuing_is_rate_limited(client, entity, settings):
    # A day's window: the limit counts per clock window, and three reports issued across a
    # minute's boundary (each is a signed PDF, slow under load) would count in two windows.
    settings.REPORT_RATE_LIMIT = "2/d"
    statuses = [client.post(ISSUE, {"kind": "public", "language": "zh-hans"}).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert Report.objects.count() == 2
    assert client.get(ISSUE).status_code == 200  # the page itself is counted with the pages


@pytest.fixture
def report(client, entity, penalty):
    client.post(ISSUE, {"kind": "public", "language": "zh-hans"})
    return Report.objects.get()


def test_verify_by_number_shows_what_was_issued(client, report, english):
    response = client.get("/en/reports/verify/", {"number": report.number.lower()})
    assert response.status_code == 200
    assert response.context["report"] == report
    assert response.context["changes"].changed is False
    text = response.content.decode()
    assert "Current." in text
    assert report.pdf_sha256 in text
    assert f'href="/en/reports/{report.number}.pdf"' in text


def test_verify_shows_a_stale_report(client, report, penalty, english):
    disclosure_services.record_withdraw(record=penalty, actor=None, reason="修复", reference="XF9")
    response = client.get("/en/reports/verify/", {"number": report.number})
    assert response.context["changes"].gone == 1
    assert "1 record in the report is no longer disclosed;" in response.content.decode()


def test_verify_unknown_number(client, db, english):
    response = client.get("/en/reports/verify/", {"number": "PR20261128-AAAAAAAA"})
    assert response.status_code == 404
    assert "No report with the number PR20261128-AAAAAAAA was issued here." in response.content.decode()


def test_uploaded_report_exactly_as_issued(client, report, english):
    upload = SimpleUploadedFile("report.pdf", report.pdf.read(), content_type="application/pdf")
    response = client.post("/en/reports/verify/", {"file": upload})
    assert response.status_code == 200
    assert response.context["upload"]["report"] == report
    assert response.context["upload"]["signature"].ok is True
    assert "Authentic." in response.content.decode()


def test_uploaded_report_one_byte_changed(client, report, english):
    content = bytearray(report.pdf.read())
    content[content.index(b"stream") + 40] ^= 0x01
    upload = SimpleUploadedFile("report.pdf", bytes(content), content_type="application/pdf")
    response = client.post("/en/reports/verify/", {"file": upload})
    assert response.context["upload"]["report"] is None
    assert response.context["upload"]["signature"].intact is False
    text = response.content.decode()
    assert "Not a report issued here." in text
    assert "the signed content was changed or the signature is broken." in text


def test_upload_without_a_file_is_400(client, db):
    assert client.post("/reports/verify/", {}).status_code == 400


def test_certificate_downloads(client, signing_key):
    pem = client.get("/reports/certificate.pem")
    assert pem.status_code == 200
    assert pem.content == signing_key.certificate_pem
    assert pem["Content-Disposition"] == 'attachment; filename="credit-report-signing.pem"'
    der = client.get("/reports/certificate.cer")
    assert der.content == signing_key.certificate_der
    assert client.get("/reports/certificate.txt").status_code == 404


def test_certificate_404_without_a_key(client, settings, db):
    settings.REPORT_SIGNING_P12 = None
    assert client.get("/reports/certificate.pem").status_code == 404


def test_unknown_report_pdf_is_404(client, db):
    assert client.get("/reports/PR20261128-AAAAAAAA.pdf").status_code == 404


def test_verify_page_query_count(client, report, django_assert_num_queries):
    # report, its entity (joined), current records, and the key's page parts: pinned.
    with django_assert_num_queries(2):
        client.get("/reports/verify/", {"number": report.number})


def test_lapsed_day_is_seen_on_verify(client, report, penalty, frozen_today, english):
    frozen_today.move_to(dt.datetime.combine(penalty.disclosure_end + dt.timedelta(days=1), dt.time(12)))
    response = client.get("/en/reports/verify/", {"number": report.number})
    assert response.context["changes"].gone == 1
