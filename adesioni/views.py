"""Views: parse, call one service, render. Permissions live in `access.py` and the services."""

from __future__ import annotations

import json
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from procurement.accounts.strongauth import has_strong_auth, strong_login_url
from procurement.audit.models import AuditEvent

from . import messages as M
from . import services as S
from .access import (
    acting_cost_centre,
    acts_for,
    adherent_organisations,
    adhesions_visible_to,
    contracts_visible_to,
    get_adhesion_for_user,
    get_contract_for_user,
    get_order_for_user,
    is_evaluator,
    is_issuer_user,
    is_supplier_user,
    orders_visible_to,
)
from .configuration import can_configure, issuer_organisations
from .forms import (
    AdhesionStep1Form,
    AmountHelperForm,
    CigRequestForm,
    LineForm,
    MessageForm,
    OutcomeForm,
    ReasonForm,
)
from .models import (
    AdhesionStatus,
    ContractStatus,
    MessageKind,
    OrderStatus,
    OutcomeNotice,
)

logger = logging.getLogger(__name__)

TABS = [
    ("info", _("Informazioni generali")),
    ("aggiudicatario", _("Aggiudicatario")),
    ("chiarimenti", _("Chiarimenti")),
    ("adesioni", _("Elenco adesioni")),
    ("ordinativi", _("Elenco ordinativi")),
    ("comunicazioni", _("Comunicazioni")),
]


def _error(request, exc) -> None:
    messages.error(request, str(exc))


def _history(obj):
    from django.contrib.contenttypes.models import ContentType

    return AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_id=str(obj.pk),
    ).order_by("created_at", "id")


def _acting(request):
    """(organisation, cost centre) the user acts for as aderente, from the current profile."""
    membership = getattr(request, "membership", None)
    organisations = adherent_organisations(request.user)
    organisation = None
    if membership is not None:
        organisation = organisations.filter(pk=membership.organisation_id).first()
    organisation = organisation or organisations.first()
    if organisation is None:
        raise Http404
    allowed, cost_centre = acting_cost_centre(request.user, organisation, membership)
    if not allowed:
        raise Http404
    return organisation, cost_centre


def legacy_prefix_redirect(request, rest=""):
    """The area's old prefix /adesioni/… kept as a redirect to the Negozio Elettronico's own
    prefix (spec §2: /negozio-elettronico/). GET/HEAD get 301; other methods 308 (method kept)."""
    target = reverse("adesioni:landing") + rest
    query = request.META.get("QUERY_STRING", "")
    if query:
        target = f"{target}?{query}"
    response = HttpResponsePermanentRedirect(target)
    if request.method not in ("GET", "HEAD"):
        response.status_code = 308
    return response


@login_required
def landing(request):
    return redirect("adesioni:contract_list")


# --- contracts -------------------------------------------------------------------------------


@login_required
def contract_list(request):
    qs = contracts_visible_to(request.user)
    q = request.GET.get("q", "").strip()
    cig = request.GET.get("cig", "").strip().upper()
    status = request.GET.get("status", "")
    issuer = request.GET.get("banditore", "").strip()
    expiry = request.GET.get("scadenza", "")
    if q:
        qs = qs.filter(title__icontains=q)
    if cig:
        qs = qs.filter(parent_cig__startswith=cig)
    if status in ContractStatus.values:
        qs = qs.filter(status=status)
    if issuer:
        qs = qs.filter(issuer__name__icontains=issuer)
    now = timezone.now()
    if expiry == "attivi":
        qs = qs.filter(Q(expiry_at__isnull=True) | Q(expiry_at__gt=now))
    elif expiry == "scaduti":
        qs = qs.filter(expiry_at__lte=now)
    page = Paginator(qs.order_by("-published_at", "title"), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "adesioni/contract_list.html",
        {
            "page": page,
            "statuses": ContractStatus.choices,
            "can_create": issuer_organisations(request.user).exists(),
            "filters": {
                "q": q,
                "cig": cig,
                "status": status,
                "banditore": issuer,
                "scadenza": expiry,
            },
        },
    )


@login_required
@require_POST
def contract_publish(request, pk):
    contract = get_contract_for_user(request.user, pk=pk)
    try:
        S.contract_publish(user=request.user, contract_id=contract.pk, now=timezone.now())
    except S.AdesioniError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("Contratto pubblicato nel Negozio Elettronico."))
    return redirect("adesioni:contract_detail", pk)


@login_required
def contract_detail(request, pk):
    contract = get_contract_for_user(request.user, pk=pk)
    tab = request.GET.get("tab", "info")
    if tab not in dict(TABS):
        tab = "info"
    user = request.user
    now = timezone.now()
    own_orgs = list(adherent_organisations(user))
    adhesions = adhesions_visible_to(user, contract).order_by("-code_year", "-code_seq")
    orders = orders_visible_to(user, contract).order_by("-number_year", "-number_seq")
    status_filter = request.GET.get("stato", "")
    if tab == "adesioni" and status_filter:
        adhesions = adhesions.filter(status=status_filter)
    # R-ADE-041: the banditore filters adhesions by status, aderente and round.
    adherent_filter = request.GET.get("aderente", "").strip()[:100]
    round_filter = request.GET.get("round", "").strip()
    if tab == "adesioni" and adherent_filter:
        adhesions = adhesions.filter(organisation__name__icontains=adherent_filter)
    if tab == "adesioni" and round_filter.isdigit():
        adhesions = adhesions.filter(current_round=int(round_filter))
    else:
        round_filter = ""
    if tab == "ordinativi" and status_filter:
        orders = orders.filter(status=status_filter)
    # The current profile's CdC: one draft per (contract, CdC), orders on its approved adhesions.
    scope = None
    if own_orgs:
        try:
            organisation, cost_centre = _acting(request)
        except Http404:
            own_orgs = []
        else:
            scope = contract.adhesions.filter(organisation=organisation, cost_centre=cost_centre)
    own_draft = scope.filter(status=AdhesionStatus.DRAFT).exists() if scope is not None else True
    has_approved = (
        scope.filter(status=AdhesionStatus.APPROVED).exists() if scope is not None else False
    )
    msgs = S.messages_visible_to(user, contract)
    rounds = [
        (n, contract.round_requirements.filter(round_no=n)) for n in range(contract.round_count)
    ]
    return render(
        request,
        "adesioni/contract_detail.html",
        {
            "contract": contract,
            "tab": tab,
            "tabs": TABS,
            "rounds": rounds,
            "adhesions": Paginator(adhesions, 50).get_page(request.GET.get("page"))
            if tab == "adesioni"
            else [],
            "orders": Paginator(orders.select_related("outcome"), 50).get_page(
                request.GET.get("page")
            )
            if tab == "ordinativi"
            else [],
            "can_request_adhesion": bool(own_orgs) and not own_draft and contract.is_open(now),
            "can_new_order": bool(own_orgs) and has_approved and contract.is_open(now),
            "is_evaluator": is_evaluator(user, contract),
            "can_configure": can_configure(user, contract),
            "closed_message": S.closed_message(contract, now),
            "is_adherent": bool(own_orgs),
            "communications": msgs.exclude(kind=MessageKind.CLARIFICATION)[:100],
            "clarifications": msgs.filter(kind=MessageKind.CLARIFICATION)[:100],
            "adhesion_statuses": AdhesionStatus.choices,
            "order_statuses": OrderStatus.choices,
            "status_filter": status_filter,
            "adherent_filter": adherent_filter,
            "round_filter": round_filter,
            "can_write": contract.status == ContractStatus.PUBLISHED
            and (
                bool(own_orgs) or is_issuer_user(user, contract) or is_supplier_user(user, contract)
            ),
        },
    )


# --- adhesions -------------------------------------------------------------------------------


def _round_files(request, contract, round_no=0):
    return {
        r.code: request.FILES.get(f"file_{r.code}")
        for r in contract.round_requirements.filter(round_no=round_no)
        if request.FILES.get(f"file_{r.code}")
    }


@login_required
def adhesion_create(request, pk):
    contract = get_contract_for_user(request.user, pk=pk)
    organisation, cost_centre = _acting(request)
    now = timezone.now()
    helper_result = None
    initial = {"planned_end_date": contract.suggested_adhesion_end}
    form = AdhesionStep1Form(initial=initial)
    helper = AmountHelperForm()
    if request.method == "POST" and "calcola" in request.POST:
        helper = AmountHelperForm(request.POST)
        form = AdhesionStep1Form(initial={**initial, **request.POST.dict()})
        if helper.is_valid():
            helper_result = S.amount_helper_compute(
                plan_date=helper.cleaned_data["plan_date"],
                lines=helper.cleaned_data["lines"],
                adjustments=contract.price_adjustments,
            )
            form = AdhesionStep1Form(
                initial={
                    **initial,
                    "hypothesis": request.POST.get("hypothesis"),
                    "amount": helper_result["total"],
                }
            )
    elif request.method == "POST":
        form = AdhesionStep1Form(request.POST)
        if form.is_valid():
            helper_json = request.POST.get("amount_helper_json") or None
            try:
                adhesion = S.adhesion_create(
                    user=request.user,
                    contract=contract,
                    organisation=organisation,
                    hypothesis=form.cleaned_data["hypothesis"],
                    amount=form.cleaned_data["amount"],
                    planned_end_date=form.cleaned_data["planned_end_date"],
                    files=_round_files(request, contract),
                    amount_helper=json.loads(helper_json) if helper_json else None,
                    cost_centre=cost_centre,
                    now=now,
                )
            except S.AdesioniError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("adesioni:adhesion_detail", adhesion.pk)
    return render(
        request,
        "adesioni/adhesion_form.html",
        {
            "contract": contract,
            "form": form,
            "helper": helper,
            "helper_result": helper_result,
            "helper_json": json.dumps(helper_result) if helper_result else "",
            "requirements": contract.round_requirements.filter(round_no=0),
        },
    )


@login_required
def adhesion_edit(request, pk):
    adhesion = get_adhesion_for_user(request.user, pk=pk)
    contract = adhesion.contract
    form = AdhesionStep1Form(
        request.POST or None,
        initial={
            "hypothesis": adhesion.hypothesis,
            "amount": adhesion.amount,
            "planned_end_date": adhesion.planned_end_date,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            S.adhesion_update(
                user=request.user,
                adhesion_id=adhesion.pk,
                hypothesis=form.cleaned_data["hypothesis"],
                amount=form.cleaned_data["amount"],
                planned_end_date=form.cleaned_data["planned_end_date"],
                files=_round_files(request, contract, adhesion.current_round),
                now=timezone.now(),
            )
        except S.AdesioniError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("adesioni:adhesion_detail", adhesion.pk)
    return render(
        request,
        "adesioni/adhesion_form.html",
        {
            "contract": contract,
            "adhesion": adhesion,
            "form": form,
            "requirements": contract.round_requirements.filter(round_no=adhesion.current_round),
        },
    )


@login_required
def adhesion_detail(request, pk):
    adhesion = get_adhesion_for_user(request.user, pk=pk)
    user = request.user
    operator = acts_for(user, adhesion)
    documents = adhesion.documents.filter(is_current=True).select_related("requirement", "version")
    return render(
        request,
        "adesioni/adhesion_detail.html",
        {
            "adhesion": adhesion,
            "contract": adhesion.contract,
            "documents": documents,
            "submissions": adhesion.submissions.select_related("sent_by", "decided_by"),
            "operator": operator,
            "evaluator": is_evaluator(user, adhesion.contract),
            "confirm": request.GET.get("conferma") == "1",
            "history": _history(adhesion),
            "reason_form": ReasonForm(),
            "now": timezone.now(),
        },
    )


def _adhesion_action(request, pk, action, success=None):
    try:
        action(user=request.user, adhesion_id=pk, now=timezone.now())
    except S.AdesioniError as exc:
        _error(request, exc)
    else:
        if success:
            messages.success(request, str(success))
    return redirect("adesioni:adhesion_detail", pk)


@login_required
def adhesion_send(request, pk):
    if request.method != "POST":
        return redirect(reverse("adesioni:adhesion_detail", args=[pk]) + "?conferma=1")
    if request.POST.get("risposta") != "si":
        return redirect("adesioni:adhesion_detail", pk)
    return _adhesion_action(request, pk, S.adhesion_send, M.MSG_D02)


@login_required
@require_POST
def adhesion_withdraw(request, pk):
    return _adhesion_action(request, pk, S.adhesion_withdraw, M.MSG_D03)


@login_required
@require_POST
def adhesion_delete(request, pk):
    adhesion = get_adhesion_for_user(request.user, pk=pk)
    try:
        result = S.adhesion_delete_draft(user=request.user, adhesion_id=pk, now=timezone.now())
    except S.AdesioniError as exc:
        _error(request, exc)
        return redirect("adesioni:adhesion_detail", pk)
    messages.success(
        request, _("La bozza dell'adesione %(c)s è stata eliminata.") % {"c": result.code}
    )
    return redirect(S.contract_url(adhesion.contract, "adesioni"))


@login_required
@require_POST
def adhesion_approve(request, pk):
    return _adhesion_action(request, pk, S.adhesion_approve, _("Adesione approvata."))


@login_required
@require_POST
def adhesion_refuse(request, pk):
    try:
        S.adhesion_refuse(
            user=request.user,
            adhesion_id=pk,
            reason=request.POST.get("reason", ""),
            now=timezone.now(),
        )
    except S.AdesioniError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("Adesione non approvata: l'aderente è stato avvisato."))
    return redirect("adesioni:adhesion_detail", pk)


def _serve_version(version, *, inline=False):
    response = FileResponse(
        version.file.open("rb"),
        as_attachment=not inline,
        filename=version.original_name,
        content_type=version.content_type,
    )
    return response


@login_required
def adhesion_document(request, pk, version_id):
    adhesion = get_adhesion_for_user(request.user, pk=pk)
    doc = adhesion.documents.filter(version_id=version_id).select_related("version").first()
    if doc is None:
        raise Http404
    return _serve_version(doc.version)


# --- orders ----------------------------------------------------------------------------------


@login_required
def order_create(request, pk):
    contract = get_contract_for_user(request.user, pk=pk)
    organisation, cost_centre = _acting(request)
    today = timezone.localdate()
    initial = {
        "data_adesione": today,
        "data_aggiudicazione": today,
        "oggetto_appalto": _("Adesione %(t)s – %(o)s")
        % {"t": contract.title[:200], "o": organisation.name},
        "oggetto_lotto": contract.title[:200],
        "oggetto_contratto": "services",
        "cost_centre_code": cost_centre.code if cost_centre is not None else "",
    }
    form = CigRequestForm(request.POST or None, organisation=organisation, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            order = S.order_create(
                user=request.user,
                contract=contract,
                organisation=organisation,
                rup=form.cleaned_data["rup"],
                cig_data=form.cig_data(),
                cost_centre=cost_centre,
                now=timezone.now(),
            )
        except S.AdesioniError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("adesioni:order_detail", order.pk)
    return render(request, "adesioni/cig_request_form.html", {"contract": contract, "form": form})


@login_required
def order_cig_request(request, pk):
    order = get_order_for_user(request.user, pk=pk)
    req = order.cig_request
    initial = {f: getattr(req, f) for f in CigRequestForm.base_fields if f != "rup"}
    initial["rup"] = order.rup_id
    form = CigRequestForm(request.POST or None, organisation=order.organisation, initial=initial)
    editable = order.status == OrderStatus.DRAFT and acts_for(request.user, order)
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and editable and form.is_valid():
        try:
            S.order_update_cig_request(
                user=request.user, order_id=order.pk, cig_data=form.cig_data(), now=timezone.now()
            )
        except S.AdesioniError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Richiesta CIG salvata."))
            return redirect("adesioni:order_detail", order.pk)
    return render(
        request,
        "adesioni/cig_request_form.html",
        {"contract": order.contract, "form": form, "order": order, "editable": editable},
    )


def _actor(request, order, now):
    """The ANAC identity of the order's RUP in a strong session, or None (MSG-D13)."""
    from procurement.pcp.services import PcpError, pcp_actor_for

    if request.user.pk != order.rup_id or not has_strong_auth(request, now):
        return None
    try:
        return pcp_actor_for(user=request.user, request=request, appalto=order.pcp_appalto, now=now)
    except PcpError as exc:
        logger.info("No ANAC actor for %s: %s", request.user, exc)
        return None


def _pending_operation(subject):
    if subject is None:
        return None
    from procurement.pcp.services import operation_in_progress

    return operation_in_progress(subject)


def _transmissions(order, user):
    try:
        from procurement.anac.operations import can_see_bodies, transmissions_for
    except ImportError:  # the kernel's log helpers are not there yet
        return [], False
    if order.pcp_appalto is None:
        return [], False
    try:
        return transmissions_for(order.pcp_appalto), can_see_bodies(user, order.pcp_appalto)
    except Exception:  # pragma: no cover - a broken log must not break the order page
        logger.exception("Log trasmissioni not available for %s", order.pk)
        return [], False


@login_required
def order_detail(request, pk):
    order = get_order_for_user(request.user, pk=pk)
    user = request.user
    now = timezone.now()
    operator = acts_for(user, order)
    actor = _actor(request, order, now)
    pending = order.status in (
        OrderStatus.CIG_CONFIRMATION_PENDING,
        OrderStatus.CIG_RETRIEVAL_PENDING,
    )
    if pending and actor is not None:
        # A reload by the RUP (strong session) makes the poll due now (§6.6).
        try:
            from procurement.pcp.services import pcp_request_poll

            pcp_request_poll(subject=order.pcp_appalto, user=user, actor=actor, now=now)
        except Exception as exc:
            logger.info("Reload poll not requested for %s: %s", order.pk, exc)
    operation = _pending_operation(order.pcp_appalto)
    stalled = operation is not None and str(operation.state) == "STALLED"
    step = request.GET.get("passo", "1")
    if step not in ("1", "2", "3", "log", "schede", "storia"):
        step = "1"
    schede = []
    if order.pcp_appalto is not None:
        from procurement.pcp.models import PcpScheda

        schede = list(PcpScheda.objects.filter(appalto=order.pcp_appalto).order_by("-created_at"))
    live_ann = [s for s in schede if s.code == "ANN" and str(s.status) != "DELETED"]
    from procurement.pcp.models import EXECUTION_PHASE_CODES

    execution_sent = any(
        s.code in EXECUTION_PHASE_CODES and str(s.status) in ("SENDING", "CONFIRMED")
        for s in schede
    )
    party = _sees_anac_data(user, order)
    rows, show_bodies = _transmissions(order, user) if step == "log" and party else ([], False)
    pec_text = (M.MSG_D06_B if order.hypothesis == "B" else M.MSG_D06_A) % {
        "pec": order.contract.supplier_pec
    }
    outcome = OutcomeNotice.objects.filter(order=order).first()
    try:
        log_template = get_template("anac/log_trasmissioni.html").template.name
    except TemplateDoesNotExist:
        log_template = ""
    return render(
        request,
        "adesioni/order_detail.html",
        {
            "order": order,
            "contract": order.contract,
            "step": step,
            "operator": operator,
            "is_rup": user.pk == order.rup_id,
            "strong": has_strong_auth(request, now),
            "actor_ok": actor is not None,
            "evaluator": is_evaluator(user, order.contract),
            "lines": order.lines.all(),
            "line_form": LineForm(),
            "editing_line": request.GET.get("riga"),
            "adhesions": S.approved_adhesions(
                order.contract, order.organisation, order.cost_centre
            ),
            "requirements": S.order_requirements(order),
            "documents": S.order_current_documents(order),
            "operation": operation,
            "stalled": stalled,
            "schede": [(sc, _scheda_error(sc)) for sc in schede] if party else [],
            "party": party,
            "anac_error": M.anac_error_display(order.last_anac_error),
            "banner_polling": _banner_pending(order),
            "sending_schede": _live_schede(order),
            "live_ann": live_ann,
            "execution_sent": execution_sent,
            "rows": rows,
            "show_bodies": show_bodies,
            "log_template": log_template,
            "warning": S.adhesion_orders_warning(order),
            "pec_text": pec_text,
            "outcome": outcome,
            "history": _history(order) if step == "storia" else [],
            "confirm": request.GET.get("conferma") == "1",
            "reason_form": ReasonForm(),
            "login_url": strong_login_url(request.get_full_path()),
            "M": M,
        },
    )


def _sees_anac_data(user, order) -> bool:
    """Schede and Log Trasmissioni (§8.1 rows 16, 18): aderente, banditore, operators."""
    return bool(
        user.is_superuser
        or user.is_staff
        or user.pk == order.rup_id
        or acts_for(user, order)
        or is_issuer_user(user, order.contract)
    )


def _scheda_error(scheda):
    if str(scheda.status) != "ERROR":
        return None
    from procurement.pcp.services import last_operation

    operation = last_operation(scheda)
    outcome = str(operation.state) if operation is not None else "KO"
    return M.anac_error_display({"errors": scheda.last_errors or [], "outcome": outcome})


def _live_schede(order):
    if order.pcp_appalto_id is None:
        return []
    from procurement.pcp.models import PcpScheda

    return list(PcpScheda.objects.filter(appalto_id=order.pcp_appalto_id, status="SENDING"))


def _banner_pending(order) -> bool:
    pending = order.status in (
        OrderStatus.CIG_CONFIRMATION_PENDING,
        OrderStatus.CIG_RETRIEVAL_PENDING,
    )
    return pending or bool(_live_schede(order))


@login_required
def order_banners(request, pk):
    """The orange "in corso" banners (§6.5), polled by htmx every 15 s while an operation is in
    progress; once nothing is pending the fragment has no trigger, so the polling stops."""
    order = get_order_for_user(request.user, pk=pk)
    operation = _pending_operation(order.pcp_appalto)
    return render(
        request,
        "adesioni/_order_banners.html",
        {
            "order": order,
            "stalled": operation is not None and str(operation.state) == "STALLED",
            "sending_schede": _live_schede(order),
            "banner_polling": _banner_pending(order),
            "finished": request.GET.get("da") == "1",
            "M": M,
        },
    )


def _scheda_for_user(user, pk, scheda_id):
    from procurement.pcp.models import PcpScheda

    order = get_order_for_user(user, pk=pk)
    if not _sees_anac_data(user, order) or order.pcp_appalto_id is None:
        raise Http404
    scheda = PcpScheda.objects.filter(pk=scheda_id, appalto_id=order.pcp_appalto_id).first()
    if scheda is None:
        raise Http404
    return order, scheda


@login_required
def scheda_banner(request, pk, scheda_id):
    """MSG-05 on the scheda page, polled by htmx every 15 s while the send is in progress; once
    the scheda has left SENDING the fragment has no trigger, so the polling stops."""
    order, scheda = _scheda_for_user(request.user, pk, scheda_id)
    return render(
        request,
        "adesioni/_scheda_banner.html",
        {
            "order": order,
            "scheda": scheda,
            "banner_polling": str(scheda.status) == "SENDING",
            "finished": request.GET.get("da") == "1",
            "M": M,
        },
    )


@login_required
def scheda_detail(request, pk, scheda_id):
    """Detail of a scheda (ANN): "Inserimento dati" and its own "log trasmissioni" (R-ADE-104)."""
    from procurement.anac.operations import can_see_bodies, transmissions_for

    order, scheda = _scheda_for_user(request.user, pk, scheda_id)
    tab = request.GET.get("tab", "dati")
    if tab not in ("dati", "log", "storia"):
        tab = "dati"
    now = timezone.now()
    return render(
        request,
        "adesioni/scheda_detail.html",
        {
            "order": order,
            "contract": order.contract,
            "scheda": scheda,
            "tab": tab,
            "error": _scheda_error(scheda),
            "rows": transmissions_for(scheda) if tab == "log" else [],
            "show_bodies": can_see_bodies(request.user, order.pcp_appalto),
            "actor_ok": _actor(request, order, now) is not None,
            "banner_polling": str(scheda.status) == "SENDING",
            "M": M,
        },
    )


@login_required
@require_POST
def order_pec(request, pk):
    """D-ADE-33: the optional "Ho inviato i documenti al fornitore via PEC" check box."""
    try:
        S.order_acknowledge_pec(
            user=request.user,
            order_id=pk,
            sent=request.POST.get("pec_sent") == "on",
            now=timezone.now(),
        )
    except S.AdesioniError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("Indicazione sull'invio via PEC salvata."))
    return _back(pk, "3")


def _back(pk, step="1"):
    return redirect(reverse("adesioni:order_detail", args=[pk]) + f"?passo={step}")


@login_required
@require_POST
def order_choose_adhesion(request, pk):
    try:
        S.order_choose_adhesion(
            user=request.user,
            order_id=pk,
            adhesion_id=request.POST.get("adhesion"),
            now=timezone.now(),
        )
    except S.AdesioniError as exc:
        _error(request, exc)
    return _back(pk)


@login_required
@require_POST
def order_line_save(request, pk):
    form = LineForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return _back(pk)
    try:
        S.order_line_save(
            user=request.user,
            order_id=pk,
            line_id=request.POST.get("line_id") or None,
            now=timezone.now(),
            **form.cleaned_data,
        )
    except S.AdesioniError as exc:
        _error(request, exc)
    return _back(pk)


@login_required
@require_POST
def order_line_delete(request, pk, line_id):
    try:
        S.order_line_delete(user=request.user, order_id=pk, line_id=line_id, now=timezone.now())
    except S.AdesioniError as exc:
        _error(request, exc)
    return _back(pk)


@login_required
@require_POST
def order_document_upload(request, pk):
    uploaded = request.FILES.get("file")
    if not uploaded:
        messages.error(request, _("Selezionare il file da caricare."))
        return _back(pk)
    try:
        S.order_upload_document(
            user=request.user,
            order_id=pk,
            requirement_id=request.POST.get("requirement"),
            uploaded_file=uploaded,
            now=timezone.now(),
        )
    except S.AdesioniError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("Documento caricato."))
    return _back(pk)


def _anac_action(request, pk, action, success):
    order = get_order_for_user(request.user, pk=pk)
    now = timezone.now()
    if request.user.pk == order.rup_id and not has_strong_auth(request, now):
        messages.info(request, str(M.MSG_D13))
        return redirect(strong_login_url(reverse("adesioni:order_detail", args=[pk])))
    actor = _actor(request, order, now)
    if actor is None:
        messages.error(request, str(M.MSG_D13))
        return _back(pk)
    try:
        action(user=request.user, order_id=pk, actor=actor, now=now)
    except S.AdesioniError as exc:
        _error(request, exc)
    else:
        messages.warning(request, str(success))
    return _back(pk)


@login_required
@require_POST
def order_confirm_appalto(request, pk):
    return _anac_action(request, pk, S.order_confirm_appalto, M.MSG_02)


@login_required
@require_POST
def order_acquire_cig(request, pk):
    return _anac_action(request, pk, S.order_acquire_cig, M.MSG_04)


@login_required
def order_summary_pdf(request, pk):
    order = get_order_for_user(request.user, pk=pk)
    if order.summary_generated is None:
        messages.info(request, str(M.MSG_D08))
        return _back(pk, "2")
    return _serve_version(order.summary_generated)


@login_required
def order_document(request, pk, version_id):
    order = get_order_for_user(request.user, pk=pk)
    ids = set(order.documents.values_list("version_id", flat=True))
    ids |= {order.summary_generated_id, order.summary_signed_id}
    if int(version_id) not in ids:
        raise Http404
    from procurement.documents.models import DocumentVersion

    return _serve_version(DocumentVersion.objects.get(pk=version_id))


@login_required
@require_POST
def order_signed_summary(request, pk):
    uploaded = request.FILES.get("file")
    if not uploaded:
        messages.error(request, _("Selezionare il file firmato da caricare."))
        return _back(pk, "2")
    try:
        S.order_upload_signed_summary(
            user=request.user, order_id=pk, uploaded_file=uploaded, now=timezone.now()
        )
    except S.AdesioniError as exc:
        _error(request, exc)
        return _back(pk, "2")
    messages.success(request, _("Scheda di sintesi firmata caricata."))
    return _back(pk, "2")


@login_required
def order_send(request, pk):
    if request.method != "POST":
        return redirect(reverse("adesioni:order_detail", args=[pk]) + "?passo=3&conferma=1")
    if request.POST.get("risposta") != "si":
        return _back(pk, "3")
    try:
        order = S.order_send(user=request.user, order_id=pk, now=timezone.now())
    except S.AdesioniError as exc:
        _error(request, exc)
        return _back(pk, "3")
    messages.success(request, str(M.MSG_D05))
    pec = M.MSG_D06_B if order.hypothesis == "B" else M.MSG_D06_A
    messages.warning(request, str(pec) % {"pec": order.contract.supplier_pec})
    return _back(pk, "3")


def _order_action(request, pk, action, success, step="1", **extra):
    try:
        action(user=request.user, order_id=pk, now=timezone.now(), **extra)
    except S.AdesioniError as exc:
        _error(request, exc)
    else:
        messages.success(request, str(success))
    return _back(pk, step)


@login_required
@require_POST
def order_approve(request, pk):
    return _order_action(
        request, pk, S.order_approve, _("Nulla osta rilasciato: ordinativo approvato."), "3"
    )


@login_required
@require_POST
def order_refuse(request, pk):
    return _order_action(
        request,
        pk,
        S.order_refuse,
        _("Ordinativo rifiutato."),
        "3",
        reason=request.POST.get("reason", ""),
    )


@login_required
@require_POST
def order_reopen(request, pk):
    return _order_action(request, pk, S.order_reopen, _("Ordinativo riaperto."), "2")


@login_required
@require_POST
def order_delete(request, pk):
    order = get_order_for_user(request.user, pk=pk)
    actor = _actor(request, order, timezone.now())
    try:
        result = S.order_delete_draft(
            user=request.user, order_id=pk, actor=actor, now=timezone.now()
        )
    except S.AdesioniError as exc:
        _error(request, exc)
        return _back(pk)
    if result.status == OrderStatus.DELETED:
        messages.success(request, _("Bozza dell'ordinativo eliminata."))
        return redirect(S.contract_url(order.contract, "ordinativi"))
    messages.warning(request, _("Cancellazione dell'appalto su ANAC in corso."))
    return _back(pk)


# --- esito -----------------------------------------------------------------------------------


@login_required
def outcome_edit(request, pk):
    order = get_order_for_user(request.user, pk=pk)
    if not acts_for(request.user, order):
        raise Http404
    notice = OutcomeNotice.objects.filter(order=order).first()
    initial = {
        "award_date": timezone.localtime(order.approved_at).date() if order.approved_at else None,
        "duration_to": order.adhesion.planned_end_date if order.adhesion else None,
    }
    if notice is not None:
        initial = {
            "award_date": notice.award_date,
            "duration_from": notice.duration_from,
            "duration_to": notice.duration_to,
            "notes": notice.notes,
        }
    form = OutcomeForm(request.POST or None, initial=initial)
    summary = request.GET.get("riepilogo") == "1" and notice is not None
    if request.method == "POST" and form.is_valid():
        try:
            S.outcome_notice_save(
                user=request.user, order_id=pk, now=timezone.now(), **form.cleaned_data
            )
        except S.AdesioniError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(reverse("adesioni:outcome_edit", args=[pk]) + "?riepilogo=1")
    return render(
        request,
        "adesioni/outcome_form.html",
        {
            "order": order,
            "contract": order.contract,
            "form": form,
            "notice": notice,
            "summary": summary,
        },
    )


@login_required
@require_POST
def outcome_publish(request, pk):
    try:
        S.outcome_notice_publish(user=request.user, order_id=pk, now=timezone.now())
    except S.AdesioniError as exc:
        _error(request, exc)
        return redirect("adesioni:outcome_edit", pk)
    messages.success(request, str(M.MSG_D07))
    return _back(pk, "3")


def public_outcomes(request):
    """ "Aggiudicazioni e affidamenti": public, no login."""
    qs = S.published_outcomes().order_by("-published_at")
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(
            Q(order__derived_cig__iexact=q)
            | Q(order__organisation__name__icontains=q)
            | Q(order__contract__title__icontains=q)
        )
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(request, "adesioni/public_outcomes.html", {"page": page, "q": q})


# --- schede ----------------------------------------------------------------------------------


def _scheda_action(request, pk, action, success, **extra):
    order = get_order_for_user(request.user, pk=pk)
    now = timezone.now()
    actor = _actor(request, order, now)
    if actor is None:
        messages.error(request, str(M.MSG_D13))
        return _back(pk, "schede")
    try:
        action(user=request.user, order_id=pk, actor=actor, now=now, **extra)
    except S.AdesioniError as exc:
        _error(request, exc)
    else:
        if success:
            messages.warning(request, str(success))
    return _back(pk, "schede")


@login_required
@require_POST
def scheda_ann_create(request, pk):
    order = get_order_for_user(request.user, pk=pk)
    if _actor(request, order, timezone.now()) is None:
        messages.error(request, str(M.MSG_D13))
        return _back(pk, "schede")
    try:
        S.scheda_ann_create(user=request.user, order_id=pk, now=timezone.now())
    except S.AdesioniError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("Scheda ANN salvata in bozza."))
    return _back(pk, "schede")


@login_required
@require_POST
def scheda_ann_send(request, pk, scheda_id):
    return _scheda_action(request, pk, S.scheda_ann_send, M.MSG_05, scheda_id=scheda_id)


@login_required
@require_POST
def scheda_ann_verify(request, pk, scheda_id):
    return _scheda_action(
        request, pk, S.scheda_ann_verify, _("Verifica dell'invio richiesta."), scheda_id=scheda_id
    )


@login_required
@require_POST
def scheda_ann_delete(request, pk, scheda_id):
    return _scheda_action(
        request,
        pk,
        S.scheda_ann_delete,
        _("Eliminazione della scheda richiesta."),
        scheda_id=scheda_id,
    )


# --- comunicazioni ---------------------------------------------------------------------------


@login_required
def message_create(request, pk):
    contract = get_contract_for_user(request.user, pk=pk)
    own = adherent_organisations(request.user).first()
    party = S.party_of(request.user, contract, own)
    if not party:
        raise Http404
    reply_to = None
    if request.GET.get("risposta"):
        reply_to = (
            S.messages_visible_to(request.user, contract).filter(pk=request.GET["risposta"]).first()
        )
    form = MessageForm(
        request.POST or None,
        request.FILES or None,
        sender_party=party,
        initial={"subject": f"Re: {reply_to.subject}"} if reply_to else None,
    )
    if request.method == "POST" and form.is_valid():
        attachment = None
        try:
            if form.cleaned_data.get("attachment"):
                org = {"ADHERENT": own, "ISSUER": contract.issuer, "SUPPLIER": contract.supplier}[
                    party
                ]
                attachment = S._upload(
                    user=request.user,
                    organisation=org,
                    use=S.USE_DOCUMENT,
                    title=form.cleaned_data["subject"],
                    uploaded_file=form.cleaned_data["attachment"],
                    now=timezone.now(),
                    signed=False,
                )
            S.message_send(
                user=request.user,
                contract=contract,
                kind=form.cleaned_data["kind"],
                recipient_party=form.cleaned_data["recipient_party"],
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                attachment=attachment,
                in_reply_to=reply_to,
                recipient_organisation=reply_to.sender_organisation
                if reply_to is not None
                and form.cleaned_data["recipient_party"] == reply_to.sender_party
                else None,
                now=timezone.now(),
            )
        except S.AdesioniError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Comunicazione inviata."))
            return redirect(S.contract_url(contract, "comunicazioni"))
    return render(
        request,
        "adesioni/message_form.html",
        {"contract": contract, "form": form, "reply_to": reply_to},
    )


@login_required
def message_detail(request, pk, message_id):
    contract = get_contract_for_user(request.user, pk=pk)
    message = S.messages_visible_to(request.user, contract).filter(pk=message_id).first()
    if message is None:
        raise Http404
    message.read_by.add(request.user)
    return render(
        request, "adesioni/message_detail.html", {"contract": contract, "message": message}
    )
