"""Signature verification with real pyHanko on real files signed by a test CA."""

import base64
import datetime
from pathlib import Path

import pytest
from django.core.management import call_command

from procurement.documents import testca
from procurement.documents.detection import detect_content_type
from procurement.documents.models import SignatureFormat
from procurement.documents.signatures import (
    extract_signed_content,
    load_trust_roots,
    tax_code_from_serial,
    verify_signature,
)
from procurement.documents.uses import DOCX, ODT, PDF, PKCS7
from tests.factories.documents import (
    SECOND_SIGNER_TAX_CODE,
    SIGNER_NAME,
    SIGNER_TAX_CODE,
    fake_exe,
    office_file,
    shared_test_ca,
    tamper_p7m,
    tamper_pdf,
)


@pytest.fixture
def samples(tmp_path_factory, settings):
    signed = shared_test_ca(tmp_path_factory.getbasetemp())
    settings.SIGNATURE_TRUST_ROOTS = signed.trust_roots
    return signed


def verify(data: bytes):
    return verify_signature(data, detect_content_type(data))


def test_a_p7m_signed_by_the_test_ca_is_valid_and_yields_the_signed_pdf(samples):
    result = verify(samples.p7m)

    assert result.format == SignatureFormat.CADES_P7M
    assert (result.intact, result.valid, result.trusted) == (True, True, True)
    assert result.ok
    assert result.signer_name == SIGNER_NAME
    assert result.signer_tax_code == SIGNER_TAX_CODE
    assert result.signing_time is not None
    assert result.content == samples.pdf
    assert "Firma valida di Mario Rossi" in result.message
    assert SIGNER_TAX_CODE in result.message


def test_a_pades_pdf_signed_by_the_test_ca_is_valid(samples):
    result = verify(samples.signed_pdf)

    assert result.format == SignatureFormat.PADES
    assert (result.intact, result.valid, result.trusted) == (True, True, True)
    assert result.signer_name == SIGNER_NAME
    assert result.signer_tax_code == SIGNER_TAX_CODE
    assert result.signing_time is not None
    assert result.content is None


def test_a_tampered_p7m_is_not_intact(samples):
    result = verify(tamper_p7m(samples.p7m))

    assert result.format == SignatureFormat.CADES_P7M
    assert result.intact is False
    assert result.valid is False
    assert not result.ok
    assert "modificato dopo la firma" in result.message


def test_a_tampered_pades_pdf_is_not_intact(samples):
    result = verify(tamper_pdf(samples.signed_pdf))

    assert result.format == SignatureFormat.PADES
    assert result.intact is False
    assert not result.ok
    assert "non integra" in result.message


def test_an_unsigned_pdf_has_no_signature(samples):
    result = verify(samples.pdf)

    assert result.format == SignatureFormat.NONE
    assert (result.intact, result.valid, result.trusted) == (None, None, None)
    assert result.message == "Il documento non contiene firme digitali."


@pytest.mark.parametrize("kind", ["p7m", "pdf"])
def test_a_self_signed_certificate_outside_the_trust_list_is_untrusted(samples, kind):
    data = samples.untrusted_p7m() if kind == "p7m" else samples.untrusted_pdf()

    result = verify(data)

    assert result.intact is True and result.valid is True
    assert result.trusted is False
    assert result.signers[0].problem == "self_signed"
    assert "non attendibile" in result.message


def test_an_empty_trust_list_trusts_nobody_not_even_the_system_store(samples, settings):
    settings.SIGNATURE_TRUST_ROOTS = []
    result = verify(samples.p7m)
    assert result.intact and result.valid and not result.trusted


def test_a_missing_trust_root_file_is_skipped_not_fatal(samples, settings, tmp_path):
    settings.SIGNATURE_TRUST_ROOTS = [str(tmp_path / "manca.pem")]
    assert load_trust_roots() == []
    assert verify(samples.p7m).trusted is False


def test_trust_roots_can_be_a_folder(samples, settings):
    settings.SIGNATURE_TRUST_ROOTS = [str(samples.folder.folder)]
    assert verify(samples.p7m).trusted is True


def test_an_expired_signing_certificate_is_untrusted(samples):
    long_ago = datetime.datetime(2015, 1, 1, tzinfo=datetime.UTC)
    expired = testca.issue_signer(samples.ca, now=long_ago, years=1)
    data = testca.sign_p7m(samples.pdf, expired, chain=[samples.ca])

    result = verify_signature(data, PKCS7)

    assert result.intact and result.valid and not result.trusted
    assert result.signers[0].problem == "expired"
    assert "scaduto" in result.message


@pytest.mark.parametrize("armor", ["pem", "base64"])
def test_a_p7m_saved_as_pem_or_base64_is_recognised_and_verified(samples, armor):
    if armor == "pem":
        data = samples.p7m_of(samples.pdf, armor=True)
        assert data.startswith(b"-----BEGIN PKCS7-----")
    else:
        data = base64.encodebytes(samples.p7m)

    assert detect_content_type(data) == PKCS7
    result = verify(data)
    assert result.ok and result.content == samples.pdf


def test_nested_envelopes_report_every_signer_and_the_innermost_document(samples):
    outer = samples.p7m_of(samples.p7m, signer=samples.second_signer)

    result = verify(outer)

    assert result.ok
    assert [s.tax_code for s in result.signers] == [SECOND_SIGNER_TAX_CODE, SIGNER_TAX_CODE]
    assert result.content == samples.pdf
    assert extract_signed_content(outer) == samples.pdf
    assert result.message.startswith("2 firme:")


def test_a_second_pades_signature_keeps_the_first_one_intact(samples):
    twice = testca.sign_pdf(
        samples.signed_pdf, samples.second_signer, chain=[samples.ca], field_name="Firma2"
    )

    result = verify(twice)

    assert result.ok
    assert [s.name for s in result.signers] == [SIGNER_NAME, "Anna Bianchi"]


def test_garbage_that_looks_like_an_envelope_is_not_a_signature(samples):
    assert detect_content_type(b"\x30\x03\x02\x01\x01") != PKCS7
    assert detect_content_type(b"MIIB" + b"A" * 40) != PKCS7


def test_type_detection_reads_the_content():
    assert detect_content_type(fake_exe()) == "application/x-msdownload"
    assert detect_content_type(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") == PDF
    assert detect_content_type(office_file("docx")) == DOCX
    assert detect_content_type(office_file("odt")) == ODT
    assert detect_content_type(b"Verbale di gara, testo semplice.\n") == "text/plain"
    assert detect_content_type(b"\x00\x01\x02\x03\xff") == "application/octet-stream"


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        ("TINIT-RSSMRA80A01H501U", "RSSMRA80A01H501U"),
        ("IT:RSSMRA80A01H501U", "RSSMRA80A01H501U"),
        ("12345", ""),
    ],
)
def test_fiscal_code_from_the_certificate_serial_number(serial, expected):
    assert tax_code_from_serial(serial) == expected


def test_make_test_ca_is_idempotent_and_its_samples_verify(tmp_path, settings, capsys):
    folder = tmp_path / "ca"
    call_command(
        "make_test_ca", dir=str(folder), name="Anna Bianchi", tax_code="TINIT-BNCNNA85M41F205Q"
    )
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(first) == {
        "ca.pem",
        "ca-key.pem",
        "signer.pem",
        "signer-key.pem",
        "sample.pdf",
        "sample-signed.pdf",
        "sample.pdf.p7m",
    }
    call_command("make_test_ca", dir=str(folder), name="Anna Bianchi", tax_code="BNCNNA85M41F205Q")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first
    assert "nulla da fare" in capsys.readouterr().out

    settings.SIGNATURE_TRUST_ROOTS = [str(folder / "ca.pem")]
    for name in ("sample-signed.pdf", "sample.pdf.p7m"):
        result = verify((folder / name).read_bytes())
        assert result.ok
        assert (result.signer_name, result.signer_tax_code) == ("Anna Bianchi", "BNCNNA85M41F205Q")


def test_make_test_ca_writes_to_var_dir_by_default(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    call_command("make_test_ca", verbosity=0)
    assert Path(tmp_path / "test-ca" / "ca.pem").exists()
