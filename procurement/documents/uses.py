"""What a document is for, and so what may be uploaded for it.

A "use" fixes the content types accepted (detected from the content, never from the file name),
the maximum size and whether a valid, trusted digital signature is required. The kernel registers
the generic ones below; each workflow app registers its own in `AppConfig.ready()`:

    register_use(DocumentUse(
        code="order_summary_signed",
        label=_("Riepilogo d'ordine firmato"),
        content_types=SIGNED_CONTAINER_TYPES,
        signature_required=True,
    ))
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

PDF = "application/pdf"
PKCS7 = "application/pkcs7-mime"
XML = "application/xml"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
#: An e-mail message saved as a file (.eml), as a PEC message is kept. Not among OFFICE_TYPES:
#: a use that needs it (e.g. a request that arrived by PEC) lists it in its own content types.
EML = "message/rfc822"

TYPE_LABELS = {
    PDF: "PDF",
    PKCS7: _("busta firmata .p7m"),
    XML: "XML",
    PNG: _("immagine PNG"),
    JPEG: _("immagine JPEG"),
    TIFF: _("immagine TIFF"),
    DOCX: _("documento Word (.docx)"),
    XLSX: _("foglio Excel (.xlsx)"),
    ODT: _("documento OpenDocument (.odt)"),
    ODS: _("foglio OpenDocument (.ods)"),
    EML: _("messaggio e-mail/PEC (.eml)"),
    "application/zip": _("archivio ZIP"),
    "text/plain": _("testo semplice"),
    "application/x-msdownload": _("programma eseguibile"),
    "application/x-executable": _("programma eseguibile"),
    "application/x-mach-binary": _("programma eseguibile"),
    "application/octet-stream": _("formato non riconosciuto"),
}


def type_label(content_type: str) -> str:
    """A name for `content_type` that a person understands."""
    return str(TYPE_LABELS.get(content_type, content_type))


#: A PDF, signed inside (PAdES) or wrapped in a CAdES envelope (.p7m).
SIGNED_CONTAINER_TYPES = frozenset({PDF, PKCS7})
#: What the public administration exchanges day to day.
OFFICE_TYPES = frozenset({PDF, PKCS7, XML, PNG, JPEG, TIFF, DOCX, XLSX, ODT, ODS})


@dataclass(frozen=True)
class DocumentUse:
    code: str
    label: str | Promise
    content_types: frozenset[str]
    #: Bytes; None means settings.DOCUMENT_MAX_SIZE_DEFAULT, read when the limit is checked.
    max_size: int | None = None
    signature_required: bool = False
    #: Offered on the generic upload page; workflow uses are uploaded from their own pages.
    user_selectable: bool = False

    def __post_init__(self):
        if not self.content_types:
            raise ImproperlyConfigured(f"document use {self.code!r}: no content types")
        if self.signature_required and not self.content_types <= SIGNED_CONTAINER_TYPES:
            raise ImproperlyConfigured(
                f"document use {self.code!r}: a required signature can only be checked on "
                f"PDF or .p7m content"
            )

    @property
    def effective_max_size(self) -> int:
        return self.max_size if self.max_size is not None else settings.DOCUMENT_MAX_SIZE_DEFAULT

    def accepts(self, content_type: str) -> bool:
        return content_type in self.content_types

    def allowed_labels(self) -> str:
        return ", ".join(sorted(type_label(t) for t in self.content_types))


_REGISTRY: dict[str, DocumentUse] = {}


def register_use(use: DocumentUse) -> DocumentUse:
    """Add `use`; registering the same definition twice is harmless, a different one is an error."""
    existing = _REGISTRY.get(use.code)
    if existing is not None and existing != use:
        raise ImproperlyConfigured(f"document use {use.code!r} is already registered differently")
    _REGISTRY[use.code] = use
    return use


def get_use(code: str) -> DocumentUse:
    """The registered use `code`; LookupError if there is none."""
    try:
        return _REGISTRY[code]
    except KeyError:
        raise LookupError(f"unknown document use {code!r}") from None


def all_uses() -> list[DocumentUse]:
    return sorted(_REGISTRY.values(), key=lambda u: u.code)


def selectable_uses() -> list[DocumentUse]:
    return [u for u in all_uses() if u.user_selectable]


GENERIC = register_use(
    DocumentUse(
        code="generic",
        label=_("Documento generico"),
        content_types=OFFICE_TYPES,
        user_selectable=True,
    )
)
SIGNED_ACT = register_use(
    DocumentUse(
        code="signed_act",
        label=_("Atto firmato digitalmente"),
        content_types=SIGNED_CONTAINER_TYPES,
        signature_required=True,
        user_selectable=True,
    )
)
