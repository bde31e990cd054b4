"""Pages of the "Fascicolo Virtuale" menu: parse, call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from procurement.accounts.access import get_object_for_user
from procurement.pcp import selectors as pcp_selectors
from procurement.pcp import services as pcp_services
from procurement.pcp.models import PcpAppalto, ProcedureRole

from . import document_requests, selectors, services
from .forms import AccessRequestForm, DocumentRequestForm, ProcedureRoleForm
from .models import (
    LIVE_STATUSES,
    VERIFIABLE_STATUSES,
    FvoeCallSpan,
    FvoeDocument,
    FvoeDocumentRequest,
)


def _maintenance(now):
    window = services.maintenance_window(now)
    return services.msg_maintenance(window.ends_at) if window else ""


def _require_profile(user) -> None:
    if not selectors.has_fvoe_profile(user):
        raise PermissionDenied(services.msg_no_fvoe_access())


@login_required
def landing(request):
    _require_profile(request.user)
    return render(
        request, "fvoe/landing.html", {"appalti": selectors.appalti_for_fvoe(request.user)}
    )


@login_required
def access_request_list(request):
    _require_profile(request.user)
    return render(
        request,
        "fvoe/appalto_list.html",
        {
            "appalti": selectors.appalti_for_fvoe(request.user),
            "target": "fvoe:access_requests",
            "title": _("Richieste di accesso FVOE"),
        },
    )


@login_required
def documents_list(request):
    _require_profile(request.user)
    return render(
        request,
        "fvoe/appalto_list.html",
        {
            "appalti": selectors.appalti_for_fvoe(request.user),
            "target": "fvoe:documents",
            "title": _("Documenti FVOE"),
        },
    )


def _rows(appalto):
    current = {a.operator_tax_code: a for a in selectors.current_authorizations(appalto)}
    rows = []
    for operator in appalto.fvoe_operators.all().order_by("name"):
        if not operator.eligible:
            continue
        auth = current.get(operator.tax_code)
        rows.append(
            {
                "operator": operator,
                "auth": auth,
                "selectable": auth is None or auth.status not in LIVE_STATUSES,
            }
        )
    return rows


@login_required
def access_requests(request, appalto_pk):
    appalto = selectors.get_appalto_for_fvoe(request.user, appalto_pk)
    now = timezone.now()
    rows = _rows(appalto)
    # Every eligible operator is a valid choice: the service refuses duplicates with the reason.
    choices = [(r["operator"].tax_code, r["operator"].name) for r in rows]
    form = AccessRequestForm(request.POST or None, choices=choices)
    if request.method == "POST":
        if form.is_valid():
            try:
                access = services.access_request_create(
                    user=request.user,
                    appalto=appalto,
                    tax_codes=form.cleaned_data["operators"],
                    end_date=form.cleaned_data.get("end_date"),
                    now=now,
                )
            except services.FvoeError as exc:
                messages.error(request, str(exc))
            else:
                access.refresh_from_db()
                if access.status == "ACKED":
                    messages.success(request, services.msg_sent(access.authorizations.count()))
                elif access.status == "QUEUED":
                    messages.info(request, _("Invio della richiesta ad ANAC in corso…"))
                elif access.status == "REJECTED":
                    messages.error(
                        request,
                        "; ".join(
                            str(e.get("descrizione") or e.get("codice")) for e in access.error_codes
                        ),
                    )
                else:
                    messages.warning(request, _(services.MSG_UNREACHABLE))
                return redirect("fvoe:access_requests", appalto.pk)
        else:
            messages.error(request, _("Correggere i dati indicati."))
    return render(
        request,
        "fvoe/access_requests.html",
        {
            "appalto": appalto,
            "rows": rows,
            "form": form,
            "rup": services.rup_status(appalto, now),
            "no_id_appalto": not appalto.id_appalto,
            "msg_no_id_appalto": _(services.MSG_NO_ID_APPALTO),
            "maintenance": _maintenance(now),
            "progress": services.in_progress(appalto, now=now),
            **_roles_context(request.user, appalto),
        },
    )


def _roles_context(user, appalto, form=None) -> dict:
    """ "Ruoli sulla procedura": who holds which role; the form for who may change them."""
    can_manage = pcp_services.can_manage_procedure_roles(user, appalto)
    return {
        "procedure_roles": pcp_selectors.procedure_roles_for_appalto(appalto),
        "can_manage_roles": can_manage,
        "role_form": (form or ProcedureRoleForm(appalto=appalto)) if can_manage else None,
        "allowed_procedure_roles": sorted(services.fvoe_procedure_roles()),
    }


@login_required
@require_POST
def procedure_role_grant(request, appalto_pk):
    appalto = get_object_for_user(PcpAppalto.objects.all(), request.user, pk=appalto_pk)
    form = ProcedureRoleForm(request.POST, appalto=appalto)
    if not form.is_valid():
        messages.error(request, _("Scegliere un utente della stazione appaltante e un ruolo."))
        return redirect("fvoe:access_requests", appalto.pk)
    user, role = form.cleaned_data["user"], form.cleaned_data["role"]
    try:
        pcp_services.procedure_role_grant(
            actor=request.user, appalto=appalto, user=user, role=role, now=timezone.now()
        )
    except pcp_services.PcpError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Ruolo «%(role)s» assegnato a %(user)s.")
            % {"role": dict(form.fields["role"].choices)[role], "user": _name(user)},
        )
    return redirect("fvoe:access_requests", appalto.pk)


@login_required
@require_POST
def procedure_role_revoke(request, appalto_pk, grant_pk):
    appalto = get_object_for_user(PcpAppalto.objects.all(), request.user, pk=appalto_pk)
    grant = ProcedureRole.objects.select_related("user").filter(pk=grant_pk, appalto=appalto)
    grant = grant.first()
    if grant is None:
        raise Http404
    try:
        pcp_services.procedure_role_revoke(
            actor=request.user,
            appalto=appalto,
            user=grant.user,
            role=grant.role,
            now=timezone.now(),
        )
    except pcp_services.PcpError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Ruolo «%(role)s» revocato a %(user)s.")
            % {"role": grant.get_role_display(), "user": _name(grant.user)},
        )
    if services.can_use_fvoe(request.user, appalto):
        return redirect("fvoe:access_requests", appalto.pk)
    return redirect("fvoe:landing" if selectors.has_fvoe_profile(request.user) else "core:home")


def _name(user) -> str:
    return user.get_full_name() or user.username


@login_required
@require_POST
def verify(request, auth_pk):
    auth = selectors.get_authorization_for_user(request.user, auth_pk)
    try:
        outcome = services.authorization_verify_manual(
            user=request.user, authorization=auth, now=timezone.now()
        )
    except services.FvoeError as exc:
        messages.error(request, str(exc))
    else:
        auth.refresh_from_db()
        messages.success(
            request,
            _("Verifica eseguita: %(operator)s – %(state)s.")
            % {"operator": auth.operator.name, "state": auth.get_status_display()},
        )
        del outcome
    return redirect("fvoe:access_requests", auth.appalto_id)


@login_required
@require_POST
def verify_all(request, appalto_pk):
    """ "Verifica per tutti": each pending or authorised row in turn, with the same throttle."""
    appalto = selectors.get_appalto_for_fvoe(request.user, appalto_pk)
    done, problems = 0, []
    for auth in selectors.current_authorizations(appalto).filter(status__in=VERIFIABLE_STATUSES):
        try:
            services.authorization_verify_manual(
                user=request.user, authorization=auth, now=timezone.now()
            )
            done += 1
        except services.FvoeError as exc:
            problems.append(f"{auth.operator.name}: {exc}")
    if done:
        messages.success(
            request, _("Verifica eseguita per %(n)s operatori economici.") % {"n": done}
        )
    for problem in problems:
        messages.error(request, problem)
    return redirect("fvoe:access_requests", appalto.pk)


@login_required
def documents(request, appalto_pk):
    appalto = selectors.get_appalto_for_fvoe(request.user, appalto_pk)
    now = timezone.now()
    operators = []
    for auth in selectors.operators_with_access(appalto):
        operators.append(
            {
                "auth": auth,
                "documents": auth.documents.prefetch_related("versions").order_by("type_code"),
                "requests": auth.document_requests.prefetch_related("items").order_by(
                    "-created_at"
                ),
            }
        )
    return render(
        request,
        "fvoe/documents.html",
        {
            "appalto": appalto,
            "operators": operators,
            "form": DocumentRequestForm(),
            "rup": services.rup_status(appalto, now),
            "maintenance": _maintenance(now),
            "progress": services.in_progress(appalto, now=now),
        },
    )


@login_required
@require_POST
def refresh_documents(request, auth_pk):
    auth = selectors.get_authorization_for_user(request.user, auth_pk)
    try:
        stored = services.documents_refresh(
            user=request.user, authorization=auth, now=timezone.now()
        )
    except services.FvoeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Documenti aggiornati: %(n)s nuovi.") % {"n": stored})
    return redirect("fvoe:documents", auth.appalto_id)


@login_required
@require_POST
def request_document(request, auth_pk):
    auth = selectors.get_authorization_for_user(request.user, auth_pk)
    form = DocumentRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Scegliere un tipo di documento valido."))
        return redirect("fvoe:documents", auth.appalto_id)
    try:
        doc_request = document_requests.document_request_create(
            user=request.user,
            authorization=auth,
            type_code=form.cleaned_data["type_code"],
            request_data=form.request_data(),
            now=timezone.now(),
        )
    except services.FvoeError as exc:
        messages.error(request, str(exc))
    else:
        doc_request.refresh_from_db()
        label = dict(document_requests.requestable_types()).get(doc_request.type_code, "")
        if doc_request.status == "SUBMIT_FAILED":
            messages.error(
                request,
                "; ".join(
                    str(e.get("descrizione") or e.get("codice")) for e in doc_request.error_codes
                ),
            )
        else:
            messages.success(
                request,
                _(
                    "Richiesta del documento “%(type_label)s” inviata ad ANAC. Lo stato viene "
                    "aggiornato automaticamente."
                )
                % {"type_label": label},
            )
    return redirect("fvoe:documents", auth.appalto_id)


@login_required
@require_POST
def poll_document_request(request, request_pk):
    doc_request = (
        FvoeDocumentRequest.objects.select_related("authorization").filter(pk=request_pk).first()
    )
    if doc_request is None:
        raise Http404
    selectors.get_appalto_for_fvoe(request.user, doc_request.authorization.appalto_id)
    try:
        document_requests.document_request_poll(
            request_id=doc_request.pk, now=timezone.now(), user=request.user
        )
    except services.FvoeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Stato della richiesta aggiornato."))
    return redirect("fvoe:documents", doc_request.authorization.appalto_id)


@login_required
def download(request, version_pk):
    version = selectors.get_version_for_user(request.user, version_pk)
    services.document_download_audit(user=request.user, version=version, now=timezone.now())
    return FileResponse(version.file.open("rb"), as_attachment=True, filename=version.file_name)


@login_required
def chronology(request, appalto_pk):
    appalto = selectors.get_appalto_for_fvoe(request.user, appalto_pk)
    transmissions = list(selectors.transmissions_of(appalto)[:500])
    spans = {
        span.span_id: span
        for span in FvoeCallSpan.objects.filter(
            span_id__in={t.span_id for t in transmissions}
        ).select_related("user")
    }
    rows = []
    for t in transmissions:
        span = spans.get(t.span_id)
        # §6.7: "Manuale – {user}", "Automatica 07:00", "Automatica 14:00", …; PCP rows of
        # other modules keep the kernel's trigger.
        rows.append({"t": t, "trigger": span.label if span else t.get_trigger_display()})
    return render(
        request,
        "fvoe/chronology.html",
        {
            "appalto": appalto,
            "rows": rows,
            "skipped": selectors.skipped_checks(appalto)[:50],
        },
    )


@login_required
def progress(request, appalto_pk):
    """The "in corso" banner, polled by htmx while something runs (§6.3)."""
    appalto = selectors.get_appalto_for_fvoe(request.user, appalto_pk)
    state = services.in_progress(appalto, now=timezone.now())
    response = render(request, "fvoe/_progress.html", {"appalto": appalto, "progress": state})
    if request.GET.get("attivo") and not state["active"]:
        response["HX-Refresh"] = "true"  # done: reload the page with the new states
    return response


@login_required
def document_history(request, document_pk):
    document = (
        FvoeDocument.objects.select_related("appalto", "authorization__operator")
        .filter(pk=document_pk)
        .first()
    )
    if document is None:
        raise Http404
    appalto = selectors.get_appalto_for_fvoe(request.user, document.appalto_id)
    entries, error = (), ""
    try:
        entries = services.document_history(
            user=request.user, document=document, now=timezone.now()
        )
    except services.FvoeError as exc:
        error = str(exc)
    return render(
        request,
        "fvoe/document_history.html",
        {"appalto": appalto, "document": document, "entries": entries, "error": error},
    )
