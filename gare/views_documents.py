"""The ranking page, the minutes of each session and the award documents (PDF).

The PDFs are never rendered here: a procedure step requests them (``GareDocument``), a Celery
task renders and stores them after commit, and these views serve the stored file (or the
message "Il verbale è in preparazione" while the task has not run yet).

Who may download them is who may see the procedure (``get_lot_for_manager``: the RUP/RPA, the
tender board and the lot's commission; everybody else gets 404), except that the documents with
offered values (economic, improvement and draw minutes, award documents) are for the roles of
the permission matrix row 26 only: the tender board (seggio) gets 404 on them, and the ranking
page shows it the technical scores without economic points and totals.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from procurement.documents.services import document_version_content

from .models import Award, GareDocument, GareDocumentKind, GareDocumentStatus
from .pdf import MINUTES_KINDS, SessionMinutesRenderer
from .selectors import get_lot_for_manager
from .services import procedure as proc
from .services.common import GareError
from .services.documents import (
    MINUTES_TEXT_MAX_LENGTH,
    MINUTES_TEXTS,
    MSG_PENDING,
    MSG_SIGNED_NOT_EDITABLE,
    document_key,
    document_sign,
    file_name,
    latest_documents,
    may_download,
    may_edit_minutes,
    may_see_offered_values,
    may_sign,
    minutes_text_edit,
    minutes_versions,
)


def _file_response(data: bytes, filename: str, *, content_type: str, sha256: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-SHA256"] = sha256
    response["Cache-Control"] = "private, no-store"
    return response


def _serve(request, lot, doc: GareDocument | None, *, signed: bool = False) -> HttpResponse:
    if doc is not None and not may_download(request.user, doc):
        raise Http404
    if doc is None or doc.generated_id is None:
        return render(
            request,
            "gare/document_pending.html",
            {"lot": lot, "message": MSG_PENDING},
            status=202,
        )
    version = doc.signed if signed else doc.generated
    if version is None:
        raise Http404(_("Il documento non è ancora firmato."))
    content_type = (
        "application/pdf"
        if version.content_type == "application/pdf"
        else ("application/pkcs7-mime")
    )
    return _file_response(
        document_version_content(version=version),
        file_name(doc, signed=signed),
        content_type=content_type,
        sha256=version.sha256,
    )


def _latest(key: str) -> GareDocument | None:
    """The newest rendered version of `key`, else the newest requested (still pending)."""
    docs = GareDocument.objects.filter(key=key).select_related(
        "lot__tender", "session", "generated", "signed"
    )
    return (
        docs.filter(generated__isnull=False).order_by("-version").first()
        or docs.order_by("-version").first()
    )


@login_required
def session_minutes(request, pk, session_pk):
    lot = get_lot_for_manager(request.user, pk)
    session = get_object_or_404(lot.sessions.all(), pk=session_pk, kind__in=MINUTES_KINDS)
    if session.started_at is None:
        raise Http404(_("La seduta non si è ancora svolta: il verbale non è disponibile."))
    doc = _latest(document_key(GareDocumentKind.MINUTES, session=session))
    offers_shown = session.kind not in ("ADMIN_OPENING", "TECH_OPENING")
    if doc is None and offers_shown and not may_see_offered_values(request.user, lot):
        raise Http404
    return _serve(request, lot, doc)


@login_required
def award_document(request, pk):
    lot = get_lot_for_manager(request.user, pk)
    if not may_see_offered_values(request.user, lot):
        raise Http404
    award = Award.objects.filter(lot=lot, superseded_at__isnull=True).first()
    if award is None:
        raise Http404(_("Non c'è ancora una proposta di aggiudicazione."))
    kind = GareDocumentKind.AWARD_DECISION if award.adopted_at else GareDocumentKind.AWARD_PROPOSAL
    return _serve(request, lot, _latest(document_key(kind, award=award)))


def _document_for(request, pk, doc_pk) -> tuple:
    lot = get_lot_for_manager(request.user, pk)
    doc = get_object_or_404(
        GareDocument.objects.select_related("lot__tender", "session", "generated", "signed"),
        pk=doc_pk,
        lot=lot,
    )
    if not may_download(request.user, doc):
        raise Http404
    return lot, doc


@login_required
def document_download(request, pk, doc_pk):
    lot, doc = _document_for(request, pk, doc_pk)
    return _serve(request, lot, doc)


@login_required
def document_signed_download(request, pk, doc_pk):
    lot, doc = _document_for(request, pk, doc_pk)
    if doc.status != GareDocumentStatus.SIGNED:
        raise Http404(_("Il documento non è ancora firmato."))
    return _serve(request, lot, doc, signed=True)


@login_required
@require_POST
def document_sign_upload(request, pk, doc_pk):
    lot, doc = _document_for(request, pk, doc_pk)
    try:
        document_sign(
            user=request.user,
            document=doc,
            uploaded_file=request.FILES.get("file"),
            now=timezone.now(),
        )
    except GareError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Documento firmato caricato: la firma è stata verificata."))
    return redirect("gare:ranking", pk=lot.pk)


@login_required
def ranking(request, pk):
    """Scores and ranking; economic points and totals only for matrix row 26's roles."""
    lot = get_lot_for_manager(request.user, pk)
    offered = may_see_offered_values(request.user, lot)
    run = proc.latest_run(lot)
    names = {str(p.pk): p.display_name for p in lot.participants.all()}
    rows = []
    codes = []
    anomalies = []
    if run:
        economic = {"PRICE", "TIME"}
        if run.stage == "TECHNICAL" or not offered:
            economic |= set(proc.economic_codes(proc.scheme_of(lot)))
        for o in run.result.get("offers", []):
            codes = codes or [c for c in o.get("points", {}) if c not in economic]
            row = {
                "name": names.get(o["id"], o["id"]),
                "id": o["id"],
                "technical": o.get("technical"),
                "cells": [o["points"].get(c, "") for c in codes],
            }
            if offered:
                row.update(rank=o.get("rank"), economic=o.get("economic"), total=o.get("total"))
            rows.append(row)
        if not offered:
            rows.sort(key=lambda r: r["name"])  # the order of the ranking is an offered value too
        if offered:
            anomalies = [
                {"name": names.get(a["id"], a["id"]), "indicators": a["indicators"]}
                for a in run.result.get("anomaly", [])
                if a.get("appears_abnormal")
            ]
    ties = (
        [[names.get(i, i) for i in group] for group in (run.result.get("ties", []) if run else [])]
        if offered
        else []
    )
    current = Award.objects.filter(lot=lot, superseded_at__isnull=True).first()
    current_kind = None
    if current is not None:
        current_kind = (
            GareDocumentKind.AWARD_DECISION
            if current.adopted_at
            else GareDocumentKind.AWARD_PROPOSAL
        )
    documents = []
    for d in latest_documents(lot):
        if not may_download(request.user, d):
            continue
        if d.kind == GareDocumentKind.MINUTES:
            testid = f"minutes-{d.session.kind.lower()}"
        elif current is not None and d.award_id == current.pk and d.kind == current_kind:
            testid = "award-document"
        else:
            testid = f"document-{d.pk}"
        documents.append(
            {
                "doc": d,
                "can_sign": may_sign(request.user, d),
                "can_edit": may_edit_minutes(request.user, d),
                "testid": testid,
            }
        )
    return render(
        request,
        "gare/ranking.html",
        {
            "lot": lot,
            "run": run,
            "rows": rows,
            "codes": codes,
            "ties": ties,
            "runs": lot.runs.all(),
            "anomalies": anomalies,
            "offered_values": offered,
            "gare_documents": documents,
        },
    )


class MinutesTextForm(forms.Form):
    """Only the free-text parts: whatever else a request carries is not read."""

    base_version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in MINUTES_TEXTS:
            self.fields[key] = forms.CharField(
                label=label,
                required=False,
                max_length=MINUTES_TEXT_MAX_LENGTH,
                widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
            )

    def texts(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(key, "") for key, _label in MINUTES_TEXTS}


@login_required
def minutes_edit(request, pk, session_pk):
    """The minutes draft of a session: the generated facts to read, the free texts to write."""
    lot = get_lot_for_manager(request.user, pk)
    session = get_object_or_404(lot.sessions.all(), pk=session_pk, kind__in=MINUTES_KINDS)
    versions = minutes_versions(session)
    if not versions:
        raise Http404(_("Il verbale di questa seduta non è ancora stato prodotto."))
    latest = versions[0]
    if not may_download(request.user, latest):
        raise Http404
    if not may_edit_minutes(request.user, latest):
        raise PermissionDenied(_("Non puoi modificare questo verbale."))
    if request.method == "POST":
        form = MinutesTextForm(request.POST)
        if form.is_valid():
            base = next(
                (v for v in versions if v.version == form.cleaned_data["base_version"]), None
            )
            try:
                if base is None:
                    raise GareError(_("Versione del verbale non trovata: ricarica la pagina."))
                doc = minutes_text_edit(
                    user=request.user, document=base, texts=form.texts(), now=timezone.now()
                )
            except GareError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _(
                        "Testo del verbale salvato: la versione %(v)s sarà generata tra pochi "
                        "istanti; le versioni precedenti restano nel fascicolo."
                    )
                    % {"v": doc.version},
                )
                return redirect("gare:minutes_edit", pk=lot.pk, session_pk=session.pk)
    else:
        form = MinutesTextForm(initial={**latest.texts, "base_version": latest.version})
    # The facts as the next render will print them (read from the procedure, never from the form).
    facts = SessionMinutesRenderer(session, timezone.now(), run=latest.run).context()
    return render(
        request,
        "gare/minutes_edit.html",
        {
            **facts,
            "lot": lot,
            "session": session,
            "form": form,
            "latest": latest,
            "versions": versions,
            "signed": latest.status == GareDocumentStatus.SIGNED,
            "signed_message": MSG_SIGNED_NOT_EDITABLE,
            "current_texts": [(label, latest.texts.get(key, "")) for key, label in MINUTES_TEXTS],
        },
        status=400 if form.errors else 200,
    )
