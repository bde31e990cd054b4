"""PTIM services: rebooking (split of the former ptim/services.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from .. import messages as M
from .. import notify
from ..access import (
    owns,
)
from ..amounts import (
    agreement_residual,
    chapter_residual,
    operator_residual,
    total_amount,
)
from ..deadlines import (
    local_date,
)
from ..models import (
    AgreementOperator,
    AnnulmentKind,
    Contract,
    ContractOrigin,
    ContractState,
    InterventionCategory,
    OperatorStatus,
    Receipt,
    ReceiptKind,
)
from ..selection import Selection, select_operator
from .base import (
    MAX_TEXT,
    PtimError,
)
from .booking import (
    RUP_FIELDS,
    Intervention,
    _after_booking,
    _check_capacity,
    _create_contract,
    _lock_agreement,
    _new_receipt,
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


REBOOK_EDITABLE = ("description", "intervention_category", *RUP_FIELDS)


def check_rebook_corrections(old, corrections: dict | None) -> tuple[dict, dict]:
    """D-32: on a re-booking only the description, the category of the intervention and the
    RUP/Referente data may be corrected; everything else is recalled read-only.

    Returns (descriptive, rup) for the new contract; PtimError with per-field messages.
    """
    from django.core.validators import validate_email

    corrections = {k: v for k, v in (corrections or {}).items() if k in REBOOK_EDITABLE}
    errors: dict[str, list] = {}

    def err(name, message):
        errors.setdefault(name, []).append(message)

    descriptive = _descriptive_of(old)
    rup = {name: getattr(old, name) for name in RUP_FIELDS}
    if "description" in corrections:
        text = str(corrections["description"] or "").strip()
        if not text:
            err("description", M.REQUIRED)
        elif len(text) > MAX_TEXT:
            err("description", M.TOO_LONG)
        descriptive["description"] = text
    if "intervention_category" in corrections:
        raw = str(corrections["intervention_category"] or "")
        category = (
            InterventionCategory.objects.filter(pk=int(raw), active=True).first()
            if raw.isdigit()
            else None
        )
        if category is None:
            err("intervention_category", M.REQUIRED)
        descriptive["intervention_category"] = category
    for name in RUP_FIELDS:
        if name in corrections:
            value = str(corrections[name] or "").strip()
            if not value:
                err(name, M.REQUIRED)
            rup[name] = value
    for name in ("rup_email", "office_email"):
        if name in corrections and rup[name]:
            try:
                validate_email(rup[name])
            except Exception:
                err(name, _("Indirizzo e-mail non valido."))
    if rup["rup_email"].strip().lower() == rup["office_email"].strip().lower():
        err("rup_email", M.A12)
    if errors:
        raise PtimError(errors=errors)
    return descriptive, rup


@dataclass
class RebookPreview:
    old: Contract
    membership: AgreementOperator
    amount: object
    descriptive: dict
    rup: dict


def preview_rebooking(
    *, user, progressive: str, measured_basis_confirmed: bool, corrections=None, now
) -> RebookPreview:
    """ "Salva" / "Riprenota operatore" of T2 (R-PTIM-107, R-PTIM-108): every check of
    `rebook_operator`, nothing stored, no lock; "Conferma dati" re-runs them under lock."""
    if not measured_basis_confirmed:
        raise PtimError(errors={"measured_basis_confirmed": [M.REQUIRED]})
    old = find_rebookable(user=user, progressive=progressive)
    descriptive, rup = check_rebook_corrections(old, corrections)
    on = local_date(now)
    agreement = old.agreement
    if not agreement.is_in_force(on):
        raise PtimError(M.a10(old.period.label, old.territorial_area.name, old.lot.label))
    membership = AgreementOperator.objects.select_related("operator").get(pk=old.membership_id)
    amount = total_amount(old.works_amount, old.safety_costs, membership.discount_pct)
    reason = _not_bookable_reason(membership, amount, old.required_clearance, on)
    if reason:
        raise PtimError(M.a33(membership.operator.name, reason), code="a33")
    intervention = _intervention_of(old)
    intervention.rup = rup
    _check_capacity(
        user=user,
        intervention=intervention,
        agreement=agreement,
        chapter=old.spending_chapter,
        amount=amount,
        now=now,
    )
    return RebookPreview(old, membership, amount, descriptive, rup)


def rebook_operator(
    *, user, progressive: str, measured_basis_confirmed: bool, corrections=None, now
) -> Contract:
    """T2: re-book the last annulled booking with the same operator (R-PTIM-106…).

    `corrections` may change the fields D-32 leaves editable (REBOOK_EDITABLE)."""
    if not measured_basis_confirmed:
        raise PtimError(errors={"measured_basis_confirmed": [M.REQUIRED]})
    found = find_rebookable(user=user, progressive=progressive)
    check_rebook_corrections(found, corrections)
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
        descriptive, rup = check_rebook_corrections(old, corrections)
        intervention = _intervention_of(old)
        intervention.agreement = agreement
        intervention.rup = rup
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
            descriptive=descriptive,
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
    from ..pdf import unavailability_context

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
                receipt=receipt,
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
