"""Requirement verification through FVOE (R-GARE-146): the page section of a lot with the access
requests, their state, the documents received (download) and the outcome. The services are in
``services/verification_fvoe.py``; the RUP starts the check with his strong session, from which
the identity sent to ANAC is taken (``pcp_actor_for``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from procurement.documents.services import document_version_content
from procurement.pcp.services import PcpError, pcp_actor_for

from . import deadlines
from .models import LotStatus, RequirementVerification, RequirementVerificationDocument
from .selectors import get_lot_for_manager
from .services import procedure as proc
from .services import verification_fvoe as vf
from .services.common import GareError


def _lot_for_verifier(user, pk):
    lot = get_lot_for_manager(user, pk)
    if not vf.may_view(user, lot):
        raise Http404
    return lot


def _verification_for(user, pk) -> RequirementVerification:
    verification = (
        RequirementVerification.objects.select_related("lot__tender__organisation", "award")
        .filter(pk=pk)
        .first()
    )
    if verification is None:
        raise Http404
    _lot_for_verifier(user, verification.lot_id)
    return verification


@login_required
def verification_fvoe(request, pk):
    lot = _lot_for_verifier(request.user, pk)
    award = proc.current_award(lot)
    live = vf.live_verification(lot, award)
    return render(
        request,
        "gare/verification_fvoe.html",
        {
            "lot": lot,
            "tender": lot.tender,
            "award": award,
            "fvoe_available": vf.fvoe_available(lot),
            "verifications": vf.verifications_of(lot),
            "can_start": vf.fvoe_available(lot)
            and live is None
            and lot.status in (LotStatus.PROPOSED, LotStatus.VERIFICATION),
            "fallback_from": deadlines.verification_fallback_from(award.proposed_at)
            if award
            else None,
            "outcome_open": lot.status == LotStatus.VERIFICATION,
        },
    )


@login_required
@require_POST
def verification_fvoe_start(request, pk):
    lot = _lot_for_verifier(request.user, pk)
    now = timezone.now()
    try:
        appalto = vf.appalto_of(lot)
        if appalto is None:
            raise GareError(_(vf.MSG_NO_FVOE))
        actor = pcp_actor_for(user=request.user, request=request, appalto=appalto, now=now)
        vf.verification_fvoe_start(user=request.user, lot=lot, actor=actor, now=now)
    except (GareError, PcpError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Richiesta di accesso al FVOE inviata: l'operatore deve autorizzarla."),
        )
    return redirect("gare:verification_fvoe", pk=lot.pk)


@login_required
@require_POST
def verification_fvoe_refresh(request, pk):
    verification = _verification_for(request.user, pk)
    try:
        vf.verification_fvoe_refresh(
            user=request.user, verification=verification, now=timezone.now()
        )
    except GareError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Stato della richiesta FVOE aggiornato."))
    return redirect("gare:verification_fvoe", pk=verification.lot_id)


@login_required
@require_POST
def verification_fvoe_outcome(request, pk):
    verification = _verification_for(request.user, pk)
    outcome = request.POST.get("outcome")
    if outcome not in ("ok", "ko"):
        messages.error(request, _("Indica l'esito della verifica."))
        return redirect("gare:verification_fvoe", pk=verification.lot_id)
    try:
        vf.verification_fvoe_outcome(
            user=request.user,
            verification=verification,
            positive=outcome == "ok",
            note=request.POST.get("note", ""),
            now=timezone.now(),
        )
    except GareError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Esito della verifica registrato."))
    return redirect("gare:verification_fvoe", pk=verification.lot_id)


@login_required
def verification_fvoe_document(request, pk):
    doc = (
        RequirementVerificationDocument.objects.select_related("verification", "file")
        .filter(pk=pk, file__isnull=False)
        .first()
    )
    if doc is None:
        raise Http404
    _lot_for_verifier(request.user, doc.verification.lot_id)
    version = doc.file
    response = HttpResponse(
        document_version_content(version=version),
        content_type=version.content_type or "application/octet-stream",
    )
    name = version.original_name.replace('"', "")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-SHA256"] = version.sha256
    response["Cache-Control"] = "private, no-store"
    return response
