"""PTIM services: waiver (split of the former ptim/services.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from .. import messages as M
from .. import notify
from ..amounts import (
    agreement_residual,
    chapter_residual,
)
from ..deadlines import (
    acceptance_deadline,
    local_date,
    refusal_handling_deadline,
)
from ..models import (
    AnnulmentKind,
    BookingOutcome,
    Contract,
    ContractState,
    OperatorBooking,
    Refusal,
)
from ..selection import Selection, select_operator
from .base import (
    PtimError,
)
from .booking import (
    _booking_receipt,
    _sync_consumption,
)
from .documents import (
    _upload,
)
from .expiry import (
    _annul,
    _guard_terms,
    _lock_contract,
)
from .rebooking import (
    _require_owner,
    _unavailability_receipt,
)

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
                receipt=receipt,
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
            receipt=receipt,
        )
    return WaiverResult(contract, refusal, replaced=True)
