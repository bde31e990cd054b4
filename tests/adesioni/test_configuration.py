"""Contract configuration by the banditore outside the admin (§8.1 row 23, D-ADE-39, R-ADE-001…009)
and contract expiry with controlled time (D-ADE-38)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from adesioni import configuration as C
from adesioni import services as S
from adesioni.models import (
    AdhesionStatus,
    ContractEnabledUser,
    ContractStatus,
    FrameworkContract,
    OrderRequirement,
    RoundRequirement,
)
from procurement.accounts.models import Role
from procurement.audit.models import AuditEvent
from tests.factories.documents import upload
from tests.factories.kernel import member

from .conftest import approved_adhesion, cig_data, manifestazione

pytestmark = pytest.mark.django_db


def contract_form(ne, **overrides) -> dict:
    data = {
        "kind": "CONVENTION",
        "title": "Convenzione servizi di stampa gestita",
        "description": "Convenzione con un solo operatore economico.",
        "parent_cig": "7154112FF8",
        "cup": "",
        "contract_amount": "1500000.00",
        "supplier": str(ne.supplier.pk),
        "supplier_members": (
            "Alfa S.p.A.; 04555666777; mandataria\nBeta S.r.l.; 07000123450; mandante"
        ),
        "supplier_pec": "stampa@pec.example.it",
        "round_count": "2",
        "suggested_adhesion_end": "",
        "expiry_at": "",
        "support_text": "Assistenza: 055.000000",
    }
    return data | overrides


def requirement(**overrides) -> dict:
    data = {
        "scope": "round",
        "round_no": "0",
        "code": "MI",
        "label": "Manifestazione di interesse",
        "document_kind": "EXPRESSION_OF_INTEREST",
        "hypotheses": "AB",
        "mandatory": "on",
        "signature_required": "on",
    }
    return data | overrides


def test_banditore_creates_configures_and_publishes_a_contract_with_two_rounds(
    ne, samples, password_client
):
    mario = password_client(ne.mario)
    assert (
        'data-testid="nuovo-contratto"'
        in mario.get(reverse("adesioni:contract_list")).content.decode()
    )
    response = mario.post(reverse("adesioni:contract_new"), contract_form(ne))
    assert response.status_code == 302, response.content.decode()[:2000]
    contract = FrameworkContract.objects.get(title="Convenzione servizi di stampa gestita")
    assert contract.status == ContractStatus.DRAFT
    assert contract.issuer == ne.issuer and contract.issuer_rup == ne.mario
    assert contract.supplier_members[0] == {
        "name": "Alfa S.p.A.",
        "tax_code": "04555666777",
        "role": "LEAD",
    }
    assert ContractEnabledUser.objects.get(contract=contract, user=ne.mario).can_evaluate
    configure = reverse("adesioni:contract_configure", args=[contract.pk])
    page = mario.get(configure).content.decode()
    assert "Configurare almeno un documento obbligatorio per il round 0." in page
    assert 'data-testid="pubblica" disabled' in page
    # The aderente does not see a contract in preparation.
    buyer = password_client(ne.giulio)
    assert buyer.get(reverse("adesioni:contract_detail", args=[contract.pk])).status_code == 404
    assert buyer.get(configure).status_code == 404
    # Slots: round 0, round 1, the order act; a document; the expiry; an enabled user.
    add = reverse("adesioni:contract_config_requirement", args=[contract.pk])
    mario.post(add, requirement())
    mario.post(add, requirement(round_no="1", code="PF", label="Piano dei Fabbisogni"))
    mario.post(add, requirement(round_no="2", code="XX", label="Round inesistente"))
    assert not RoundRequirement.objects.filter(contract=contract, code="XX").exists()
    duplicate = mario.post(add, requirement(label="Altra"), follow=True).content.decode()
    assert "Esiste già una richiesta con il codice MI." in duplicate
    mario.post(
        add,
        requirement(
            scope="order", code="ACT", label="Atto di adesione", document_kind="ADHESION_ACT"
        ),
    )
    assert list(
        RoundRequirement.objects.filter(contract=contract).values_list("round_no", "code")
    ) == [(0, "MI"), (1, "PF")]
    assert OrderRequirement.objects.get(contract=contract).signature_required
    mario.post(
        reverse("adesioni:contract_config_document", args=[contract.pk]),
        {"kind": "TEMPLATE", "title": "MODELLO DI ADESIONE", "file": upload("m.pdf", samples.pdf)},
    )
    document = contract.documents.get()
    assert document.version.sha256
    expiry = timezone.localtime() + timedelta(days=90)
    mario.post(
        reverse("adesioni:contract_config_expiry", args=[contract.pk]),
        {"scadenza-expiry_at": expiry.strftime("%Y-%m-%dT%H:%M")},
    )
    contract.refresh_from_db()
    assert contract.expiry_at.replace(second=0, microsecond=0) == expiry.replace(
        second=0, microsecond=0
    )
    colleague = member(ne.issuer, Role.AQ_RUP, first_name="Anna", last_name="Neri")
    mario.post(
        reverse("adesioni:contract_config_user", args=[contract.pk]),
        {"user": colleague.pk, "can_evaluate": "on"},
    )
    mario.post(reverse("adesioni:contract_config_user", args=[contract.pk]), {"user": ne.giulio.pk})
    assert set(contract.enabled_users.values_list("user__username", flat=True)) == {
        ne.mario.username,
        colleague.username,
    }
    # Publication.
    page = mario.get(configure).content.decode()
    assert "La configurazione è completa" in page
    mario.post(reverse("adesioni:contract_publish", args=[contract.pk]))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.PUBLISHED and contract.published_at
    # After publication the slots are frozen, the title may change.
    frozen = mario.post(add, requirement(code="NEW", label="Nuovo"), follow=True).content.decode()
    assert "richieste documenti, round e fornitore non sono più modificabili" in frozen
    mario.post(
        configure,
        contract_form(
            ne,
            title="Convenzione stampa gestita (proroga)",
            expiry_at=expiry.strftime("%Y-%m-%dT%H:%M"),
        ),
    )
    contract.refresh_from_db()
    assert contract.title == "Convenzione stampa gestita (proroga)"
    assert contract.round_count == 2
    # The aderente sees both rounds, the template (downloadable) and the expiry.
    detail = buyer.get(reverse("adesioni:contract_detail", args=[contract.pk])).content.decode()
    assert "RICHIESTE DOCUMENTI PER ADESIONE – ROUND 1" in detail
    assert "Piano dei Fabbisogni" in detail and "Atto di adesione" in detail
    assert "Anna Neri" in detail
    assert expiry.strftime("%d/%m/%Y") in detail
    download = buyer.get(reverse("adesioni:contract_document", args=[contract.pk, document.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == samples.pdf
    actions = set(
        AuditEvent.objects.filter(object_id=str(contract.pk)).values_list("action", flat=True)
    )
    assert {
        "contratto creato",
        "richiesta documenti salvata",
        "documento del contratto allegato",
        "scadenza del contratto impostata",
        "utente abilitato sul contratto",
        "contratto pubblicato",
    } <= actions


def test_configuration_is_refused_to_those_who_may_not_do_it(ne, password_client):
    now = timezone.now()
    with pytest.raises(S.AdesioniError):
        C.contract_create(
            user=ne.giulio,
            issuer=ne.issuer,
            data={"title": "x"},
            now=now,
        )
    with pytest.raises(S.AdesioniError, match="non è valido"):
        C.contract_create(
            user=ne.mario,
            issuer=ne.issuer,
            data={
                "kind": "CONVENTION",
                "title": "Contratto",
                "parent_cig": "7154112FF9",
                "contract_amount": Decimal("10.00"),
                "supplier": ne.supplier,
                "supplier_pec": "a@pec.it",
            },
            now=now,
        )
    with pytest.raises(S.AdesioniError, match="operatore economico"):
        C.contract_create(
            user=ne.mario,
            issuer=ne.issuer,
            data={
                "kind": "CONVENTION",
                "title": "Contratto",
                "parent_cig": "7154112FF8",
                "contract_amount": Decimal("10.00"),
                "supplier": ne.adherent,
                "supplier_pec": "a@pec.it",
            },
            now=now,
        )
    # The RC is published: the buyer, the supplier and an outsider cannot configure it.
    for user in (ne.giulio, ne.alfa, ne.outsider, ne.lucia):
        with pytest.raises(S.AdesioniError):
            C.contract_set_expiry(user=user, contract_id=ne.contract.pk, expiry_at=None, now=now)
        page = password_client(user).get(
            reverse("adesioni:contract_configure", args=[ne.contract.pk])
        )
        assert page.status_code == 404
    with pytest.raises(S.AdesioniError, match="RUP dell'accordo quadro non può essere rimosso"):
        C.enabled_user_remove(
            user=ne.mario,
            contract_id=ne.contract.pk,
            enabled_id=ne.contract.enabled_users.get(user=ne.mario).pk,
            now=now,
        )
    C.contract_close(user=ne.mario, contract_id=ne.contract.pk, now=now)
    with pytest.raises(S.AdesioniError, match="Il contratto è chiuso"):
        C.contract_set_expiry(user=ne.mario, contract_id=ne.contract.pk, expiry_at=None, now=now)


def test_expired_contract_refuses_new_adhesions_and_orders_with_a_clear_message(
    ne, samples, password_client
):
    start = timezone.now().replace(microsecond=0)
    expiry = start + timedelta(days=10)
    C.contract_set_expiry(user=ne.mario, contract_id=ne.contract.pk, expiry_at=expiry, now=start)
    approved_adhesion(ne, samples)  # before the expiry: allowed
    detail_url = reverse("adesioni:contract_detail", args=[ne.contract.pk])
    with time_machine.travel(expiry - timedelta(minutes=1), tick=False):
        buyer = password_client(ne.giulio)
        page = buyer.get(detail_url + "?tab=ordinativi").content.decode()
        assert "nuovo ordine" in page and 'data-testid="contract-closed"' not in page
    with time_machine.travel(expiry + timedelta(seconds=1), tick=False):
        buyer = password_client(ne.giulio)
        now = timezone.now()
        day = timezone.localtime(expiry).strftime("%d/%m/%Y")
        expected = f"Il contratto è scaduto il {day}"
        with pytest.raises(S.AdesioniError, match=expected):
            S.order_create(
                user=ne.giulio,
                contract=ne.contract,
                organisation=ne.adherent,
                rup=ne.lucia,
                cig_data=cig_data(),
                now=now,
            )
        # Another aderente cannot start an adhesion either.
        with pytest.raises(S.AdesioniError, match=expected):
            S.adhesion_create(
                user=ne.outsider,
                contract=ne.contract,
                organisation=ne.other_adherent,
                hypothesis="A",
                amount="100",
                files={"MI": manifestazione(samples)},
                now=now,
            )
        page = buyer.get(detail_url + "?tab=ordinativi").content.decode()
        assert expected in page
        assert "nuovo ordine" not in page
        page = buyer.get(detail_url + "?tab=adesioni").content.decode()
        assert "richiedi adesione" not in page
        assert ne.contract.adhesions.filter(status=AdhesionStatus.APPROVED).count() == 1


def test_evaluation_stays_available_after_the_expiry(ne, samples):
    start = timezone.now()
    adhesion = S.adhesion_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        hypothesis="A",
        amount="100",
        files={"MI": manifestazione(samples)},
        now=start,
    )
    S.adhesion_send(user=ne.giulio, adhesion_id=adhesion.pk, now=start)
    C.contract_set_expiry(
        user=ne.mario, contract_id=ne.contract.pk, expiry_at=start + timedelta(hours=1), now=start
    )
    later = start + timedelta(hours=2)
    approved = S.adhesion_approve(user=ne.mario, adhesion_id=adhesion.pk, now=later)
    assert approved.status == AdhesionStatus.APPROVED


def test_enabled_user_acts_for_the_banditore_cost_centre_it_is_tied_to(ne, password_client):
    """Spec §3.3 `ContractEnabledUser.cost_centre`: set and shown on the configuration page; the
    CdC must be the banditore's and one the user belongs to; the user acts (evaluates, sees the
    sent adhesions) only while a membership covers that CdC."""
    from adesioni.access import is_evaluator, is_issuer_user
    from procurement.accounts.models import CostCentre
    from tests.factories.kernel import MembershipFactory, UserFactory

    sct = CostCentre.objects.create(organisation=ne.issuer, code="SCT", name="CdC SCT")
    other_centre = CostCentre.objects.create(organisation=ne.issuer, code="ALT", name="CdC Altro")
    anna = UserFactory(first_name="Anna", last_name="Neri")
    membership = MembershipFactory(
        user=anna, organisation=ne.issuer, role=Role.AQ_RUP, cost_centre=sct
    )
    url = reverse("adesioni:contract_config_user", args=[ne.contract.pk])
    mario = password_client(ne.mario)
    # A CdC the user does not belong to: clear message, nothing enabled.
    page = mario.post(
        url, {"user": anna.pk, "cost_centre": other_centre.pk, "can_evaluate": "on"}, follow=True
    )
    assert "L&#x27;utente non opera per il centro di costo indicato." in page.content.decode()
    assert not ne.contract.enabled_users.filter(user=anna).exists()
    assert not is_evaluator(anna, ne.contract)
    # A CdC of another organisation is refused by the service too.
    with pytest.raises(S.AdesioniError, match="non appartiene all'amministrazione banditrice"):
        C.enabled_user_set(
            user=ne.mario,
            contract_id=ne.contract.pk,
            target_user=anna,
            can_evaluate=True,
            cost_centre=ne.cost_centre,
            now=timezone.now(),
        )
    # Her own CdC: enabled, shown on the configuration page and in the contract detail.
    page = mario.post(
        url, {"user": anna.pk, "cost_centre": sct.pk, "can_evaluate": "on"}, follow=True
    )
    enabled = ne.contract.enabled_users.get(user=anna)
    assert enabled.cost_centre == sct and enabled.can_evaluate
    html = page.content.decode()
    assert "CdC SCT CdC SCT" in html and "Utente abilitato." in html
    detail = mario.get(reverse("adesioni:contract_detail", args=[ne.contract.pk])).content.decode()
    assert "Anna Neri (CdC SCT)" in detail
    assert is_evaluator(anna, ne.contract) and is_issuer_user(anna, ne.contract)
    assert anna in S.evaluator_users(ne.contract)
    # Her membership of the CdC ends: she no longer acts for the banditore on this contract.
    membership.is_active = False
    membership.save()
    assert not is_evaluator(anna, ne.contract)
    assert not is_issuer_user(anna, ne.contract)
    assert anna not in S.evaluator_users(ne.contract)
    # A membership of the whole administration covers every CdC; editing to "no CdC" works.
    MembershipFactory(user=anna, organisation=ne.issuer, role=Role.AQ_RUP)
    assert is_evaluator(anna, ne.contract)
    mario.post(url, {"user": anna.pk, "cost_centre": "", "can_evaluate": "on"})
    enabled.refresh_from_db()
    assert enabled.cost_centre is None
    event = AuditEvent.objects.filter(
        object_id=str(ne.contract.pk), action="utente abilitato sul contratto"
    ).latest("pk")
    assert event.payload["cost_centre"] is None
