"""Uploading documents and their new versions.

Order of work, and why:
1. permission and use checks (cheap, refuse early);
2. read the file with a size bound, detect its type from the content, SHA-256, verify the
   signature: CPU only, outside any transaction, so no row lock waits on pyHanko;
3. write the bytes to storage under a fresh UUID name: a version never overwrites another file;
4. one transaction: lock, number the version, save the rows, record the audit event.
If step 4 fails, the file written in step 3 is deleted at once. If an *outer* transaction of the
caller rolls back later, the file is left without a row: `document_purge_orphan_files` (a daily
job) removes such files once they are older than any transaction could be.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.accounts.access import organisations_of
from procurement.audit.services import audit_record

from .access import get_document_for_user
from .detection import detect_content_type
from .models import DocumentVersion, StoredDocument
from .signatures import SignatureResult, extract_signed_content, verify_signature
from .uses import PKCS7, DocumentUse, get_use, type_label

logger = logging.getLogger(__name__)

STORAGE_PREFIX = "documents"
# A file without a row is removed only when older than this: no transaction lasts so long.
ORPHAN_GRACE = datetime.timedelta(hours=24)


class DocumentError(Exception):
    """An upload refused for a reason the user can fix; `message` is Italian, for the page."""

    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class InspectedFile:
    """What we learned from the bytes of an upload, before anything is stored."""

    data: bytes
    original_name: str
    sha256: str
    content_type: str
    #: For a .p7m, the type of the signed document inside; otherwise equal to content_type.
    inner_content_type: str
    signature: SignatureResult

    @property
    def size(self) -> int:
        return len(self.data)


# --- checks ----------------------------------------------------------------------------------


def _use_or_error(code: str) -> DocumentUse:
    try:
        return get_use(code)
    except LookupError:
        raise DocumentError(
            _("Tipo di documento sconosciuto: «%(use)s».") % {"use": code}
        ) from None


def _require_acts_for(user, organisation) -> None:
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Accedi per caricare documenti."))
    if user.is_superuser:
        return
    if not organisations_of(user).filter(pk=organisation.pk).exists():
        raise PermissionDenied(
            _("Non operi per questa organizzazione: non puoi caricarvi documenti.")
        )


def _clean_name(name: str | None) -> str:
    """The base name the user gave the file, for display and download only (never for storage)."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    if not base:
        return _("documento")
    if len(base) > 255:
        stem, ext = os.path.splitext(base)
        base = stem[: 255 - len(ext[:20])] + ext[:20]
    return base


def _read_bounded(uploaded_file, limit: int, use: DocumentUse) -> bytes:
    def too_big() -> DocumentError:
        return DocumentError(
            _("Il file supera la dimensione massima di %(max)s ammessa per «%(use)s».")
            % {"max": filesizeformat(limit), "use": use.label},
            code="too_big",
        )

    declared = getattr(uploaded_file, "size", None)
    if declared is not None and declared > limit:
        raise too_big()
    source = uploaded_file if hasattr(uploaded_file, "chunks") else File(uploaded_file)
    buffer = bytearray()
    # Count what is actually read too: the declared size is the client's word.
    for chunk in source.chunks():
        buffer += chunk
        if len(buffer) > limit:
            raise too_big()
    if not buffer:
        raise DocumentError(_("Il file è vuoto."), code="empty")
    return bytes(buffer)


def document_inspect(
    *, use: DocumentUse, uploaded_file, now: datetime.datetime | None = None
) -> InspectedFile:
    """Read, type, hash and verify an upload against `use`; DocumentError if it is refused."""
    now = now or timezone.now()
    data = _read_bounded(uploaded_file, use.effective_max_size, use)
    content_type = detect_content_type(data)
    if not use.accepts(content_type):
        raise DocumentError(
            _(
                "Formato non ammesso per «%(use)s»: il contenuto del file risulta "
                "«%(type)s». Formati ammessi: %(allowed)s."
            )
            % {"use": use.label, "type": type_label(content_type), "allowed": use.allowed_labels()},
            code="type",
        )
    signature = verify_signature(data, content_type, now=now)
    inner_type = content_type
    if content_type == PKCS7:
        if signature.content is None:
            raise DocumentError(signature.message, code="p7m_content")
        inner_type = detect_content_type(signature.content)
        if inner_type == PKCS7 or not use.accepts(inner_type):
            raise DocumentError(
                _(
                    "Il documento contenuto nella busta .p7m non è in un formato ammesso per "
                    "«%(use)s»: risulta «%(type)s»."
                )
                % {"use": use.label, "type": type_label(inner_type)},
                code="type",
            )
    if use.signature_required and not signature.ok:
        raise DocumentError(
            _("Per «%(use)s» serve un documento con firma digitale valida. %(detail)s")
            % {"use": use.label, "detail": signature.message},
            code="signature",
        )
    return InspectedFile(
        data=data,
        original_name=_clean_name(getattr(uploaded_file, "name", "")),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=content_type,
        inner_content_type=inner_type,
        signature=signature,
    )


# --- storage ---------------------------------------------------------------------------------


def _storage():
    return DocumentVersion._meta.get_field("file").storage


def _new_version(
    document: StoredDocument, inspected: InspectedFile, *, user, now
) -> DocumentVersion:
    signature = inspected.signature
    report = signature.as_report()
    report["content_type"] = inspected.inner_content_type
    return DocumentVersion(
        document=document,
        number=0,  # set under the document's lock
        original_name=inspected.original_name,
        size=inspected.size,
        sha256=inspected.sha256,
        content_type=inspected.content_type,
        uploaded_by=user,
        uploaded_at=now,
        signature_format=signature.format,
        signer_name=signature.signer_name[:255],
        signer_tax_code=signature.signer_tax_code[:16],
        signing_time=signature.signing_time,
        signature_intact=signature.intact,
        signature_valid=signature.valid,
        signature_trusted=signature.trusted,
        signature_report=report,
        verified_at=now,
    )


def _write_file(version: DocumentVersion, data: bytes) -> str:
    field = DocumentVersion._meta.get_field("file")
    # upload_to gives a fresh UUID name under the document's folder; the user's name is unused.
    name = field.generate_filename(version, version.original_name)
    stored = _storage().save(name, ContentFile(data))
    version.file = stored
    return stored


@contextmanager
def _discard_file_on_failure(name: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        # The row was never committed: the file must not outlive it.
        try:
            _storage().delete(name)
        except OSError:
            logger.warning("Could not delete %s after a failed upload", name, exc_info=True)
        raise


def _audit_payload(version: DocumentVersion, inspected: InspectedFile) -> dict:
    signature = inspected.signature
    return {
        "version": version.number,
        "file": version.original_name,
        "sha256": version.sha256,
        "size": version.size,
        "content_type": version.content_type,
        "use": version.document.use,
        "signature": {
            "format": str(signature.format),
            "ok": signature.ok,
            "signer_tax_code": signature.signer_tax_code,
            "message": signature.message,
        },
    }


# --- services --------------------------------------------------------------------------------


def document_upload(
    *,
    user,
    organisation,
    use: str,
    title: str,
    uploaded_file,
    now: datetime.datetime | None = None,
) -> DocumentVersion:
    """A new document of `organisation` with its first version; DocumentError if refused."""
    now = now or timezone.now()
    document_use = _use_or_error(use)
    _require_acts_for(user, organisation)
    title = " ".join((title or "").split())
    if not title:
        raise DocumentError(_("Indica il titolo del documento."), code="title")
    inspected = document_inspect(use=document_use, uploaded_file=uploaded_file, now=now)

    document = StoredDocument(
        organisation=organisation, use=document_use.code, title=title[:255], created_by=user
    )
    version = _new_version(document, inspected, user=user, now=now)
    version.number = 1
    stored = _write_file(version, inspected.data)
    with _discard_file_on_failure(stored), transaction.atomic():
        document.save()
        version.document = document
        version.save()
        audit_record(
            action="documento caricato",
            actor=user,
            obj=document,
            organisation=organisation,
            to_state="v1",
            payload=_audit_payload(version, inspected),
            now=now,
        )
    return version


def document_replace(
    *, user, document: StoredDocument, uploaded_file, now: datetime.datetime | None = None
) -> DocumentVersion:
    """A new version of `document`; earlier versions and their files stay as they are."""
    now = now or timezone.now()
    # Access first, without a lock: an outsider gets 404 before anything is read or written.
    document = get_document_for_user(user, uuid=document.uuid)
    document_use = _use_or_error(document.use)
    inspected = document_inspect(use=document_use, uploaded_file=uploaded_file, now=now)

    version = _new_version(document, inspected, user=user, now=now)
    stored = _write_file(version, inspected.data)
    with _discard_file_on_failure(stored), transaction.atomic():
        # The lock serialises concurrent replacements, so version numbers never collide.
        locked = get_document_for_user(user, uuid=document.uuid, for_update=True)
        last = locked.versions.aggregate(last=Max("number"))["last"] or 0
        version.document = locked
        version.number = last + 1
        version.save()
        audit_record(
            action="nuova versione caricata",
            actor=user,
            obj=locked,
            organisation=locked.organisation,
            from_state=f"v{last}",
            to_state=f"v{version.number}",
            payload=_audit_payload(version, inspected),
            now=now,
        )
    return version


def document_version_content(*, version: DocumentVersion, unwrap: bool = False) -> bytes:
    """The stored bytes of `version`; with `unwrap`, the signed document inside a .p7m."""
    with version.file.open("rb") as handle:
        data = handle.read()
    if unwrap and version.content_type == PKCS7:
        return extract_signed_content(data)
    return data


def document_purge_orphan_files(
    *, now: datetime.datetime | None = None, grace: datetime.timedelta = ORPHAN_GRACE
) -> list[str]:
    """Delete stored files that no version refers to and that are older than `grace`.

    They are left by transactions rolled back after the file was written (see the module
    docstring). Idempotent: a second run finds nothing to do.
    """
    now = now or timezone.now()
    storage = _storage()
    removed: list[str] = []
    for folder in _document_folders(storage):
        files = storage.listdir(folder)[1]
        if not files:
            continue
        referenced = set(
            DocumentVersion.objects.filter(file__startswith=f"{folder}/").values_list(
                "file", flat=True
            )
        )
        for filename in files:
            name = f"{folder}/{filename}"
            if name in referenced:
                continue
            if storage.get_modified_time(name) > now - grace:
                continue
            storage.delete(name)
            removed.append(name)
    if removed:
        logger.info("Removed %d orphan document files", len(removed))
    return removed


def _document_folders(storage) -> Iterator[str]:
    """documents/<organisation>/<document uuid> folders (the layout of version_upload_to)."""
    try:
        organisations = storage.listdir(STORAGE_PREFIX)[0]
    except FileNotFoundError:  # nothing uploaded yet
        return
    for organisation in organisations:
        for document in storage.listdir(f"{STORAGE_PREFIX}/{organisation}")[0]:
            yield f"{STORAGE_PREFIX}/{organisation}/{document}"
