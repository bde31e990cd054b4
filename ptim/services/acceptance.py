"""PTIM services: acceptance (split of the former ptim/services.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from .. import messages as M
from .. import notify
from ..deadlines import (
    extension_request_deadline,
    local_date,
    stipula_deadline,
)
from ..models import (
    AnnulmentKind,
    Contract,
    ContractState,
)
from ..ocds import publish_definitive
from .base import (
    MAX_STIPULA_SIZE,
    PtimError,
)
from .booking import (
    _sync_consumption,
)
from .documents import (
    _pdf_only,
    _upload,
)
from .expiry import (
    _annul,
    _guard_terms,
    _lock_contract,
)
from .rebooking import (
    _require_owner,
)

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
