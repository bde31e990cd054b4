"""PTIM services: booking (split of the former ptim/services.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from .. import messages as M
from .. import notify
from ..access import (
    MINISTRY_TYPES,
    competence_areas,
    is_dg,
    sa_organisation,
    user_type_of,
)
from ..amounts import (
    MAX_PLANNED,
    MIN_PLANNED,
    USUARIA_LIMIT,
    agreement_residual,
    chapter_residual,
    consumption,
    planned_amount,
    prevalent_amount,
)
from ..deadlines import (
    acceptance_deadline,
    local_date,
)
from ..models import (
    AvailabilityShortfall,
    ClearanceLevel,
    Contract,
    ContractOrigin,
    ContractState,
    FrameworkAgreement,
    InterventionCategory,
    InterventionType,
    Lot,
    OperatorBooking,
    ProgressiveCounter,
    Receipt,
    ReceiptKind,
    ReferencePeriod,
    SpendingChapter,
    TerritorialArea,
    UserType,
)
from ..selection import Selection, select_operator, shortfall_cause, suffix
from .base import (
    MAX_TEXT,
    PtimError,
    Unavailable,
    logger,
)

# --- input --------------------------------------------------------------------------------------


@dataclass
class Intervention:
    """Screen 1 of "Inserimento Contratto", checked."""

    period: ReferencePeriod
    area: TerritorialArea
    lot: Lot
    agreement: FrameworkAgreement
    works_amount: Decimal
    safety_costs: Decimal
    og1: Decimal
    og2: Decimal
    og11: Decimal
    required_level: int | None
    rup: dict = field(default_factory=dict)

    @property
    def planned(self) -> Decimal:
        return planned_amount(self.works_amount, self.safety_costs)

    @property
    def prevalent(self) -> Decimal:
        return prevalent_amount(self.og1, self.og2, self.og11)


RUP_FIELDS = (
    "rup_first_name",
    "rup_last_name",
    "rup_role",
    "rup_phone",
    "rup_email",
    "office_name",
    "office_email",
)


def lot_for(period, prevalent: Decimal) -> Lot | None:
    """The lot of the prevailing category amount; below 40,000 → Lot 1 (D-13)."""
    lots = list(period.lots.order_by("number"))
    if not lots:
        return None
    if prevalent < lots[0].min_amount:
        return lots[0]
    for lot in lots:
        if lot.min_amount <= prevalent <= lot.max_amount:
            return lot
    return None


def agreement_in_force(*, period, area, lot, on) -> FrameworkAgreement | None:
    return (
        FrameworkAgreement.objects.filter(
            period=period,
            territorial_area=area,
            lots=lot,
            cancelled=False,
            valid_from__lte=on,
            valid_until__gte=on,
        )
        .select_related("territorial_area", "directorate", "period")
        .first()
    )


def check_intervention(*, user, data: dict, now) -> Intervention:
    """The checks of "Avanti" (R-PTIM-021…R-PTIM-028); PtimError with per-field messages."""
    errors: dict[str, list] = {}

    def err(name, message):
        errors.setdefault(name, []).append(message)

    amounts = {}
    for name in ("works_amount", "safety_costs", "og1_amount", "og2_amount", "og11_amount"):
        value = data.get(name)
        if value in (None, ""):
            err(name, M.REQUIRED)
            continue
        try:
            value = Decimal(value)
        except Exception:
            err(name, _("Importo non valido."))
            continue
        if value != value.quantize(Decimal("0.01")):
            err(name, _("Sono ammessi al massimo due decimali."))
        elif value < 0:
            err(name, _("L’importo non può essere negativo."))
        amounts[name] = value
    if "works_amount" in amounts and amounts["works_amount"] <= 0:
        err("works_amount", _("L’importo deve essere maggiore di zero."))
    for name in RUP_FIELDS:
        if not str(data.get(name) or "").strip():
            err(name, M.REQUIRED)
    rup_email = str(data.get("rup_email") or "").strip().lower()
    office_email = str(data.get("office_email") or "").strip().lower()
    if rup_email and rup_email == office_email:
        err("rup_email", M.A12)
    period = ReferencePeriod.objects.filter(pk=data.get("period"), selectable=True).first()
    if period is None:
        err("period", M.REQUIRED)
    area = TerritorialArea.objects.filter(pk=data.get("territorial_area")).first()
    if area is None:
        err("territorial_area", M.REQUIRED)
    elif not is_dg(user):
        allowed = competence_areas(user)
        if allowed and area.pk not in allowed:  # D-21
            err("territorial_area", _("L’ambito territoriale non è di propria competenza."))
    level = data.get("required_clearance") or None
    if level is not None:
        level = int(level)
        if level not in ClearanceLevel.values:
            err("required_clearance", _("Classifica non valida."))
    if errors or len(amounts) < 5:
        raise PtimError(errors=errors)
    planned = planned_amount(amounts["works_amount"], amounts["safety_costs"])
    og = (amounts["og1_amount"], amounts["og2_amount"], amounts["og11_amount"])
    if not (MIN_PLANNED <= planned <= MAX_PLANNED):
        err("", M.A11)
    if user_type_of(user) == UserType.AMMINISTRAZIONE_USUARIA and planned >= USUARIA_LIMIT:
        err("", M.A39)
    if max(og) <= 0 or sum(og) > planned:
        err("", M.A40)
    if errors:
        raise PtimError(errors=errors)
    lot = lot_for(period, max(og))
    agreement = (
        agreement_in_force(period=period, area=area, lot=lot, on=local_date(now)) if lot else None
    )
    if agreement is None:
        raise PtimError(M.a10(period.label, area.name, lot.label if lot else "-"), code="no_aq")
    return Intervention(
        period=period,
        area=area,
        lot=lot,
        agreement=agreement,
        works_amount=amounts["works_amount"],
        safety_costs=amounts["safety_costs"],
        og1=og[0],
        og2=og[1],
        og11=og[2],
        required_level=level,
        rup={name: str(data.get(name)).strip() for name in RUP_FIELDS},
    )


def _log_shortfall(*, user, intervention, agreement, cause, message, now):
    org = sa_organisation(user)
    if org is None:
        return
    AvailabilityShortfall.objects.create(
        at=now,
        user=user,
        organisation=org,
        agreement=agreement,
        works_amount=intervention.works_amount,
        safety_costs=intervention.safety_costs,
        planned_amount=intervention.planned,
        reason=cause,
        message=message,
    )


def _unavailable(*, user, intervention, agreement, cause, now, defer=False) -> Unavailable:
    """The unavailability message; logged now, or by the caller once its transaction is over."""
    org = sa_organisation(user)
    level = intervention.required_level
    message = M.unavailability(
        agreement=agreement,
        planned=intervention.planned,
        sa_name=org.name if org else "",
        ministry=user_type_of(user) in MINISTRY_TYPES,
        cause=cause,
        clearance=ClearanceLevel(level).label if level else "",
    )
    exc = Unavailable(message, agreement=agreement)
    exc.shortfall = {
        "user": user,
        "intervention": intervention,
        "agreement": agreement,
        "cause": cause,
        "message": message,
        "now": now,
    }
    if not defer:
        _log_shortfall(**exc.shortfall)
        exc.shortfall = None
    return exc


def propose_operator(*, user, intervention: Intervention, now, defer=False) -> Selection:
    """The operator shown on screen 2 ("Avanti"), or Unavailable (R-PTIM-030)."""
    agreement = intervention.agreement
    selection = select_operator(
        agreement=agreement,
        works_amount=intervention.works_amount,
        safety_costs=intervention.safety_costs,
        required_level=intervention.required_level,
        on_date=local_date(now),
    )
    if selection is None:
        cause = shortfall_cause(
            agreement=agreement,
            required_level=intervention.required_level,
            on_date=local_date(now),
        )
        raise _unavailable(
            user=user,
            intervention=intervention,
            agreement=agreement,
            cause=cause,
            now=now,
            defer=defer,
        )
    return selection


def chapters_for(*, user, agreement):
    """Chapters allowed for the user type with a ceiling > 0 on the AQ (R-PTIM-033, D-10)."""
    user_type = user_type_of(user)
    ids = agreement.ceilings.filter(amount__gt=0).values("chapter_id")
    return [
        c
        for c in SpendingChapter.objects.filter(pk__in=ids)
        if user_type in (c.allowed_user_types or [])
    ]


def check_descriptive(*, user, agreement, data: dict, exclude_contract=None) -> dict:
    """Screen 2 fields (R-PTIM-032…R-PTIM-037)."""
    errors: dict[str, list] = {}

    def err(name, message):
        errors.setdefault(name, []).append(message)

    description = str(data.get("description") or "").strip()
    if not description:
        err("description", M.REQUIRED)
    elif len(description) > MAX_TEXT:
        err("description", M.TOO_LONG)
    category = InterventionCategory.objects.filter(
        pk=data.get("intervention_category") or None, active=True
    ).first()
    if category is None:
        err("intervention_category", M.REQUIRED)
    allowed = {c.pk: c for c in chapters_for(user=user, agreement=agreement)}
    try:
        chapter = allowed.get(int(data.get("spending_chapter") or 0))
    except (TypeError, ValueError):
        chapter = None
    if chapter is None:
        err("spending_chapter", M.REQUIRED)
    identifier = str(data.get("intervention_identifier") or "").strip()
    plan_year = data.get("plan_year") or None
    if chapter is not None and chapter.requires_plan_data:
        if not identifier:
            err("intervention_identifier", M.REQUIRED)
        elif not identifier.replace("-", "").replace("/", "").replace("_", "").isalnum():
            err("intervention_identifier", _("Sono ammessi solo caratteri alfanumerici."))
        try:
            plan_year = int(plan_year)
            if not 1900 <= plan_year <= 2999:
                raise ValueError
        except (TypeError, ValueError):
            err("plan_year", _("Indicare l’anno con quattro cifre."))
            plan_year = None
        if chapter.code == "MU" and identifier:
            clash = Contract.objects.filter(active_mu_identifier=identifier)
            if exclude_contract is not None:
                clash = clash.exclude(pk=exclude_contract.pk)
            clash = clash.first()
            if clash:
                err("intervention_identifier", M.a13(identifier, clash.progressive))
    else:
        identifier, plan_year = "", None
    intervention_type = None
    if user_type_of(user) in MINISTRY_TYPES:
        intervention_type = InterventionType.objects.filter(
            pk=data.get("intervention_type") or None
        ).first()
        if intervention_type is None:
            err("intervention_type", M.REQUIRED)
        elif not intervention_type.is_centralised_maintenance:
            err("intervention_type", M.A14)
    if not data.get("measured_basis_confirmed"):
        err("measured_basis_confirmed", M.REQUIRED)
    if errors:
        raise PtimError(errors=errors)
    return {
        "description": description,
        "intervention_category": category,
        "spending_chapter": chapter,
        "intervention_identifier": identifier,
        "plan_year": plan_year,
        "intervention_type": intervention_type,
        "measured_basis_confirmed": True,
    }


def _check_capacity(*, user, intervention, agreement, chapter, amount, now, defer=False):
    """Chapter and AQ residual with the selected operator's amount (R-PTIM-038, D-09)."""
    if chapter_residual(agreement, chapter) < amount or agreement_residual(agreement) < amount:
        raise _unavailable(
            user=user,
            intervention=intervention,
            agreement=agreement,
            cause="capacity",
            now=now,
            defer=defer,
        )


def preview_booking(*, user, data: dict, now) -> tuple[Intervention, Selection, dict]:
    """ "Salva": every check, nothing stored, no progressive consumed (R-PTIM-041)."""
    intervention = check_intervention(user=user, data=data, now=now)
    selection = propose_operator(user=user, intervention=intervention, now=now)
    descriptive = check_descriptive(user=user, agreement=intervention.agreement, data=data)
    _check_capacity(
        user=user,
        intervention=intervention,
        agreement=intervention.agreement,
        chapter=descriptive["spending_chapter"],
        amount=selection.amount,
        now=now,
    )
    return intervention, selection, descriptive


def _lock_agreement(pk) -> FrameworkAgreement:
    return (
        FrameworkAgreement.objects.select_for_update(of=("self",))
        .select_related("directorate", "territorial_area", "period")
        .get(pk=pk)
    )


def _next_root() -> int:
    counter = ProgressiveCounter.objects.select_for_update().order_by("pk").first()
    if counter is None:
        counter = ProgressiveCounter.objects.create(last_root=0)
        counter = ProgressiveCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last_root += 1
    counter.save(update_fields=["last_root"])
    return counter.last_root


def _sync_consumption(contract: Contract) -> None:
    contract.consumed_amount = consumption(contract)
    contract.active_mu_identifier = (
        contract.intervention_identifier or None
        if contract.spending_chapter.code == "MU" and contract.state != ContractState.ANNULLED
        else None
    )


def _new_receipt(*, kind, contract=None, booking=None, organisation, context, now) -> Receipt:
    receipt = Receipt.objects.create(
        kind=kind,
        contract=contract,
        booking=booking,
        organisation=organisation,
        context=context,
        created_at=now,
    )

    def enqueue(pk=receipt.pk):
        from ..tasks import render_receipt

        try:
            render_receipt.delay(pk)
        except Exception:  # broker down: the sweeper renders it later
            logger.warning("ptim: receipt %s not queued", pk)

    transaction.on_commit(enqueue)
    return receipt


def receipt_url(receipt) -> str:
    return reverse("ptim:receipt", args=[receipt.pk])


def _booking_receipt(contract, booking, now, *, renounced=()) -> Receipt:
    from ..pdf import booking_context

    return _new_receipt(
        kind=ReceiptKind.BOOKING,
        contract=contract,
        booking=booking,
        organisation=contract.contracting_authority,
        context=booking_context(contract, booking, now, renounced=renounced),
        now=now,
    )


def _create_contract(
    *,
    user,
    intervention: Intervention,
    descriptive: dict,
    selection: Selection,
    root: int,
    index: int,
    origin: str,
    predecessor=None,
    sa,
    now,
) -> Contract:
    today = local_date(now)
    contract = Contract(
        progressive_root=root,
        rebooking_index=index,
        progressive=f"{root}{suffix(index)}",
        origin=origin,
        predecessor=predecessor,
        agreement=intervention.agreement,
        lot=intervention.lot,
        period=intervention.period,
        territorial_area=intervention.area,
        contracting_authority=sa,
        sa_user_type=(predecessor.sa_user_type if predecessor is not None else user_type_of(user)),
        created_by=user,
        works_amount=intervention.works_amount,
        safety_costs=intervention.safety_costs,
        og1_amount=intervention.og1,
        og2_amount=intervention.og2,
        og11_amount=intervention.og11,
        planned_amount=intervention.planned,
        prevalent_amount=intervention.prevalent,
        total_amount=selection.amount,
        required_clearance=intervention.required_level,
        membership=selection.membership,
        booked_at=now,
        booking_date=today,
        acceptance_deadline=acceptance_deadline(today),
        **intervention.rup,
        **descriptive,
    )
    _sync_consumption(contract)
    contract.save()
    booking = OperatorBooking.objects.create(
        contract=contract,
        membership=selection.membership,
        booked_at=now,
        booking_date=today,
        total_amount=selection.amount,
    )
    contract._current_booking = booking
    return contract


def book_operator(*, user, data: dict, expected_membership_id: int | None = None, now) -> Contract:
    """T1 "Conferma dati": book the operator the system designates (R-PTIM-042)."""
    sa = sa_organisation(user)
    if sa is None:
        raise PermissionDenied(_("L’utente non appartiene a una Stazione Appaltante abilitata."))
    intervention = check_intervention(user=user, data=data, now=now)
    try:
        return _book_locked(
            user=user,
            data=data,
            intervention=intervention,
            expected_membership_id=expected_membership_id,
            sa=sa,
            now=now,
        )
    except Unavailable as exc:
        # Rolled back with the booking: the refusal is logged now (AvailabilityShortfall).
        if getattr(exc, "shortfall", None):
            _log_shortfall(**exc.shortfall)
        raise


def _book_locked(*, user, data, intervention, expected_membership_id, sa, now) -> Contract:
    with transaction.atomic():
        agreement = _lock_agreement(intervention.agreement.pk)
        intervention.agreement = agreement
        selection = propose_operator(user=user, intervention=intervention, now=now, defer=True)
        if expected_membership_id and selection.membership.pk != int(expected_membership_id):
            raise PtimError(
                M.a36(selection.membership.operator.name, selection.amount), code="changed"
            )
        descriptive = check_descriptive(user=user, agreement=agreement, data=data)
        _check_capacity(
            user=user,
            intervention=intervention,
            agreement=agreement,
            chapter=descriptive["spending_chapter"],
            amount=selection.amount,
            now=now,
            defer=True,
        )
        contract = _create_contract(
            user=user,
            intervention=intervention,
            descriptive=descriptive,
            selection=selection,
            root=_next_root(),
            index=0,
            origin=ContractOrigin.FIRST_BOOKING,
            sa=sa,
            now=now,
        )
        _after_booking(user=user, contract=contract, now=now, action="prenotazione operatore")
    return contract


def _after_booking(*, user, contract, now, action, subject=None, renounced=()):
    booking = contract._current_booking
    receipt = _booking_receipt(contract, booking, now, renounced=renounced)
    audit_record(
        action=action,
        actor=user,
        obj=contract,
        organisation=contract.contracting_authority,
        to_state=contract.state,
        payload={
            "progressive": contract.progressive,
            "operator": contract.membership.operator.name,
            "total_amount": contract.total_amount,
        },
        now=now,
    )
    if subject is None:
        if contract.origin == ContractOrigin.REBOOKING:
            subject = _(
                "[PTIM] Riprenotazione operatore – contratto n. %(p)s (riprenotazione del n. %(a)s)"
            ) % {"p": contract.progressive, "a": contract.predecessor.progressive}
        elif contract.origin == ContractOrigin.CLEARANCE_REPLACEMENT:
            subject = _(
                "[PTIM] Prenotazione nuovo operatore per decadenza NOS/NOSI – contratto n. %(p)s"
            ) % {"p": contract.progressive}
        else:
            subject = _("[PTIM] Prenotazione operatore – contratto n. %(p)s") % {
                "p": contract.progressive
            }
    notify.contract_event(
        contract=contract,
        subject=subject,
        now=now,
        text=str(M.A06),
        receipt=receipt,
    )
