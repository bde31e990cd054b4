"""PTIM services: expiry (split of the former ptim/services.py)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from .. import messages as M
from .. import notify
from ..deadlines import (
    lapsed,
    local_date,
)
from ..models import (
    AnnulmentKind,
    BookingOutcome,
    Contract,
    ContractState,
    FrameworkAgreement,
    OperatorBooking,
)
from .base import (
    PtimError,
)
from .booking import (
    _lock_agreement,
    _sync_consumption,
)

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
        payload={
            "kind": kind,
            "reason": reason,
            "request_document": contract.annulment_request_document_id,
        },
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
