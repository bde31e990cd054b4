"""Pages of "Gestione Contratti": parse, call one service, render."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
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
    ClearanceKind,
    ClearanceLevel,
    Contract,
    ContractState,
    FrameworkAgreement,
    InterventionCategory,
    InterventionType,
    Lot,
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


def _live_amount(raw):
    try:
        return parse_amount(raw) if (raw or "").strip() else None
    except ValueError:
        return None


@login_required
def contract_create_live(request):
    """Screen 1/2 of "Inserimento Contratto", refreshed by htmx (R-PTIM-009, R-PTIM-031).

    `part=calc`: planned amount and lot from the amounts typed so far, plus the areas of that
    lot within the user's competence (out-of-band swap of the area list). `part=residuals`
    (polled): the residual availability of the AQ in force, of its chapters and of its
    operators at the time of the request, and the operator the system would designate now.
    `part=rebook`: the check of "Progressivo contratto annullato" on leaving the field
    (R-PTIM-105). GET only: nothing is written.
    """
    user = request.user
    if sa_organisation(user) is None:
        raise PermissionDenied
    from .selection import ranking, select_operator

    g, now = request.GET, _now()
    part = g.get("part", "calc")
    if part == "rebook":
        progressive = (g.get("annulled_progressive") or "").strip()
        message = ""
        if progressive:
            try:
                services.find_rebookable(user=user, progressive=progressive)
            except PtimError as exc:
                message = exc.message
        return render(
            request, "ptim/_live_rebook.html", {"message": message, "progressive": progressive}
        )
    amounts = {name: _live_amount(g.get(name)) for name in AMOUNT_FIELDS}
    period = ReferencePeriod.objects.filter(pk=g.get("period") or 0, selectable=True).first()
    works, safety = amounts["works_amount"], amounts["safety_costs"]
    planned = works + safety if works is not None and safety is not None else None
    cats = [amounts[n] for n in ("og1_amount", "og2_amount", "og11_amount")]
    lot = None
    if period is not None and all(v is not None for v in cats) and max(cats) > 0:
        lot = services.lot_for(period, max(cats))
    allowed = _areas_for(user)
    on = local_date(now)
    ctx = {"planned": euro(planned) if planned is not None else "", "lot": lot, "now": now}
    if part == "calc":
        areas = allowed
        if lot is not None:
            with_aq = FrameworkAgreement.objects.filter(
                period=period,
                lots=lot,
                cancelled=False,
                valid_from__lte=on,
                valid_until__gte=on,
            ).values("territorial_area_id")
            areas = allowed.filter(pk__in=with_aq)
        # The area list is replaced only when the lot changes, so a choice is never reset.
        shown = g.get("shown_lot", "")
        ctx.update(
            areas=areas,
            selected=g.get("territorial_area", ""),
            swap_areas=shown != (str(lot.pk) if lot else ""),
        )
        return render(request, "ptim/_live_calc.html", ctx)
    area = allowed.filter(pk=g.get("territorial_area") or 0).first()
    agreement = (
        services.agreement_in_force(period=period, area=area, lot=lot, on=on)
        if period is not None and area is not None and lot is not None
        else None
    )
    if agreement is not None:
        level = (
            int(g["required_clearance"]) if (g.get("required_clearance") or "").isdigit() else None
        )
        selection = (
            select_operator(
                agreement=agreement,
                works_amount=works,
                safety_costs=safety,
                required_level=level,
                on_date=on,
            )
            if works is not None and safety is not None
            else None
        )
        chapter_id = g.get("spending_chapter") or ""
        ctx.update(
            agreement=agreement,
            aq_residual=euro(agreement_residual(agreement)),
            chapters=[
                {
                    "c": c,
                    "residual": euro(r := chapter_residual(agreement, c)),
                    "selected": str(c.pk) == chapter_id,
                    "short": selection is not None and r < selection.amount,
                }
                for c in services.chapters_for(user=user, agreement=agreement)
            ],
            members=[
                {
                    "m": m,
                    "residual": euro(operator_residual(m)),
                    "proposed": selection is not None and selection.membership.pk == m.pk,
                }
                for m in ranking(agreement)
            ],
            selection=selection,
            selection_total=euro(selection.amount) if selection else "",
        )
    return render(request, "ptim/_live_residuals.html", ctx)


def _rebook(request, progressive, step, now):
    """ "Riprenotazione operatore per annullamento contratto" (R-PTIM-104…109): form → "Salva" →
    summary ("Riprenota operatore" / "Annulla operazione") → "Dettaglio Contratto" ("Conferma
    dati" / "Annulla operazione") → the booking. "Annulla operazione" discards everything."""
    user = request.user
    if step == "annulla":
        messages.info(request, _("Operazione annullata: nessun dato è stato salvato."))
        return redirect("ptim:contract-create")
    try:
        old = services.find_rebookable(user=user, progressive=progressive)
    except PtimError as exc:
        ctx = _form_context(request, data={}, errors={"annulled_progressive": [exc.message]})
        return render(request, "ptim/contract_form.html", ctx, status=400)
    confirmed = request.POST.get("measured_basis_confirmed") == "on"
    corrections = {k: request.POST[k] for k in services.REBOOK_EDITABLE if k in request.POST}

    def failed(exc):
        if isinstance(exc, Unavailable):
            ctx = _form_context(request, data={}, step="rebook", old=old, unavailable=exc)
        else:
            ctx = _form_context(request, data={}, step="rebook", old=old, errors=_errors_of(exc))
        return render(request, "ptim/contract_form.html", ctx, status=400)

    if step == "rebook_conferma":
        try:
            contract = services.rebook_operator(
                user=user,
                progressive=progressive,
                measured_basis_confirmed=confirmed,
                corrections=corrections,
                now=now,
            )
        except PtimError as exc:
            return failed(exc)
        messages.success(
            request,
            _("Riprenotazione confermata: contratto n. %(p)s.") % {"p": contract.progressive},
        )
        return redirect("ptim:contract-detail", contract.pk)
    if step in ("rebook_salva", "rebook_dettaglio"):
        try:
            preview = services.preview_rebooking(
                user=user,
                progressive=progressive,
                measured_basis_confirmed=confirmed,
                corrections=corrections,
                now=now,
            )
        except PtimError as exc:
            return failed(exc)
        ctx = _form_context(
            request,
            data={},
            step="rebook_summary" if step == "rebook_salva" else "rebook_detail",
            old=old,
        )
        ctx.update(preview=preview, total=euro(preview.amount))
        return render(request, "ptim/contract_form.html", ctx)
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


def _prompts(contract) -> dict:
    """A-37 texts of the operations of the contract page."""
    from .deadlines import stipula_deadline

    p = contract.progressive
    extended_to = (
        stipula_deadline(local_date(contract.accepted_at), extended=True)
        if contract.accepted_at
        else None
    )
    return {
        "accept": M.a37_accept(p),
        "confirm": M.a37_confirm(p),
        "extend": M.a37_extend(extended_to) if extended_to else "",
        "annul": M.a37_annul(p),
    }


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
            "replaceable": services.replaceable_files(contract) if "dg_edit" in ops else [],
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
            "a17": M.A17,
            "documents": sorted(contract_documents(contract).items()),
            "prompts": _prompts(contract),
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
            services.annul_contract(
                user=user,
                contract_id=pk,
                reason=post.get("reason"),
                request_document=request.FILES.get("request_document"),
                now=now,
            )
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
        elif action == "dg_replace_file":
            services.replace_contract_file(
                user=user,
                contract_id=pk,
                target=post.get("target"),
                uploaded=request.FILES.get("document"),
                now=now,
            )
            messages.success(request, _("File sostituito."))
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
                description=request.POST.get("description") or None,
                confirm_negative=request.POST.get("confirm_negative") == "on",
                documents=request.FILES.getlist("documents"),
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


def contract_documents(contract) -> dict:
    """Documents attached to a contract, by StoredDocument id → label."""
    out = {}
    for field, label in (
        ("acceptance_document", _("Documento di accettazione")),
        ("stipula_document", _("Documento di stipula del contratto")),
        ("rescission_document", _("Documento di rescissione/risoluzione")),
        ("annulment_request_document", _("Istanza di annullamento della S.A.")),
    ):
        doc_id = getattr(contract, f"{field}_id")
        if doc_id:
            out[doc_id] = label
    for refusal in contract.refusals.all():
        out[refusal.waiver_document_id] = _("File rinuncia impresa")
    for variation in contract.variations.all():
        for doc in variation.documents.all():
            out[doc.pk] = _("Documento autorizzativo della variazione")
    return out


@login_required
def contract_document(request, pk, doc_pk):
    """Download of a contract's document for whoever may see the contract (the SA, the
    competent DT, the DG, and read access by territorial competence): the kernel's own
    download is limited to the uploading organisation."""
    from procurement.documents.models import StoredDocument

    contract = get_contract_for(request.user, pk=pk)
    if doc_pk not in contract_documents(contract):
        raise Http404
    version = StoredDocument.objects.get(pk=doc_pk).current_version
    if version is None:
        raise Http404
    return FileResponse(
        version.file.open("rb"),
        as_attachment=True,
        filename=version.original_name,
        content_type=version.content_type,
    )


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


SEARCH_FILTERS = (
    "progressive",
    "q",
    "state",
    "period",
    "lot",
    "territorial_area",
    "agreement",
    "operator",
    "contracting_authority",
    "spending_chapter",
    "intervention_identifier",
    "rup",
    "booked_from",
    "booked_to",
)


# What a row of the search results and of its export shows besides the contract itself.
CONTRACT_ROW_RELATED = (
    "membership__operator",
    "agreement",
    "contracting_authority",
    "lot",
    "territorial_area",
    "spending_chapter",
)
CONTRACT_SEARCH_ORDER = ("-progressive_root", "-rebooking_index")


def _search(user, g):
    """Contracts within the user's competence filtered as D-49 says; (queryset, errors)."""
    errors = []
    qs = visible_contracts(user)

    def ident(name):
        raw = (g.get(name) or "").strip()
        if raw and not raw.isdigit():
            errors.append(_("Filtro non valido: %(f)s.") % {"f": name})
            return None
        return int(raw) if raw else None

    progressive = (g.get("progressive") or "").strip()
    if progressive:
        # exact number (325a) or root (325 → 325, 325a, 325b …)
        qs = qs.filter(
            Q(progressive__iexact=progressive)
            | (Q(progressive_root=int(progressive)) if progressive.isdigit() else Q(pk__in=[]))
        )
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
    for name, lookup in (
        ("period", "period_id"),
        ("lot", "lot__number"),
        ("territorial_area", "territorial_area_id"),
        ("agreement", "agreement_id"),
        ("operator", "membership__operator_id"),
        ("contracting_authority", "contracting_authority_id"),
        ("spending_chapter", "spending_chapter_id"),
    ):
        value = ident(name)
        if value is not None:
            qs = qs.filter(**{lookup: value})
    if g.get("intervention_identifier"):
        qs = qs.filter(intervention_identifier__iexact=g["intervention_identifier"].strip())
    if g.get("rup"):
        for word in g["rup"].split():
            qs = qs.filter(Q(rup_first_name__icontains=word) | Q(rup_last_name__icontains=word))
    for name, lookup in (("booked_from", "booking_date__gte"), ("booked_to", "booking_date__lte")):
        raw = (g.get(name) or "").strip()
        if raw:
            try:
                qs = qs.filter(**{lookup: datetime.date.fromisoformat(raw)})
            except ValueError:
                errors.append(_("Data non valida: %(d)s.") % {"d": raw})
    qs = qs.select_related(*CONTRACT_ROW_RELATED)
    return qs.order_by(*CONTRACT_SEARCH_ORDER), errors


def _with_variation_totals(qs):
    """Annotate the sum of the non-annulled variations (for the rows actually listed: a
    correlated subquery inside the paginator's COUNT would be evaluated for every row)."""
    from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
    from django.db.models.functions import Coalesce

    money = DecimalField(max_digits=14, decimal_places=2)
    variations = (
        Variation.objects.filter(contract=OuterRef("pk"), annulled_at__isnull=True)
        .values("contract")
        .annotate(t=Sum("total_amount"))
        .values("t")
    )
    return qs.annotate(
        variations_total=Coalesce(Subquery(variations, output_field=money), Value(0, money))
    )


def _search_choices(user):
    from procurement.accounts.models import Organisation

    from .models import EconomicOperator, SpendingChapter

    agreements = visible_agreements(user)
    contracts = visible_contracts(user)
    return {
        "states": ContractState.choices,
        "periods": ReferencePeriod.objects.all(),
        "lots": (1, 2, 3),
        "areas": TerritorialArea.objects.filter(
            pk__in=agreements.values("territorial_area_id")
        ).order_by("name"),
        "agreements": agreements.order_by("identifier"),
        "operators": EconomicOperator.objects.filter(memberships__agreement__in=agreements)
        .distinct()
        .order_by("name"),
        "authorities": Organisation.objects.filter(
            pk__in=contracts.values("contracting_authority_id")
        ).order_by("name"),
        "chapters": SpendingChapter.objects.all(),
    }


@login_required
def contract_search(request):
    """ "RICERCA" → "Elenco contratti" (R-PTIM-137, R-PTIM-138, D-49)."""
    qs, errors = _search(request.user, request.GET)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    ids = [c.pk for c in page.object_list]
    page.object_list = list(_with_variation_totals(qs.filter(pk__in=ids)))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "ptim/contract_list.html",
        {
            "page": page,
            "filters": request.GET,
            "query": query.urlencode(),
            "search_errors": errors,
            **_search_choices(request.user),
        },
    )


EXPORT_COLUMNS = (
    gettext_lazy("Progressivo"),
    gettext_lazy("Data di prenotazione"),
    gettext_lazy("Stazione Appaltante"),
    gettext_lazy("Accordo Quadro"),
    gettext_lazy("Lotto"),
    gettext_lazy("Ambito territoriale"),
    gettext_lazy("Operatore"),
    gettext_lazy("Stato"),
    gettext_lazy("Importo dei lavori pianificato"),
    gettext_lazy("Importo complessivo dell’appalto"),
    gettext_lazy("Importo complessivo dell’appalto + varianti"),
    gettext_lazy("Capitolo di spesa"),
    gettext_lazy("Identificativo MU/intervento"),
    gettext_lazy("RUP/Referente"),
)


def _variation_totals(contracts) -> dict[int, Decimal]:
    """{contract pk: sum of its non-annulled variations} for `contracts`, in one grouped query
    (contracts without variations are absent)."""
    from django.db.models import Sum

    return dict(
        Variation.objects.filter(
            contract__in=contracts.order_by().values("pk"), annulled_at__isnull=True
        )
        .order_by()
        .values("contract")
        .annotate(t=Sum("total_amount"))
        .values_list("contract", "t")
    )


# The fields of an export row, read as tuples: building 8 model instances per row (the contract
# and its related objects) was most of the time of a large export.
_EXPORT_FIELDS = (
    "pk",
    "progressive",
    "booking_date",
    "contracting_authority__name",
    "agreement__identifier",
    "lot__number",
    "territorial_area__name",
    "membership__operator__name",
    "state",
    "planned_amount",
    "total_amount",
    "spending_chapter__label",
    "intervention_identifier",
    "rup_first_name",
    "rup_last_name",
)


@login_required
def contract_export(request):
    """The search results (same filters and competence) as CSV for spreadsheets: ';' separated,
    UTF-8 with BOM, amounts in Italian format, streamed so that large results do not load all
    rows in memory.

    Per row, no subquery and no model instances: the variation totals come from one grouped
    query, the competence's DISTINCT applies to the ids only (not to the wide joined rows), rows
    are tuples (bench/ptim_booking.py --search-contracts 50000)."""
    import csv

    from django.http import StreamingHttpResponse

    qs, errors = _search(request.user, request.GET)
    if errors:
        return HttpResponse(" ".join(errors), status=400, content_type="text/plain; charset=utf-8")
    contracts = Contract.objects.filter(pk__in=qs.order_by().values("pk")).order_by(
        *CONTRACT_SEARCH_ORDER
    )
    variations = _variation_totals(contracts)
    # What `get_state_display()` and `Lot.label` give, computed once per value.
    states = {value: str(label) for value, label in Contract._meta.get_field("state").flatchoices}
    lots: dict[int, str] = {}

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo(), delimiter=";")

    def rows():
        yield "\ufeff" + writer.writerow([str(c) for c in EXPORT_COLUMNS])
        for (
            pk,
            progressive,
            booking_date,
            authority,
            agreement,
            lot_number,
            area,
            operator,
            state,
            planned,
            total,
            chapter,
            intervention,
            rup_first_name,
            rup_last_name,
        ) in contracts.values_list(*_EXPORT_FIELDS).iterator(chunk_size=2000):
            if lot_number not in lots:
                lots[lot_number] = str(Lot(number=lot_number).label)
            yield writer.writerow(
                [
                    progressive,
                    booking_date.strftime("%d/%m/%Y") if booking_date else "",
                    authority,
                    agreement,
                    lots[lot_number],
                    area,
                    operator,
                    states.get(state, state),
                    euro(planned),
                    euro(total),
                    euro(total + variations.get(pk, 0)),
                    chapter,
                    intervention or "",
                    f"{rup_first_name} {rup_last_name}",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="contratti-ptim.csv"'
    return response


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
            "competent": can_supervise(user, agreement),
            "kinds": ClearanceKind.choices,
            "levels": ClearanceLevel.choices,
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
        elif action == "edit":
            from .agreements import update_agreement

            fields = ("name", "referent_name", "referent_email", "price_list")
            data = {k: request.POST.get(k, "") for k in (*fields, "valid_from", "valid_until")}
            if request.POST.get("increase_pct"):
                data["increase_pct"] = request.POST["increase_pct"]
            update_agreement(user=user, agreement_id=pk, data=data, now=now)
            messages.success(request, _("Valori preimpostati dell’Accordo Quadro modificati."))
        elif action == "member":
            from .agreements import update_membership

            m = agreement.operators.filter(pk=request.POST.get("membership") or 0).first()
            if m is None:
                raise Http404
            keys = ("score", "ranking_position", "discount_pct", "base_threshold")
            update_membership(
                user=user,
                membership_id=m.pk,
                data={k: request.POST[k] for k in keys if request.POST.get(k, "").strip()},
                now=now,
            )
            messages.success(request, _("Valori dell’operatore modificati."))
        elif action == "clearance":
            from .agreements import save_clearance

            m = agreement.operators.filter(pk=request.POST.get("membership") or 0).first()
            if m is None:
                raise Http404
            keys = ("kind", "level", "reference", "issued_on", "valid_until", "annulled_on")
            save_clearance(
                user=user,
                operator_id=m.operator_id,
                data={k: request.POST.get(k, "") for k in keys},
                now=now,
            )
            messages.success(request, _("Nulla osta di sicurezza registrato."))
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
        # D-44: the operator's contracts of the same AQ that were Accettato or Definitivo on
        # the refused booking date (an aid: the system never decides the justification).
        busy = (
            m.contracts.filter(accepted_at__lte=r.booked_at)
            .exclude(annulled_at__lte=r.booked_at)
            .exclude(rescinded_at__lte=r.booked_at)
            .select_related("contracting_authority")
        )
        rows.append(
            {
                "r": r,
                "busy": busy,
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
            "today": local_date(now),
            "competent": services.is_competent_dt(user, m.agreement),
            "a32": M.A32,
            "active": m.status == OperatorStatus.ACTIVE,
            "prompt_handle": M.a37_justification(),
            "prompt_exclude": M.a37_exclude(m.operator.name),
            "prompt_readmit": M.a37_readmit(m.operator.name),
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
                user=user,
                refusal_id=refusal.pk,
                motivation=post.get("motivation"),
                unlock_date=post.get("unlock_date"),
                now=now,
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
    """ "REPORT OPERATORE": one row per operator and AQ within the user's competence (D-49)."""
    from . import reports

    return render(
        request, "ptim/operator_report.html", {"rows": reports.operator_report(request.user)}
    )


@login_required
def operator_history(request, membership_pk):
    """The operator's "storico" on one AQ: every audit event concerning it (D-49)."""
    from . import reports

    m = reports.visible_memberships(request.user).filter(pk=membership_pk).first()
    if m is None:
        raise Http404
    return render(
        request,
        "ptim/operator_history.html",
        {"m": m, "rows": reports.membership_history(m)},
    )


@login_required
def guide(request):
    """ "GUIDA OPERATIVA": the latest version published by the DG (D-50); before the first
    publication, the module's guide rendered once as a PDF."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    latest = services.current_guide()
    version = latest.document.current_version if latest else None
    if version is not None:
        return FileResponse(
            version.file.open("rb"),
            as_attachment=True,
            filename=f"guida-operativa-ptim-v{latest.version}.pdf",
            content_type="application/pdf",
        )
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


@login_required
def guide_versions(request):
    """DG only: the versions of the guide and the upload of a new one (D-50)."""
    from .models import GuideDocument

    if not is_dg(request.user):
        raise PermissionDenied
    errors = {}
    if request.method == "POST":
        try:
            guide = services.publish_guide(
                user=request.user,
                uploaded=request.FILES.get("document"),
                note=request.POST.get("note", ""),
                now=_now(),
            )
        except PtimError as exc:
            errors = _errors_of(exc)
        else:
            messages.success(
                request,
                _("Pubblicata la versione %(v)s della guida operativa.") % {"v": guide.version},
            )
            return redirect("ptim:guide-versions")
    return render(
        request,
        "ptim/guide_versions.html",
        {
            "versions": GuideDocument.objects.select_related("published_by"),
            "errors": errors,
        },
        status=400 if errors else 200,
    )
