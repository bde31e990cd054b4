"""Demo data: the Sistema Cloud Toscana contract extension (CIG 7154112FF8), Appendix A.

`rc_contract(...)` builds the reference configuration for any issuer/supplier (tests use it too);
`seed()` applies it to the demo organisations and users, re-runnably.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from procurement.accounts.models import CostCentre, Organisation, User

from .models import (
    ContractDocument,
    ContractEnabledUser,
    ContractKind,
    ContractStatus,
    DocumentKind,
    FrameworkContract,
    OrderRequirement,
    RoundRequirement,
)

RC_TITLE = (
    "Progettazione, realizzazione e gestione del Sistema Cloud Toscana, il community Cloud per "
    "la Pubblica Amministrazione in Toscana"
)
RC_CIG = "7154112FF8"

ROUND_REQUIREMENTS = [
    (
        "MI",
        "Manifestazione di interesse alla proroga",
        DocumentKind.EXPRESSION_OF_INTEREST,
        "AB",
        True,
        True,
    ),
    ("PF", "Piano dei Fabbisogni", DocumentKind.NEEDS_PLAN, "B", True, False),
    ("PRF", "Progetto dei Fabbisogni", DocumentKind.NEEDS_PROJECT, "B", True, False),
]
ORDER_REQUIREMENTS = [
    (
        "ACT_A",
        "Proroga atto di adesione - contratto attuativo",
        DocumentKind.ADHESION_ACT,
        "A",
        True,
        True,
    ),
    ("ACT_B", "Atto di adesione - contratto attuativo", DocumentKind.ADHESION_ACT, "B", True, True),
    ("DPA", "Accordo Data Protection", DocumentKind.DATA_PROTECTION_AGREEMENT, "B", True, True),
    (
        "TRC",
        "Richiesta tracciabilità (conti dedicati)",
        DocumentKind.TRACEABILITY_REQUEST,
        "B",
        False,
        False,
    ),
]
TEMPLATES = [
    "MANIFESTAZIONE DI INTERESSE ALLA PROROGA",
    "PROROGA DI ATTO DI ADESIONE - CONTRATTO ATTUATIVO",
    "ATTO DI ADESIONE - CONTRATTO ATTUATIVO",
    "PIANO DEI FABBISOGNI",
    "DATA PROTECTION AGREEMENT",
    "RICHIESTA TRACCIABILITÀ",
    "COMUNICAZIONE DATI TRACCIABILITÀ",
]
BACKGROUND_ACTS = [
    "Decreto n. 21762 del 27/09/2024: indizione della nuova gara (procedura aperta)",
    "Decreto n. 22595 del 02/10/2024: proroga del contratto quadro con decorrenza 03/10/2024",
    "Comunicato del Presidente ANAC del 18/05/2025: dal 01/07/2025 inibito l'uso della scheda "
    "AD4 sul portale ANAC per il CIG derivato",
]
PRICE_ADJUSTMENTS = [
    {
        "pct": "4.900",
        "effective_from": "2023-04-01",
        "act_reference": "decreto n. 6687 del 04/04/2023 (modificato con decreto n. 8220 del "
        "26/4/2023); Art. 20 Contratto Quadro",
    }
]


@transaction.atomic
def rc_contract(
    *,
    issuer: Organisation,
    issuer_rup: User,
    supplier: Organisation,
    issuer_cost_centre: CostCentre | None = None,
    supplier_members: list | None = None,
    round_count: int = 1,
    publish: bool = True,
    now=None,
) -> FrameworkContract:
    """The RC of the spec (Appendix A), created or updated by its CIG principale."""
    now = now or timezone.now()
    contract = FrameworkContract.objects.filter(parent_cig=RC_CIG, issuer=issuer).first()
    fields = {
        "kind": ContractKind.FRAMEWORK_AGREEMENT,
        "title": RC_TITLE,
        "description": "Proroga del Contratto Quadro SCT dal 03/10/2024 (ipotesi A: proroga "
        "semplificata; ipotesi B: procedura completa con piano e progetto dei fabbisogni).",
        "issuer_cost_centre": issuer_cost_centre,
        "issuer_rup": issuer_rup,
        "supplier": supplier,
        "supplier_members": supplier_members or [],
        "supplier_pec": "SCT.Toscana@pec.telecomitalia.it",
        "cup": "D11B17000180002",
        "contract_amount": Decimal("60000000.00"),
        "round_count": round_count,
        "is_extension": True,
        "suggested_adhesion_end": datetime.date(2026, 10, 2),
        "price_adjustments": PRICE_ADJUSTMENTS,
        "background_acts": BACKGROUND_ACTS,
        "support_text": "",
    }
    if contract is None:
        contract = FrameworkContract(parent_cig=RC_CIG, issuer=issuer, **fields)
    else:
        for key, value in fields.items():
            setattr(contract, key, value)
    contract.save()
    for pos, (code, label, kind, hyp, mandatory, signed) in enumerate(ROUND_REQUIREMENTS):
        RoundRequirement.objects.update_or_create(
            contract=contract,
            round_no=0,
            code=code,
            defaults={
                "label": label,
                "document_kind": kind,
                "hypotheses": hyp,
                "mandatory": mandatory,
                "signature_required": signed,
                "position": pos,
            },
        )
    for pos, (code, label, kind, hyp, mandatory, signed) in enumerate(ORDER_REQUIREMENTS):
        OrderRequirement.objects.update_or_create(
            contract=contract,
            code=code,
            defaults={
                "label": label,
                "document_kind": kind,
                "hypotheses": hyp,
                "mandatory": mandatory,
                "signature_required": signed,
                "position": pos,
            },
        )
    for pos, title in enumerate(TEMPLATES):
        ContractDocument.objects.update_or_create(
            contract=contract,
            title=title,
            defaults={"kind": DocumentKind.TEMPLATE, "position": pos},
        )
    ContractEnabledUser.objects.update_or_create(
        contract=contract, user=issuer_rup, defaults={"can_evaluate": True}
    )
    if publish and contract.status == ContractStatus.DRAFT:
        contract.publish()
        contract.published_at = now
        contract.save()
    return contract


def seed() -> str:
    issuer = Organisation.objects.get(code="regione-toscana")
    supplier = Organisation.objects.get(code="tim-sct")
    rup = User.objects.get(username="rup.aq")
    contract = rc_contract(
        issuer=issuer,
        issuer_rup=rup,
        supplier=supplier,
        issuer_cost_centre=CostCentre.objects.filter(organisation=issuer, code="SCT").first(),
    )
    return (
        f"Negozio Elettronico: contratto «Sistema Cloud Toscana» (CIG {contract.parent_cig}) "
        "pubblicato, ipotesi A e B configurate."
    )
