"""PTIM services: DG replacement of a contract's attached files (R-PTIM-047, R-PTIM-147, D-37).

The new file is stored as a new document with the same type/size rules as the original upload;
the replaced one is never overwritten nor deleted (it stays stored and in the audit trail) but is
no longer shown (D-37: "the old version is kept, not shown as history").
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from ..access import is_dg
from ..models import Contract, Refusal, Variation
from .base import MAX_STIPULA_SIZE, PtimError
from .documents import _pdf_only, _upload, _user_org
from .expiry import _lock_contract

# field of Contract → (document use, PDF only, max size)
CONTRACT_FILES = {
    "acceptance_document": ("ptim_acceptance", False, None),
    "stipula_document": ("ptim_stipula", True, MAX_STIPULA_SIZE),
    "rescission_document": ("ptim_rescission", True, None),
}


def replaceable_files(contract) -> list[tuple[str, str]]:
    """(target, label) of the files a DG user may replace on `contract`."""
    labels = {
        "acceptance_document": _("Documento di accettazione"),
        "stipula_document": _("Documento di stipula del contratto"),
        "rescission_document": _("Documento di rescissione/risoluzione"),
    }
    out = [(f, labels[f]) for f in CONTRACT_FILES if getattr(contract, f"{f}_id")]
    for r in contract.refusals.all():
        out.append(
            (f"waiver:{r.pk}", _("File rinuncia impresa (%(o)s)") % {"o": r.membership.operator})
        )
    for v in contract.variations.all():
        for i, d in enumerate(v.documents.order_by("pk"), start=1):
            out.append(
                (
                    f"variation:{v.pk}:{d.pk}",
                    _("Documento autorizzativo %(i)s – %(k)s")
                    % {"i": i, "k": v.get_kind_display()},
                )
            )
    return out


def replace_contract_file(*, user, contract_id: int, target: str, uploaded, now) -> Contract:
    """A DG user replaces one attached file of a contract, in any state (D-37)."""
    if not is_dg(user):
        raise PermissionDenied(_("Operazione riservata alla Direzione Generale."))
    if uploaded is None:
        raise PtimError(errors={"document": [_("Selezionare il file.")]})
    target = (target or "").strip()
    with transaction.atomic():
        _agreement, contract = _lock_contract(contract_id)
        if target not in dict(replaceable_files(contract)):
            raise PtimError(_("Il file indicato non è sostituibile su questo contratto."))
        kind, _sep, rest = target.partition(":")
        if kind in CONTRACT_FILES:
            use, pdf_only, max_size = CONTRACT_FILES[kind]
        elif kind == "waiver":
            use, pdf_only, max_size = "ptim_waiver", False, None
        else:
            use, pdf_only, max_size = "ptim_variation", False, None
        if pdf_only:
            _pdf_only(uploaded, max_size=max_size)
        new = _upload(
            user=user,
            organisation=_user_org(user, contract),
            use=use,
            title=_("Sostituzione – contratto n. %(p)s") % {"p": contract.progressive},
            uploaded=uploaded,
            now=now,
        )
        if kind in CONTRACT_FILES:
            old_id = getattr(contract, f"{kind}_id")
            setattr(contract, kind, new)
            contract.save(update_fields=[kind])
        elif kind == "waiver":
            refusal = Refusal.objects.select_for_update().get(pk=int(rest), contract=contract)
            old_id = refusal.waiver_document_id
            refusal.waiver_document = new
            refusal.save(update_fields=["waiver_document"])
        else:
            variation_pk, _sep, doc_pk = rest.partition(":")
            variation = Variation.objects.select_for_update().get(
                pk=int(variation_pk), contract=contract
            )
            old_id = int(doc_pk)
            variation.documents.remove(old_id)
            variation.documents.add(new)
        audit_record(
            action="sostituzione file (DG)",
            actor=user,
            obj=contract,
            payload={"target": target, "replaced_document": old_id, "document": new.pk},
            now=now,
        )
    return contract
