"""PTIM services: variations (split of the former ptim/services.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from .. import messages as M
from .. import notify
from ..access import (
    can_supervise,
    owns,
)
from ..amounts import (
    cents,
    chapter_residual,
    operator_residual,
)
from ..models import (
    ContractState,
    Variation,
)
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
    _upload,
    _user_org,
)
from .expiry import (
    _lock_contract,
)

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
    documents: list | None = None,
    now,
) -> Variation:
    """ "Modifica" a variation (competent DT, DG); no visible history (R-PTIM-076, D-35).

    `documents`, when given and not empty, replace the variation's authorising documents with
    the same rules as on insertion (1 to 5); the replaced files stay stored (never overwritten,
    R-PTIM-147) but are no longer shown (D-37)."""
    if documents and len(documents) > 5:
        raise PtimError(M.A22, code="a22")
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
        replaced = {}
        if documents:
            org = _user_org(user, contract)
            old_ids = sorted(variation.documents.values_list("pk", flat=True))
            new_docs = [
                _upload(
                    user=user,
                    organisation=org,
                    use="ptim_variation",
                    title=_("Variazione – contratto n. %(p)s (%(i)s)")
                    % {"p": contract.progressive, "i": i},
                    uploaded=f,
                    now=now,
                )
                for i, f in enumerate(documents, start=1)
            ]
            variation.documents.set(new_docs)
            replaced = {"replaced_documents": old_ids, "documents": [d.pk for d in new_docs]}
        _sync_consumption(contract)
        contract.save()
        audit_record(
            action="variazione modificata",
            actor=user,
            obj=contract,
            payload={"variation": variation.pk, "total": total, **replaced},
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
