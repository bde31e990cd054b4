"""Offer validity extension (R-GARE-074, D-50): the RPA/RUP sends the request and follows the
replies (with the extended guarantees, D-24) from the lot's validity page; the participant
confirms from its communications, uploading the extended guarantee. The services are in
``services/validity.py``; the reminders and the renunciations are the periodic job's."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .models import ValidityReply
from .selectors import communications_for, get_lot_for_manager
from .services.common import GareError, is_staff_of
from .services.validity import (
    SETTLED,
    validity_confirm,
    validity_extension_request,
    validity_until,
)


def _lot_for_rup(user, pk):
    lot = get_lot_for_manager(user, pk)
    if not is_staff_of(user, lot.tender):
        raise Http404
    return lot


@login_required
@require_http_methods(["GET", "POST"])
def validity_request(request, pk):
    """GET: the requests of the lot and their replies (``?garanzia=<reply>`` downloads the
    guarantee of a reply). POST: a new request to every remaining participant."""
    lot = _lot_for_rup(request.user, pk)
    if request.method == "GET":
        if "garanzia" in request.GET:
            return _guarantee_download(lot, request.GET["garanzia"])
        requests = list(
            lot.validity_requests.order_by("-sent_at").prefetch_related(
                "replies__participant", "replies__guarantee"
            )
        )
        return render(
            request,
            "gare/validity.html",
            {
                "lot": lot,
                "tender": lot.tender,
                "validity_until": validity_until(lot),
                "requests": requests,
                "can_request": lot.status not in SETTLED,
            },
        )
    try:
        new_date = datetime.date.fromisoformat(request.POST.get("new_validity_date", ""))
    except ValueError:
        messages.error(request, _("Indica la nuova scadenza della validità (gg/mm/aaaa)."))
        return redirect("gare:lot", pk=lot.pk)
    try:
        validity_extension_request(
            user=request.user, lot=lot, new_validity_date=new_date, now=timezone.now()
        )
    except GareError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Richiesta di proroga inviata ai concorrenti."))
    return redirect("gare:lot", pk=lot.pk)


def _guarantee_download(lot, reply_pk: str) -> HttpResponse:
    from procurement.documents.services import document_version_content

    if not reply_pk.isdigit():
        raise Http404
    reply = get_object_or_404(
        ValidityReply.objects.select_related("guarantee"),
        pk=int(reply_pk),
        request__lot=lot,
        guarantee__isnull=False,
    )
    version = reply.guarantee
    response = HttpResponse(
        document_version_content(version=version), content_type=version.content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{version.original_name}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def validity_confirm_view(request, pk):
    """GET: the request with the upload of the extended guarantee. POST: the confirmation."""
    comm = get_object_or_404(communications_for(request.user), pk=pk, kind="VALIDITY_EXTENSION")
    reply = (
        ValidityReply.objects.filter(
            request__lot__tender=comm.tender,
            participant__operator=comm.operator,
            request__sent_at=comm.sent_at,
        )
        .select_related(
            "participant__operator", "participant__current_offer", "request__lot", "guarantee"
        )
        .first()
    )
    if reply is None:
        messages.error(request, _("Non c'è una richiesta di proroga a cui rispondere."))
        return redirect("gare:communications")
    if request.method == "GET":
        offer = reply.participant.current_offer
        return render(
            request,
            "gare/validity_confirm.html",
            {
                "comm": comm,
                "reply": reply,
                "validity_request": reply.request,
                "submitted_at": offer.submitted_at if offer is not None else None,
                "open": reply.confirmed_at is None
                and reply.renounced_at is None
                and reply.request.closed_at is None
                and timezone.now() <= reply.request.reply_deadline,
            },
        )
    try:
        validity_confirm(
            user=request.user,
            reply=reply,
            guarantee_file=request.FILES.get("guarantee"),
            now=timezone.now(),
        )
    except GareError as exc:
        messages.error(request, exc.message)
        return redirect("gare:validity_confirm", pk=comm.pk)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("gare:communications")
    messages.success(
        request,
        _("Hai confermato la validità dell'offerta fino al %(d)s.")
        % {"d": reply.request.new_validity_date.strftime("%d/%m/%Y")},
    )
    return redirect("gare:communications")
