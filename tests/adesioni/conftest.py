"""Fixtures of the Negozio Elettronico tests: the RC contract (Appendix A) and its parties."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from adesioni import services as S
from adesioni.demo import rc_contract
from adesioni.models import ContractCounter, CounterKind, FrameworkContract
from procurement.accounts.models import CostCentre, Organisation, OrganisationKind, Role, User
from tests.anac.conftest import anac_live  # noqa: F401 (fixture)
from tests.factories.documents import shared_test_ca, upload
from tests.factories.kernel import OrganisationFactory, member

RTI = [
    {"name": "Alfa S.p.A.", "tax_code": "04555666777", "role": "LEAD"},
    {"name": "Beta S.r.l.", "tax_code": "07000123450", "role": "MEMBER"},
]


@dataclass
class NE:
    contract: FrameworkContract
    issuer: Organisation
    supplier: Organisation
    adherent: Organisation
    other_adherent: Organisation
    cost_centre: CostCentre
    mario: User  # RUP dell'AQ (banditore)
    giulio: User  # buyer of the aderente (password login)
    lucia: User  # RUP of the aderente (SPID)
    alfa: User  # supplier user
    outsider: User  # buyer of another aderente


@pytest.fixture
def samples(tmp_path_factory, settings, tmp_path):
    signed = shared_test_ca(tmp_path_factory.getbasetemp())
    settings.SIGNATURE_TRUST_ROOTS = signed.trust_roots
    settings.MEDIA_ROOT = tmp_path / "media"
    return signed


@pytest.fixture
def ne(db, samples) -> NE:
    issuer = OrganisationFactory(
        name="Regione Toscana", kind=OrganisationKind.CENTRAL_PURCHASING_BODY
    )
    supplier = OrganisationFactory(
        name="Alfa S.p.A. (RTI SCT)", kind=OrganisationKind.ECONOMIC_OPERATOR
    )
    adherent = OrganisationFactory(
        code="comune-esempio",
        name="Comune di Esempio",
        tax_code="01234567897",
        ausa_code="0000123456",
    )
    other = OrganisationFactory(name="Comune di Altrove")
    cost_centre = CostCentre.objects.create(organisation=adherent, code="CDC-01", name="CdC 01")
    mario = member(issuer, Role.AQ_RUP, first_name="Mario", last_name="Rossi")
    giulio = member(adherent, Role.BUYER, first_name="Giulio", last_name="Bianchi")
    lucia = member(adherent, Role.RUP, first_name="Lucia", last_name="Verdi")
    alfa = member(supplier, Role.OPERATOR, first_name="Alfa", last_name="Operatore")
    outsider = member(other, Role.BUYER)
    contract = rc_contract(issuer=issuer, issuer_rup=mario, supplier=supplier, supplier_members=RTI)
    year = timezone.localtime().year
    # "Before each scenario 136 adhesion codes and 44 order numbers have been issued."
    ContractCounter.objects.create(kind=CounterKind.ADHESION, year=year, last_value=136)
    ContractCounter.objects.create(kind=CounterKind.ORDER, year=year, last_value=44)
    return NE(
        contract,
        issuer,
        supplier,
        adherent,
        other,
        cost_centre,
        mario,
        giulio,
        lucia,
        alfa,
        outsider,
    )


@pytest.fixture
def password_client():
    def make(user: User) -> Client:
        client = Client()
        response = client.post(
            "/account/accedi/", {"username": user.username, "password": "password-di-prova-1"}
        )
        assert response.status_code == 302
        return client

    return make


@pytest.fixture
def spid_client():
    """A client logged in through the dev SPID provider (LoA 2 → ANAC userLoa "3")."""

    def make(user: User, level: int = 2) -> Client:
        client = Client()
        response = client.post(
            "/account/accesso-forte/dev/", {"tax_code": user.tax_code, "level": level, "next": "/"}
        )
        assert response.status_code == 302, response.content[:300]
        return client

    return make


def manifestazione(samples, name="manifestazione_proroga.pdf.p7m"):
    return upload(name, samples.p7m_of(samples.pdf))


def approved_adhesion(ne: NE, samples, amount=Decimal("8056.32"), hypothesis="A"):
    now = timezone.now()
    files = {"MI": manifestazione(samples)}
    if hypothesis == "B":
        files |= {
            "PF": upload("piano.pdf", samples.pdf),
            "PRF": upload("progetto.pdf", samples.pdf),
        }
    adhesion = S.adhesion_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        hypothesis=hypothesis,
        amount=amount,
        files=files,
        now=now,
    )
    S.adhesion_send(user=ne.giulio, adhesion_id=adhesion.pk, now=now)
    return S.adhesion_approve(user=ne.mario, adhesion_id=adhesion.pk, now=now)


def cig_data(**overrides) -> dict:
    data = {
        "oggetto_appalto": "Proroga adesione Sistema Cloud Toscana – Comune di Esempio",
        "oggetto_lotto": "Servizi SCT – proroga",
        "oggetto_contratto": "services",
        "lot_amount": Decimal("8056.32"),
        "data_adesione": timezone.localdate(),
        "data_aggiudicazione": timezone.localdate(),
        "cpv_prevalente": "72000000",
        "cod_nuts": "ITI14",
        "cod_istat": "048017",
        "ccnl": "005",
        "categoria": "FS",
        "tipo_finanziamento": "A",
        "funzioni_svolte": "3",
        "cost_centre_code": "CDC-01",
        "afferente_pnrr": False,
        "acquisizione_cup": False,
        "cup_lotto": "",
        "relazione_unica_procedure": True,
        "opere_urbanizzazione_scomputo": False,
        "subappalto": "no",
    }
    return data | overrides


LINES = [
    ("Servizio IaaS – VM standard", "157.35", "24"),
    ("Backup", "41.96", "12"),
    ("Housing rack", "314.70", "12"),
]


def draft_order(ne: NE, samples, *, lot_amount=Decimal("8056.32"), act=True):
    now = timezone.now()
    order = S.order_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        rup=ne.lucia,
        cig_data=cig_data(lot_amount=lot_amount),
        now=now,
    )
    for description, price, qty in LINES:
        S.order_line_save(
            user=ne.giulio,
            order_id=order.pk,
            description=description,
            unit_price=price,
            quantity=qty,
            now=now,
        )
    if act:
        req = ne.contract.order_requirements.get(code="ACT_A")
        S.order_upload_document(
            user=ne.giulio,
            order_id=order.pk,
            requirement_id=req.pk,
            uploaded_file=upload("proroga_atto_adesione.pdf", samples.signed_pdf),
            now=now,
        )
    return order


def ne_url(path: str = "") -> str:
    """A path of the Negozio Elettronico under its mounted prefix (never hard-coded)."""
    from django.urls import reverse

    return reverse("adesioni:landing") + path
