"""The transmission log: one append-only row per HTTP exchange with ANAC or PDND."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("AnacTransmission is append-only")
        super().save(*args, **kwargs)
