"""Public OCDS API: release packages and record packages, paginated by cursor, no login.

GET /api/ocds/releases?since=2026-01-01&until=2026-12-31T23:59:59+01:00&ocid=...&limit=100
GET /api/ocds/records?ocid=...&since=...&limit=50
Each answer is a package valid against the official 1.1.5 schema; `links.next` is the next page.
"""

from __future__ import annotations

from datetime import datetime, time

from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from .models import OcdsRelease, PublicProcedure
from .ocds import record_for
from .publisher import records_package, releases_package
from .selectors import releases_between

MAX_LIMIT = 1000


class BadQuery(ValueError):
    pass


def _problem(detail: str) -> JsonResponse:
    return JsonResponse(
        {
            "type": "about:blank",
            "title": _("Richiesta non valida"),
            "status": 400,
            "detail": detail,
        },
        status=400,
        content_type="application/problem+json",
    )


def _moment(request, name: str, *, end: bool):
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    value = parse_datetime(raw.replace(" ", "+"))
    if value is None:
        day = parse_date(raw)
        if day is None:
            raise BadQuery(
                _(
                    "Il parametro «%(name)s» deve essere una data (AAAA-MM-GG) "
                    "o una data e ora ISO 8601."
                )
                % {"name": name}
            )
        value = datetime.combine(day, time.max if end else time.min)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _int(request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(
            _("Il parametro «%(name)s» deve essere un numero intero.") % {"name": name}
        ) from None
    if not low <= value <= high:
        raise BadQuery(
            _("Il parametro «%(name)s» deve essere compreso tra %(low)s e %(high)s.")
            % {"name": name, "low": low, "high": high}
        )
    return value


def _next_link(request, after: int) -> str:
    query = request.GET.copy()
    query["after"] = str(after)
    return request.build_absolute_uri(request.path + "?" + query.urlencode())


@require_GET
def releases(request):
    try:
        since = _moment(request, "since", end=False)
        until = _moment(request, "until", end=True)
        limit = _int(request, "limit", 100, low=1, high=MAX_LIMIT)
        after = _int(request, "after", 0, low=0, high=2**62)
    except BadQuery as exc:
        return _problem(str(exc))
    qs = releases_between(since=since, until=until, ocid=request.GET.get("ocid", "").strip())
    rows = list(qs.filter(id__gt=after).values_list("id", "data")[: limit + 1])
    links = {"next": _next_link(request, rows[limit - 1][0])} if len(rows) > limit else None
    package = releases_package(
        [data for _, data in rows[:limit]], uri=request.build_absolute_uri(), links=links
    )
    return JsonResponse(package, json_dumps_params={"ensure_ascii": False})


@require_GET
def records(request):
    try:
        since = _moment(request, "since", end=False)
        until = _moment(request, "until", end=True)
        limit = _int(request, "limit", 50, low=1, high=200)
        after = _int(request, "after", 0, low=0, high=2**62)
    except BadQuery as exc:
        return _problem(str(exc))
    qs = PublicProcedure.objects.order_by("id").filter(id__gt=after)
    if since is not None:
        qs = qs.filter(last_release_at__gte=since)
    if until is not None:
        qs = qs.filter(last_release_at__lte=until)
    if request.GET.get("ocid"):
        qs = qs.filter(ocid=request.GET["ocid"].strip())
    procedures = list(qs.values_list("id", "ocid")[: limit + 1])
    links = (
        {"next": _next_link(request, procedures[limit - 1][0])} if len(procedures) > limit else None
    )
    ocids = [ocid for _, ocid in procedures[:limit]]
    by_ocid: dict[str, list[dict]] = {ocid: [] for ocid in ocids}
    for ocid, data in (
        OcdsRelease.objects.filter(ocid__in=ocids)
        .order_by("date", "id")
        .values_list("ocid", "data")
    ):
        by_ocid[ocid].append(data)
    package = records_package(
        [record_for(ocid, by_ocid[ocid]) for ocid in ocids],
        uri=request.build_absolute_uri(),
        links=links,
    )
    return JsonResponse(package, json_dumps_params={"ensure_ascii": False})
