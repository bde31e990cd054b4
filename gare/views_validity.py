"""Offer validity extension (R-GARE-074, D-50): the RPA/RUP sends the request from the procedure
page, the participant confirms from its communications. The services are in
``services/validity.py``; the reminders and the renunciations are the periodic job's."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .models import ValidityReply
from .selectors import communications_for, get_lot_for_manager
from .services.common import GareError
from .services.validity import validity_confirm, validity_extension_request


@login_required
@require_POST
def validity_request(request, pk):
    lot = get_lot_for_manager(request.user, pk)
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


@login_required
@require_POST
def validity_confirm_view(request, pk):
    comm = get_object_or_404(communications_for(request.user), pk=pk, kind="VALIDITY_EXTENSION")
    reply = (
        ValidityReply.objects.filter(
            request__lot__tender=comm.tender,
            participant__operator=comm.operator,
            request__sent_at=comm.sent_at,
        )
        .select_related("participant__operator", "request")
        .first()
    )
    if reply is None:
        messages.error(request, _("Non c'è una richiesta di proroga a cui rispondere."))
        return redirect("gare:communications")
    try:
        validity_confirm(user=request.user, reply=reply, now=timezone.now())
    except GareError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Hai confermato la validità dell'offerta fino al %(d)s.")
            % {"d": reply.request.new_validity_date.strftime("%d/%m/%Y")},
        )
    return redirect("gare:communications")
