"""Contract configuration pages of the banditore (configuration.py): parse, call, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import configuration as C
from .access import get_contract_for_user
from .forms import (
    ContractDocumentForm,
    ContractForm,
    EnabledUserForm,
    ExpiryForm,
    RequirementForm,
)
from .models import ContractStatus
from .services import AdesioniError


def _config_url(contract_pk, section=""):
    url = reverse("adesioni:contract_configure", args=[contract_pk])
    return f"{url}#{section}" if section else url


def _contract_for_config(user, pk):
    contract = get_contract_for_user(user, pk=pk)
    if not C.can_configure(user, contract):
        raise Http404
    return contract


def _form_data(form) -> dict:
    data = {k: v for k, v in form.cleaned_data.items() if k in C.CONTRACT_FIELDS}
    for name, field in form.fields.items():
        if field.disabled:
            data.pop(name, None)
    return data


@login_required
def contract_new(request):
    issuers = C.issuer_organisations(request.user)
    issuer = issuers.filter(pk=request.GET.get("banditore")).first() or issuers.first()
    if issuer is None:
        raise Http404
    form = ContractForm(
        request.POST or None,
        issuer=issuer,
        initial={"kind": "FRAMEWORK_AGREEMENT", "round_count": 1},
    )
    if request.method == "POST" and form.is_valid():
        try:
            contract = C.contract_create(
                user=request.user, issuer=issuer, data=_form_data(form), now=timezone.now()
            )
        except AdesioniError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Contratto creato in preparazione: configurare documenti e richieste."),
            )
            return redirect("adesioni:contract_configure", contract.pk)
    return render(
        request,
        "adesioni/contract_config_new.html",
        {"form": form, "issuer": issuer, "issuers": issuers},
    )


@login_required
def contract_configure(request, pk):
    contract = _contract_for_config(request.user, pk)
    published = contract.status != ContractStatus.DRAFT
    initial = {name: getattr(contract, name) for name in C.CONTRACT_FIELDS}
    initial["supplier_members"] = C.format_supplier_members(contract.supplier_members)
    initial["expiry_at"] = timezone.localtime(contract.expiry_at) if contract.expiry_at else None
    form = ContractForm(
        request.POST or None, issuer=contract.issuer, published=published, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            C.contract_update(
                user=request.user,
                contract_id=contract.pk,
                data=_form_data(form),
                now=timezone.now(),
            )
        except AdesioniError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Dati del contratto salvati."))
            return redirect(_config_url(contract.pk))
    rounds = [
        (n, contract.round_requirements.filter(round_no=n)) for n in range(contract.round_count)
    ]
    return render(
        request,
        "adesioni/contract_config.html",
        {
            "contract": contract,
            "form": form,
            "editable_slots": contract.status == ContractStatus.DRAFT,
            "closed": contract.status == ContractStatus.CLOSED,
            "rounds": rounds,
            "order_requirements": contract.order_requirements.all(),
            "documents": contract.documents.select_related("version"),
            "enabled_users": contract.enabled_users.select_related("user", "cost_centre"),
            "requirement_form": RequirementForm(),
            "document_form": ContractDocumentForm(),
            "user_form": EnabledUserForm(contract=contract),
            "expiry_form": ExpiryForm(
                prefix="scadenza",
                initial={
                    "expiry_at": timezone.localtime(contract.expiry_at)
                    if contract.expiry_at
                    else None
                },
            ),
            "problems": C.publication_problems(contract, timezone.now())
            if contract.status == ContractStatus.DRAFT
            else [],
        },
    )


def _run(request, pk, section, action, success, **kwargs):
    contract = _contract_for_config(request.user, pk)
    try:
        action(user=request.user, contract_id=contract.pk, now=timezone.now(), **kwargs)
    except AdesioniError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)
    return redirect(_config_url(contract.pk, section))


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        messages.error(request, " ".join(errors))


@login_required
@require_POST
def contract_config_expiry(request, pk):
    form = ExpiryForm(request.POST, prefix="scadenza")
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_config_url(pk, "scadenza"))
    return _run(
        request,
        pk,
        "scadenza",
        C.contract_set_expiry,
        _("Scadenza salvata."),
        expiry_at=form.cleaned_data["expiry_at"],
    )


@login_required
@require_POST
def contract_config_document(request, pk):
    form = ContractDocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_config_url(pk, "documenti"))
    return _run(
        request,
        pk,
        "documenti",
        C.contract_document_add,
        _("Documento allegato."),
        kind=form.cleaned_data["kind"],
        title=form.cleaned_data["title"],
        uploaded_file=form.cleaned_data["file"],
    )


@login_required
@require_POST
def contract_config_document_delete(request, pk, document_id):
    return _run(
        request,
        pk,
        "documenti",
        C.contract_document_remove,
        _("Documento rimosso."),
        document_id=document_id,
    )


@login_required
@require_POST
def contract_config_requirement(request, pk):
    form = RequirementForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_config_url(pk, "richieste"))
    data = dict(form.cleaned_data)
    data["round_no"] = data.get("round_no") or 0
    return _run(
        request,
        pk,
        "richieste",
        C.requirement_save,
        _("Richiesta documenti salvata."),
        requirement_id=request.POST.get("requirement_id") or None,
        **data,
    )


@login_required
@require_POST
def contract_config_requirement_delete(request, pk, scope, requirement_id):
    return _run(
        request,
        pk,
        "richieste",
        C.requirement_delete,
        _("Richiesta documenti eliminata."),
        scope=scope,
        requirement_id=requirement_id,
    )


@login_required
@require_POST
def contract_config_user(request, pk):
    contract = _contract_for_config(request.user, pk)
    form = EnabledUserForm(request.POST, contract=contract)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_config_url(pk, "utenti"))
    return _run(
        request,
        pk,
        "utenti",
        C.enabled_user_set,
        _("Utente abilitato."),
        target_user=form.cleaned_data["user"],
        can_evaluate=form.cleaned_data["can_evaluate"],
        cost_centre=form.cleaned_data["cost_centre"],
    )


@login_required
@require_POST
def contract_config_user_delete(request, pk, enabled_id):
    return _run(
        request,
        pk,
        "utenti",
        C.enabled_user_remove,
        _("Utente non più abilitato."),
        enabled_id=enabled_id,
    )


@login_required
@require_POST
def contract_close(request, pk):
    return _run(request, pk, "", C.contract_close, _("Contratto chiuso."))


@login_required
def contract_document(request, pk, document_id):
    """A document of "DOCUMENTAZIONE ALLEGATA", for whoever sees the contract."""
    from .views import _serve_version

    contract = get_contract_for_user(request.user, pk=pk)
    document = contract.documents.filter(pk=document_id).select_related("version").first()
    if document is None or document.version is None:
        raise Http404
    return _serve_version(document.version)
