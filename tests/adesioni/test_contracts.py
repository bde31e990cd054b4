"""Contract catalogue and detail (R-ADE-001…009), Comunicazioni (R-ADE-120…124), the API and
the public "Aggiudicazioni e affidamenti" page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from adesioni import services as S
from adesioni.demo import seed
from adesioni.models import ContractMessage, FrameworkContract, MessageKind, Party
from procurement.notifications.models import Notification

from .conftest import manifestazione, ne_url

pytestmark = pytest.mark.django_db


def test_contract_list_search_and_filters(ne, password_client):
    client = password_client(ne.giulio)
    page = client.get(ne_url("contratti/")).content.decode()
    assert "Sistema Cloud Toscana" in page and "7154112FF8" in page
    assert "Sistema Cloud" in client.get(ne_url("contratti/?cig=7154")).content.decode()
    none = client.get(ne_url("contratti/?q=ponte+sullo+stretto")).content.decode()
    assert "Nessun contratto corrisponde" in none
    closed = client.get(ne_url("contratti/?status=CLOSED")).content.decode()
    assert "7154112FF8" not in closed
    assert "7154112FF8" in client.get(ne_url("contratti/?banditore=toscana")).content.decode()


def test_contract_detail_has_the_manual_tabs_and_accordions(ne, password_client):
    client = password_client(ne.giulio)
    page = client.get(ne_url(f"contratti/{ne.contract.pk}/")).content.decode()
    tabs = [
        "Informazioni generali",
        "Aggiudicatario",
        "Chiarimenti",
        "Elenco adesioni",
        "Elenco ordinativi",
    ]
    positions = [page.index(t) for t in tabs]
    assert positions == sorted(positions)
    for accordion in [
        "DOCUMENTAZIONE ALLEGATA",
        "RICHIESTE DOCUMENTI PER ADESIONE – ROUND 0",
        "RICHIESTE PER ORDINATIVI FORNITURA",
        "SCADENZA",
        "UTENTI ABILITATI AD OPERARE SULLA PROCEDURA",
    ]:
        assert accordion in page
    assert "ROUND 1" not in page  # D-ADE-01: the RC has one round
    assert "1 fase di invio di documentazione" in page
    assert "MANIFESTAZIONE DI INTERESSE ALLA PROROGA" in page
    assert "Non definita" in page  # expiry (D-ADE-38)
    assert "055.642259" in page and "start.sa@pamercato.it" in page  # R-ADE-008
    supplier = client.get(ne_url(f"contratti/{ne.contract.pk}/?tab=aggiudicatario"))
    text = supplier.content.decode()
    assert "Alfa S.p.A." in text and "04555666777" in text and "Mandante" in text
    assert "SCT.Toscana@pec.telecomitalia.it" in text


def test_two_rounds_render_two_accordions(ne, password_client):
    FrameworkContract.objects.filter(pk=ne.contract.pk).update(round_count=2)
    page = password_client(ne.giulio).get(ne_url(f"contratti/{ne.contract.pk}/")).content
    assert "ROUND 1" in page.decode()


def test_comunicazione_and_chiarimento_between_parties(ne, samples, password_client):
    now = timezone.now()
    message = S.message_send(
        user=ne.giulio,
        contract=ne.contract,
        kind=MessageKind.CLARIFICATION,
        recipient_party=Party.ISSUER,
        subject="Durata della proroga",
        body="La proroga può terminare prima del 02/10/2026?",
        now=now,
    )
    assert Notification.objects.filter(
        recipient=ne.mario, subject__startswith="Nuova Chiarimento"
    ).exists()
    mario = password_client(ne.mario)
    listing = mario.get(ne_url(f"contratti/{ne.contract.pk}/?tab=chiarimenti")).content.decode()
    assert "Durata della proroga" in listing and "In attesa di risposta" in listing
    assert (
        "Durata della proroga"
        not in password_client(ne.outsider)
        .get(ne_url(f"contratti/{ne.contract.pk}/?tab=chiarimenti"))
        .content.decode()
    )
    response = mario.post(
        ne_url(f"contratti/{ne.contract.pk}/comunicazioni/nuova/?risposta={message.pk}"),
        {
            "kind": "COMMUNICATION",
            "recipient_party": "ADHERENT",
            "subject": "Re: durata",
            "body": "Sì, indicandolo nella manifestazione.",
        },
    )
    assert response.status_code == 302
    reply = ContractMessage.objects.get(subject="Re: durata")
    assert reply.in_reply_to == message
    assert ne.giulio in reply.recipient_users.all()
    assert not ContractMessage.objects.get(pk=message.pk).awaiting_reply


def test_system_messages_are_visible_to_their_recipients_only(ne, samples, password_client):
    now = timezone.now()
    adhesion = S.adhesion_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        hypothesis="A",
        amount="10",
        files={"MI": manifestazione(samples)},
        now=now,
    )
    S.adhesion_send(user=ne.giulio, adhesion_id=adhesion.pk, now=now)
    url = ne_url(f"contratti/{ne.contract.pk}/?tab=comunicazioni")
    assert "inviata" in password_client(ne.giulio).get(url).content.decode()
    assert "inviata" in password_client(ne.mario).get(url).content.decode()
    assert adhesion.code not in password_client(ne.alfa).get(url).content.decode()


def test_public_outcomes_page_needs_no_login(ne):
    response = Client().get(ne_url("aggiudicazioni/"))
    assert response.status_code == 200
    assert "Aggiudicazioni e affidamenti" in response.content.decode()


def test_api_lists_what_the_user_may_see_and_sends_an_adhesion(ne, samples, password_client):
    now = timezone.now()
    adhesion = S.adhesion_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        hypothesis="A",
        amount="10",
        files={"MI": manifestazione(samples)},
        now=now,
    )
    giulio = password_client(ne.giulio)
    contracts = giulio.get(ne_url("api/contratti/")).json()
    assert contracts["results"][0]["parent_cig"] == "7154112FF8"
    assert giulio.get(ne_url("api/adesioni/")).json()["count"] == 1
    assert password_client(ne.outsider).get(ne_url("api/adesioni/")).json()["count"] == 0
    assert password_client(ne.mario).get(ne_url("api/adesioni/")).json()["count"] == 0
    sent = giulio.post(ne_url(f"api/adesioni/{adhesion.pk}/invia/"))
    assert sent.status_code == 200 and sent.json()["status"] == "SENT"
    again = giulio.post(ne_url(f"api/adesioni/{adhesion.pk}/invia/"))
    assert again.status_code == 409
    assert "Operazione non consentita nello stato attuale" in again.json()["detail"]
    assert password_client(ne.mario).get(ne_url("api/adesioni/")).json()["count"] == 1


def test_demo_seed_is_rerunnable(db):
    from procurement.core.demo import seed_demo

    seed_demo()
    first = seed()
    second = seed()
    assert "7154112FF8" in first and first == second
    assert FrameworkContract.objects.count() == 1


def test_banditore_publishes_a_draft_contract(ne, password_client):
    from adesioni.demo import rc_contract
    from tests.factories.kernel import OrganisationFactory

    other_issuer = OrganisationFactory(name="Regione di Prova")
    draft = rc_contract(
        issuer=other_issuer, issuer_rup=ne.mario, supplier=ne.supplier, publish=False
    )
    url = ne_url(f"contratti/{draft.pk}/")
    assert password_client(ne.giulio).get(url).status_code == 404
    mario = password_client(ne.mario)
    assert 'data-testid="pubblica"' in mario.get(url).content.decode()
    assert password_client(ne.giulio).post(url + "pubblica/").status_code == 404
    mario.post(url + "pubblica/")
    assert FrameworkContract.objects.get(pk=draft.pk).status == "PUBLISHED"
    assert password_client(ne.giulio).get(url).status_code == 200


def test_old_prefix_redirects_to_the_negozio_elettronico(rf):
    from adesioni.views import legacy_prefix_redirect

    response = legacy_prefix_redirect(rf.get("/adesioni/contratti/", {"q": "cloud"}), "contratti/")
    assert response.status_code == 301
    assert response["Location"] == ne_url("contratti/?q=cloud")
    posted = legacy_prefix_redirect(rf.post("/adesioni/ordini/x/invia/"), "ordini/x/invia/")
    assert posted.status_code == 308 and posted["Location"] == ne_url("ordini/x/invia/")


def test_rc_contract_carries_the_appendix_a_data(ne, password_client):
    """R-ADE-009: title, CIG principale, CUP, supplier PEC, 4.9 % from April 2023, suggested
    adhesion end 02/10/2026, shown to the aderente."""
    client = password_client(ne.giulio)
    page = client.get(ne_url(f"contratti/{ne.contract.pk}/")).content.decode()
    assert (
        "Progettazione, realizzazione e gestione del Sistema Cloud Toscana, il community Cloud "
        "per la Pubblica Amministrazione in Toscana"
    ) in page
    assert "7154112FF8" in page and "D11B17000180002" in page
    assert "Adeguamento prezzi: +4,9% dal 01/04/2023" in page
    assert ne.contract.suggested_adhesion_end.strftime("%d/%m/%Y") == "02/10/2026"
    form = client.get(ne_url(f"contratti/{ne.contract.pk}/richiedi-adesione/")).content.decode()
    assert 'value="2026-10-02"' in form  # prefilled (D-ADE-04)
    supplier = client.get(ne_url(f"contratti/{ne.contract.pk}/?tab=aggiudicatario")).content
    assert "SCT.Toscana@pec.telecomitalia.it" in supplier.decode()
