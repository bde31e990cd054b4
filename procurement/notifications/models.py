"""In-app notifications and the e-mail outbox.

E-mails are rows written in the same transaction as the change that causes them; Celery delivers
them after commit, and a periodic sweeper re-dispatches what is still pending (e.g. when the
broker was down), so nothing is lost.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("destinatario"),
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organizzazione"),
    )
    template = models.CharField(_("modello"), max_length=100)
    subject = models.CharField(_("oggetto"), max_length=255)
    body = models.TextField(_("testo"))
    url = models.CharField(_("collegamento"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("creata il"), db_index=True)
    read_at = models.DateTimeField(_("letta il"), null=True, blank=True)

    class Meta:
        verbose_name = _("notifica")
        verbose_name_plural = _("notifiche")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.subject


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Da inviare")
    SENT = "sent", _("Inviata")
    FAILED = "failed", _("Invio fallito")


class EmailOutbox(models.Model):
    notification = models.ForeignKey(
        Notification,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="emails",
        verbose_name=_("notifica"),
    )
    to = models.EmailField(_("destinatario"))
    subject = models.CharField(_("oggetto"), max_length=255)
    body_text = models.TextField(_("testo"))
    body_html = models.TextField(_("testo HTML"), blank=True)
    status = models.CharField(
        _("stato"), max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("tentativi"), default=0)
    last_error = models.TextField(_("ultimo errore"), blank=True)
    created_at = models.DateTimeField(_("creata il"), db_index=True)
    next_attempt_at = models.DateTimeField(_("prossimo tentativo"), null=True, blank=True)
    sent_at = models.DateTimeField(_("inviata il"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail in uscita")
        verbose_name_plural = _("e-mail in uscita")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"


class EmailAttachment(models.Model):
    """A file attached to an outbox e-mail, referenced (not copied) by the object holding it.

    The source is any model instance with a file field (a kernel document version, a receipt of
    a module …). The e-mail waits, still pending, until that file exists: a receipt rendered after
    commit is attached as soon as it is ready (`outbox_release`), never replaced by a link.
    """

    email = models.ForeignKey(
        EmailOutbox,
        on_delete=models.CASCADE,
        related_name="attachments",
        verbose_name=_("e-mail"),
    )
    filename = models.CharField(_("nome del file"), max_length=255)
    mimetype = models.CharField(_("tipo"), max_length=100, default="application/pdf")
    source_type = models.ForeignKey(
        "contenttypes.ContentType",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("tipo dell'oggetto"),
    )
    source_id = models.PositiveBigIntegerField(_("id dell'oggetto"))
    source_field = models.CharField(_("campo del file"), max_length=100, default="file")

    class Meta:
        verbose_name = _("allegato dell'e-mail")
        verbose_name_plural = _("allegati delle e-mail")
        ordering = ["email", "pk"]
        indexes = [models.Index(fields=["source_type", "source_id"])]

    def __str__(self) -> str:
        return self.filename
