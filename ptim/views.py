"""Pages of "Gestione Contratti": parse, call one service, render."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import messages as M
from . import services
from .access import (
    can_supervise,
    dt_directorates,
    get_agreement_for,
    get_contract_for,
    get_membership_for,
    is_dg,
    is_dt,
    owns,
    sa_organisation,
    user_type_of,
    visible_agreements,
    visible_contracts,
)
from .amounts import (
    agreement_booked,
    agreement_committed,
    agreement_residual,
    chapter_residual,
    euro,
    operator_booked,
    operator_committed,
    operator_residual,
    parse_amount,
    planned_with_variations,
    total_with_variations,
)
from .deadlines import lapsed, local_date
from .models import (
    AgreementOperator,
    ClearanceLevel,
    ContractState,
    InterventionCategory,
    InterventionType,
    OperatorStatus,
    Receipt,
    ReferencePeriod,
    Refusal,
    TerritorialArea,
    Variation,
    VariationKind,
)
from .services import MINISTRY_TYPES, PtimError, Unavailable

AMOUNT_FIELDS = ("works_amount", "safety_costs", "og1_amount", "og2_amount", "og11_amount")
SCREEN1 = (
    "period",
    "territorial_area",
    "required_clearance",
    *AMOUNT_FIELDS,
    *services.RUP_FIELDS,
)
SCREEN2 = (
    "description",
    "intervention_category",
    "spending_chapter",
    "intervention_identifier",
    "plan_year",
    "intervention_type",
    "measured_basis_confirmed",
)


def _now():
    return timezone.now()


@login_required
def landing(request):
    user = request.user
    return render(
        request,
        "ptim/landing.html",
        {
            "a01": M.A01,
            "can_book": sa_organisation(user) is not None,
            "supervisor": is_dg(user) or is_dt(user),
            "recent": visible_contracts(user).select_related("membership__operator")[:10],
        },
    )


# --- insertion ----------------------------------------------------------------------------------


def _parse(post) -> tuple[dict, dict]:
    """Raw POST → data for the services; amount parse errors by field."""
    data, errors = {}, {}
    for name in (*SCREEN1, *SCREEN2):
        data[name] = (post.get(name) or "").strip()
    for name in AMOUNT_FIELDS:
        raw = data[name]
        if raw == "":
            continue
        try:
            data[name] = parse_amount(raw)
        except ValueError:
            errors[name] = [_("Importo non valido: usare il formato 1.234,56.")]
    data["measured_basis_confirmed"] = post.get("measured_basis_confirmed") == "on"
    return data, errors


def _form_context(request, *, data, errors=None, step="1", **extra):
    user = request.user
    profile_org = sa_organisation(user)
    ctx = {
        "data": data,
        "raw": request.POST if request.method == "POST" else {},
        "errors": errors or {},
        "step": step,
        "periods": ReferencePeriod.objects.filter(selectable=True),
        "areas": _areas_for(user),
        "levels": ClearanceLevel.choices,
        "categories": InterventionCategory.objects.filter(active=True),
        "types": InterventionType.objects.all(),
        "ministry": user_type_of(user) in MINISTRY_TYPES,
        "a02": M.A02,
        "a06": M.A06,
        "a42": M.A42,
        "office_default": profile_org.ptim_profile.institutional_email if profile_org else "",
        "office_name_default": profile_org.name if profile_org else "",
        "screen1": SCREEN1,
        "screen2": SCREEN2,
    }
    ctx.update(extra)
    return ctx


def _areas_for(user):
    """Areas within the user's territorial competence (D-21); all for the DG."""
    from .access import competence_areas

    areas = TerritorialArea.objects.all()
    allowed = set() if is_dg(user) else competence_areas(user)
    return areas.filter(pk__in=allowed) if allowed else areas


def _errors_of(exc: PtimError) -> dict:
    return {k: [str(m) for m in v] for k, v in exc.errors.items()}


@login_required
def contract_create(request):
    """ "Inserimento Contratto": screen 1 → "Avanti" → screen 2 → "Salva" → "Conferma dati"."""
    user = request.user
    if sa_organisation(user) is None:
        raise PermissionDenied
    now = _now()
    if request.method != "POST":
        return render(request, "ptim/contract_form.html", _form_context(request, data={}))
    step = request.POST.get("step", "avanti")
    progressive = (request.POST.get("annulled_progressive") or "").strip()
    if progressive:
        return _rebook(request, progressive, step, now)
    data, parse_errors = _parse(request.POST)
    if parse_errors:
        ctx = _form_context(request, data=data, errors=parse_errors)
        return render(request, "ptim/contract_form.html", ctx, status=400)
    if step == "edit1":
        return render(request, "ptim/contract_form.html", _form_context(request, data=data))
    if step == "modifica":
        step = "avanti"
    try:
        intervention = services.check_intervention(user=user, data=data, now=now)
        selection = services.propose_operator(user=user, intervention=intervention, now=now)
    except Unavailable as exc:
        ctx = _form_context(request, data=data, unavailable=exc)
        return render(request, "ptim/contract_form.html", ctx, status=400)
    except PtimError as exc:
        ctx = _form_context(request, data=data, errors=_errors_of(exc))
        return render(request, "ptim/contract_form.html", ctx, status=400)
    chapters = services.chapters_for(user=user, agreement=intervention.agreement)
    ctx = _form_context(
        request,
        data=data,
        step="2",
        intervention=intervention,
        selection=selection,
        chapters=chapters,
        total=euro(selection.amount),
        planned=euro(intervention.planned),
    )
    if step == "avanti":
        return render(request, "ptim/contract_form.html", ctx)
    try:
        if step == "salva":
            intervention, selection, descriptive = services.preview_booking(
                user=user, data=data, now=now
            )
            ctx.update(step="preview", descriptive=descriptive, selection=selection)
            ctx["total"] = euro(selection.amount)
            return render(request, "ptim/contract_form.html", ctx)
        if step == "conferma":
            contract = services.book_operator(
                user=user,
                data=data,
                expected_membership_id=request.POST.get("expected_membership"),
                now=now,
            )
            messages.success(
                request,
                _("Prenotazione confermata: contratto n. %(p)s.") % {"p": contract.progressive},
            )
            return redirect("ptim:contract-detail", contract.pk)
    except Unavailable as exc:
        ctx.update(step="2", unavailable=exc)
        return render(request, "ptim/contract_form.html", ctx, status=400)
    except PtimError as exc:
        if exc.code == "changed":
            ctx.update(step="2", notice=exc.message)
        else:
            ctx.update(step="2", errors=_errors_of(exc))
        return render(request, "ptim/contract_form.html", ctx, status=400)
    raise Http404


def _rebook(request, progressive, step, now):
    user = request.user
    try:
        old = services.find_rebookable(user=user, progressive=progressive)
    except PtimError as exc:
        ctx = _form_context(request, data={}, errors={"annulled_progressive": [exc.message]})
        return render(request, "ptim/contract_form.html", ctx, status=400)
    if step == "riprenota":
        try:
            contract = services.rebook_operator(
                user=user,
                progressive=progressive,
                measured_basis_confirmed=request.POST.get("measured_basis_confirmed") == "on",
                now=now,
            )
        except PtimError as exc:
            ctx = (
                _form_context(request, data={}, step="rebook", old=old, unavailable=exc)
                if isinstance(exc, Unavailable)
                else _form_context(request, data={}, step="rebook", old=old, errors=_errors_of(exc))
            )
            return render(request, "ptim/contract_form.html", ctx, status=400)
        messages.success(
            request,
            _("Riprenotazione confermata: contratto n. %(p)s.") % {"p": contract.progressive},
        )
        return redirect("ptim:contract-detail", contract.pk)
    ctx = _form_context(request, data={}, step="rebook", old=old)
    return render(request, "ptim/contract_form.html", ctx)


# --- contract page ------------------------------------------------------------------------------


def _operations(user, contract, now) -> dict:
    """The "Seleziona operazione" menu (spec §4.6)."""
    own = owns(user, contract)
    sup = can_supervise(user, contract.agreement)
    state = contract.state
    ops = {}
    booking_open = state == ContractState.BOOKED and not lapsed(contract.acceptance_deadline, now)
    stipula_open = state == ContractState.ACCEPTED and not lapsed(contract.stipula_deadline, now)
    if booking_open and own:
        ops["accept"] = _("Accettazione contratto")
        ops["waiver"] = _("Rinuncia impresa")
    if stipula_open and own:
        ops["confirm"] = _("Conferma contratto")
        if services.can_extend(contract, now):
            ops["extend"] = _("Proroga stipula")
    if (booking_open or stipula_open) and sup:
        ops["annul"] = _("Annulla contratto")
    if state == ContractState.DEFINITIVE:
        if sup:
            ops["rescind"] = _("Rescissione/Risoluzione")
        if own or sup:
            ops["variation"] = _("Inserisci Variante")
    if state == ContractState.ANNULLED and own and not hasattr(contract, "successor"):
        if contract.annulment_kind == "CLEARANCE_LAPSED":
            ops["replace"] = _("Prosegui con altro operatore")
        else:
            ops["rebook"] = _("Riprenota operatore")
    if is_dg(user):
        ops["dg_edit"] = _("Modifica contratto")
    return ops


@login_required
def contract_detail(request, pk):
    user = request.user
    contract = get_contract_for(user, pk=pk)
    now = _now()
    ops = _operations(user, contract, now)
    term_lapsed = (
        contract.state == ContractState.BOOKED and lapsed(contract.acceptance_deadline, now)
    ) or (contract.state == ContractState.ACCEPTED and lapsed(contract.stipula_deadline, now))
    clearance_warning = bool(
        contract.required_clearance
        and contract.state == ContractState.ACCEPTED
        and not contract.membership.operator.holds(contract.required_clearance, local_date(now))
    )
    proposal = None
    if "waiver" in ops:
        proposal = services.waiver_proposal(contract=contract, now=now)
    variations = contract.variations.select_related("created_by").prefetch_related("documents")
    return render(
        request,
        "ptim/contract_detail.html",
        {
            "c": contract,
            "ops": ops,
            "term_lapsed": term_lapsed,
            "clearance_warning": clearance_warning,
            "proposal": proposal,
            "proposal_total": euro(proposal.amount) if proposal else "",
            "bookings": contract.bookings.select_related("membership__operator"),
            "variations": variations,
            "variation_kinds": VariationKind.choices,
            "receipts": contract.receipts.all(),
            "refusals": contract.refusals.select_related("membership__operator"),
            "amounts": {
                "works": euro(contract.works_amount),
                "safety": euro(contract.safety_costs),
                "planned": euro(contract.planned_amount),
                "og1": euro(contract.og1_amount),
                "og2": euro(contract.og2_amount),
                "og11": euro(contract.og11_amount),
                "prevalent": euro(contract.prevalent_amount),
                "total": euro(contract.total_amount),
                "planned_var": euro(planned_with_variations(contract)),
                "total_var": euro(total_with_variations(contract)),
                "paid": euro(contract.amount_paid),
                "due": euro(contract.amount_due),
            },
            "is_dg": is_dg(user),
            "supervisor": can_supervise(user, contract.agreement),
            "a06": M.A06,
            "a08": M.A08,
            "chapters": services.chapters_for(user=user, agreement=contract.agreement)
            if is_dg(user)
            else [],
        },
    )


def _amount(post, name):
    raw = (post.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_amount(raw)
    except ValueError as exc:
        raise PtimError(errors={name: [_("Importo non valido.")]}) from exc


@login_required
@require_POST
def contract_action(request, pk, action):
    """Every operation of the menu: one service call each."""
    user = request.user
    contract = get_contract_for(user, pk=pk)
    now = _now()
    post, files = request.POST, request.FILES
    try:
        if action == "accept":
            services.accept_contract(
                user=user, contract_id=pk, document=files.get("document"), now=now
            )
            messages.success(request, _("Accettazione registrata."))
        elif action == "extend":
            services.extend_stipula_deadline(user=user, contract_id=pk, now=now)
            messages.success(request, _("Proroga del termine di stipula registrata."))
        elif action == "confirm":
            result = services.confirm_contract(
                user=user, contract_id=pk, document=files.get("document"), now=now
            )
            if result.clearance_lapsed:
                messages.error(request, M.A08)
            else:
                messages.success(request, _("Contratto confermato: stato Definitivo."))
        elif action == "waiver":
            result = services.register_waiver(
                user=user,
                contract_id=pk,
                document=files.get("document"),
                lapse_declaration=post.get("lapse_declaration") == "on",
                expected_membership_id=int(post.get("expected_membership") or 0),
                now=now,
            )
            if result.replaced:
                messages.success(
                    request,
                    _("Rinuncia registrata: prenotato l’operatore %(o)s.")
                    % {"o": result.contract.membership.operator.name},
                )
            else:
                messages.warning(request, result.message)
        elif action == "annul":
            services.annul_contract(user=user, contract_id=pk, reason=post.get("reason"), now=now)
            messages.success(request, _("Contratto annullato."))
        elif action == "replace":
            result = services.book_replacement_after_clearance_lapse(
                user=user, contract_id=pk, now=now
            )
            if result.contract is None:
                messages.warning(request, result.message)
            else:
                messages.success(
                    request,
                    _("Prenotato il contratto n. %(p)s.") % {"p": result.contract.progressive},
                )
                return redirect("ptim:contract-detail", result.contract.pk)
        elif action == "variation":
            services.add_variation(
                user=user,
                contract_id=pk,
                kind=post.get("kind") or VariationKind.VARIANT,
                description=post.get("description"),
                works_amount=_amount(post, "works_amount") or 0,
                non_discounted_amount=_amount(post, "non_discounted_amount") or 0,
                documents=files.getlist("documents"),
                confirm_negative=post.get("confirm_negative") == "on",
                now=now,
            )
            messages.success(request, _("Variazione inserita."))
        elif action == "rescind":
            raw_date = post.get("rescission_date") or ""
            try:
                rdate = datetime.date.fromisoformat(raw_date)
            except ValueError:
                rdate = None
            services.rescind_contract(
                user=user,
                contract_id=pk,
                reason=post.get("reason"),
                rescission_date=rdate,
                amount_paid=_amount(post, "amount_paid"),
                amount_due=_amount(post, "amount_due"),
                document=files.get("document"),
                now=now,
            )
            messages.success(request, _("Rescissione/risoluzione registrata."))
        elif action == "dg_edit":
            services.update_contract_descriptive_data(
                user=user, contract_id=pk, data=post.dict(), now=now
            )
            messages.success(request, _("Dati del contratto modificati."))
        else:
            raise Http404
    except PtimError as exc:
        messages.error(request, exc.message)
    return redirect("ptim:contract-detail", contract.pk)


@login_required
@require_POST
def variation_action(request, pk, action):
    user = request.user
    variation = Variation.objects.filter(pk=pk).first()
    if variation is None:
        raise Http404
    contract = get_contract_for(user, pk=variation.contract_id)
    now = _now()
    try:
        if action == "update":
            services.update_variation(
                user=user,
                variation_id=pk,
                works_amount=_amount(request.POST, "works_amount") or 0,
                non_discounted_amount=_amount(request.POST, "non_discounted_amount") or 0,
                confirm_negative=request.POST.get("confirm_negative") == "on",
                now=now,
            )
            messages.success(request, _("Variazione modificata."))
        elif action == "annul":
            services.annul_variation(
                user=user,
                variation_id=pk,
                note=request.POST.get("note"),
                confirm_negative=request.POST.get("confirm_negative") == "on",
                now=now,
            )
            messages.success(request, _("Variazione annullata."))
        else:
            raise Http404
    except PtimError as exc:
        messages.error(request, exc.message)
    return redirect("ptim:contract-detail", contract.pk)


@login_required
def receipt_download(request, pk):
    receipt = Receipt.objects.filter(pk=pk).select_related("contract").first()
    if receipt is None or receipt.contract is None:
        raise Http404
    get_contract_for(request.user, pk=receipt.contract_id)
    if not receipt.file:
        return HttpResponse(
            _("La ricevuta è in preparazione: riprovare tra qualche istante."), status=202
        )
    return FileResponse(
        receipt.file.open("rb"),
        content_type="application/pdf",
        filename=f"ricevuta-{receipt.context.get('progressive', receipt.pk)}.pdf",
    )


# --- search -------------------------------------------------------------------------------------


@login_required
def contract_search(request):
    qs = visible_contracts(request.user).select_related(
        "membership__operator", "agreement", "contracting_authority", "lot", "spending_chapter"
    )
    g = request.GET
    if g.get("q"):
        q = g["q"].strip()
        qs = qs.filter(
            Q(progressive__iexact=q)
            | Q(description__icontains=q)
            | Q(intervention_identifier__iexact=q)
            | Q(membership__operator__name__icontains=q)
        )
    if g.get("state") in ContractState.values:
        qs = qs.filter(state=g["state"])
    if g.get("agreement"):
        qs = qs.filter(agreement_id=g["agreement"]) if g["agreement"].isdigit() else qs.none()
    page = Paginator(qs.order_by("-progressive_root", "-rebooking_index"), 50).get_page(
        g.get("page")
    )
    return render(
        request,
        "ptim/contract_list.html",
        {"page": page, "states": ContractState.choices, "filters": g},
    )


# --- agreements ---------------------------------------------------------------------------------


@login_required
def agreement_list(request):
    agreements = visible_agreements(request.user).select_related("territorial_area", "period")
    rows = [(a, euro(agreement_residual(a))) for a in agreements.prefetch_related("lots")]
    return render(request, "ptim/agreement_list.html", {"rows": rows})


@login_required
def agreement_detail(request, pk):
    user = request.user
    agreement = get_agreement_for(user, pk=pk)
    members = []
    for m in agreement.operators.select_related("operator").prefetch_related(
        "operator__clearances"
    ):
        residual = operator_residual(m)
        members.append(
            {
                "m": m,
                "threshold": euro(m.threshold),
                "booked": euro(operator_booked(m)),
                "committed": euro(operator_committed(m)),
                "residual": euro(residual),
                "exhausted": residual <= 0,
            }
        )
    ceilings = [
        {"c": c, "amount": euro(c.amount), "residual": euro(chapter_residual(agreement, c.chapter))}
        for c in agreement.ceilings.select_related("chapter")
    ]
    return render(
        request,
        "ptim/agreement_detail.html",
        {
            "a": agreement,
            "members": members,
            "ceilings": ceilings,
            "base": euro(agreement.base_amount),
            "increase": euro(agreement.increase_amount),
            "booked": euro(agreement_booked(agreement)),
            "committed": euro(agreement_committed(agreement)),
            "residual": euro(agreement_residual(agreement)),
            "contracts": agreement.contracts.select_related(
                "membership__operator", "contracting_authority"
            )[:200],
            "is_dg": is_dg(user),
            "supervisor": can_supervise(user, agreement),
        },
    )


@login_required
@require_POST
def agreement_action(request, pk, action):
    user = request.user
    agreement = get_agreement_for(user, pk=pk)
    now = _now()
    try:
        if action == "increase":
            services.increase_agreement_ceiling(
                user=user,
                agreement_id=pk,
                reference_works=_amount(request.POST, "reference_works") or 0,
                reference_safety=_amount(request.POST, "reference_safety") or 0,
                motivation=request.POST.get("motivation"),
                now=now,
            )
            messages.success(request, _("Incremento del massimale applicato."))
        elif action == "ceiling":
            services.set_chapter_ceiling(
                user=user,
                agreement_id=pk,
                chapter_id=int(request.POST.get("chapter") or 0),
                amount=_amount(request.POST, "amount"),
                now=now,
            )
            messages.success(request, _("Massimale del capitolo aggiornato."))
        else:
            raise Http404
    except PtimError as exc:
        messages.error(request, exc.message)
    return redirect("ptim:agreement-detail", agreement.pk)


# --- operators and refusals ---------------------------------------------------------------------


@login_required
def operator_management(request):
    """ "Gestione Operatore" (competent DT, DG)."""
    user = request.user
    if not (is_dg(user) or is_dt(user)):
        raise PermissionDenied
    qs = AgreementOperator.objects.select_related("operator", "agreement")
    if not is_dg(user):
        qs = qs.filter(agreement__directorate__in=dt_directorates(user))
    return render(request, "ptim/operator_list.html", {"members": qs})


@login_required
def refusals(request, membership_pk):
    """ "Gestione Rifiuti" of one operator on one AQ, with the exclusion history at the foot."""
    user = request.user
    m = get_membership_for(user, pk=membership_pk)
    now = _now()
    rows = []
    for r in m.refusals.select_related("contract").order_by("booked_at", "pk"):
        rows.append(
            {
                "r": r,
                "handleable": services.refusal_handleable(r, now),
                "expired_msg": M.a30(r.handling_deadline)
                if r.justified is None and not services.refusal_handleable(r, now)
                else "",
            }
        )
    return render(
        request,
        "ptim/refusals.html",
        {
            "m": m,
            "rows": rows,
            "events": m.events.select_related("by"),
            "contracts": m.contracts.all(),
            "is_dg": is_dg(user),
            "competent": services.is_competent_dt(user, m.agreement),
            "a32": M.A32,
            "active": m.status == OperatorStatus.ACTIVE,
        },
    )


@login_required
@require_POST
def refusal_action(request, membership_pk, action):
    user = request.user
    m = get_membership_for(user, pk=membership_pk)
    now = _now()
    post = request.POST
    try:
        if action == "handle":
            refusal = Refusal.objects.filter(pk=post.get("refusal"), membership=m).first()
            if refusal is None:
                raise Http404
            result = services.handle_refusal(
                user=user,
                refusal_id=refusal.pk,
                justified=post.get("justified") == "SI",
                motivation=post.get("motivation"),
                now=now,
            )
            messages.success(request, _("Giustificazione registrata."))
            if getattr(result, "excluded", False):
                messages.warning(request, M.A32)
        elif action == "unlock":
            refusal = Refusal.objects.filter(pk=post.get("refusal"), membership=m).first()
            if refusal is None:
                raise Http404
            services.unlock_refusal(
                user=user, refusal_id=refusal.pk, motivation=post.get("motivation"), now=now
            )
            messages.success(request, _("Gestione del rifiuto sbloccata."))
        elif action == "exclude":
            services.exclude_operator(
                user=user, membership_id=m.pk, motivation=post.get("motivation"), now=now
            )
            messages.warning(request, M.A32)
        elif action == "readmit":
            services.readmit_operator(
                user=user, membership_id=m.pk, motivation=post.get("motivation"), now=now
            )
            messages.success(request, _("Operatore riammesso."))
        else:
            raise Http404
    except PtimError as exc:
        messages.error(request, exc.message)
    return redirect("ptim:refusals", m.pk)


@login_required
def operator_report(request):
    """ "REPORT OPERATORE": activity count per operator within the user's competence."""
    contracts = visible_contracts(request.user)
    rows = {}
    for c in contracts.select_related("membership__operator"):
        op = c.membership.operator
        rows.setdefault(op.pk, {"op": op, "count": 0})
        rows[op.pk]["count"] += 1
    return render(request, "ptim/operator_report.html", {"rows": rows.values()})


@login_required
def operator_history(request, operator_pk):
    contracts = (
        visible_contracts(request.user)
        .filter(
            Q(membership__operator_id=operator_pk)
            | Q(bookings__membership__operator_id=operator_pk)
        )
        .distinct()
        .select_related("agreement", "contracting_authority")
    )
    return render(request, "ptim/operator_history.html", {"contracts": contracts})


@login_required
def guide(request):
    """ "GUIDA OPERATIVA": the module's guide as a PDF (D-50), rendered once and then served."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    name = "ptim/guida-operativa-ptim.pdf"
    if not default_storage.exists(name):
        from django.template.loader import render_to_string
        from weasyprint import HTML

        html = render_to_string("ptim/pdf/guide.html", {"a01": M.A01, "a02": M.A02, "a06": M.A06})
        default_storage.save(name, ContentFile(HTML(string=html).write_pdf()))
    return FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=True,
        filename="guida-operativa-ptim.pdf",
        content_type="application/pdf",
    )
