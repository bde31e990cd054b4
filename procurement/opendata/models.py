"""Published OCDS releases (append-only) and the public index of procedures built from them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OcdsRelease(models.Model):
    """One OCDS release exactly as published. Never changed: a change is a new release."""

    ocid = models.CharField(_("ocid"), max_length=120)
    release_id = models.CharField(_("id del rilascio"), max_length=250, unique=True)
    date = models.DateTimeField(_("data del rilascio"))
    tags = models.JSONField(_("tag"), default=list)
    data = models.JSONField(_("rilascio"))
    source = models.CharField(_("modulo di origine"), max_length=30)
    created_at = models.DateTimeField(_("registrato il"), auto_now_add=True)

    class Meta:
        verbose_name = _("rilascio OCDS")
        verbose_name_plural = _("rilasci OCDS")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["ocid", "date"]),
            models.Index(fields=["date"]),
        ]

    def __str__(self) -> str:
        return self.release_id

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError(
                "Un rilascio OCDS pubblicato non si modifica: se ne pubblica uno nuovo."
            )
        super().save(*args, **kwargs)


class PublicProcedure(models.Model):
    """What the public pages list: one row per contracting process, from its compiled release."""

    ocid = models.CharField(_("ocid"), max_length=120, unique=True)
    source = models.CharField(_("modulo di origine"), max_length=30)
    title = models.CharField(_("oggetto"), max_length=500)
    buyer_name = models.CharField(_("amministrazione"), max_length=300)
    buyer_tax_code = models.CharField(_("codice fiscale dell'amministrazione"), max_length=16)
    cig = models.CharField(_("CIG"), max_length=10, blank=True, db_index=True)
    procurement_method = models.CharField(_("procedura"), max_length=20, blank=True)
    procurement_method_details = models.CharField(
        _("tipo di procedura"), max_length=300, blank=True
    )
    tender_status = models.CharField(_("stato"), max_length=20, blank=True)
    tender_value = models.DecimalField(
        _("importo a base"), max_digits=15, decimal_places=2, null=True, blank=True
    )
    award_value = models.DecimalField(
        _("importo aggiudicato"), max_digits=15, decimal_places=2, null=True, blank=True
    )
    suppliers = models.CharField(_("aggiudicatari"), max_length=1000, blank=True)
    is_notice = models.BooleanField(_("bando o avviso pubblicato"), default=False)
    is_award = models.BooleanField(_("aggiudicazione o affidamento"), default=False)
    annulled = models.BooleanField(_("annullata"), default=False)
    tender_published_at = models.DateTimeField(_("pubblicata il"), null=True, blank=True)
    tender_deadline = models.DateTimeField(_("termine offerte"), null=True, blank=True)
    award_date = models.DateTimeField(_("data di aggiudicazione"), null=True, blank=True)
    last_release_at = models.DateTimeField(_("ultimo aggiornamento"))
    compiled = models.JSONField(_("rilascio compilato"))

    class Meta:
        verbose_name = _("procedura pubblicata")
        verbose_name_plural = _("procedure pubblicate")
        ordering = ["-last_release_at", "-id"]
        indexes = [
            models.Index(fields=["is_award", "-award_date"]),
            models.Index(fields=["is_notice", "-tender_published_at"]),
            models.Index(fields=["buyer_tax_code"]),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.ocid})"
