"""The signature is a real PAdES signature: checked with pyHanko's own validator, and a
one-byte change breaks it."""

import io

import pytest
from django.core.management import call_command
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from reports import services, signing
from reports.models import ReportKind

SITE = "https://credit.example.gov.cn"


@pytest.fixture
def issued_pdf(entity, penalty, frozen_today):
    report = services.report_issue(entity=entity, kind=ReportKind.PUBLIC, language="zh-hans", site_url=SITE)
    return report.pdf.read()


def validate(pdf: bytes, certificate):
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    return validate_pdf_signature(
        signature, ValidationContext(trust_roots=[certificate], allow_fetching=False)
    )


def test_the_library_validates_the_signature(issued_pdf, signing_key):
    status = validate(issued_pdf, signing_key.certificate)
    assert (status.intact, status.valid, status.trusted, status.bottom_line) == (True, True, True, True)
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.dump() == signing_key.certificate_der
    assert status.pkcs7_signature_mechanism in ("sha256_rsa", "rsassa_pkcs1v15")
    signature = PdfFileReader(io.BytesIO(issued_pdf)).embedded_signatures[0]
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.field_name == signing.SIGNATURE_FIELD


def _signed_range_offset(pdf: bytes) -> int:
    """An offset inside the signed bytes, in the page content, away from the signature."""
    return pdf.index(b"stream", pdf.index(b"/Contents")) + 40


def test_one_byte_changed_fails(issued_pdf, signing_key):
    offset = _signed_range_offset(issued_pdf)
    tampered = bytearray(issued_pdf)
    tampered[offset] ^= 0x01
    status = validate(bytes(tampered), signing_key.certificate)
    assert (status.intact, status.bottom_line) == (False, False)
    check = signing.check_signature(bytes(tampered), key=signing_key)
    assert (check.signed, check.intact, check.ok) == (True, False, False)


def test_site_check_accepts_the_issued_file(issued_pdf, signing_key):
    check = signing.check_signature(issued_pdf, key=signing_key)
    assert check == signing.SignatureCheck(
        signed=True, intact=True, valid=True, by_site=True, whole_file=True,
        signer=signing_key.subject, signed_at=check.signed_at,
    )  # fmt: skip
    assert check.ok is True


def test_content_appended_after_signing_is_seen(issued_pdf, signing_key):
    writer = IncrementalPdfFileWriter(io.BytesIO(issued_pdf))
    writer.root["/PageLabels"] = writer.add_object(generic.DictionaryObject())
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    assert out.getvalue().startswith(issued_pdf) and len(out.getvalue()) > len(issued_pdf)
    check = signing.check_signature(out.getvalue(), key=signing_key)
    assert (check.intact, check.valid, check.by_site, check.whole_file, check.ok) == (
        True,
        True,
        True,
        False,
        False,
    )


def test_another_key_is_not_the_site(issued_pdf, tmp_path, settings):
    other = tmp_path / "other.p12"
    signing.create_self_signed(other, passphrase="x", common_name="Someone else")
    settings.REPORT_SIGNING_P12, settings.REPORT_SIGNING_PASSPHRASE = str(other), "x"
    check = signing.check_signature(issued_pdf, key=signing.site_key())
    assert (check.intact, check.valid, check.by_site, check.ok) == (True, True, False, False)


def test_an_unsigned_or_broken_file_says_so(signing_key):
    assert signing.check_signature(b"%PDF-1.4\n%%EOF", key=signing_key) == signing.SignatureCheck(
        signed=False
    )
    assert signing.check_signature(b"not a pdf", key=signing_key) == signing.SignatureCheck(signed=False)


def test_demo_key_command_creates_once(tmp_path, settings):
    settings.REPORT_SIGNING_P12 = str(tmp_path / "var" / "demo.p12")
    settings.REPORT_SIGNING_PASSPHRASE = "demo-only"
    out = io.StringIO()
    call_command("reports_demo_key", stdout=out)
    key = signing.site_key()
    assert (
        out.getvalue()
        == f"Report signing key: {settings.REPORT_SIGNING_P12} (new, certificate SHA-256 {key.sha256})\n"
    )
    assert key.subject == (
        "Common Name: Credit Disclosure DEMO report signing (not for production), "
        "Organization: Credit Disclosure, Country: CN"
    )
    before = (tmp_path / "var" / "demo.p12").read_bytes()
    out = io.StringIO()
    call_command("reports_demo_key", stdout=out)
    assert out.getvalue() == f"Report signing key: {settings.REPORT_SIGNING_P12} (kept)\n"
    assert (tmp_path / "var" / "demo.p12").read_bytes() == before
    assert oct((tmp_path / "var" / "demo.p12").stat().st_mode & 0o777) == "0o600"


def test_deploy_check_fails_without_a_key(settings):
    from reports.checks import signing_key_check

    assert signing_key_check(None) == []
    settings.REPORT_SIGNING_P12 = None
    assert [error.id for error in signing_key_check(None)] == ["reports.E001"]
