"""The transmission log: one append-only row per HTTP exchange with ANAC or PDND."""

from __future__ import annotations

import hashlib
import json
import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField


class TransmissionOutcome(models.TextChoices):
    OK = "ok", _("OK")
    KO = "ko", _("KO")
    WAITING = "wt", _("In attesa (WT)")
    HTTP_ERROR = "http_error", _("Errore HTTP")
    TIMEOUT = "timeout", _("Timeout")
    RATE_LIMITED = "rate_limited", _("Limite richieste (429)")
    AUTH_ERROR = "auth_error", _("Errore di autenticazione PDND")


class Trigger(models.TextChoices):
    USER = "user", _("Utente")
    SCHEDULER = "scheduler", _("Verifica automatica")
    RELOAD = "reload", _("Ricarica pagina")
    RECONCILE = "reconcile", _("Riconciliazione")
    RETRY = "retry", _("Nuovo tentativo")


class AnacTransmission(models.Model):
    """What was sent and what came back. No secrets (no voucher, no JWS), no document bodies."""

    sent_at = models.DateTimeField(_("data e ora"), db_index=True)
    duration_ms = models.PositiveIntegerField(_("durata (ms)"), default=0)
    eservice = models.CharField(_("e-service"), max_length=40)
    operation = models.CharField(_("operazione"), max_length=60)
    method = models.CharField(_("metodo"), max_length=6)
    trigger = models.CharField(_("avviata da"), max_length=12, choices=Trigger.choices)
    actor_tax_code = models.CharField(_("codice fiscale"), max_length=16, blank=True)
    actor_role = models.CharField(_("ruolo"), max_length=4, blank=True)
    actor_loa = models.CharField(_("LoA"), max_length=1, blank=True)
    actor_idp = models.CharField(_("IdP"), max_length=8, blank=True)
    http_status = models.PositiveSmallIntegerField(_("stato HTTP"), null=True, blank=True)
    outcome = models.CharField(_("esito"), max_length=12, choices=TransmissionOutcome.choices)
    retry_after = models.PositiveIntegerField(_("Retry-After (s)"), null=True, blank=True)
    errors = models.JSONField(_("errori"), default=list, blank=True)
    id_appalto = models.CharField(_("idAppalto"), max_length=36, blank=True, db_index=True)
    id_scheda = models.CharField(_("idScheda"), max_length=36, blank=True)
    appalto = models.ForeignKey(
        "pcp.PcpAppalto",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transmissions",
        verbose_name=_("appalto"),
    )
    object_label = models.CharField(_("oggetto"), max_length=120, blank=True)
    anac_operation = models.ForeignKey(
        "anac.AnacOperation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transmissions",
        verbose_name=_("operazione"),
    )
    trace_id = models.CharField(_("traceID"), max_length=36)
    span_id = models.CharField(_("spanID"), max_length=36)
    jti = models.CharField(_("jti"), max_length=36, unique=True)
    request_body = models.JSONField(_("richiesta"), null=True, blank=True)
    response_body = models.JSONField(_("risposta"), null=True, blank=True)
    detail = models.TextField(_("dettaglio"), blank=True)

    class Meta:
        verbose_name = _("trasmissione ANAC")
        verbose_name_plural = _("log trasmissioni ANAC")
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.operation} {self.sent_at:%Y-%m-%d %H:%M:%S} {self.get_outcome_display()}"

    @staticmethod
    def _canonical(body) -> str:
        return json.dumps(body, sort_keys=True, ensure_ascii=False) if body is not None else ""

    @property
    def request_sha256(self) -> str:
        text = self._canonical(self.request_body)
        return hashlib.sha256(text.encode()).hexdigest() if text else ""

    @property
    def response_sha256(self) -> str:
        text = self._canonical(self.response_body)
        return hashlib.sha256(text.encode()).hexdigest() if text else ""

    @property
    def request_pretty(self) -> str:
        return (
            json.dumps(self.request_body, indent=2, ensure_ascii=False) if self.request_body else ""
        )

    @property
    def response_pretty(self) -> str:
        if not self.response_body:
            return ""
        return json.dumps(self.response_body, indent=2, ensure_ascii=False)

    @property
    def returned_cigs(self) -> list[str]:
        body = self.response_body if isinstance(self.response_body, dict) else {}
        return [
            r.get("cig") for r in body.get("result") or [] if isinstance(r, dict) and r.get("cig")
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("AnacTransmission is append-only")
        super().save(*args, **kwargs)


class AnacOperationKind(models.TextChoices):
    CREA_APPALTO = "crea-appalto", _("Creazione appalto")
    MODIFICA_APPALTO = "modifica-appalto", _("Modifica appalto")
    CONFERMA_APPALTO = "conferma-appalto", _("Conferma appalto")
    CANCELLA_APPALTO = "cancella-appalto", _("Cancellazione appalto")
    RECUPERA_CIG = "recupera-cig", _("Recupero CIG")
    CREA_SCHEDA = "crea-scheda", _("Creazione scheda")
    CONFERMA_SCHEDA = "conferma-scheda", _("Conferma scheda")
    CANCELLA_SCHEDA = "cancella-scheda", _("Cancellazione scheda")
    PUBBLICA_AVVISO = "pubblica-avviso", _("Pubblicazione avviso")


ASYNC_KINDS = {
    AnacOperationKind.CONFERMA_APPALTO,
    AnacOperationKind.CONFERMA_SCHEDA,
    AnacOperationKind.PUBBLICA_AVVISO,
}


class AnacOperationState(models.TextChoices):
    QUEUED = "QUEUED", _("In coda")
    SENT = "SENT", _("Inviata")
    ACKED = "ACKED", _("Richiesta acquisita")
    WAITING = "WAITING", _("In attesa di esito")
    STALLED = "STALLED", _("Esito non disponibile")
    UNKNOWN = "UNKNOWN", _("Esito incerto (riconciliazione)")
    OK = "OK", _("Esito positivo")
    KO = "KO", _("Esito negativo")
    FAILED = "FAILED", _("Non riuscita")


FINAL_STATES = {AnacOperationState.OK, AnacOperationState.KO, AnacOperationState.FAILED}
PENDING_STATES = {
    AnacOperationState.QUEUED,
    AnacOperationState.SENT,
    AnacOperationState.ACKED,
    AnacOperationState.WAITING,
    AnacOperationState.STALLED,
    AnacOperationState.UNKNOWN,
}


class AnacOperation(models.Model):
    """The outbox row of one logical ANAC operation (crea-appalto, conferma-appalto, ...).

    Written in the transaction of the user's action, sent after commit by the dispatcher, then
    (for asynchronous operations) polled with esito-operazione until OK/KO. The identity of the
    RUP who clicked is stored here, so background calls act as that RUP (D-ADE-19). State changes
    go through procurement.anac.operations (conditional updates, row locks), never by hand.
    """

    kind = models.CharField(_("operazione"), max_length=24, choices=AnacOperationKind.choices)
    idempotency_key = models.CharField(_("chiave di idempotenza"), max_length=200, unique=True)
    state = FSMField(
        _("stato"),
        max_length=10,
        default=AnacOperationState.QUEUED,
        choices=AnacOperationState.choices,
        db_index=True,
    )
    subject_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", verbose_name=_("tipo oggetto")
    )
    subject_id = models.CharField(_("oggetto"), max_length=64)
    subject = GenericForeignKey("subject_type", "subject_id")
    appalto = models.ForeignKey(
        "pcp.PcpAppalto",
        on_delete=models.PROTECT,
        related_name="operations",
        verbose_name=_("appalto"),
    )
    scheda = models.ForeignKey(
        "pcp.PcpScheda",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="operations",
        verbose_name=_("scheda"),
    )
    depends_on = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dependents",
        verbose_name=_("dopo l'operazione"),
    )
    request = models.JSONField(_("dati da inviare"), default=dict, blank=True)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="anac_operations",
        verbose_name=_("avviata da"),
    )
    actor_tax_code = models.CharField(_("codice fiscale"), max_length=16)
    actor_role = models.CharField(_("ruolo"), max_length=4, default="RP")
    actor_loa = models.CharField(_("LoA"), max_length=1)
    actor_idp = models.CharField(_("IdP"), max_length=8)
    sa_ausa_code = models.CharField(_("codice AUSA SA"), max_length=10)
    sa_tax_code = models.CharField(_("codice fiscale SA"), max_length=16, blank=True)
    span_id = models.UUIDField(_("spanID"), default=uuid.uuid4)
    trigger = models.CharField(
        _("avviata da"), max_length=12, choices=Trigger.choices, default=Trigger.USER
    )
    attempt = models.PositiveIntegerField(_("tentativo logico"), default=1)
    attempts = models.PositiveIntegerField(_("invii"), default=0)
    failures = models.PositiveIntegerField(_("errori transitori"), default=0)
    reconcile_checks = models.PositiveIntegerField(_("verifiche di riconciliazione"), default=0)
    next_attempt_at = models.DateTimeField(_("prossimo invio"), null=True, blank=True)
    sent_at = models.DateTimeField(_("inviata il"), null=True, blank=True)
    ack_at = models.DateTimeField(_("acquisita il"), null=True, blank=True)
    first_poll_at = models.DateTimeField(_("prima verifica"), null=True, blank=True)
    last_poll_at = models.DateTimeField(_("ultima verifica"), null=True, blank=True)
    next_poll_at = models.DateTimeField(_("prossima verifica"), null=True, blank=True)
    deadline_at = models.DateTimeField(_("esito atteso entro"), null=True, blank=True)
    unknown_since = models.DateTimeField(_("esito incerto dal"), null=True, blank=True)
    last_check_at = models.DateTimeField(_("ultima riconciliazione"), null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    stalled_notified_at = models.DateTimeField(_("segnalata il"), null=True, blank=True)
    result = models.JSONField(_("risultato"), null=True, blank=True)
    error_codes = models.JSONField(_("errori"), default=list, blank=True)
    detail = models.TextField(_("dettaglio"), blank=True)
    created_at = models.DateTimeField(_("creata il"))
    finished_at = models.DateTimeField(_("conclusa il"), null=True, blank=True)

    class Meta:
        verbose_name = _("operazione ANAC")
        verbose_name_plural = _("operazioni ANAC")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id"]),
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["state", "next_poll_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.get_state_display()})"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def is_async(self) -> bool:
        return self.kind in ASYNC_KINDS

    @property
    def actor(self):
        from .identity import Actor

        return Actor(
            tax_code=self.actor_tax_code,
            role=self.actor_role,
            loa=self.actor_loa,
            idp_type=self.actor_idp,
            sa_ausa=self.sa_ausa_code,
            sa_tax_code=self.sa_tax_code,
        )

    def error_lines(self) -> list[str]:
        """MSG-D10 lines: "{codice} – {descrizione}{: dettaglio}"."""
        lines = []
        for item in self.error_codes or []:
            text = f"{item.get('codice')} – {item.get('descrizione') or ''}".rstrip(" –")
            if item.get("dettaglio") and item.get("dettaglio") != item.get("descrizione"):
                text += f": {item['dettaglio']}"
            lines.append(text)
        return lines
