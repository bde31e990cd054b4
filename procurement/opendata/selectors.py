"""What the public may see: published procedures, filtered; releases and records for the API."""

from __future__ import annotations

from datetime import datetime, time

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import OcdsRelease, PublicProcedure


class PublicFilterForm(forms.Form):
    q = forms.CharField(label=_("Oggetto"), required=False, max_length=200)
    amministrazione = forms.CharField(
        label=_("Amministrazione (nome o codice fiscale)"), required=False, max_length=200
    )
    cig = forms.CharField(label=_("CIG"), required=False, max_length=10)
    dal = forms.DateField(
        label=_("Dal"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    al = forms.DateField(
        label=_("Al"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    importo_min = forms.DecimalField(
        label=_("Importo minimo (euro)"),
        required=False,
        min_value=0,
        max_digits=15,
        decimal_places=2,
    )
    importo_max = forms.DecimalField(
        label=_("Importo massimo (euro)"),
        required=False,
        min_value=0,
        max_digits=15,
        decimal_places=2,
    )

    def clean_cig(self):
        return self.cleaned_data["cig"].strip().upper()

    def clean(self):
        data = super().clean()
        if data.get("dal") and data.get("al") and data["dal"] > data["al"]:
            self.add_error("al", _("La data finale precede quella iniziale."))
        low, high = data.get("importo_min"), data.get("importo_max")
        if low is not None and high is not None and low > high:
            self.add_error("importo_max", _("L'importo massimo è minore di quello minimo."))
        return data


def _day_start(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def _day_end(day):
    return timezone.make_aware(datetime.combine(day, time.max))


def public_procedures(*, kind: str, filters: dict | None = None) -> QuerySet[PublicProcedure]:
    """kind 'notices' ("Bandi e avvisi") or 'awards' ("Aggiudicazioni e affidamenti")."""
    filters = filters or {}
    if kind == "notices":
        qs = PublicProcedure.objects.filter(is_notice=True)
        date_field, amount_field = "tender_published_at", "tender_value"
        qs = qs.order_by("-tender_published_at", "-id")
    else:
        qs = PublicProcedure.objects.filter(is_award=True)
        date_field, amount_field = "award_date", "award_value"
        qs = qs.order_by("-award_date", "-id")
    if filters.get("q"):
        qs = qs.filter(title__icontains=filters["q"])
    if filters.get("amministrazione"):
        term = filters["amministrazione"].strip()
        qs = qs.filter(Q(buyer_name__icontains=term) | Q(buyer_tax_code=term.upper()))
    if filters.get("cig"):
        qs = qs.filter(cig=filters["cig"])
    if filters.get("dal"):
        qs = qs.filter(**{f"{date_field}__gte": _day_start(filters["dal"])})
    if filters.get("al"):
        qs = qs.filter(**{f"{date_field}__lte": _day_end(filters["al"])})
    if filters.get("importo_min") is not None:
        qs = qs.filter(**{f"{amount_field}__gte": filters["importo_min"]})
    if filters.get("importo_max") is not None:
        qs = qs.filter(**{f"{amount_field}__lte": filters["importo_max"]})
    return qs.defer("compiled")


def releases_between(*, since=None, until=None, ocid: str = "") -> QuerySet[OcdsRelease]:
    qs = OcdsRelease.objects.order_by("id")
    if since is not None:
        qs = qs.filter(date__gte=since)
    if until is not None:
        qs = qs.filter(date__lte=until)
    if ocid:
        qs = qs.filter(ocid=ocid)
    return qs
