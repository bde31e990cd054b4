"""Fixtures of the tenders tests: the SUA and its staff, economic operators, a published tender.

Times follow the reference tender (Bellinzago Novarese): questions until 20/07/2026 12:00,
offers until 27/07/2026 12:00, first session 27/07/2026 15:00.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from procurement.accounts.models import Organisation, OrganisationKind, Role, User
from tests.factories.documents import shared_test_ca
from tests.factories.kernel import OrganisationFactory, aware, member

TEST_SEALING_KEY = base64.b64encode(bytes(range(32))).decode()
CODES = ["A1", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5"]


@pytest.fixture(autouse=True)
def gare_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GARE_SEALING_KEY = TEST_SEALING_KEY
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


@pytest.fixture
def samples(tmp_path_factory, settings):
    signed = shared_test_ca(tmp_path_factory.getbasetemp())
    settings.SIGNATURE_TRUST_ROOTS = signed.trust_roots
    return signed


@dataclass
class World:
    sua: Organisation
    comune: Organisation
    rup: User
    board: User
    commissioners: list[User]
    operators: list[Organisation] = field(default_factory=list)
    bidders: list[User] = field(default_factory=list)
    outsider: User | None = None


def make_operator(n: int):
    org = OrganisationFactory(
        code=f"oe-{n}", name=f"Operatore {n} S.r.l.", kind=OrganisationKind.ECONOMIC_OPERATOR
    )
    return org, member(org, Role.OPERATOR)


@pytest.fixture
def world(db) -> World:
    sua = OrganisationFactory(code="provincia-novara", name="Provincia di Novara - SUA")
    comune = OrganisationFactory(code="comune-bellinzago", name="Comune di Bellinzago Novarese")
    w = World(
        sua=sua,
        comune=comune,
        rup=member(sua, Role.RUP),
        board=member(sua, Role.BOARD),
        commissioners=[member(sua, Role.COMMISSIONER) for _ in range(3)],
        outsider=member(comune, Role.BUYER),
    )
    for n in range(1, 6):
        org, user = make_operator(n)
        w.operators.append(org)
        w.bidders.append(user)
    return w


MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def pdf_upload(name="documento.pdf", data=MINIMAL_PDF):
    return SimpleUploadedFile(name, data, content_type="application/pdf")


@pytest.fixture
def draft_tender(world):
    from gare.services.tenders import tender_create_from_reference

    return tender_create_from_reference(
        user=world.rup,
        organisation=world.sua,
        delegating_entity=world.comune,
        now=aware(2026, 6, 25, 9, 0),
    )


def add_required_documents(world, tender, now):
    from gare.models import DocumentKind
    from gare.services.tenders import tender_document_add

    for kind in (DocumentKind.CONTRACT_NOTICE, DocumentKind.TENDER_RULES):
        tender_document_add(
            user=world.rup,
            tender=tender,
            kind=kind,
            title=kind.label,
            uploaded_file=pdf_upload(),
            now=now,
        )


@pytest.fixture
def tender(world, draft_tender):
    from gare.services.tenders import tender_publish

    now = aware(2026, 6, 26, 9, 0)
    add_required_documents(world, draft_tender, now)
    return tender_publish(user=world.rup, tender=draft_tender, now=now)


@pytest.fixture
def strong_client_for(client_for):
    """A client logged in with the dev SPID/CIE provider at level 2 (needed to submit)."""

    def make(user, level=2):
        client = client_for(user)
        response = client.post(
            "/account/accesso-forte/dev/", {"tax_code": user.tax_code, "level": level, "next": "/"}
        )
        assert response.status_code == 302, response.content[:300]
        return client

    return make


@pytest.fixture
def lot(tender):
    return tender.lots.get()


def submit_offer(
    *,
    user,
    operator,
    lot,
    now,
    discount="10.00",
    days=430,
    labour="598695.55",
    safety="20000.00",
    tabular=None,
    files=(),
    confirm=True,
    prepared_at=None,
    loa=2,
    members=None,
    form=None,
    discount_words="",
    days_words="",
):
    """Prepare (at `prepared_at`) and submit (at `now`) an offer through the services."""
    from gare.services import submission as sub

    ready = prepared_at or now
    offer = sub.offer_draft(
        user=user, lot=lot, operator=operator, now=ready, form=form, members=members
    )
    for env, code, upload in files:
        sub.envelope_file_add(
            user=user,
            offer=offer,
            envelope_type=env,
            requirement_code=code,
            uploaded_file=upload,
            now=ready,
        )
    sub.envelope_data_set(
        user=user,
        offer=offer,
        envelope_type="B",
        data=tabular or {"A2": 3, "D1": "on", "D2": 2, "D3": ""},
        now=ready,
    )
    sub.envelope_data_set(
        user=user,
        offer=offer,
        envelope_type="C",
        data={
            "discount": discount,
            "discount_words": discount_words,
            "days": days,
            "days_words": days_words,
            "labour_costs": labour,
            "company_safety_costs": safety,
        },
        now=ready,
    )
    return sub.offer_submit(user=user, offer=offer, loa=loa, confirm_problems=confirm, now=now)


def fee_paid(world, participant, now=None):
    """The seggio records the FVOE check of the ANAC fee as paid: required before admitting."""
    from gare.services import admincheck

    return admincheck.anac_fee_check(
        user=world.board,
        participant=participant,
        outcome="PAID",
        note="Pagamento trovato nel FVOE",
        now=now or aware(2026, 7, 27, 15, 30),
    )


def run_to_admissions(world, lot, n=2, *, discounts=None, days=None):
    """n offers submitted, first session, everyone admitted (27/07 → 28/07/2026)."""
    from gare.services import procedure as proc

    discounts = discounts or ["14.25", "12.50", "16.40", "9.55", "18.72"]
    days = days or [430, 410, 420, 440, 395]
    for i in range(n):
        submit_offer(
            user=world.bidders[i],
            operator=world.operators[i],
            lot=lot,
            now=aware(2026, 7, 20, 10, i),
            discount=discounts[i],
            days=days[i],
        )
    proc.session_start(user=world.rup, lot=lot, kind="ADMIN_OPENING", now=aware(2026, 7, 27, 15, 0))
    lot.refresh_from_db()
    for p in lot.participants.all():
        fee_paid(world, p)
        proc.admin_check_admit(user=world.board, participant=p, now=aware(2026, 7, 27, 16, 0))
    proc.admissions_adopt(user=world.rup, lot=lot, now=aware(2026, 7, 28, 10, 0))
    lot.refresh_from_db()
    return lot


def run_to_technical(world, lot, coefficient_for=None):
    """Commission appointed, B opened, every coefficient entered, technical scores published."""
    from gare.services import procedure as proc

    proc.commission_appoint(
        user=world.rup,
        lot=lot,
        members=world.commissioners,
        president=world.commissioners[0],
        now=aware(2026, 8, 3, 9, 0),
    )
    for c in world.commissioners:
        proc.commissioner_declare(user=c, lot=lot, now=aware(2026, 8, 3, 10, 0))
    proc.session_schedule(
        user=world.rup,
        lot=lot,
        kind="TECH_OPENING",
        scheduled_at=aware(2026, 8, 10, 10, 0),
        now=aware(2026, 8, 5, 9, 0),
    )
    proc.session_start(
        user=world.commissioners[0], lot=lot, kind="TECH_OPENING", now=aware(2026, 8, 10, 10, 0)
    )
    proc.technical_session_close(
        user=world.commissioners[0], lot=lot, now=aware(2026, 8, 10, 11, 0)
    )
    lot.refresh_from_db()
    participants = list(proc.admitted(lot))
    for k, c in enumerate(world.commissioners):
        for i, p in enumerate(participants):
            for code in CODES:
                value = coefficient_for(k, i, code) if coefficient_for else Decimal("0.7")
                proc.coefficient_enter(
                    user=c,
                    lot=lot,
                    participant=p,
                    criterion=code,
                    value=value,
                    now=aware(2026, 8, 11, 9, 0),
                )
    proc.technical_finalise(user=world.commissioners[0], lot=lot, now=aware(2026, 8, 12, 9, 0))
    lot.refresh_from_db()
    return lot


def run_to_ranking(world, lot):
    from gare.services import procedure as proc

    proc.session_schedule(
        user=world.rup,
        lot=lot,
        kind="ECON_OPENING",
        scheduled_at=aware(2026, 8, 18, 10, 0),
        now=aware(2026, 8, 12, 10, 0),
    )
    proc.session_start(
        user=world.commissioners[0], lot=lot, kind="ECON_OPENING", now=aware(2026, 8, 18, 10, 0)
    )
    run = proc.ranking_compute(user=world.commissioners[0], lot=lot, now=aware(2026, 8, 18, 11, 0))
    lot.refresh_from_db()
    return run


AS01_IDS = ["O1", "O2", "O3", "O4", "O5"]


def run_as01_to_ranking(world, lot):
    """The spec's AS-01 offers submitted, admitted, scored and ranked through the services.

    Returns `(label, run)`: `label` maps each participant's pk to its AS-01 id ("O1".."O5"),
    `run` is the ranking run.
    """
    from gare.services import procedure as proc

    from .evaluation.data import AS01_COEFFICIENTS, AS01_ECONOMIC, AS01_TABULAR

    for i, oid in enumerate(AS01_IDS):
        discount, days = AS01_ECONOMIC[oid]
        submit_offer(
            user=world.bidders[i],
            operator=world.operators[i],
            lot=lot,
            now=aware(2026, 7, 20, 10, i),
            discount=discount,
            days=days,
            tabular=AS01_TABULAR[oid],
        )
    proc.session_start(user=world.rup, lot=lot, kind="ADMIN_OPENING", now=aware(2026, 7, 27, 15, 0))
    for p in lot.participants.all():
        fee_paid(world, p)
        proc.admin_check_admit(user=world.board, participant=p, now=aware(2026, 7, 27, 16, 0))
    proc.admissions_adopt(user=world.rup, lot=lot, now=aware(2026, 7, 28, 10, 0))
    lot.refresh_from_db()
    by_operator = {p.operator_id: p for p in lot.participants.all()}
    label = {by_operator[op.pk].pk: oid for op, oid in zip(world.operators, AS01_IDS, strict=True)}
    participants = sorted(proc.admitted(lot), key=lambda p: p.pk)

    def coefficient(k, i, code):
        return Decimal(AS01_COEFFICIENTS[code][label[participants[i].pk]].split()[k])

    run_to_technical(world, lot, coefficient)
    run = run_to_ranking(world, lot)
    return label, run
