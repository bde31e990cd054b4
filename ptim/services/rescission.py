"""PTIM services: rescission (split of the former ptim/services.py)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from .. import messages as M
from .. import notify
from ..access import (
    can_supervise,
)
from ..models import (
    Contract,
    ContractState,
)
from ..ocds import publish_rescission
from .annulment import (
    _reasons,
)
from .base import (
    PtimError,
)
from .booking import (
    _sync_consumption,
)
from .documents import (
    _pdf_only,
    _upload,
    _user_org,
)
from .expiry import (
    _lock_contract,
)

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
    found = Contract.objects.select_related("agreement").filter(pk=contract_id).first()
    if found is not None and not can_supervise(user, found.agreement):
        # Permission before input checks: an SA user is told it may not, not what to fix.
        raise PermissionDenied(_("Operazione riservata agli utenti dell’Agenzia."))
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
