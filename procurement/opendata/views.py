"""Public transparency pages ("Amministrazione trasparente", art. 28 D.Lgs. 36/2023): no login."""

from __future__ import annotations

import csv

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from .models import OcdsRelease, PublicProcedure
from .selectors import PublicFilterForm, public_procedures

PAGE_SIZE = 25
KINDS = {
    "notices": {
        "title": gettext_lazy("Bandi e avvisi"),
        "url": "opendata:notices",
        "csv": "opendata:notices-csv",
        "date_label": gettext_lazy("Pubblicato il"),
        "amount_label": gettext_lazy("Importo a base"),
    },
    "awards": {
        "title": gettext_lazy("Aggiudicazioni e affidamenti"),
        "url": "opendata:awards",
        "csv": "opendata:awards-csv",
        "date_label": gettext_lazy("Aggiudicato il"),
        "amount_label": gettext_lazy("Importo aggiudicato"),
    },
}


def _filtered(request, kind):
    form = PublicFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    return form, public_procedures(kind=kind, filters=filters)


@require_GET
def index(request):
    return render(
        request,
        "opendata/index.html",
        {
            "notices": public_procedures(kind="notices")[:5],
            "awards": public_procedures(kind="awards")[:5],
        },
    )


def _list(request, kind):
    form, qs = _filtered(request, kind)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("pagina"))
    query = request.GET.copy()
    query.pop("pagina", None)
    return render(
        request,
        "opendata/list.html",
        {
            "kind": kind,
            "meta": KINDS[kind],
            "form": form,
            "page": page,
            "query": query.urlencode(),
        },
    )


@require_GET
def notices(request):
    return _list(request, "notices")


@require_GET
def awards(request):
    return _list(request, "awards")


@require_GET
def detail(request, ocid: str):
    procedure = PublicProcedure.objects.filter(ocid=ocid).first()
    if procedure is None:
        raise Http404(_("Procedura non trovata."))
    releases = (
        OcdsRelease.objects.filter(ocid=ocid)
        .order_by("date", "id")
        .only("release_id", "date", "tags")
    )
    compiled = procedure.compiled
    return render(
        request,
        "opendata/detail.html",
        {
            "procedure": procedure,
            "tender": compiled.get("tender", {}),
            "awards": compiled.get("awards", []),
            "contracts": compiled.get("contracts", []),
            "parties": compiled.get("parties", []),
            "releases": releases,
        },
    )


class _Echo:
    def write(self, value):
        return value


CSV_COLUMNS = [
    ("ocid", gettext_lazy("ocid")),
    ("cig", gettext_lazy("CIG")),
    ("title", gettext_lazy("Oggetto")),
    ("buyer_name", gettext_lazy("Amministrazione")),
    ("buyer_tax_code", gettext_lazy("Codice fiscale amministrazione")),
    ("procurement_method_details", gettext_lazy("Procedura")),
    ("tender_value", gettext_lazy("Importo a base (euro)")),
    ("award_value", gettext_lazy("Importo aggiudicato (euro)")),
    ("suppliers", gettext_lazy("Aggiudicatari")),
    ("tender_published_at", gettext_lazy("Pubblicato il")),
    ("award_date", gettext_lazy("Aggiudicato il")),
    ("annulled", gettext_lazy("Annullata")),
]


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("sì") if value else _("no")
    if hasattr(value, "isoformat"):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return str(value)


def _csv(request, kind):
    _form, qs = _filtered(request, kind)
    writer = csv.writer(_Echo(), delimiter=";")

    def rows():
        yield "\ufeff"  # spreadsheets open UTF-8 correctly with a BOM
        yield writer.writerow([str(label) for _name, label in CSV_COLUMNS])
        for values in qs.values_list(*[name for name, _label in CSV_COLUMNS]).iterator(
            chunk_size=2000
        ):
            yield writer.writerow([_csv_value(v) for v in values])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{kind}-{stamp}.csv"'
    return response


@require_GET
def notices_csv(request):
    return _csv(request, "notices")


@require_GET
def awards_csv(request):
    return _csv(request, "awards")


def datasets(request) -> list[dict]:
    base = request.build_absolute_uri("/").rstrip("/")
    last = OcdsRelease.objects.order_by("-date").values_list("date", flat=True).first()
    modified = timezone.localtime(last).isoformat(timespec="seconds") if last else None
    licence = getattr(settings, "OPENDATA_LICENSE", "https://creativecommons.org/licenses/by/4.0/")
    common = {"license": licence, "modified": modified, "language": "it"}
    return [
        {
            "identifier": "ocds-releases",
            "title": _("Rilasci OCDS di tutte le procedure"),
            "description": _(
                "Pacchetti di rilasci Open Contracting Data Standard 1.1.5, paginati (links.next)."
            ),
            "format": "application/json",
            "conformsTo": "https://standard.open-contracting.org/1.1/",
            "url": base + reverse("ocds-releases"),
            **common,
        },
        {
            "identifier": "ocds-records",
            "title": _("Record OCDS di tutte le procedure"),
            "description": _("Pacchetti di record OCDS 1.1.5 con il rilascio compilato."),
            "format": "application/json",
            "conformsTo": "https://standard.open-contracting.org/1.1/",
            "url": base + reverse("ocds-records"),
            **common,
        },
        {
            "identifier": "bandi-e-avvisi",
            "title": str(KINDS["notices"]["title"]),
            "description": _("Elenco dei bandi e avvisi pubblicati (CSV, separatore «;»)."),
            "format": "text/csv",
            "url": base + reverse("opendata:notices-csv"),
            **common,
        },
        {
            "identifier": "aggiudicazioni-e-affidamenti",
            "title": str(KINDS["awards"]["title"]),
            "description": _(
                "Elenco delle aggiudicazioni e degli affidamenti (CSV, separatore «;»)."
            ),
            "format": "text/csv",
            "url": base + reverse("opendata:awards-csv"),
            **common,
        },
    ]


@require_GET
def opendata(request):
    return render(request, "opendata/opendata.html", {"datasets": datasets(request)})


@require_GET
def opendata_index(request):
    """A machine-readable index of the published datasets."""
    return JsonResponse(
        {
            "publisher": getattr(settings, "OCDS_PUBLISHER_NAME", "Piattaforma e-procurement"),
            "datasets": [
                {k: str(v) if v is not None else None for k, v in d.items()}
                for d in datasets(request)
            ],
        },
        json_dumps_params={"ensure_ascii": False},
    )
