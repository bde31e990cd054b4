"""Fixture F0 of the PTIM spec (§10.0) and helpers to book interventions I-1 … I-6."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from procurement.accounts.models import OrganisationKind, Role
from ptim import services
from ptim.models import (
    AgreementOperator,
    ChapterCeiling,
    ClearanceKind,
    ClearanceLevel,
    Directorate,
    EconomicOperator,
    FrameworkAgreement,
    InterventionCategory,
    InterventionType,
    Lot,
    OrganisationProfile,
    ProgressiveCounter,
    ReferencePeriod,
    SecurityClearance,
    SpendingChapter,
    TerritorialArea,
    UserType,
)
from ptim.reference import seed_reference
from tests.factories.documents import upload
from tests.factories.kernel import OrganisationFactory, aware, member

D = Decimal
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

# id: (works, safety, clearance)
INTERVENTIONS = {
    "I-1": (D("100000.00"), D("5000.00"), None),
    "I-2": (D("140000.00"), D("10000.00"), None),
    "I-3": (D("120000.00"), D("6000.00"), None),
    "I-4": (D("60000.00"), D("2000.00"), ClearanceLevel.SEGRETISSIMO),
    "I-5": (D("50000.00"), D("0.00"), ClearanceLevel.RISERVATISSIMO),
    "I-6": (D("60000.00"), D("3000.00"), None),
}


def pdf(name="documento.pdf", size=None):
    data = PDF if size is None else PDF + b"%" + b"x" * (size - len(PDF) - 2) + b"\n"
    return upload(name, data, "application/pdf")


@dataclass
class F0:
    period: ReferencePeriod
    area: TerritorialArea
    aq: FrameworkAgreement
    ops: dict
    chapters: dict
    p1: object
    d1: object
    t1: object
    g1: object
    prov: object
    dif: object
    dtl: object
    category: InterventionCategory
    types: dict
    mu_counter: list = field(default_factory=lambda: [0])

    def data(self, intervention="I-1", chapter="MU", user=None, **over):
        works, safety, level = INTERVENTIONS[intervention]
        planned = works + safety
        is_dif = user is not None and user == self.d1
        self.mu_counter[0] += 1
        d = {
            "period": self.period.pk,
            "territorial_area": self.area.pk,
            "required_clearance": int(level) if level else "",
            "works_amount": works,
            "safety_costs": safety,
            "og1_amount": planned,
            "og2_amount": D("0.00"),
            "og11_amount": D("0.00"),
            "rup_first_name": "Mario",
            "rup_last_name": "Bianchi",
            "rup_role": "RUP",
            "rup_phone": "0212345678",
            "rup_email": "rup.difesa@esercito.example.it"
            if is_dif
            else "mario.bianchi@oopp.example.it",
            "office_name": "Ufficio tecnico",
            "office_email": "infrastrutture@esercito.example.it"
            if is_dif
            else "ufficio.tecnico@oopp.example.it",
            "description": f"Intervento {intervention}",
            "intervention_category": self.category.pk,
            "spending_chapter": self.chapters[chapter].pk,
            "intervention_identifier": f"MU-23-{self.mu_counter[0]:04d}" if chapter == "MU" else "",
            "plan_year": 2023 if chapter == "MU" else "",
            "intervention_type": self.types[True].pk if is_dif else "",
            "measured_basis_confirmed": True,
        }
        d.update(over)
        return d

    def book(self, intervention="I-1", chapter="MU", *, at, user=None, **over):
        user = user or self.p1
        return services.book_operator(
            user=user, data=self.data(intervention, chapter, user=user, **over), now=at
        )

    def residuals(self):
        from ptim.amounts import agreement_residual, chapter_residual, operator_residual

        out = {
            k: operator_residual(AgreementOperator.objects.get(pk=m.pk))
            for k, m in self.ops.items()
        }
        for code in ("MU", "C7754", "DIFESA", "MIC"):
            out[code] = chapter_residual(self.aq, self.chapters[code])
        out["AQ"] = agreement_residual(FrameworkAgreement.objects.get(pk=self.aq.pk))
        return out


def _profile(org, user_type, email, areas, national=False):
    p, _ = OrganisationProfile.objects.update_or_create(
        organisation=org,
        defaults={"user_type": user_type, "institutional_email": email, "is_national": national},
    )
    p.territorial_areas.set(areas)
    return p


@pytest.fixture
def f0(db, settings) -> F0:
    settings.PTIM_UO_EMAIL = "uo.manutenzioni@example.it"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_reference()
    period = ReferencePeriod.objects.get(label="2023/2025")
    lot1 = Lot.objects.get(period=period, number=1)
    lom, _ = TerritorialArea.objects.get_or_create(code="lombardia", defaults={"name": "Lombardia"})
    emr, _ = TerritorialArea.objects.get_or_create(
        code="emilia-romagna", defaults={"name": "Emilia-Romagna"}
    )
    sa = OrganisationKind.CONTRACTING_AUTHORITY
    prov = OrganisationFactory(
        name="Provveditorato Interregionale OO.PP. per la Lombardia e l’Emilia-Romagna", kind=sa
    )
    dif = OrganisationFactory(name="Comando Militare Esercito Lombardia", kind=sa)
    dtl = OrganisationFactory(name="Direzione Territoriale Lombardia", kind=sa)
    dg = OrganisationFactory(name="Agenzia del Demanio – Direzione Generale", kind=sa)
    _profile(prov, UserType.PROVVEDITORATO, "ufficio.tecnico@oopp.example.it", [lom, emr])
    _profile(dif, UserType.DIFESA, "infrastrutture@esercito.example.it", [lom])
    _profile(dtl, UserType.AGENZIA_DT, "dt.lombardia@example.it", [lom])
    _profile(dg, UserType.AGENZIA_DG, "dg@example.it", [], national=True)
    directorate = Directorate.objects.create(
        name="Direzione Territoriale Lombardia",
        institutional_email="dt.lombardia@example.it",
        organisation=dtl,
    )
    directorate.territorial_areas.set([lom])
    aq = FrameworkAgreement.objects.create(
        identifier="AQ-MU-2023-L1-LOM",
        name="Accordo Quadro Lotto 1 – Lombardia",
        period=period,
        territorial_area=lom,
        directorate=directorate,
        referent_name="Ing. Anna Verdi",
        referent_email="referente.aq.lom@example.it",
        price_list="Prezzario Regione Lombardia 2023",
        valid_from=datetime.date(2023, 7, 1),
        valid_until=datetime.date(2025, 12, 31),
        base_amount=D("1000000.00"),
    )
    aq.lots.set([lot1])
    chapters = {c.code: c for c in SpendingChapter.objects.all()}
    for code, amount in (
        ("MU", "500000"),
        ("C7754", "150000"),
        ("DIFESA", "200000"),
        ("MIC", "150000"),
    ):
        ChapterCeiling.objects.create(agreement=aq, chapter=chapters[code], amount=D(amount))
    ops = {}
    spec = [
        (
            "A",
            "Alfa Costruzioni S.r.l.",
            "92.500",
            1,
            "20.0000",
            "300000",
            (ClearanceKind.NOS, ClearanceLevel.SEGRETO, datetime.date(2026, 12, 31)),
        ),
        ("B", "Beta Edilizia S.p.A.", "88.000", 2, "10.0000", "300000", None),
        (
            "C",
            "Gamma Restauri S.r.l.",
            "85.750",
            3,
            "12.5000",
            "200000",
            (ClearanceKind.NOSI, ClearanceLevel.SEGRETISSIMO, datetime.date(2024, 4, 30)),
        ),
        (
            "D",
            "Delta Lavori S.r.l.",
            "80.000",
            4,
            "5.0000",
            "200000",
            (ClearanceKind.NOS, ClearanceLevel.SEGRETISSIMO, datetime.date(2027, 1, 31)),
        ),
    ]
    for i, (key, name, score, pos, disc, thr, clearance) in enumerate(spec):
        op = EconomicOperator.objects.create(
            name=name,
            tax_code=f"0000000000{i}",
            vat_number=f"0000000000{i}",
            pec=f"{key.lower()}@pec.example.it",
        )
        if clearance:
            SecurityClearance.objects.create(
                operator=op,
                kind=clearance[0],
                level=clearance[1],
                issued_on=datetime.date(2020, 1, 1),
                valid_until=clearance[2],
            )
        ops[key] = AgreementOperator.objects.create(
            agreement=aq,
            operator=op,
            score=D(score),
            ranking_position=pos,
            discount_pct=D(disc),
            base_threshold=D(thr),
        )
    ProgressiveCounter.objects.all().delete()
    ProgressiveCounter.objects.create(last_root=324)
    return F0(
        period=period,
        area=lom,
        aq=aq,
        ops=ops,
        chapters=chapters,
        p1=member(prov, Role.RUP, username="p1"),
        d1=member(dif, Role.RUP, username="d1"),
        t1=member(dtl, Role.DT, username="t1"),
        g1=member(dg, Role.DG, username="g1"),
        prov=prov,
        dif=dif,
        dtl=dtl,
        category=InterventionCategory.objects.first(),
        types={t.is_centralised_maintenance: t for t in InterventionType.objects.all()},
    )


__all__ = ["PDF", "D", "aware", "pdf"]
