"""The type of a file, from its content only (never from its name or the browser's claim)."""

from __future__ import annotations

import io
import re
import zipfile

import puremagic

from . import uses
from .signatures import load_signed_data

OCTET_STREAM = "application/octet-stream"
ZIP = "application/zip"
TEXT = "text/plain"
EXECUTABLES = {
    b"MZ": "application/x-msdownload",
    b"\x7fELF": "application/x-executable",
    b"\xcf\xfa\xed\xfe": "application/x-mach-binary",
    b"\xfe\xed\xfa\xcf": "application/x-mach-binary",
}
_ODF_TYPES = {
    b"application/vnd.oasis.opendocument.text": uses.ODT,
    b"application/vnd.oasis.opendocument.spreadsheet": uses.ODS,
}
_OOXML_PARTS = {"word/": uses.DOCX, "xl/": uses.XLSX}


def detect_content_type(data: bytes) -> str:
    """The MIME type of `data`, or application/octet-stream when it is not recognised."""
    # Executables first: several harmless formats share the "MZ" magic in puremagic's table,
    # and a renamed .exe must be called what it is.
    for magic, mime in EXECUTABLES.items():
        if data.startswith(magic):
            return mime
    # puremagic has no entry for CMS SignedData: an Italian .p7m (DER, PEM or bare base64)
    # is recognised by parsing it.
    if load_signed_data(data) is not None:
        return uses.PKCS7
    if data.startswith(b"PK\x03\x04"):
        return _zip_container_type(data)
    # puremagic knows an e-mail only by its first header, and only a few of them: a PEC message
    # may start with any (Delivered-To, X-Trasporto, Date ...). Its header block tells.
    if _looks_like_email(data):
        return uses.EML
    mime = _puremagic_type(data)
    if mime:
        return mime
    if _looks_like_text(data):
        return TEXT
    return OCTET_STREAM


def _puremagic_type(data: bytes) -> str:
    try:
        matches = puremagic.magic_string(data)
    except puremagic.PureError:
        return ""
    # Matches come sorted by confidence; the first one with a MIME type wins.
    for match in matches:
        if match.mime_type:
            return match.mime_type
    return ""


def _zip_container_type(data: bytes) -> str:
    """Office Open XML and OpenDocument files are ZIP archives told apart by their parts."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                with archive.open("mimetype") as entry:
                    declared = entry.read(100).strip()  # bounded: the entry could be a bomb
                return _ODF_TYPES.get(declared, ZIP)
            if "[Content_Types].xml" in names:
                for prefix, mime in _OOXML_PARTS.items():
                    if any(name.startswith(prefix) for name in names):
                        return mime
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return OCTET_STREAM
    return ZIP


# RFC 5322 §2.2: a header field is a name of printable ASCII but ':', a colon, then the body;
# a line starting with a space or a tab continues the previous field (folding).
_HEADER_FIELD = re.compile(rb"[!-9;-~]+:")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_EMAIL_HEAD = 256 * 1024  # PEC envelopes carry long Received chains; headers are never this long


def _looks_like_email(data: bytes) -> bool:
    """An Internet message (RFC 5322): a header block of well-formed fields, ended by an empty
    line, with the two fields every message has (From, Date)."""
    head = data[:_EMAIL_HEAD]
    end = _HEADER_END.search(head)
    if end is None or end.start() == 0:
        return False
    names = set()
    for line in re.split(rb"\r?\n", head[: end.start()]):
        if line[:1] in (b" ", b"\t") and names:
            continue
        field = _HEADER_FIELD.match(line)
        if field is None:
            return False
        names.add(field.group()[:-1].lower())
    return {b"from", b"date"} <= names


def _looks_like_text(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        return exc.start >= len(sample) - 3
    return True
