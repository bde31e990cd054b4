"""Signed files for the document tests: a test CA, signers, and tampered copies.

Keys and the sample PDF are made once per test session (RSA key generation and WeasyPrint take
a moment) and shared by the test modules through `shared_test_ca`.
"""

from __future__ import annotations

import functools
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from procurement.documents import testca
from procurement.documents.testca import Credentials, TestCaFolder

SIGNER_NAME = "Mario Rossi"
SIGNER_TAX_CODE = "RSSMRA80A01H501U"
SECOND_SIGNER_NAME = "Anna Bianchi"
SECOND_SIGNER_TAX_CODE = "BNCNNA85M41F205Q"


@dataclass(frozen=True)
class SignedSamples:
    folder: TestCaFolder
    second_signer: Credentials
    stranger: Credentials  # self-signed, on no trust list

    @property
    def ca(self) -> Credentials:
        return self.folder.ca

    @property
    def signer(self) -> Credentials:
        return self.folder.signer

    @property
    def trust_roots(self) -> list[str]:
        return [str(self.folder.ca_pem)]

    @property
    def pdf(self) -> bytes:
        return self.folder.sample_pdf.read_bytes()

    @property
    def signed_pdf(self) -> bytes:
        return self.folder.sample_signed_pdf.read_bytes()

    @property
    def p7m(self) -> bytes:
        return self.folder.sample_p7m.read_bytes()

    def p7m_of(self, content: bytes, *, signer: Credentials | None = None, armor=False) -> bytes:
        return testca.sign_p7m(content, signer or self.signer, chain=[self.ca], armor=armor)

    def untrusted_p7m(self) -> bytes:
        return testca.sign_p7m(self.pdf, self.stranger)

    def untrusted_pdf(self) -> bytes:
        return testca.sign_pdf(self.pdf, self.stranger)


@functools.cache
def shared_test_ca(base: Path) -> SignedSamples:
    folder, _written = testca.ensure_test_ca(
        base / "test-ca", name=SIGNER_NAME, tax_code=SIGNER_TAX_CODE
    )
    return SignedSamples(
        folder=folder,
        second_signer=testca.issue_signer(
            folder.ca, name=SECOND_SIGNER_NAME, tax_code=SECOND_SIGNER_TAX_CODE
        ),
        stranger=testca.create_self_signed_signer(name="Ugo Falsi", tax_code=SIGNER_TAX_CODE),
    )


def tamper_p7m(data: bytes) -> bytes:
    """Change one byte of the document inside the envelope (the signature stays as it was)."""
    at = data.index(b"%PDF") + 200
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def tamper_pdf(data: bytes) -> bytes:
    """Change one byte of the signed range: the binary comment on the PDF's second line."""
    assert data[9:10] == b"%"
    at = 12
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def fake_exe() -> bytes:
    """The first bytes of a Windows executable (DOS header and PE signature)."""
    header = bytearray(b"MZ" + b"\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00")
    header += b"\x00" * (0x3C - len(header)) + b"\x80\x00\x00\x00"
    header += b"\x00" * (0x80 - len(header)) + b"PE\x00\x00" + b"\x00" * 200
    return bytes(header)


def office_file(kind: str) -> bytes:
    """A minimal .docx ("docx") or .odt ("odt") container."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if kind == "odt":
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
            archive.writestr("content.xml", "<office:document-content/>")
        else:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    """A file as Django hands it to a view; the browser's content type is deliberately ignored."""
    return SimpleUploadedFile(name, data, content_type=content_type)
