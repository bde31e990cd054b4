"""Demo data of the FVOE app: an appalto of the Provincia di Novara with its bidders."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from procurement.accounts.models import Organisation, User
from procurement.pcp.models import PcpAppalto, ProcedureRole, ProcedureRoleKind
from procurement.pcp.services import procedure_role_grant

from .models import OperatorSource
from .services import appalto_operator_register

DEMO_ID_APPALTO = uuid.UUID("3f0c2a9e-5b7d-4c1e-9a51-6d2f8e4b7c10")
OPERATORS = [
    ("01987654322", "Gamma S.r.l.", OperatorSource.OFFER),
    ("04555666777", "Delta S.p.A.", OperatorSource.OFFER),
    ("07000123450", "Epsilon Soc. Coop.", OperatorSource.OFFER),
    ("03131313136", "Eta S.r.l.", OperatorSource.INVITED),
]


@transaction.atomic
def seed() -> str:
    org = Organisation.objects.filter(code="provincia-novara").first()
    rup = User.objects.filter(username="rup.sua").first()
    if org is None or rup is None:
        return "FVOE: dati dimostrativi non caricati (manca la Provincia di Novara o rup.sua)."
    appalto = PcpAppalto.objects.filter(id_appalto=DEMO_ID_APPALTO).first()
    if appalto is None:
        appalto = PcpAppalto.objects.create(
            organisation=org,
            id_appalto=DEMO_ID_APPALTO,
            subject="RdO 118/2026 – Servizi di manutenzione del verde",
            rup=rup,
            sa_tax_code=org.tax_code,
            sa_ausa_code=org.ausa_code,
            rp_tax_code=rup.tax_code or "",
        )
    for tax_code, name, source in OPERATORS:
        appalto_operator_register(appalto=appalto, tax_code=tax_code, name=name, source=source)
    # R-FVOE-002: fvoe.sua (FVOE profile) is the "RUP PdG" of the demo procedure, granted by the
    # RUP of the appalto through the audited service; rup.sua holds "RUP RdO" as its RUP.
    fvoe_user = User.objects.filter(username="fvoe.sua").first()
    if (
        fvoe_user is not None
        and not ProcedureRole.objects.filter(
            appalto=appalto, user=fvoe_user, role=ProcedureRoleKind.RUP_PDG
        ).exists()
    ):
        procedure_role_grant(
            actor=appalto.rup,
            appalto=appalto,
            user=fvoe_user,
            role=ProcedureRoleKind.RUP_PDG,
            now=timezone.now(),
        )
    return (
        f"FVOE: appalto «{appalto.subject}» con {len(OPERATORS)} operatori economici "
        "(utenti fvoe.sua, RUP PdG, e rup.sua, RUP dell'appalto)."
    )
