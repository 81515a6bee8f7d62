"""The site's report signing key, PAdES signatures on the reports, and their validation.

The key and its certificate come from a PKCS#12 file (``REPORT_SIGNING_P12``, with
``REPORT_SIGNING_PASSPHRASE``). Without it nothing is signed, and so nothing is issued: a
report that cannot be signed is refused, never handed out unsigned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

SIGNATURE_FIELD = "ReportSignature"


class SigningUnavailable(Exception):
    """The signing key is not configured or cannot be read: no report may be issued."""


@dataclass(frozen=True)
class SiteKey:
    signer: signers.SimpleSigner
    certificate: asn1_x509.Certificate

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.dump()

    @property
    def certificate_pem(self) -> bytes:
        return pem.armor("CERTIFICATE", self.certificate_der)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.certificate_der).hexdigest()

    @property
    def subject(self) -> str:
        return self.certificate.subject.human_friendly

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after


def site_key() -> SiteKey:
    """The configured key, read once per process (and again when the file changes)."""
    path = settings.REPORT_SIGNING_P12
    if not path:
        raise SigningUnavailable("REPORT_SIGNING_P12 is not set.")
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise SigningUnavailable(f"Cannot read the signing key {path}: {exc.strerror}.") from None
    return _load(str(path), settings.REPORT_SIGNING_PASSPHRASE or "", mtime)


class _LoadedKeySigner(signers.SimpleSigner):
    """pyHanko parses the private key again for every signature it makes (two per document),
    and cryptography checks an RSA key as it parses it: 70 ms each, a third of a report's
    time. Here the key parsed once per process makes every RSA signature."""

    def __init__(self, *, private_key, **kwargs):
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._private_key, rsa.RSAPrivateKey):
            return self._private_key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        return super().sign_raw(data, digest_algorithm)


@lru_cache(maxsize=4)
def _load(path: str, passphrase: str, mtime: int) -> SiteKey:
    data = Path(path).read_bytes()
    secret = passphrase.encode() if passphrase else None
    try:
        loaded = signers.SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=secret)
        private_key, _, _ = pkcs12.load_key_and_certificates(data, secret)
    except ValueError:
        raise SigningUnavailable(f"Cannot open {path} with the configured passphrase.") from None
    signer = _LoadedKeySigner(
        private_key=private_key,
        signing_cert=loaded.signing_cert,
        signing_key=loaded.signing_key,
        cert_registry=loaded.cert_registry,
        signature_mechanism=loaded.signature_mechanism,
    )
    return SiteKey(signer=signer, certificate=signer.signing_cert)


def sign(pdf: bytes, *, key: SiteKey, reason: str, location: str) -> bytes:
    """A certification signature (PAdES baseline B, SHA-256) over the whole document, which
    allows no later change."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=reason,
        location=location,
    )
    return signers.sign_pdf(writer, metadata, signer=key.signer).getvalue()


@dataclass(frozen=True)
class SignatureCheck:
    """What the signature of an uploaded file says."""

    signed: bool  # it carries a signature at all
    intact: bool = False  # the signed bytes are unchanged
    valid: bool = False  # the cryptographic signature is correct
    by_site: bool = False  # made with the site's certificate
    whole_file: bool = False  # nothing was appended after signing
    signer: str = ""
    signed_at: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.by_site and self.whole_file


def check_signature(pdf: bytes, *, key: SiteKey) -> SignatureCheck:
    """Validate the signature of ``pdf`` against the site's certificate, offline."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError, IndexError, TypeError):
        return SignatureCheck(signed=False)
    if not embedded:
        return SignatureCheck(signed=False)
    signature = embedded[0]
    context = ValidationContext(trust_roots=[key.certificate], allow_fetching=False)
    try:
        status = validate_pdf_signature(signature, context, skip_diff=True)
    except Exception:  # a mangled signature is an invalid one, whatever the library raises
        return SignatureCheck(signed=True)
    signer_cert = status.signing_cert
    return SignatureCheck(
        signed=True,
        intact=bool(status.intact),
        valid=bool(status.valid),
        by_site=signer_cert is not None and signer_cert.dump() == key.certificate_der and status.trusted,
        whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signer=signer_cert.subject.human_friendly if signer_cert is not None else "",
        signed_at=status.signer_reported_dt,
    )


def create_self_signed(path: Path, *, passphrase: str, common_name: str, days: int = 3650) -> None:
    """A new RSA key and a self-signed certificate for signing documents, in a PKCS#12 file."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Credit Disclosure"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    data = pkcs12.serialize_key_and_certificates(common_name.encode(), key, certificate, None, encryption)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.chmod(0o600)
    partial.rename(path)
