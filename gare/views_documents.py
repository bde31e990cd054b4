"""Downloads of the minutes of each session and of the award document (PDF).

Who may download them is who may see the ranking page (``get_lot_for_manager``: the staff of
the contracting authority, the tender board and the lot's commission); everybody else gets 404,
as on that page.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Award
from .pdf import MINUTES_KINDS, award_pdf, session_minutes_pdf
from .selectors import get_lot_for_manager


def _pdf_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-SHA256"] = hashlib.sha256(data).hexdigest()
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def session_minutes(request, pk, session_pk):
    lot = get_lot_for_manager(request.user, pk)
    session = get_object_or_404(
        lot.sessions.select_related("started_by"), pk=session_pk, kind__in=MINUTES_KINDS
    )
    if session.started_at is None:
        raise Http404(_("La seduta non si è ancora svolta: il verbale non è disponibile."))
    data = session_minutes_pdf(session, now=timezone.now())
    name = f"verbale-{lot.tender.code}-lotto{lot.number}-{session.kind.lower()}-{session.pk}.pdf"
    return _pdf_response(data, name.replace("/", "-"))


@login_required
def award_document(request, pk):
    lot = get_lot_for_manager(request.user, pk)
    award = (
        Award.objects.filter(lot=lot, superseded_at__isnull=True)
        .select_related("participant__operator", "run", "lot__tender")
        .first()
    )
    if award is None:
        raise Http404(_("Non c'è ancora una proposta di aggiudicazione."))
    data = award_pdf(award, now=timezone.now())
    kind = "aggiudicazione" if award.adopted_at else "proposta-aggiudicazione"
    name = f"{kind}-{lot.tender.code}-lotto{lot.number}.pdf"
    return _pdf_response(data, name.replace("/", "-"))
