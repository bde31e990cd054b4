"""Access requests to ANAC's Fascicolo Virtuale dell'Operatore Economico (FVOE) and its documents.

The spec (D-FVOE-14) places authorisations and documents in the kernel so that `gare` can read
them; until the kernel grows that module they live here, and `fvoe.selectors` / `fvoe.services`
are the functions other apps call (never the models directly).
"""

from __future__ import annotations

import base64
import hashlib
import uuid

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition


def _fernet() -> Fernet:
    # D-FVOE-13: chiaveAccesso is encrypted at rest with a key derived from the platform secret.
    secret = getattr(settings, "FVOE_ENCRYPTION_KEY", "") or settings.SECRET_KEY
    digest = hashlib.sha256(("fvoe-access-key:" + secret).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class OperatorSource(models.TextChoices):
    OFFER = "offer", _("Offerta")
    DIRECT_AWARD = "direct_award", _("Affidamento diretto")
    INVITED = "invited", _("Invitato (nessuna offerta)")


ELIGIBLE_SOURCES = (OperatorSource.OFFER, OperatorSource.DIRECT_AWARD)


class FvoeAppaltoOperator(models.Model):
    """An economic operator taking part in an appalto (offer, direct award, or only invited).

    The kernel does not record the participants of an appalto yet: adesioni and gare (or the
    demo data) register them with `fvoe.services.appalto_operator_register`.
    """

    appalto = models.ForeignKey(
        "pcp.PcpAppalto",
        on_delete=models.CASCADE,
        related_name="fvoe_operators",
        verbose_name=_("appalto"),
    )
    tax_code = models.CharField(_("codice fiscale"), max_length=16)
    name = models.CharField(_("denominazione"), max_length=255)
    source = models.CharField(_("origine"), max_length=20, choices=OperatorSource.choices)
    created_at = models.DateTimeField(_("registrato il"), auto_now_add=True)

    class Meta:
        verbose_name = _("operatore economico dell'appalto")
        verbose_name_plural = _("operatori economici degli appalti")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["appalto", "tax_code"], name="fvoe_operator_unique_per_appalto"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.tax_code})"

    @property
    def eligible(self) -> bool:
        return self.source in ELIGIBLE_SOURCES


class AccessRequestStatus(models.TextChoices):
    QUEUED = "QUEUED", _("In invio")
    ACKED = "ACKED", _("Acquisita da ANAC")
    REJECTED = "REJECTED", _("Respinta da ANAC")
    UNKNOWN = "UNKNOWN", _("Esito sconosciuto")


class FvoeAccessRequest(ConcurrentTransitionMixin, models.Model):
    """One richiesta-accesso-fvoe call: one appalto, one or more operators."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    appalto = models.ForeignKey(
        "pcp.PcpAppalto",
        on_delete=models.PROTECT,
        related_name="fvoe_access_requests",
        verbose_name=_("appalto"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("richiesta da"),
    )
    acting_rup = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("RUP (credenziali usate)"),
    )
    start_at = models.DateTimeField(_("inizio autorizzazione richiesto"))
    end_at = models.DateTimeField(_("fine autorizzazione richiesta"), null=True, blank=True)
    id_richiesta = models.CharField(_("idRichiesta ANAC"), max_length=64, blank=True)
    status = FSMField(
        _("stato"),
        default=AccessRequestStatus.QUEUED,
        choices=AccessRequestStatus.choices,
        protected=True,
    )
    created_at = models.DateTimeField(_("creata il"))
    submitted_at = models.DateTimeField(_("inviata il"), null=True, blank=True)
    error_codes = models.JSONField(_("errori ANAC"), default=list, blank=True)
    # Reconciliation of an unknown outcome (§6.5, AS-FVOE-09).
    not_found_at = models.DateTimeField(
        _("ANAC non la conosce dal"), null=True, blank=True
    )  # first check where every operator answered FVC04
    resend_count = models.PositiveSmallIntegerField(_("reinvii"), default=0)
    operators_alerted_at = models.DateTimeField(
        _("operatori della piattaforma avvisati il"), null=True, blank=True
    )  # N-FV-07

    class Meta:
        verbose_name = _("richiesta di accesso FVOE")
        verbose_name_plural = _("richieste di accesso FVOE")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.appalto.subject} · {self.created_at:%d/%m/%Y %H:%M}"

    @transition(field=status, source=AccessRequestStatus.QUEUED, target=AccessRequestStatus.ACKED)
    def acknowledge(self, *, id_richiesta: str, now) -> None:
        self.id_richiesta = id_richiesta
        self.submitted_at = now

    @transition(
        field=status, source=AccessRequestStatus.QUEUED, target=AccessRequestStatus.REJECTED
    )
    def reject(self, *, errors: list, now) -> None:
        self.error_codes = errors
        self.submitted_at = now

    @transition(field=status, source=AccessRequestStatus.QUEUED, target=AccessRequestStatus.UNKNOWN)
    def outcome_unknown(self, *, now) -> None:
        self.submitted_at = now

    @transition(field=status, source=AccessRequestStatus.UNKNOWN, target=AccessRequestStatus.ACKED)
    def reconciled(self, *, id_richiesta: str) -> None:
        # F14: ANAC registered our request; its answer was lost.
        self.id_richiesta = id_richiesta

    @transition(field=status, source=AccessRequestStatus.UNKNOWN, target=AccessRequestStatus.QUEUED)
    def requeue(self) -> None:
        # §6.5: ANAC does not know the request (FVC04 at two checks 5 minutes apart): resend once.
        self.resend_count += 1
        self.submitted_at = None
        self.not_found_at = None


class AuthorizationStatus(models.TextChoices):
    QUEUED = "QUEUED", _("In invio")
    REQUESTED = "REQUESTED", _("Richiesta")
    AUTHORISED = "AUTHORISED", _("Autorizzata")
    REVOKED = "REVOKED", _("Revocata")
    DENIED = "DENIED", _("Negata")
    EXPIRED = "EXPIRED", _("Scaduta")
    CANCELLED = "CANCELLED", _("Annullata")
    SUBMIT_FAILED = "SUBMIT_FAILED", _("Respinta all'invio")
    UNKNOWN = "UNKNOWN", _("In invio")  # AS-FVOE-09: outcome being reconciled


LIVE_STATUSES = (
    AuthorizationStatus.QUEUED,
    AuthorizationStatus.REQUESTED,
    AuthorizationStatus.AUTHORISED,
    AuthorizationStatus.UNKNOWN,
)
VERIFIABLE_STATUSES = (AuthorizationStatus.REQUESTED, AuthorizationStatus.AUTHORISED)
ENDED_STATUSES = (
    AuthorizationStatus.REVOKED,
    AuthorizationStatus.EXPIRED,
    AuthorizationStatus.CANCELLED,
)
# [TIP statoAutorizzazione]
ANAC_STATUS = {
    "01": AuthorizationStatus.REQUESTED,
    "02": AuthorizationStatus.AUTHORISED,
    "03": AuthorizationStatus.REVOKED,
    "04": AuthorizationStatus.DENIED,
    "05": AuthorizationStatus.EXPIRED,
    "06": AuthorizationStatus.CANCELLED,
}


class CheckTrigger(models.TextChoices):
    USER = "USER", _("Manuale")
    SCHEDULED_07 = "SCHEDULED_07", _("Automatica 07:00")
    SCHEDULED_14 = "SCHEDULED_14", _("Automatica 14:00")
    AUTO_SYNC = "AUTO_SYNC", _("Recupero automatico documenti")
    POLL = "POLL", _("Verifica periodica")
    RECONCILIATION = "RECONCILIATION", _("Riconciliazione")
    RETRY = "RETRY", _("Nuovo tentativo")


class FvoeAuthorization(ConcurrentTransitionMixin, models.Model):
    """The answer of one operator to an access request, for one (appalto, operator)."""

    appalto = models.ForeignKey(
        "pcp.PcpAppalto",
        on_delete=models.PROTECT,
        related_name="fvoe_authorizations",
        verbose_name=_("appalto"),
    )
    operator = models.ForeignKey(
        FvoeAppaltoOperator,
        on_delete=models.PROTECT,
        related_name="authorizations",
        verbose_name=_("operatore economico"),
    )
    operator_tax_code = models.CharField(_("codice fiscale OE"), max_length=16)
    request = models.ForeignKey(
        FvoeAccessRequest,
        on_delete=models.PROTECT,
        related_name="authorizations",
        verbose_name=_("richiesta di accesso"),
    )
    status = FSMField(
        _("stato"),
        default=AuthorizationStatus.QUEUED,
        choices=AuthorizationStatus.choices,
        protected=True,
    )
    anac_status_code = models.CharField(_("codice stato ANAC"), max_length=2, blank=True)
    id_autorizzazione = models.CharField(_("idAutorizzazione"), max_length=64, blank=True)
    access_key_encrypted = models.TextField(_("chiave di accesso (cifrata)"), blank=True)
    valid_from = models.DateTimeField(_("valida dal"), null=True, blank=True)
    valid_to = models.DateTimeField(_("valida fino al"), null=True, blank=True)
    reason = models.CharField(_("motivo"), max_length=255, blank=True)
    authorizer_tax_code = models.CharField(_("autorizzante"), max_length=16, blank=True)
    requested_at = models.DateTimeField(_("richiesta il"))
    expected_expiry_at = models.DateTimeField(_("scadenza prevista"), null=True, blank=True)
    authorised_at = models.DateTimeField(_("autorizzata il"), null=True, blank=True)
    closed_at = models.DateTimeField(_("chiusa il"), null=True, blank=True)
    last_checked_at = models.DateTimeField(_("ultima verifica"), null=True, blank=True)
    last_check_trigger = models.CharField(
        _("ultima verifica da"), max_length=20, choices=CheckTrigger.choices, blank=True
    )
    last_check_slot = models.CharField(_("ultimo slot verificato"), max_length=40, blank=True)
    authorisation_email_sent_at = models.DateTimeField(
        _("e-mail di autorizzazione inviata il"), null=True, blank=True
    )
    last_sync_at = models.DateTimeField(_("ultimo recupero documenti"), null=True, blank=True)
    last_sync_slot = models.CharField(_("ultimo slot di recupero"), max_length=60, blank=True)
    superseded_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sostituita da"),
    )

    class Meta:
        verbose_name = _("autorizzazione FVOE")
        verbose_name_plural = _("autorizzazioni FVOE")
        ordering = ["operator__name", "-requested_at"]
        constraints = [
            # Invariant 1: one live authorisation per (appalto, operator).
            models.UniqueConstraint(
                fields=["appalto", "operator_tax_code"],
                condition=models.Q(status__in=LIVE_STATUSES),
                name="fvoe_one_live_authorization",
            )
        ]
        indexes = [models.Index(fields=["status", "last_check_slot"])]

    def __str__(self) -> str:
        return f"{self.operator} · {self.get_status_display()}"

    # --- the secret -------------------------------------------------------------------------
    @property
    def access_key(self) -> str:
        if not self.access_key_encrypted:
            return ""
        try:
            return _fernet().decrypt(self.access_key_encrypted.encode()).decode()
        except InvalidToken:
            return ""

    def set_access_key(self, value: str) -> None:
        self.access_key_encrypted = _fernet().encrypt(value.encode()).decode() if value else ""

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    # --- transitions (guard-and-change only) ------------------------------------------------
    @transition(
        field=status, source=AuthorizationStatus.QUEUED, target=AuthorizationStatus.REQUESTED
    )
    def mark_requested(self) -> None:
        self.anac_status_code = "01"

    @transition(
        field=status, source=AuthorizationStatus.QUEUED, target=AuthorizationStatus.SUBMIT_FAILED
    )
    def mark_submit_failed(self, *, now) -> None:
        self.closed_at = now

    @transition(
        field=status,
        source=[AuthorizationStatus.QUEUED, AuthorizationStatus.REQUESTED],
        target=AuthorizationStatus.UNKNOWN,
    )
    def mark_unknown(self) -> None:
        pass

    @transition(
        field=status, source=AuthorizationStatus.UNKNOWN, target=AuthorizationStatus.REQUESTED
    )
    def mark_reconciled(self) -> None:
        self.anac_status_code = "01"

    @transition(field=status, source=AuthorizationStatus.UNKNOWN, target=AuthorizationStatus.QUEUED)
    def mark_requeued(self) -> None:
        pass

    @property
    def ended_label(self) -> str:
        """R-FVOE-054: "Accesso revocato/scaduto/annullato" (the noun is masculine)."""
        return {
            AuthorizationStatus.REVOKED: _("Accesso revocato il"),
            AuthorizationStatus.EXPIRED: _("Accesso scaduto il"),
            AuthorizationStatus.CANCELLED: _("Accesso annullato il"),
        }.get(self.status, "")

    @transition(
        field=status,
        source=[AuthorizationStatus.REQUESTED, AuthorizationStatus.AUTHORISED],
        target=AuthorizationStatus.AUTHORISED,
    )
    def mark_authorised(self, *, now) -> None:
        self.anac_status_code = "02"
        if self.authorised_at is None:
            self.authorised_at = now

    @transition(
        field=status, source=AuthorizationStatus.REQUESTED, target=AuthorizationStatus.DENIED
    )
    def mark_denied(self, *, now) -> None:
        self.anac_status_code = "04"
        self.closed_at = now

    @transition(
        field=status, source=AuthorizationStatus.AUTHORISED, target=AuthorizationStatus.REVOKED
    )
    def mark_revoked(self, *, now) -> None:
        self.anac_status_code = "03"
        self.closed_at = now

    @transition(
        field=status,
        source=[AuthorizationStatus.REQUESTED, AuthorizationStatus.AUTHORISED],
        target=AuthorizationStatus.EXPIRED,
    )
    def mark_expired(self, *, now) -> None:
        self.anac_status_code = "05"
        self.closed_at = now

    @transition(
        field=status,
        source=[AuthorizationStatus.REQUESTED, AuthorizationStatus.AUTHORISED],
        target=AuthorizationStatus.CANCELLED,
    )
    def mark_cancelled(self, *, now) -> None:
        self.anac_status_code = "06"
        self.closed_at = now


class DocumentOrigin(models.TextChoices):
    AUTOMATIC = "AUTOMATIC", _("Recuperato automaticamente")
    REQUESTED = "REQUESTED", _("Richiesto dall'utente")


class SourceDocumentState(models.TextChoices):
    CREATED = "1", _("Creato")
    UPDATED = "2", _("Aggiornato")
    DELETED = "3", _("Eliminato")


class RetrievalState(models.TextChoices):
    LISTED = "LISTED", _("Elencato")
    RETRIEVED = "RETRIEVED", _("Recuperato")
    RETRIEVAL_FAILED = "RETRIEVAL_FAILED", _("Recupero non riuscito")
    NOT_RETRIEVED_DELETED = "NOT_RETRIEVED_DELETED", _("Eliminato alla fonte, non recuperato")


class FvoeDocument(models.Model):
    authorization = models.ForeignKey(
        FvoeAuthorization,
        on_delete=models.PROTECT,
        related_name="documents",
        verbose_name=_("autorizzazione"),
    )
    appalto = models.ForeignKey(
        "pcp.PcpAppalto", on_delete=models.PROTECT, related_name="+", verbose_name=_("appalto")
    )
    operator_tax_code = models.CharField(_("codice fiscale OE"), max_length=16)
    id_documento = models.CharField(_("idDocumento"), max_length=64)
    origin = models.CharField(
        _("origine"),
        max_length=12,
        choices=DocumentOrigin.choices,
        default=DocumentOrigin.AUTOMATIC,
    )
    type_code = models.CharField(_("tipo documento"), max_length=10)
    type_label = models.CharField(_("descrizione tipo"), max_length=255, blank=True)
    source_state = models.CharField(
        _("stato alla fonte"),
        max_length=1,
        choices=SourceDocumentState.choices,
        default=SourceDocumentState.CREATED,
    )
    subject = models.TextField(_("oggetto"), blank=True)
    inserted_at = models.DateTimeField(_("inserito il"), null=True, blank=True)
    issued_at = models.DateTimeField(_("emesso il"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valido fino al"), null=True, blank=True)
    protocol_number = models.CharField(_("numero protocollo"), max_length=100, blank=True)
    protocol_date = models.DateTimeField(_("data protocollo"), null=True, blank=True)
    retrieval_state = models.CharField(
        _("stato recupero"),
        max_length=24,
        choices=RetrievalState.choices,
        default=RetrievalState.LISTED,
    )
    first_listed_at = models.DateTimeField(_("elencato il"))
    deleted_at_source_at = models.DateTimeField(_("eliminato alla fonte il"), null=True, blank=True)

    class Meta:
        verbose_name = _("documento FVOE")
        verbose_name_plural = _("documenti FVOE")
        ordering = ["type_code", "id_documento"]
        constraints = [
            models.UniqueConstraint(
                fields=["authorization", "id_documento"], name="fvoe_document_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type_code} {self.type_label}"

    @property
    def latest_version(self):
        return self.versions.order_by("-version_no").first()


def _version_path(instance, filename: str) -> str:
    return f"fvoe/{instance.document.appalto_id}/{uuid.uuid4().hex}/{filename}"


class FvoeDocumentVersion(models.Model):
    """A retrieved content of a document; append-only."""

    document = models.ForeignKey(
        FvoeDocument, on_delete=models.PROTECT, related_name="versions", verbose_name=_("documento")
    )
    version_no = models.PositiveIntegerField(_("versione"))
    metadata_sha256 = models.CharField(_("impronta dei metadati"), max_length=64)
    file = models.FileField(_("file"), upload_to=_version_path, max_length=300)
    file_name = models.CharField(_("nome file"), max_length=255)
    extension = models.CharField(_("estensione"), max_length=20, blank=True)
    declared_size = models.PositiveBigIntegerField(_("dimensione dichiarata"), null=True)
    actual_size = models.PositiveBigIntegerField(_("dimensione"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    retrieved_at = models.DateTimeField(_("recuperato il"))

    class Meta:
        verbose_name = _("versione di documento FVOE")
        verbose_name_plural = _("versioni di documenti FVOE")
        ordering = ["document", "version_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "metadata_sha256"], name="fvoe_version_unique_metadata"
            )
        ]

    def __str__(self) -> str:
        return f"{self.file_name} v{self.version_no}"


class DocumentRequestStatus(models.TextChoices):
    QUEUED = "QUEUED", _("In invio")
    SUBMITTED = "SUBMITTED", _("Inviata")
    SUBMIT_FAILED = "SUBMIT_FAILED", _("Respinta da ANAC")


class DocumentRequestItemStatus(models.TextChoices):
    WAITING = "001", _("In Attesa")
    RECEIVED = "002", _("Richiesta Ricevuta")
    FORWARDED = "003", _("Richiesta Inoltrata")
    ANSWERED = "004", _("Risposta Inoltrata")
    NEGATIVE = "005", _("Esito Negativo Inoltrato")
    RETRIEVED = "RETRIEVED", _("Documento recuperato")
    STALLED = "STALLED", _("Nessun esito dopo 30 giorni")


OPEN_ITEM_STATUSES = (
    DocumentRequestItemStatus.WAITING,
    DocumentRequestItemStatus.RECEIVED,
    DocumentRequestItemStatus.FORWARDED,
    DocumentRequestItemStatus.ANSWERED,
)


class FvoeDocumentRequest(ConcurrentTransitionMixin, models.Model):
    """One richiedi-documenti call to a certifying body, through ANAC."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    authorization = models.ForeignKey(
        FvoeAuthorization,
        on_delete=models.PROTECT,
        related_name="document_requests",
        verbose_name=_("autorizzazione"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    acting_rup = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    type_code = models.CharField(_("tipo documento"), max_length=10)
    request_data = models.JSONField(_("dati della richiesta"), null=True, blank=True)
    id_richiesta = models.CharField(_("idRichiesta ANAC"), max_length=64, blank=True)
    status = FSMField(
        _("stato"),
        default=DocumentRequestStatus.QUEUED,
        choices=DocumentRequestStatus.choices,
        protected=True,
    )
    is_open = models.BooleanField(_("aperta"), default=True)
    # D-FVOE-22: sends made (a lost answer is resent once).
    attempts = models.PositiveSmallIntegerField(_("invii"), default=0)
    note = models.CharField(_("nota"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("creata il"))
    submitted_at = models.DateTimeField(_("inviata il"), null=True, blank=True)
    last_checked_at = models.DateTimeField(_("ultima verifica"), null=True, blank=True)
    error_codes = models.JSONField(_("errori ANAC"), default=list, blank=True)

    class Meta:
        verbose_name = _("richiesta di documento FVOE")
        verbose_name_plural = _("richieste di documenti FVOE")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type_code} · {self.get_status_display()}"

    @transition(
        field=status, source=DocumentRequestStatus.QUEUED, target=DocumentRequestStatus.SUBMITTED
    )
    def mark_submitted(self, *, id_richiesta: str, now, note: str = "") -> None:
        self.id_richiesta = id_richiesta
        self.submitted_at = now
        self.note = note

    @transition(
        field=status,
        source=DocumentRequestStatus.QUEUED,
        target=DocumentRequestStatus.SUBMIT_FAILED,
    )
    def mark_submit_failed(self, *, errors: list, now) -> None:
        self.error_codes = errors
        self.submitted_at = now
        self.is_open = False


class FvoeDocumentRequestItem(models.Model):
    request = models.ForeignKey(FvoeDocumentRequest, on_delete=models.CASCADE, related_name="items")
    subject_tax_code = models.CharField(_("soggetto"), max_length=16, blank=True)
    status = models.CharField(_("stato"), max_length=10, choices=DocumentRequestItemStatus.choices)
    anac_status_code = models.CharField(_("codice stato ANAC"), max_length=3, blank=True)
    id_documento = models.CharField(_("idDocumento"), max_length=64, blank=True)
    document = models.ForeignKey(
        FvoeDocument, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_checked_at = models.DateTimeField(_("ultima verifica"), null=True, blank=True)

    class Meta:
        verbose_name = _("esito di richiesta documento")
        verbose_name_plural = _("esiti di richieste documento")
        ordering = ["request", "id"]

    def __str__(self) -> str:
        return f"{self.subject_tax_code} · {self.get_status_display()}"


class FvoeCallSpan(models.Model):
    """Who or what started a group of ANAC calls (the spanID of their tracking JWS).

    The kernel transmission log knows only "user" or "scheduler"; "Cronologia PCP" shows
    "Manuale – <user>", "Automatica 07:00", "Automatica 14:00", … from this row (§6.7).
    """

    span_id = models.CharField(_("spanID"), max_length=36, unique=True)
    trigger = models.CharField(_("avviata da"), max_length=20, choices=CheckTrigger.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("utente"),
    )
    created_at = models.DateTimeField(_("creato il"))

    class Meta:
        verbose_name = _("avvio di chiamate FVOE")
        verbose_name_plural = _("avvii di chiamate FVOE")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.trigger == CheckTrigger.USER and self.user is not None:
            return _("Manuale – %(user)s") % {
                "user": self.user.get_full_name() or self.user.username
            }
        return self.get_trigger_display()


class FvoeMaintenanceWindow(models.Model):
    """An ANAC maintenance window of the FVOE services (R-FVOE-083, e.g. 22–25/05/2026)."""

    starts_at = models.DateTimeField(_("dal"))
    ends_at = models.DateTimeField(_("al"))
    note = models.CharField(_("nota"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("manutenzione ANAC (FVOE)")
        verbose_name_plural = _("manutenzioni ANAC (FVOE)")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="fvoe_maintenance_window_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%d/%m/%Y %H:%M} – {self.ends_at:%d/%m/%Y %H:%M}"


class FvoeSkippedCheck(models.Model):
    """An automatic verification not made for an appalto, with the reason (R-FVOE-071).

    Shown in "Cronologia PCP" as "Saltata – <reason>": no usable RUP identity (D-FVOE-03),
    ANAC maintenance (R-FVOE-083), slot missed by more than 60 minutes (D-FVOE-16).
    """

    appalto = models.ForeignKey(
        "pcp.PcpAppalto", on_delete=models.CASCADE, related_name="+", verbose_name=_("appalto")
    )
    slot = models.CharField(_("slot"), max_length=40)  # e.g. fvoe-verify:2026-11-24T07
    trigger = models.CharField(_("avviata da"), max_length=20, choices=CheckTrigger.choices)
    at = models.DateTimeField(_("data e ora"))
    reason = models.CharField(_("motivo"), max_length=255)

    class Meta:
        verbose_name = _("verifica FVOE saltata")
        verbose_name_plural = _("verifiche FVOE saltate")
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["appalto", "slot"], name="fvoe_skipped_once_per_slot")
        ]

    def __str__(self) -> str:
        return f"{self.slot} · {self.reason}"
