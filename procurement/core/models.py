"""JobRun: the slot claimed by one run of a periodic job, so a second beat or retry does nothing."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobRunStatus(models.TextChoices):
    RUNNING = "running", _("In corso")
    SUCCEEDED = "succeeded", _("Completato")
    FAILED = "failed", _("Fallito")


class JobRun(models.Model):
    key = models.CharField(
        _("chiave dello slot"),
        max_length=200,
        unique=True,
        help_text=_("Ad esempio fvoe-verify:2026-11-23T07. Unica: uno slot si esegue una volta."),
    )
    job = models.CharField(_("job"), max_length=100, db_index=True)
    slot = models.DateTimeField(_("slot"), null=True, blank=True)
    trigger = models.CharField(_("avvio"), max_length=20, default="scheduler")
    host = models.CharField(_("host"), max_length=255, blank=True)
    status = models.CharField(
        _("esito"), max_length=20, choices=JobRunStatus.choices, default=JobRunStatus.RUNNING
    )
    started_at = models.DateTimeField(_("iniziato il"))
    finished_at = models.DateTimeField(_("terminato il"), null=True, blank=True)
    total = models.PositiveIntegerField(_("elementi da trattare"), default=0)
    done = models.PositiveIntegerField(_("elementi trattati"), default=0)
    failed = models.PositiveIntegerField(_("elementi in errore"), default=0)
    summary = models.JSONField(_("riepilogo"), default=dict, blank=True)
    error = models.TextField(_("errore"), blank=True)

    class Meta:
        verbose_name = _("esecuzione di job")
        verbose_name_plural = _("esecuzioni di job")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.key
