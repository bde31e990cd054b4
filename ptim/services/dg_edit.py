"""PTIM services: dg edit (split of the former ptim/services.py)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from .. import messages as M
from ..access import (
    is_dg,
)
from ..amounts import (
    chapter_residual,
)
from ..models import (
    Contract,
    ContractState,
    SpendingChapter,
)
from .annulment import (
    _reasons,
)
from .base import (
    MAX_TEXT,
    PtimError,
)
from .booking import (
    _sync_consumption,
)
from .expiry import (
    _lock_contract,
)

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
