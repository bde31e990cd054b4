"""PTIM services: annulment (split of the former ptim/services.py)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from .. import messages as M
from .. import notify
from ..access import (
    can_supervise,
)
from ..models import (
    AnnulmentKind,
    Contract,
    ContractState,
)
from .base import (
    MAX_TEXT,
    PtimError,
)
from .expiry import (
    _annul,
    _lock_contract,
)

# --- manual annulment (T6) -----------------------------------------------------------------------


def _reasons(text, name="reason") -> str:
    text = (text or "").strip()
    if not text:
        raise PtimError(errors={name: [M.REQUIRED]})
    if len(text) > MAX_TEXT:
        raise PtimError(errors={name: [M.TOO_LONG]})
    return text


def annul_contract(*, user, contract_id: int, reason: str, now, request_document=None) -> Contract:
    """T6: the competent DT (or the DG) annuls a booked or accepted contract.

    `request_document`: the optional copy of the SA's formal request (D-34; PDF, P7M or EML, at most
    5 MB), stored with the contract and downloadable from its page."""
    reason = _reasons(reason)
    with transaction.atomic():
        agreement, contract = _lock_contract(contract_id)
        if not can_supervise(user, agreement):
            raise PermissionDenied(_("Operazione riservata alla DT competente e alla DG."))
        if contract.state not in (ContractState.BOOKED, ContractState.ACCEPTED):
            raise PtimError(_("Il contratto non può essere annullato nello stato attuale."))
        if request_document is not None:
            from .documents import _upload, _user_org

            contract.annulment_request_document = _upload(
                user=user,
                organisation=_user_org(user, contract),
                use="ptim_annulment_request",
                title=_("Istanza di annullamento – contratto n. %(p)s")
                % {"p": contract.progressive},
                uploaded=request_document,
                now=now,
            )
        _annul(contract, kind=AnnulmentKind.MANUAL, now=now, by=user, reason=reason)
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Annullamento contratto n. %(p)s") % {"p": contract.progressive},
            now=now,
            text=reason,
        )
    return contract
