"""A local test certification authority, and signing with it (CAdES `.p7m` and PAdES).

Development, the demo and the tests need signed files whose verification gives a known answer:
this module creates a CA, issues signing certificates shaped like the Italian qualified ones
(the fiscal code in the subject serialNumber as "TINIT-<CF>", key usage non-repudiation) and
signs documents with pyHanko. It is never a source of trust in production: there the trust
roots are the real ones listed in `settings.SIGNATURE_TRUST_ROOTS`.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from asn1crypto import cms, pem
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko_certvalidator.registry import SimpleCertificateStore

from procurement.core.aio import run_coroutine

DEFAULT_SIGNER_NAME = "Mario Rossi"
DEFAULT_SIGNER_TAX_CODE = "RSSMRA80A01H501U"
CA_NAME = "CA di prova della piattaforma e-procurement"

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SIGNER_CERT_FILE = "signer.pem"
SIGNER_KEY_FILE = "signer-key.pem"
SAMPLE_PDF_FILE = "sample.pdf"
SAMPLE_SIGNED_PDF_FILE = "sample-signed.pdf"
SAMPLE_P7M_FILE = "sample.pdf.p7m"


@dataclass(frozen=True)
class Credentials:
    """A certificate with its private key."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey

    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def save(self, cert_path: Path, key_path: Path) -> None:
        cert_path.write_bytes(self.cert_pem())
        key_path.write_bytes(self.key_pem())
        key_path.chmod(0o600)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> Credentials:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError(f"{key_path}: expected an RSA private key")
        return cls(certificate=certificate, private_key=private_key)


def normalise_tax_code(tax_code: str) -> str:
    """'tinit-rssmra80a01h501u' or 'RSSMRA80A01H501U' -> 'RSSMRA80A01H501U'."""
    value = tax_code.strip().upper()
    return value.removeprefix("TINIT-")


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or datetime.datetime.now(tz=datetime.UTC)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _signer_subject(name: str, tax_code: str) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, f"TINIT-{normalise_tax_code(tax_code)}"),
    ]
    given, _sep, surname = name.partition(" ")
    if surname:
        attributes += [
            x509.NameAttribute(NameOID.GIVEN_NAME, given),
            x509.NameAttribute(NameOID.SURNAME, surname),
        ]
    return x509.Name(attributes)


def _signer_extensions(builder: x509.CertificateBuilder, public_key) -> x509.CertificateBuilder:
    # Italian qualified signing certificates carry non-repudiation (content commitment);
    # digital signature is added so generic validators accept the certificate too.
    return (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def create_ca(
    *, common_name: str = CA_NAME, now: datetime.datetime | None = None, years: int = 10
) -> Credentials:
    """A self-signed root CA."""
    now = _now(now)
    key = _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Piattaforma e-procurement (test)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Credentials(certificate=certificate, private_key=key)


def issue_signer(
    ca: Credentials,
    *,
    name: str = DEFAULT_SIGNER_NAME,
    tax_code: str = DEFAULT_SIGNER_TAX_CODE,
    now: datetime.datetime | None = None,
    years: int = 3,
) -> Credentials:
    """A signing certificate for a natural person, issued by `ca`."""
    now = _now(now)
    key = _new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_signer_subject(name, tax_code))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * years))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()),
            critical=False,
        )
    )
    certificate = _signer_extensions(builder, key.public_key()).sign(
        ca.private_key, hashes.SHA256()
    )
    return Credentials(certificate=certificate, private_key=key)


def create_self_signed_signer(
    *,
    name: str = DEFAULT_SIGNER_NAME,
    tax_code: str = DEFAULT_SIGNER_TAX_CODE,
    now: datetime.datetime | None = None,
) -> Credentials:
    """A signing certificate that vouches for itself: never on a trust list."""
    now = _now(now)
    key = _new_key()
    subject = _signer_subject(name, tax_code)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
    )
    certificate = _signer_extensions(builder, key.public_key()).sign(key, hashes.SHA256())
    return Credentials(certificate=certificate, private_key=key)


def _asn1_cert(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _pyhanko_signer(signer: Credentials, chain: Sequence[Credentials]) -> signers.SimpleSigner:
    key_der = signer.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return signers.SimpleSigner(
        signing_cert=_asn1_cert(signer.certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(c.certificate) for c in chain]),
    )


def sign_pdf(
    pdf: bytes,
    signer: Credentials,
    *,
    chain: Sequence[Credentials] = (),
    field_name: str = "Firma1",
    reason: str = "Sottoscrizione del documento",
) -> bytes:
    """A PAdES signature (ETSI.CAdES.detached) added to `pdf` as an incremental update."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason,
        md_algorithm="sha256",
        subfilter=signers.DEFAULT_SIG_SUBFILTER,
        use_pades_lta=False,
    )
    out = run_coroutine(signers.async_sign_pdf(writer, meta, signer=_pyhanko_signer(signer, chain)))
    return out.getvalue()


def sign_p7m(
    content: bytes,
    signer: Credentials,
    *,
    chain: Sequence[Credentials] = (),
    signing_time: datetime.datetime | None = None,
    armor: bool = False,
) -> bytes:
    """A CAdES-BES envelope with `content` attached (the Italian `.p7m`), DER or PEM-armoured."""
    pyhanko_signer = _pyhanko_signer(signer, chain)
    content_info = run_coroutine(
        pyhanko_signer.async_sign_general_data(
            cms.ContentInfo({"content_type": "data", "content": content}),
            digest_algorithm="sha256",
            detached=False,
            use_cades=True,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=_now(signing_time)),
        )
    )
    der = content_info.dump()
    if armor:
        return pem.armor("PKCS7", der)
    return der


def make_sample_pdf(*, title: str = "Documento di prova", body: str | None = None) -> bytes:
    """A small real PDF, rendered by WeasyPrint (the project's PDF engine)."""
    from django.utils.html import escape
    from weasyprint import HTML

    body = body or (
        "Questo documento è stato generato dalla piattaforma per provare la verifica delle "
        "firme digitali (CAdES e PAdES)."
    )
    html = (
        f"<html lang='it'><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        f"<body><h1>{escape(title)}</h1><p>{escape(body)}</p></body></html>"
    )
    return HTML(string=html).write_pdf()


@dataclass(frozen=True)
class TestCaFolder:
    """The files written by `ensure_test_ca`."""

    __test__ = False  # not a pytest test class, despite the name

    folder: Path
    ca: Credentials
    signer: Credentials

    @property
    def ca_pem(self) -> Path:
        return self.folder / CA_CERT_FILE

    @property
    def sample_pdf(self) -> Path:
        return self.folder / SAMPLE_PDF_FILE

    @property
    def sample_signed_pdf(self) -> Path:
        return self.folder / SAMPLE_SIGNED_PDF_FILE

    @property
    def sample_p7m(self) -> Path:
        return self.folder / SAMPLE_P7M_FILE


def _signer_matches(signer: Credentials, ca: Credentials, name: str, tax_code: str) -> bool:
    cert = signer.certificate
    expected = _signer_subject(name, tax_code)
    still_valid = cert.not_valid_after_utc > datetime.datetime.now(tz=datetime.UTC)
    return cert.subject == expected and cert.issuer == ca.certificate.subject and still_valid


def ensure_test_ca(
    folder: Path,
    *,
    name: str = DEFAULT_SIGNER_NAME,
    tax_code: str = DEFAULT_SIGNER_TAX_CODE,
) -> tuple[TestCaFolder, list[str]]:
    """Create (or reuse) the CA, the signer and the signed samples in `folder`.

    Idempotent: an existing CA is kept (so files signed earlier stay verifiable), an existing
    signer is kept when its subject matches; the samples are written when missing or when the
    signer changed. Returns the folder and the names of the files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    ca_cert, ca_key = folder / CA_CERT_FILE, folder / CA_KEY_FILE
    ca_created = not (ca_cert.exists() and ca_key.exists())
    if ca_created:
        ca = create_ca()
        ca.save(ca_cert, ca_key)
        written += [CA_CERT_FILE, CA_KEY_FILE]
    else:
        ca = Credentials.load(ca_cert, ca_key)

    signer_cert, signer_key = folder / SIGNER_CERT_FILE, folder / SIGNER_KEY_FILE
    signer = None
    if signer_cert.exists() and signer_key.exists() and not ca_created:
        signer = Credentials.load(signer_cert, signer_key)
        if not _signer_matches(signer, ca, name, tax_code):
            signer = None
    if signer is None:
        signer = issue_signer(ca, name=name, tax_code=tax_code)
        signer.save(signer_cert, signer_key)
        written += [SIGNER_CERT_FILE, SIGNER_KEY_FILE]

    result = TestCaFolder(folder=folder, ca=ca, signer=signer)
    if not result.sample_pdf.exists():
        result.sample_pdf.write_bytes(make_sample_pdf())
        written.append(SAMPLE_PDF_FILE)
    # Signed samples follow their inputs: a new signer or a new sample means new signatures.
    stale = SIGNER_CERT_FILE in written or SAMPLE_PDF_FILE in written
    sample = result.sample_pdf.read_bytes()
    if stale or not result.sample_signed_pdf.exists():
        result.sample_signed_pdf.write_bytes(sign_pdf(sample, signer, chain=[ca]))
        written.append(SAMPLE_SIGNED_PDF_FILE)
    if stale or not result.sample_p7m.exists():
        result.sample_p7m.write_bytes(sign_p7m(sample, signer, chain=[ca]))
        written.append(SAMPLE_P7M_FILE)
    return result, written
