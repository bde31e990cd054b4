"""Stored documents with versions, SHA-256, detected type and signature verification."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from procurement.accounts.querysets import OrganisationScopedQuerySet


def version_upload_to(instance: DocumentVersion, filename: str) -> str:
    # The stored name never comes from the user: originals are kept under a fresh UUID, so a
    # replacement can never overwrite an earlier version.
    return (
        f"documents/{instance.document.organisation_id}/{instance.document.uuid}/{uuid.uuid4().hex}"
    )


class SignatureFormat(models.TextChoices):
    NONE = "NONE", _("Non firmato")
    CADES_P7M = "CADES_P7M", _("CAdES (.p7m)")
    PADES = "PADES", _("PAdES (PDF firmato)")


SIGNATURE_STATUS_LABELS = {
    "none": _("Nessuna firma"),
    "valid": _("Firma valida"),
    "altered": _("Documento alterato dopo la firma"),
    "invalid": _("Firma non valida"),
    "untrusted": _("Certificato non attendibile"),
}


class StoredDocumentQuerySet(OrganisationScopedQuerySet):
    """Documents of the organisations a user belongs to."""


class StoredDocument(models.Model):
    """A logical document; its content lives in versions, the newest being the current one."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="documents",
        verbose_name=_("organizzazione"),
    )
    use = models.CharField(
        _("uso"),
        max_length=50,
        help_text=_("Determina formati ammessi, dimensione massima e obbligo di firma."),
    )
    title = models.CharField(_("titolo"), max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("caricato da"),
    )
    created_at = models.DateTimeField(_("creato il"), auto_now_add=True)

    objects = StoredDocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("documento")
        verbose_name_plural = _("documenti")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def current_version(self) -> DocumentVersion | None:
        return self.versions.order_by("-number").first()

    @property
    def use_label(self) -> str:
        from .uses import get_use

        try:
            return str(get_use(self.use).label)
        except LookupError:
            return self.use


class DocumentVersion(models.Model):
    document = models.ForeignKey(
        StoredDocument,
        on_delete=models.PROTECT,
        related_name="versions",
        verbose_name=_("documento"),
    )
    number = models.PositiveIntegerField(_("versione"))
    file = models.FileField(_("file"), upload_to=version_upload_to, max_length=255)
    original_name = models.CharField(_("nome del file"), max_length=255)
    size = models.PositiveBigIntegerField(_("dimensione (byte)"))
    sha256 = models.CharField(_("impronta SHA-256"), max_length=64, db_index=True)
    content_type = models.CharField(_("tipo rilevato"), max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("caricato da"),
    )
    uploaded_at = models.DateTimeField(_("caricato il"))
    # Signature verification (pyHanko, offline, against the configured trust list).
    signature_format = models.CharField(
        _("formato di firma"),
        max_length=10,
        choices=SignatureFormat.choices,
        default=SignatureFormat.NONE,
    )
    signer_name = models.CharField(_("firmatario"), max_length=255, blank=True)
    signer_tax_code = models.CharField(
        _("codice fiscale del firmatario"), max_length=16, blank=True
    )
    signing_time = models.DateTimeField(_("data della firma"), null=True, blank=True)
    signature_intact = models.BooleanField(_("integra"), null=True)
    signature_valid = models.BooleanField(_("valida"), null=True)
    signature_trusted = models.BooleanField(_("certificato attendibile"), null=True)
    signature_report = models.JSONField(_("esito della verifica"), default=dict, blank=True)
    verified_at = models.DateTimeField(_("verificata il"), null=True, blank=True)

    class Meta:
        verbose_name = _("versione del documento")
        verbose_name_plural = _("versioni dei documenti")
        ordering = ["document", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "number"], name="document_version_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.original_name} (v{self.number})"

    @property
    def is_signed(self) -> bool:
        return self.signature_format != SignatureFormat.NONE

    @property
    def signature_ok(self) -> bool:
        return bool(
            self.is_signed
            and self.signature_intact
            and self.signature_valid
            and self.signature_trusted
        )

    @property
    def signature_status(self) -> str:
        """One word for the page: none, valid, altered, invalid or untrusted."""
        if not self.is_signed:
            return "none"
        if self.signature_ok:
            return "valid"
        if self.signature_intact is False:
            return "altered"
        if self.signature_valid is False:
            return "invalid"
        if self.signature_trusted is False:
            return "untrusted"
        return "invalid"

    @property
    def signature_status_label(self) -> str:
        return str(SIGNATURE_STATUS_LABELS[self.signature_status])

    @property
    def signature_message(self) -> str:
        return (self.signature_report or {}).get("message", "")

    @property
    def signers(self) -> list[dict]:
        return (self.signature_report or {}).get("signers", [])

    @property
    def signed_content_type(self) -> str:
        """For a .p7m, the type of the document inside the envelope."""
        return (self.signature_report or {}).get("content_type", self.content_type)

    @property
    def content_type_label(self) -> str:
        from .uses import type_label

        return type_label(self.content_type)

    @property
    def signed_content_type_label(self) -> str:
        from .uses import type_label

        return type_label(self.signed_content_type)
