"""Every step of the PTIM contract life cycle (spec §4.3): guard, lock, change, audit, notify.

Lock order is always: the agreement row first, then the contract, then the progressive counter
(R-PTIM-148), so that concurrent operations on one AQ are serialised and no residual is ever
over-allocated.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record
from procurement.documents.services import DocumentError, document_upload

from . import messages as M
from . import notify
from .access import (
    MINISTRY_TYPES,
    can_supervise,
    competence_areas,
    is_competent_dt,
    is_dg,
    owns,
    sa_organisation,
    user_type_of,
)
from .amounts import (
    MAX_PLANNED,
    MIN_PLANNED,
    USUARIA_LIMIT,
    agreement_residual,
    cents,
    chapter_residual,
    consumption,
    euro,
    floor_cents,
    operator_residual,
    planned_amount,
    prevalent_amount,
    total_amount,
    total_with_variations,
)
from .deadlines import (
    acceptance_deadline,
    extension_request_deadline,
    lapsed,
    local_date,
    refusal_handling_deadline,
    stipula_deadline,
)
from .models import (
    ZERO,
    AgreementOperator,
    AgreementOperatorEvent,
    AnnulmentKind,
    AvailabilityShortfall,
    BookingOutcome,
    CeilingIncrease,
    ClearanceLevel,
    Contract,
    ContractOrigin,
    ContractState,
    FrameworkAgreement,
    InterventionCategory,
    InterventionType,
    Lot,
    OperatorBooking,
    OperatorEventKind,
    OperatorStatus,
    ProgressiveCounter,
    Receipt,
    ReceiptKind,
    ReferencePeriod,
    Refusal,
    SpendingChapter,
    TerritorialArea,
    UserType,
    Variation,
)
from .ocds import publish_definitive, publish_rescission
from .selection import Selection, select_operator, shortfall_cause, suffix

logger = logging.getLogger(__name__)

MAX_STIPULA_SIZE = 5 * 1024 * 1024
MAX_TEXT = 4000


class PtimError(Exception):
    """An error the user can fix; `errors` maps field names ('' = whole form) to messages."""

    def __init__(self, message: str = "", *, errors: dict | None = None, code: str = ""):
        self.errors = errors or {"": [message]}
        self.code = code
        super().__init__(message or "; ".join(str(m) for v in self.errors.values() for m in v))

    @property
    def message(self) -> str:
        return "; ".join(str(m) for v in self.errors.values() for m in v)


class Unavailable(PtimError):
    """No operator / insufficient ceiling: message A-03/A-04/A-05 and the DT line."""

    def __init__(self, message: str, *, agreement):
        super().__init__(message, code="unavailable")
        self.agreement = agreement
        self.dt_line = M.dt_line(agreement)


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
        from .tasks import render_receipt

        try:
            render_receipt.delay(pk)
        except Exception:  # broker down: the sweeper renders it later
            logger.warning("ptim: receipt %s not queued", pk)

    transaction.on_commit(enqueue)
    return receipt


def receipt_url(receipt) -> str:
    return reverse("ptim:receipt", args=[receipt.pk])


def _booking_receipt(contract, booking, now, *, renounced=()) -> Receipt:
    from .pdf import booking_context

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
        receipt_url=receipt_url(receipt),
    )


# --- re-booking (T2) and clearance replacement (T11) ----------------------------------------------


def find_rebookable(*, user, progressive: str) -> Contract:
    """The annulled contract named in "Progressivo contratto annullato" (A-27, A-28, A-29)."""
    progressive = (progressive or "").strip()
    contract = Contract.objects.filter(progressive=progressive).first()
    if contract is None or not owns(user, contract):
        raise PtimError(M.a28(progressive), code="a28")
    if contract.state != ContractState.ANNULLED:
        raise PtimError(M.a27(progressive, contract.get_state_display()), code="a27")
    last = (
        Contract.objects.filter(progressive_root=contract.progressive_root)
        .order_by("-rebooking_index")
        .first()
    )
    if hasattr(contract, "successor") or last.pk != contract.pk:
        raise PtimError(M.a29(progressive, last.progressive), code="a29")
    return contract


def _intervention_of(contract) -> Intervention:
    return Intervention(
        period=contract.period,
        area=contract.territorial_area,
        lot=contract.lot,
        agreement=contract.agreement,
        works_amount=contract.works_amount,
        safety_costs=contract.safety_costs,
        og1=contract.og1_amount,
        og2=contract.og2_amount,
        og11=contract.og11_amount,
        required_level=contract.required_clearance,
        rup={name: getattr(contract, name) for name in RUP_FIELDS},
    )


def _descriptive_of(contract) -> dict:
    return {
        "description": contract.description,
        "intervention_category": contract.intervention_category,
        "spending_chapter": contract.spending_chapter,
        "intervention_identifier": contract.intervention_identifier,
        "plan_year": contract.plan_year,
        "intervention_type": contract.intervention_type,
        "measured_basis_confirmed": True,
    }


def _not_bookable_reason(membership, amount, level, on) -> str | None:
    if membership.status == OperatorStatus.EXCLUDED:
        return _("escluso dalla selezione")
    if membership.status == OperatorStatus.ANNULLED:
        return _("annullato")
    if level and not membership.operator.holds(level, on):
        return _("privo della classifica NOS/NOSI richiesta")
    if operator_residual(membership) < amount:
        return _("disponibilità residua insufficiente")
    return None


def rebook_operator(*, user, progressive: str, measured_basis_confirmed: bool, now) -> Contract:
    """T2: re-book the last annulled booking with the same operator (R-PTIM-106…)."""
    if not measured_basis_confirmed:
        raise PtimError(errors={"measured_basis_confirmed": [M.REQUIRED]})
    found = find_rebookable(user=user, progressive=progressive)
    with transaction.atomic():
        agreement = _lock_agreement(found.agreement_id)
        old = Contract.objects.select_for_update().get(pk=found.pk)
        found = find_rebookable(user=user, progressive=progressive)  # re-check under lock
        on = local_date(now)
        if not agreement.is_in_force(on):
            raise PtimError(M.a10(old.period.label, old.territorial_area.name, old.lot.label))
        membership = AgreementOperator.objects.select_related("operator").get(pk=old.membership_id)
        amount = total_amount(old.works_amount, old.safety_costs, membership.discount_pct)
        reason = _not_bookable_reason(membership, amount, old.required_clearance, on)
        if reason:
            raise PtimError(M.a33(membership.operator.name, reason), code="a33")
        intervention = _intervention_of(old)
        intervention.agreement = agreement
        _check_capacity(
            user=user,
            intervention=intervention,
            agreement=agreement,
            chapter=old.spending_chapter,
            amount=amount,
            now=now,
        )
        contract = _create_contract(
            user=user,
            intervention=intervention,
            descriptive=_descriptive_of(old),
            selection=Selection(membership, amount),
            root=old.progressive_root,
            index=old.rebooking_index + 1,
            origin=ContractOrigin.REBOOKING,
            predecessor=old,
            sa=old.contracting_authority,
            now=now,
        )
        _after_booking(user=user, contract=contract, now=now, action="riprenotazione operatore")
    return contract


def _require_owner(user, contract):
    if not owns(user, contract):
        raise PermissionDenied(_("Operazione riservata alla Stazione Appaltante del contratto."))


def _unavailability_receipt(*, contract, cause_text, now) -> Receipt:
    from .pdf import unavailability_context

    return _new_receipt(
        kind=ReceiptKind.UNAVAILABILITY,
        contract=contract,
        organisation=contract.contracting_authority,
        context=unavailability_context(contract, cause_text, now),
        now=now,
    )


@dataclass
class ReplacementResult:
    contract: Contract | None
    message: str = ""
    receipt: Receipt | None = None


def book_replacement_after_clearance_lapse(*, user, contract_id: int, now) -> ReplacementResult:
    """T11 / T12 "Prosegui con altro operatore" (R-PTIM-…, D-31)."""
    with transaction.atomic():
        old = Contract.objects.get(pk=contract_id)
        agreement = _lock_agreement(old.agreement_id)
        old = Contract.objects.select_for_update().get(pk=contract_id)
        _require_owner(user, old)
        if (
            old.state != ContractState.ANNULLED
            or old.annulment_kind != AnnulmentKind.CLEARANCE_LAPSED
            or hasattr(old, "successor")
        ):
            raise PtimError(_("Operazione non disponibile per questo contratto."))
        on = local_date(now)
        selection = None
        if agreement.is_in_force(on):
            selection = select_operator(
                agreement=agreement,
                works_amount=old.works_amount,
                safety_costs=old.safety_costs,
                required_level=old.required_clearance,
                on_date=on,
                after=old.membership,
            )
        if selection is None or (
            chapter_residual(agreement, old.spending_chapter) < selection.amount
            or agreement_residual(agreement) < selection.amount
        ):
            text = M.a09(agreement)
            receipt = _unavailability_receipt(contract=old, cause_text=text, now=now)
            notify.contract_event(
                contract=old,
                subject=_("[PTIM] Nessun operatore disponibile – contratto n. %(p)s")
                % {"p": old.progressive},
                now=now,
                text=text,
                receipt_url=receipt_url(receipt),
            )
            audit_record(
                action="nessun operatore disponibile",
                actor=user,
                obj=old,
                organisation=old.contracting_authority,
                now=now,
            )
            return ReplacementResult(None, text, receipt)
        contract = _create_contract(
            user=user,
            intervention=_intervention_of(old),
            descriptive=_descriptive_of(old),
            selection=selection,
            root=old.progressive_root,
            index=old.rebooking_index + 1,
            origin=ContractOrigin.CLEARANCE_REPLACEMENT,
            predecessor=old,
            sa=old.contracting_authority,
            now=now,
        )
        _after_booking(
            user=user, contract=contract, now=now, action="prenotazione per decadenza NOS/NOSI"
        )
    return ReplacementResult(contract)


# --- deadlines enforced at request time and by the jobs (D-06) ---------------------------------


def _annul(contract, *, kind, now, by=None, reason="") -> None:
    """Annul a locked contract; residuals are restored by the zero consumption (D-08)."""
    from_state = contract.state
    contract.annul()
    contract.annulled_at = now
    contract.annulment_kind = kind
    contract.annulment_reason = reason
    contract.annulled_by = by
    _sync_consumption(contract)
    contract.save()
    OperatorBooking.objects.filter(contract=contract, outcome=BookingOutcome.CURRENT).update(
        outcome=BookingOutcome.ENDED, ended_at=now
    )
    audit_record(
        action="annullamento contratto",
        actor=by,
        obj=contract,
        organisation=contract.contracting_authority,
        from_state=from_state,
        to_state=contract.state,
        payload={"kind": kind, "reason": reason},
        now=now,
    )


def expire_if_due(contract: Contract, *, now) -> bool:
    """T7 / T13 on a locked contract whose term has lapsed; True if it was annulled."""
    if contract.state == ContractState.BOOKED and lapsed(contract.acceptance_deadline, now):
        _annul(contract, kind=AnnulmentKind.BOOKING_EXPIRED, now=now)
        notify.contract_event(
            contract=contract,
            subject=_(
                "[PTIM] Annullamento automatico per scadenza del termine di accettazione – "
                "contratto n. %(p)s"
            )
            % {"p": contract.progressive},
            now=now,
        )
        return True
    if contract.state == ContractState.ACCEPTED and lapsed(contract.stipula_deadline, now):
        _annul(contract, kind=AnnulmentKind.STIPULA_EXPIRED, now=now)
        notify.contract_event(
            contract=contract,
            subject=_(
                "[PTIM] Annullamento automatico per scadenza del termine di stipula – "
                "contratto n. %(p)s"
            )
            % {"p": contract.progressive},
            now=now,
        )
        return True
    return False


def _lock_contract(contract_id) -> tuple[FrameworkAgreement, Contract]:
    agreement_id = Contract.objects.values_list("agreement_id", flat=True).get(pk=contract_id)
    agreement = _lock_agreement(agreement_id)
    contract = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("membership__operator", "spending_chapter", "contracting_authority")
        .get(pk=contract_id)
    )
    return agreement, contract


def _expire_one(contract_id, now) -> bool:
    with transaction.atomic():
        _agreement, contract = _lock_contract(contract_id)
        return expire_if_due(contract, now=now)


def expire_bookings(*, now) -> int:
    """J1: annul every booking whose 10 days have lapsed (catch-up included)."""
    today = local_date(now)
    ids = Contract.objects.filter(
        state=ContractState.BOOKED, acceptance_deadline__lt=today
    ).values_list("pk", flat=True)
    return sum(_expire_one(pk, now) for pk in list(ids))


def expire_stipulations(*, now) -> int:
    """J2: annul every accepted contract whose signing term has lapsed (D-04)."""
    today = local_date(now)
    ids = Contract.objects.filter(
        state=ContractState.ACCEPTED, stipula_deadline__lt=today
    ).values_list("pk", flat=True)
    return sum(_expire_one(pk, now) for pk in list(ids))


def _guard_terms(contract_id, now):
    """Run the lapse first in its own transaction, so it survives the refusal (D-06)."""
    with transaction.atomic():
        _agreement, contract = _lock_contract(contract_id)
        if contract.state == ContractState.BOOKED and lapsed(contract.acceptance_deadline, now):
            expire_if_due(contract, now=now)
            expired = M.a16(contract.acceptance_deadline)
        elif contract.state == ContractState.ACCEPTED and lapsed(contract.stipula_deadline, now):
            expire_if_due(contract, now=now)
            expired = M.a18(contract.stipula_deadline)
        else:
            return
    raise PtimError(expired, code="expired")


# --- documents ------------------------------------------------------------------------------------


def _read(uploaded) -> bytes:
    uploaded.seek(0)
    data = uploaded.read()
    uploaded.seek(0)
    return data


def _upload(*, user, organisation, use, title, uploaded, now):
    try:
        return document_upload(
            user=user,
            organisation=organisation,
            use=use,
            title=title,
            uploaded_file=uploaded,
            now=now,
        ).document
    except DocumentError as exc:
        raise PtimError(str(exc)) from exc


def _user_org(user, contract):
    if owns(user, contract):
        return contract.contracting_authority
    from procurement.accounts.access import organisations_of

    return organisations_of(user).order_by("pk").first()


def _pdf_only(uploaded, *, max_size=None):
    if uploaded is None:
        raise PtimError(M.A15, code="a15")
    data = _read(uploaded)
    if not data.startswith(b"%PDF-"):
        raise PtimError(M.A19, code="a19")
    if max_size and len(data) > max_size:
        raise PtimError(M.A20, code="a20")


# --- acceptance, extension, confirmation ---------------------------------------------------------


def accept_contract(*, user, contract_id: int, document, now) -> Contract:
    """T3 "Accettazione contratto" (R-PTIM-…, 10 days)."""
    _guard_terms(contract_id, now)
    if document is None:
        raise PtimError(M.A15, code="a15")
    with transaction.atomic():
        _agreement, contract = _lock_contract(contract_id)
        _require_owner(user, contract)
        if contract.state != ContractState.BOOKED:
            raise PtimError(_("Il contratto non è nello stato Prenotato."))
        doc = _upload(
            user=user,
            organisation=contract.contracting_authority,
            use="ptim_acceptance",
            title=_("Accettazione contratto n. %(p)s") % {"p": contract.progressive},
            uploaded=document,
            now=now,
        )
        contract.accept()
        contract.accepted_at = now
        contract.acceptance_document = doc
        contract.stipula_deadline = stipula_deadline(local_date(now), extended=False)
        contract.save()
        audit_record(
            action="accettazione contratto",
            actor=user,
            obj=contract,
            from_state=ContractState.BOOKED,
            to_state=contract.state,
            now=now,
        )
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Accettazione contratto n. %(p)s") % {"p": contract.progressive},
            now=now,
        )
    return contract


def can_extend(contract, now) -> bool:
    return (
        contract.state == ContractState.ACCEPTED
        and contract.extension_granted_at is None
        and local_date(now) <= extension_request_deadline(local_date(contract.accepted_at))
    )


def extend_stipula_deadline(*, user, contract_id: int, now) -> Contract:
    """T8 "Proroga stipula": once, within the 40 days (A-25)."""
    _guard_terms(contract_id, now)
    with transaction.atomic():
        _agreement, contract = _lock_contract(contract_id)
        _require_owner(user, contract)
        if not can_extend(contract, now):
            raise PtimError(M.A25, code="a25")
        contract.extension_granted_at = now
        contract.stipula_deadline = stipula_deadline(
            local_date(contract.accepted_at), extended=True
        )
        contract.save()
        audit_record(
            action="proroga termine di stipula",
            actor=user,
            obj=contract,
            payload={"stipula_deadline": contract.stipula_deadline},
            now=now,
        )
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Proroga termine di stipula – contratto n. %(p)s")
            % {"p": contract.progressive},
            now=now,
        )
    return contract


@dataclass
class ConfirmResult:
    contract: Contract
    clearance_lapsed: bool = False


def confirm_contract(*, user, contract_id: int, document, now) -> ConfirmResult:
    """T9 "Conferma contratto", or T10 when the operator's NOS/NOSI has lapsed."""
    _guard_terms(contract_id, now)
    _pdf_only(document, max_size=MAX_STIPULA_SIZE)
    with transaction.atomic():
        _agreement, contract = _lock_contract(contract_id)
        _require_owner(user, contract)
        if contract.state != ContractState.ACCEPTED:
            raise PtimError(_("Il contratto non è nello stato Accettato."))
        level = contract.required_clearance
        if level and not contract.membership.operator.holds(level, local_date(now)):
            _annul(contract, kind=AnnulmentKind.CLEARANCE_LAPSED, now=now)
            notify.contract_event(
                contract=contract,
                subject=_("[PTIM] Annullamento contratto n. %(p)s per decadenza del NOS/NOSI")
                % {"p": contract.progressive},
                now=now,
                text=str(M.A08),
                addresses=notify.uo_and_dt(contract.agreement),
            )
            return ConfirmResult(contract, clearance_lapsed=True)
        doc = _upload(
            user=user,
            organisation=contract.contracting_authority,
            use="ptim_stipula",
            title=_("Contratto n. %(p)s") % {"p": contract.progressive},
            uploaded=document,
            now=now,
        )
        contract.confirm()
        contract.confirmed_at = now
        contract.stipula_document = doc
        _sync_consumption(contract)
        contract.save()
        audit_record(
            action="conferma contratto",
            actor=user,
            obj=contract,
            from_state=ContractState.ACCEPTED,
            to_state=contract.state,
            now=now,
        )
        publish_definitive(contract, now=now)  # open data: OCDS award + contract
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Conferma contratto n. %(p)s – stato Definitivo")
            % {"p": contract.progressive},
            now=now,
        )
    return ConfirmResult(contract)


# --- waiver (T4 / T5) ----------------------------------------------------------------------------


def waiver_proposal(*, contract, now) -> Selection | None:
    """The next eligible operator after the renouncing one (D-25), or None."""
    agreement = contract.agreement
    if not agreement.is_in_force(local_date(now)):
        return None
    selection = select_operator(
        agreement=agreement,
        works_amount=contract.works_amount,
        safety_costs=contract.safety_costs,
        required_level=contract.required_clearance,
        on_date=local_date(now),
        after=contract.membership,
    )
    if selection is None:
        return None
    # The renouncing operator's amount is released by the same change.
    margin = contract.total_amount
    if (
        chapter_residual(agreement, contract.spending_chapter) + margin < selection.amount
        or agreement_residual(agreement) + margin < selection.amount
    ):
        return None
    return selection


@dataclass
class WaiverResult:
    contract: Contract
    refusal: Refusal
    replaced: bool
    message: str = ""


def register_waiver(
    *,
    user,
    contract_id: int,
    document,
    lapse_declaration: bool = False,
    expected_membership_id: int | None = None,
    now,
) -> WaiverResult:
    """ "Rinuncia impresa": T4 (next operator booked on the same contract) or T5 (annulment)."""
    _guard_terms(contract_id, now)
    if document is None:
        raise PtimError(M.A15, code="a15")
    with transaction.atomic():
        agreement, contract = _lock_contract(contract_id)
        _require_owner(user, contract)
        if contract.state != ContractState.BOOKED:
            raise PtimError(_("Il contratto non è nello stato Prenotato."))
        proposal = waiver_proposal(contract=contract, now=now)
        proposed_id = proposal.membership.pk if proposal else None
        if expected_membership_id is not None and int(expected_membership_id or 0) != (
            proposed_id or 0
        ):
            raise PtimError(
                M.a36(proposal.membership.operator.name, proposal.amount)
                if proposal
                else M.a09(agreement),
                code="changed",
            )
        doc = _upload(
            user=user,
            organisation=contract.contracting_authority,
            use="ptim_waiver",
            title=_("Rinuncia impresa – contratto n. %(p)s") % {"p": contract.progressive},
            uploaded=document,
            now=now,
        )
        old_booking = OperatorBooking.objects.select_for_update().get(
            contract=contract, outcome=BookingOutcome.CURRENT
        )
        old_booking.outcome = BookingOutcome.WAIVED
        old_booking.ended_at = now
        old_booking.save()
        refusal = Refusal.objects.create(
            booking=old_booking,
            contract=contract,
            membership=old_booking.membership,
            booked_at=old_booking.booked_at,
            waiver_document=doc,
            is_lapse_declaration=bool(lapse_declaration),
            inserted_at=now,
            inserted_by=user,
            handling_deadline=refusal_handling_deadline(local_date(now)),
        )
        renouncing = contract.membership.operator.name
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Rinuncia operatore – contratto n. %(p)s")
            % {"p": contract.progressive},
            now=now,
            text=_("Rinuncia dell’operatore %(o)s.") % {"o": renouncing},
        )
        if proposal is None:
            _annul(contract, kind=AnnulmentKind.NO_OPERATOR_AVAILABLE, now=now, by=user)
            text = M.a09(agreement)
            receipt = _unavailability_receipt(contract=contract, cause_text=text, now=now)
            notify.contract_event(
                contract=contract,
                subject=_("[PTIM] Nessun operatore disponibile – contratto n. %(p)s")
                % {"p": contract.progressive},
                now=now,
                text=text,
                receipt_url=receipt_url(receipt),
            )
            return WaiverResult(contract, refusal, replaced=False, message=text)
        today = local_date(now)
        contract.membership = proposal.membership
        contract.total_amount = proposal.amount
        contract.booked_at = now
        contract.booking_date = today
        contract.acceptance_deadline = acceptance_deadline(today)
        _sync_consumption(contract)
        contract.save()
        booking = OperatorBooking.objects.create(
            contract=contract,
            membership=proposal.membership,
            booked_at=now,
            booking_date=today,
            total_amount=proposal.amount,
        )
        contract._current_booking = booking
        renounced = list(
            contract.bookings.filter(outcome=BookingOutcome.WAIVED).values_list(
                "membership__operator__name", flat=True
            )
        )
        receipt = _booking_receipt(contract, booking, now, renounced=renounced)
        audit_record(
            action="rinuncia impresa e nuovo operatore",
            actor=user,
            obj=contract,
            payload={"renouncing": renouncing, "new": proposal.membership.operator.name},
            now=now,
        )
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Aggiornamento operatore – contratto n. %(p)s")
            % {"p": contract.progressive},
            now=now,
            text=str(M.A06),
            receipt_url=receipt_url(receipt),
        )
    return WaiverResult(contract, refusal, replaced=True)


# --- manual annulment (T6) -----------------------------------------------------------------------


def _reasons(text, name="reason") -> str:
    text = (text or "").strip()
    if not text:
        raise PtimError(errors={name: [M.REQUIRED]})
    if len(text) > MAX_TEXT:
        raise PtimError(errors={name: [M.TOO_LONG]})
    return text


def annul_contract(*, user, contract_id: int, reason: str, now) -> Contract:
    """T6: the competent DT (or the DG) annuls a booked or accepted contract."""
    reason = _reasons(reason)
    with transaction.atomic():
        agreement, contract = _lock_contract(contract_id)
        if not can_supervise(user, agreement):
            raise PermissionDenied(_("Operazione riservata alla DT competente e alla DG."))
        if contract.state not in (ContractState.BOOKED, ContractState.ACCEPTED):
            raise PtimError(_("Il contratto non può essere annullato nello stato attuale."))
        _annul(contract, kind=AnnulmentKind.MANUAL, now=now, by=user, reason=reason)
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Annullamento contratto n. %(p)s") % {"p": contract.progressive},
            now=now,
            text=reason,
        )
    return contract


# --- variations (T14) ----------------------------------------------------------------------------


def _variation_amounts(contract, works, non_discounted) -> tuple[Decimal, Decimal]:
    planned = works + non_discounted
    total = cents(works * (Decimal(100) - contract.membership.discount_pct) / 100) + non_discounted
    return planned, total


@dataclass
class VariationCheck:
    planned: Decimal
    total: Decimal
    warning: str = ""


def _check_variation_delta(*, agreement, contract, delta, confirm_negative) -> str:
    if delta > 0:
        residual = chapter_residual(agreement, contract.spending_chapter)
        if residual - delta < 0:
            raise PtimError(M.a23(contract.spending_chapter.label, residual, delta), code="a23")
    after = operator_residual(contract.membership) - delta
    if delta > 0 and after < 0:
        warning = M.a24(contract.membership.operator.name, after)
        if not confirm_negative:
            raise PtimError(warning, code="a24")
        return warning
    return ""


def add_variation(
    *,
    user,
    contract_id: int,
    kind: str,
    description: str,
    works_amount: Decimal,
    non_discounted_amount: Decimal,
    documents: list,
    confirm_negative: bool = False,
    now,
) -> Variation:
    """ "Inserisci Variante" on a Definitivo contract (SA, competent DT, DG)."""
    description = _reasons(description, "description")
    if not documents:
        raise PtimError(M.A21, code="a21")
    if len(documents) > 5:
        raise PtimError(M.A22, code="a22")
    with transaction.atomic():
        agreement, contract = _lock_contract(contract_id)
        if not (owns(user, contract) or can_supervise(user, agreement)):
            raise PermissionDenied
        if contract.state != ContractState.DEFINITIVE:
            raise PtimError(_("Le variazioni sono ammesse solo sui contratti Definitivi."))
        planned, total = _variation_amounts(contract, works_amount, non_discounted_amount)
        _check_variation_delta(
            agreement=agreement, contract=contract, delta=total, confirm_negative=confirm_negative
        )
        variation = Variation.objects.create(
            contract=contract,
            kind=kind,
            description=description,
            works_amount=works_amount,
            non_discounted_amount=non_discounted_amount,
            planned_amount=planned,
            total_amount=total,
            created_at=now,
            created_by=user,
        )
        org = _user_org(user, contract)
        for i, f in enumerate(documents, start=1):
            variation.documents.add(
                _upload(
                    user=user,
                    organisation=org,
                    use="ptim_variation",
                    title=_("Variazione – contratto n. %(p)s (%(i)s)")
                    % {"p": contract.progressive, "i": i},
                    uploaded=f,
                    now=now,
                )
            )
        _sync_consumption(contract)
        contract.save()
        audit_record(
            action="variazione inserita",
            actor=user,
            obj=contract,
            payload={"variation": variation.pk, "total": total},
            now=now,
        )
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Variazione inserita – contratto n. %(p)s")
            % {"p": contract.progressive},
            now=now,
        )
    return variation


def update_variation(
    *,
    user,
    variation_id: int,
    works_amount: Decimal,
    non_discounted_amount: Decimal,
    description: str | None = None,
    confirm_negative: bool = False,
    now,
) -> Variation:
    """ "Modifica" a variation (competent DT, DG); no visible history."""
    contract_id = Variation.objects.values_list("contract_id", flat=True).get(pk=variation_id)
    with transaction.atomic():
        agreement, contract = _lock_contract(contract_id)
        if not can_supervise(user, agreement):
            raise PermissionDenied
        variation = Variation.objects.select_for_update().get(pk=variation_id)
        if variation.annulled_at or contract.state != ContractState.DEFINITIVE:
            raise PtimError(_("La variazione non è modificabile."))
        planned, total = _variation_amounts(contract, works_amount, non_discounted_amount)
        _check_variation_delta(
            agreement=agreement,
            contract=contract,
            delta=total - variation.total_amount,
            confirm_negative=confirm_negative,
        )
        variation.works_amount = works_amount
        variation.non_discounted_amount = non_discounted_amount
        variation.planned_amount = planned
        variation.total_amount = total
        if description is not None:
            variation.description = _reasons(description, "description")
        variation.updated_at = now
        variation.updated_by = user
        variation.save()
        _sync_consumption(contract)
        contract.save()
        audit_record(
            action="variazione modificata",
            actor=user,
            obj=contract,
            payload={"variation": variation.pk, "total": total},
            now=now,
        )
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Variazione modificata – contratto n. %(p)s")
            % {"p": contract.progressive},
            now=now,
        )
    return variation


def annul_variation(
    *, user, variation_id: int, note: str, confirm_negative: bool = False, now
) -> Variation:
    """ "Annulla variante" (competent DT, DG, D-35): it stays visible, marked annulled."""
    note = _reasons(note, "note")
    contract_id = Variation.objects.values_list("contract_id", flat=True).get(pk=variation_id)
    with transaction.atomic():
        agreement, contract = _lock_contract(contract_id)
        if not can_supervise(user, agreement):
            raise PermissionDenied
        variation = Variation.objects.select_for_update().get(pk=variation_id)
        if variation.annulled_at:
            raise PtimError(_("La variazione è già annullata."))
        _check_variation_delta(
            agreement=agreement,
            contract=contract,
            delta=-variation.total_amount,
            confirm_negative=confirm_negative,
        )
        variation.annulled_at = now
        variation.annulled_by = user
        variation.annulment_note = note
        variation.save()
        _sync_consumption(contract)
        contract.save()
        audit_record(
            action="variazione annullata",
            actor=user,
            obj=contract,
            payload={"variation": variation.pk},
            now=now,
        )
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Variazione annullata – contratto n. %(p)s")
            % {"p": contract.progressive},
            now=now,
            text=note,
        )
    return variation


# --- rescission (T15) ----------------------------------------------------------------------------


def rescind_contract(
    *,
    user,
    contract_id: int,
    reason: str,
    rescission_date: datetime.date,
    amount_paid: Decimal,
    amount_due: Decimal,
    document=None,
    now,
) -> Contract:
    """ "Rescissione/Risoluzione" (competent DT, DG): consumption becomes the effective amount."""
    reason = _reasons(reason)
    if rescission_date is None:
        raise PtimError(errors={"rescission_date": [M.REQUIRED]})
    if amount_paid is None or amount_due is None or amount_paid < 0 or amount_due < 0:
        raise PtimError(_("Indicare gli importi corrisposti e da corrispondere (≥ 0)."))
    if document is not None:
        _pdf_only(document)
    with transaction.atomic():
        agreement, contract = _lock_contract(contract_id)
        if not can_supervise(user, agreement):
            raise PermissionDenied(_("Operazione riservata agli utenti dell’Agenzia."))
        if contract.state != ContractState.DEFINITIVE:
            raise PtimError(_("Solo un contratto Definitivo può essere rescisso o risolto."))
        if document is not None:
            contract.rescission_document = _upload(
                user=user,
                organisation=_user_org(user, contract),
                use="ptim_rescission",
                title=_("Rescissione contratto n. %(p)s") % {"p": contract.progressive},
                uploaded=document,
                now=now,
            )
        before = contract.consumed_amount
        contract.rescind()
        contract.rescission_reason = reason
        contract.rescission_date = rescission_date
        contract.amount_paid = amount_paid
        contract.amount_due = amount_due
        contract.rescinded_at = now
        _sync_consumption(contract)
        contract.save()
        audit_record(
            action="rescissione/risoluzione",
            actor=user,
            obj=contract,
            from_state=ContractState.DEFINITIVE,
            to_state=contract.state,
            payload={"before": before, "effective": contract.consumed_amount},
            now=now,
        )
        publish_rescission(contract, now=now)
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Rescissione/Risoluzione contratto n. %(p)s")
            % {"p": contract.progressive},
            now=now,
            text=reason,
        )
    return contract


# --- DG modification (§4.1.1) --------------------------------------------------------------------


def update_contract_descriptive_data(*, user, contract_id: int, data: dict, now) -> Contract:
    """DG only: descriptive fields, MU identifier, chapter (with "Note"); no e-mail."""
    if not is_dg(user):
        raise PermissionDenied(_("Operazione riservata alla Direzione Generale."))
    with transaction.atomic():
        agreement, contract = _lock_contract(contract_id)
        old_chapter = contract.spending_chapter
        chapter = old_chapter
        if data.get("spending_chapter") and int(data["spending_chapter"]) != old_chapter.pk:
            chapter = SpendingChapter.objects.filter(pk=data["spending_chapter"]).first()
            if (
                chapter is None
                or contract.sa_user_type not in chapter.allowed_user_types
                or not agreement.ceilings.filter(chapter=chapter, amount__gt=0).exists()
            ):
                raise PtimError(errors={"spending_chapter": [_("Capitolo di spesa non ammesso.")]})
            notes = (data.get("notes") or "").strip()
            if not notes:
                raise PtimError(errors={"notes": [M.REQUIRED]})
            if len(notes) > MAX_TEXT:
                raise PtimError(errors={"notes": [M.TOO_LONG]})
            if chapter_residual(agreement, chapter) < contract.consumed_amount:
                raise PtimError(
                    M.a23(
                        chapter.label,
                        chapter_residual(agreement, chapter),
                        contract.consumed_amount,
                    )
                )
            contract.notes = notes
        identifier = (
            data.get("intervention_identifier") or contract.intervention_identifier
        ).strip()
        if chapter.code == "MU" and contract.state != ContractState.ANNULLED and identifier:
            clash = Contract.objects.filter(active_mu_identifier=identifier).exclude(pk=contract.pk)
            clash = clash.first()
            if clash:
                raise PtimError(
                    errors={"intervention_identifier": [M.a13(identifier, clash.progressive)]}
                )
        before = {"chapter": old_chapter.code, "identifier": contract.intervention_identifier}
        contract.spending_chapter = chapter
        contract.intervention_identifier = identifier
        if data.get("description"):
            contract.description = _reasons(data["description"], "description")
        if data.get("plan_year"):
            contract.plan_year = int(data["plan_year"])
        _sync_consumption(contract)
        contract.save()
        audit_record(
            action="modifica contratto (DG)",
            actor=user,
            obj=contract,
            payload={
                "before": before,
                "after": {"chapter": chapter.code, "identifier": identifier},
            },
            now=now,
        )
    return contract


# --- refusals, exclusion, readmission (§5) --------------------------------------------------------


def refusal_handleable(refusal, now) -> bool:
    return refusal.justified is None and (
        refusal.unlocked_at is not None or local_date(now) <= refusal.handling_deadline
    )


def _membership_event(*, membership, kind, motivation, now, by=None, trigger=None):
    return AgreementOperatorEvent.objects.create(
        membership=membership,
        kind=kind,
        motivation=motivation,
        at=now,
        by=by,
        trigger_refusal=trigger,
    )


def _operator_event_mail(*, membership, subject, now, to_operator=False, text=""):
    agreement = membership.agreement
    addresses = [*notify.uo_and_dt(agreement), agreement.referent_email]
    if to_operator and membership.operator.pec:
        addresses.append(membership.operator.pec)
    notify.send(
        subject=subject,
        addresses=addresses,
        now=now,
        in_app=list(notify.supervisors(agreement)),
        text=text,
        url=reverse("ptim:refusals", args=[membership.pk]),
    )


def _exclude(*, membership, kind, motivation, now, by=None, trigger=None):
    membership.status = OperatorStatus.EXCLUDED
    membership.status_changed_at = now
    membership.save(update_fields=["status", "status_changed_at"])
    _membership_event(
        membership=membership, kind=kind, motivation=motivation, now=now, by=by, trigger=trigger
    )
    audit_record(
        action="esclusione operatore",
        actor=by,
        obj=membership,
        organisation=None,
        to_state=OperatorStatus.EXCLUDED,
        payload={"kind": kind, "motivation": motivation},
        now=now,
    )
    names = {"o": membership.operator.name, "a": membership.agreement.identifier}
    if kind == OperatorEventKind.EXCLUSION_AUTO:
        subject = _("[PTIM] Esclusione automatica dell’operatore %(o)s – A.Q. %(a)s") % names
    else:
        subject = _("[PTIM] Esclusione dell’operatore %(o)s – A.Q. %(a)s") % names
    _operator_event_mail(
        membership=membership,
        subject=subject,
        now=now,
        to_operator=kind == OperatorEventKind.EXCLUSION_AUTO,
        text=motivation,
    )


def check_automatic_exclusion(refusal, *, now) -> bool:
    """Two consecutive "NO" by booking date after the last readmission (§4.9, D-39, D-40)."""
    if refusal.justified is not False:
        return False
    m = AgreementOperator.objects.select_for_update().get(pk=refusal.membership_id)
    if m.status != OperatorStatus.ACTIVE:
        return False
    seq = m.refusals.order_by("booked_at", "pk")
    if m.last_readmitted_at:
        seq = seq.filter(booked_at__gt=m.last_readmitted_at)
    seq = list(seq.select_related("contract"))
    ids = [r.pk for r in seq]
    if refusal.pk not in ids:
        return False
    i = ids.index(refusal.pk)
    for j in (i - 1, i + 1):
        if 0 <= j < len(seq) and seq[j].justified is False:
            first, second = sorted([seq[i], seq[j]], key=lambda r: (r.booked_at, r.pk))
            fmt = "%d/%m/%Y"
            _exclude(
                membership=m,
                kind=OperatorEventKind.EXCLUSION_AUTO,
                motivation=M.a34(
                    first.contract.progressive,
                    second.contract.progressive,
                    local_date(first.booked_at).strftime(fmt),
                    local_date(second.booked_at).strftime(fmt),
                ),
                now=now,
                trigger=refusal,
            )
            return True
    return False


def handle_refusal(*, user, refusal_id: int, justified: bool, motivation: str, now) -> Refusal:
    """The competent DT's SI/NO with reasons (R-PTIM-12x); may exclude the operator."""
    motivation = _reasons(motivation, "motivation")
    with transaction.atomic():
        refusal = Refusal.objects.select_related("membership__agreement").get(pk=refusal_id)
        agreement = _lock_agreement(refusal.membership.agreement_id)
        refusal = Refusal.objects.select_for_update().get(pk=refusal_id)
        if not is_competent_dt(user, agreement):
            raise PermissionDenied(_("Operazione riservata alla DT competente."))
        if refusal.justified is not None:
            raise PtimError(_("Il rifiuto è già stato gestito."))
        if not refusal_handleable(refusal, now):
            raise PtimError(M.a30(refusal.handling_deadline), code="a30")
        refusal.justified = bool(justified)
        refusal.motivation = motivation
        refusal.handled_at = now
        refusal.handled_by = user
        refusal.save()
        audit_record(
            action="gestione rifiuto",
            actor=user,
            obj=refusal.contract,
            payload={"refusal": refusal.pk, "justified": refusal.justified},
            now=now,
        )
        contract = refusal.contract
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Gestione rifiuto – contratto n. %(p)s – rifiuto giustificato: %(j)s")
            % {"p": contract.progressive, "j": "SI" if refusal.justified else "NO"},
            now=now,
            text=motivation,
        )
        refusal.excluded = check_automatic_exclusion(refusal, now=now)
    return refusal


def notify_expired_refusals(*, now) -> int:
    """J3: one notice per refusal whose 30 days lapsed unhandled (claimed by an UPDATE)."""
    today = local_date(now)
    ids = list(
        Refusal.objects.filter(
            justified__isnull=True,
            unlocked_at__isnull=True,
            handling_deadline__lt=today,
            expiry_notified_at__isnull=True,
        ).values_list("pk", flat=True)
    )
    sent = 0
    for pk in ids:
        with transaction.atomic():
            claimed = Refusal.objects.filter(pk=pk, expiry_notified_at__isnull=True).update(
                expiry_notified_at=now
            )
            if not claimed:
                continue
            refusal = Refusal.objects.select_related("contract", "membership__agreement").get(pk=pk)
            agreement = refusal.membership.agreement
            notify.send(
                subject=_("[PTIM] Termine scaduto per la gestione del rifiuto – contratto n. %(p)s")
                % {"p": refusal.contract.progressive},
                addresses=notify.uo_and_dt(agreement),
                now=now,
                in_app=list(notify.supervisors(agreement)),
                text=M.a35(refusal.contract.progressive),
            )
            sent += 1
    return sent


def unlock_refusal(*, user, refusal_id: int, motivation: str, unlock_date=None, now) -> Refusal:
    """DG unlock of an expired refusal (D-42)."""
    if not is_dg(user):
        raise PermissionDenied(_("Operazione riservata alla Direzione Generale."))
    motivation = _reasons(motivation, "motivation")
    with transaction.atomic():
        refusal = Refusal.objects.select_for_update().get(pk=refusal_id)
        if refusal.justified is not None or refusal.unlocked_at is not None:
            raise PtimError(_("Il rifiuto non richiede lo sblocco."))
        refusal.unlocked_at = now
        refusal.unlock_date = unlock_date or local_date(now)
        refusal.unlock_motivation = motivation
        refusal.unlocked_by = user
        refusal.save()
        audit_record(
            action="sblocco rifiuto",
            actor=user,
            obj=refusal.contract,
            payload={"refusal": refusal.pk},
            now=now,
        )
        agreement = refusal.membership.agreement
        notify.send(
            subject=_("[PTIM] Sblocco della gestione del rifiuto – contratto n. %(p)s")
            % {"p": refusal.contract.progressive},
            addresses=notify.uo_and_dt(agreement),
            now=now,
            in_app=list(notify.supervisors(agreement)),
            text=motivation,
        )
    return refusal


def exclude_operator(*, user, membership_id: int, motivation: str, now) -> AgreementOperator:
    """ "Esclusione Operatore" (competent DT, DG)."""
    motivation = _reasons(motivation, "motivation")
    with transaction.atomic():
        agreement_id = AgreementOperator.objects.values_list("agreement_id", flat=True).get(
            pk=membership_id
        )
        agreement = _lock_agreement(agreement_id)
        if not can_supervise(user, agreement):
            raise PermissionDenied
        m = AgreementOperator.objects.select_for_update().get(pk=membership_id)
        if m.status != OperatorStatus.ACTIVE:
            raise PtimError(_("L’operatore non è attivo."))
        _exclude(
            membership=m,
            kind=OperatorEventKind.EXCLUSION_MANUAL,
            motivation=motivation,
            now=now,
            by=user,
        )
    return m


def readmit_operator(*, user, membership_id: int, motivation: str, now) -> AgreementOperator:
    """ "Riammissione Operatore" (DG only)."""
    if not is_dg(user):
        raise PermissionDenied(_("Operazione riservata alla Direzione Generale."))
    motivation = _reasons(motivation, "motivation")
    with transaction.atomic():
        m = AgreementOperator.objects.select_for_update().get(pk=membership_id)
        if m.status != OperatorStatus.EXCLUDED:
            raise PtimError(_("L’operatore non è escluso dalla selezione."))
        m.status = OperatorStatus.ACTIVE
        m.status_changed_at = now
        m.last_readmitted_at = now
        m.save()
        _membership_event(
            membership=m,
            kind=OperatorEventKind.READMISSION,
            motivation=motivation,
            now=now,
            by=user,
        )
        audit_record(
            action="riammissione operatore",
            actor=user,
            obj=m,
            to_state=OperatorStatus.ACTIVE,
            payload={"motivation": motivation},
            now=now,
        )
        _operator_event_mail(
            membership=m,
            subject=_("[PTIM] Riammissione dell’operatore %(o)s – A.Q. %(a)s")
            % {"o": m.operator.name, "a": m.agreement.identifier},
            now=now,
            text=motivation,
        )
    return m


# --- the 50 % increase (D-12) and DG edits of pre-set values ------------------------------------


def increase_agreement_ceiling(
    *,
    user,
    agreement_id: int,
    reference_works: Decimal,
    reference_safety: Decimal,
    motivation: str,
    now,
) -> CeilingIncrease:
    if not is_dg(user):
        raise PermissionDenied(_("Operazione riservata alla Direzione Generale."))
    motivation = _reasons(motivation, "motivation")
    with transaction.atomic():
        agreement = _lock_agreement(agreement_id)
        if hasattr(agreement, "ceiling_increase"):
            raise PtimError(M.a41(_("l’incremento è già stato applicato")), code="a41")
        reference = reference_works + reference_safety
        members = list(
            agreement.operators.exclude(status=OperatorStatus.ANNULLED)
            .select_for_update()
            .order_by("-score", "ranking_position", "pk")
        )
        if agreement_residual(agreement) < reference:
            trigger = "AQ_TOTAL_REACHED"
        elif all(
            operator_residual(m) < total_amount(reference_works, reference_safety, m.discount_pct)
            for m in members
            if m.status == OperatorStatus.ACTIVE
        ):
            trigger = "NO_OPERATOR_CAPACITY"
        else:
            raise PtimError(
                M.a41(
                    _(
                        "l’importo complessivo dell’Accordo Quadro non risulta raggiunto e la "
                        "disponibilità residua di almeno un operatore consente l’affidamento "
                        "dell’intervento"
                    )
                ),
                code="a41",
            )
        pct = min(agreement.increase_pct, Decimal("50.00"))
        amount = cents(agreement.base_amount * pct / 100)
        shares = split_equally(amount, len(members))
        for m, share in zip(members, shares, strict=True):
            m.increase_share += share
            m.save(update_fields=["increase_share"])
        agreement.increase_amount = amount
        agreement.save(update_fields=["increase_amount"])
        increase = CeilingIncrease.objects.create(
            agreement=agreement,
            pct=pct,
            amount=amount,
            trigger=trigger,
            reference_amount=reference,
            motivation=motivation,
            applied_at=now,
            applied_by=user,
            shares={str(m.pk): str(s) for m, s in zip(members, shares, strict=True)},
        )
        audit_record(
            action="incremento del massimale",
            actor=user,
            obj=agreement,
            payload={"amount": amount, "trigger": trigger},
            now=now,
        )
        notify.send(
            subject=_("[PTIM] Incremento del massimale – A.Q. %(a)s") % {"a": agreement.identifier},
            addresses=[*notify.uo_and_dt(agreement), agreement.referent_email],
            now=now,
            in_app=list(notify.supervisors(agreement)),
            text=motivation,
        )
    return increase


def split_equally(amount: Decimal, n: int) -> list[Decimal]:
    """Equal shares floored to the cent; the remaining cents one each in ranking order (D-12)."""
    if n <= 0:
        return []
    share = floor_cents(amount / n)
    remainder = int((amount - share * n) / Decimal("0.01"))
    return [share + (Decimal("0.01") if i < remainder else ZERO) for i in range(n)]


def set_chapter_ceiling(*, user, agreement_id: int, chapter_id: int, amount: Decimal, now):
    """DG edit of a pre-set value (R-PTIM-012): audited, no e-mail."""
    if not is_dg(user):
        raise PermissionDenied(_("Operazione riservata alla Direzione Generale."))
    if amount is None or amount < 0:
        raise PtimError(_("Importo non valido."))
    from .models import ChapterCeiling

    with transaction.atomic():
        agreement = _lock_agreement(agreement_id)
        ceiling, _created = ChapterCeiling.objects.select_for_update().get_or_create(
            agreement=agreement, chapter_id=chapter_id, defaults={"amount": amount}
        )
        before = ceiling.amount
        ceiling.amount = amount
        ceiling.save()
        audit_record(
            action="modifica massimale capitolo",
            actor=user,
            obj=agreement,
            payload={"chapter": ceiling.chapter.code, "before": before, "after": amount},
            now=now,
        )
    return ceiling


# --- consistency --------------------------------------------------------------------------------


def residual_differences() -> list[str]:
    """Recompute every contract's consumption from its state and variations (R-PTIM-009)."""
    diffs = []
    for contract in Contract.objects.select_related("spending_chapter").iterator():
        expected = consumption(contract)
        if expected != contract.consumed_amount:
            diffs.append(
                _("Contratto n. %(p)s: impegno registrato € %(r)s, ricalcolato € %(e)s")
                % {
                    "p": contract.progressive,
                    "r": euro(contract.consumed_amount),
                    "e": euro(expected),
                }
            )
    return diffs


__all__ = [
    "PtimError",
    "Unavailable",
    "book_operator",
    "total_with_variations",
]
