"""AS-FVOE-06: document requests to certifying bodies, through the simulator over HTTP."""

from __future__ import annotations

import pytest
import time_machine

from fvoe.document_requests import document_request_create, document_request_poll
from fvoe.jobs import verify_slot
from fvoe.models import (
    DocumentOrigin,
    DocumentRequestItemStatus,
    DocumentRequestStatus,
    FvoeAuthorization,
    FvoeDocument,
    FvoeDocumentRequest,
)
from fvoe.services import FvoeError, access_request_create
from procurement.anac.models import AnacTransmission
from procurement.notifications.models import Notification
from tests.factories.kernel import aware
from tests.fvoe.conftest import GAMMA, strong_login

pytestmark = pytest.mark.django_db(transaction=True)


def person(cf, nome, cognome, sesso, giorno, mese, anno):
    return {
        "DatiNominativo": {
            "Nome": nome,
            "Cognome": cognome,
            "Sesso": sesso,
            "CF": cf,
            "DatiNascita": {
                "Giorno": giorno,
                "Mese": mese,
                "Anno": anno,
                "CodiceCatastoStato": "Z000",
                "CodiceCatastoComuneItaliano": "D612",
            },
        },
        "AltriDati": {"LinguaTedesca": False},
    }


SUBJECTS = {
    "type": "DatiSA00004",
    "datiSoggetti": [
        person("RSSMRA80A01D612X", "MARIO", "ROSSI", "M", "01", "01", "1980"),
        person("VRDLCU75M41D612S", "LUCIA", "VERDI", "F", "01", "08", "1975"),
    ],
}


@pytest.fixture
def gamma_authorised(world, sim):
    sim.script(GAMMA, "manual", negative_types=["00021"])
    sim.post("fvoe/settings", {"docreq_step_seconds": 1500})
    with time_machine.travel(aware(2026, 11, 23, 9, 0), tick=True):
        strong_login(world.elisa, aware(2026, 11, 23, 8, 45))
        access_request_create(
            user=world.giulio,
            appalto=world.appalto,
            tax_codes=[GAMMA],
            now=aware(2026, 11, 23, 9, 0),
        )
        sim.answer("autorizza", GAMMA)
        verify_slot(now=aware(2026, 11, 23, 14, 0), concurrency=1)
    return FvoeAuthorization.objects.get(operator_tax_code=GAMMA)


def test_as_fvoe_06_document_request_to_a_certifying_body(world, sim, gamma_authorised, client_for):
    auth = gamma_authorised
    with time_machine.travel(aware(2026, 11, 24, 9, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 24, 8, 55))
        request = document_request_create(
            user=world.elisa,
            authorization=auth,
            type_code="00004",
            request_data=SUBJECTS,
            now=aware(2026, 11, 24, 9, 0),
        )
        request.refresh_from_db()
        assert request.status == DocumentRequestStatus.SUBMITTED and request.id_richiesta
        [sent] = AnacTransmission.objects.filter(operation="richiedi-documenti")
        assert sent.actor_tax_code == world.elisa.tax_code

        clock.move_to(aware(2026, 11, 24, 9, 15))
        document_request_poll(request_id=request.pk, now=aware(2026, 11, 24, 9, 15))
        assert [i.status for i in request.items.all()] == [DocumentRequestItemStatus.WAITING] * 2

        clock.move_to(aware(2026, 11, 24, 9, 20))
        with pytest.raises(FvoeError) as error:
            document_request_create(
                user=world.elisa,
                authorization=auth,
                type_code="00004",
                request_data=SUBJECTS,
                now=aware(2026, 11, 24, 9, 20),
            )
        assert str(error.value) == (
            "Per l’operatore economico Gamma S.r.l. è già aperta una richiesta dello stesso "
            "tipo di documento."
        )

        clock.move_to(aware(2026, 11, 24, 9, 30))
        document_request_poll(request_id=request.pk, now=aware(2026, 11, 24, 9, 30))
        assert [i.status for i in request.items.all()] == [DocumentRequestItemStatus.RECEIVED] * 2

        clock.move_to(aware(2026, 11, 24, 10, 45))
        giulio = client_for(world.giulio)
        page = giulio.post(f"/fvoe/richieste-documento/{request.pk}/verifica/", follow=True)
        assert "Stato della richiesta aggiornato." in page.content.decode()
        request.refresh_from_db()
        assert not request.is_open
        items = list(request.items.all())
        assert [i.status for i in items] == [DocumentRequestItemStatus.RETRIEVED] * 2
        requested = FvoeDocument.objects.filter(origin=DocumentOrigin.REQUESTED)
        assert requested.count() == 2 and set(requested.values_list("type_code", flat=True)) == {
            "00004"
        }
        assert Notification.objects.filter(
            recipient=world.elisa, template="fvoe_document_request"
        ).exists()
        documents = giulio.get(f"/fvoe/appalti/{world.appalto.pk}/documenti/").content.decode()
        assert "Richiesto dall&#x27;utente" in documents or "Richiesto dall'utente" in documents


def test_as_fvoe_06_negative_outcome_and_local_validation(world, sim, gamma_authorised, client_for):
    auth = gamma_authorised
    with time_machine.travel(aware(2026, 11, 24, 9, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 24, 8, 55))
        giulio = client_for(world.giulio)
        page = giulio.post(
            f"/fvoe/autorizzazioni/{auth.pk}/richiedi-documento/",
            {"type_code": "00021"},
            follow=True,
        ).content.decode()
        assert "inviata ad ANAC. Lo stato viene aggiornato automaticamente." in page
        request = FvoeDocumentRequest.objects.get(type_code="00021")
        clock.move_to(aware(2026, 11, 24, 10, 45))
        document_request_poll(request_id=request.pk, now=aware(2026, 11, 24, 10, 45))
        assert [i.status for i in request.items.all()] == [DocumentRequestItemStatus.NEGATIVE]
        assert (
            "Esito Negativo Inoltrato"
            in giulio.get(f"/fvoe/appalti/{world.appalto.pk}/documenti/").content.decode()
        )

        before = AnacTransmission.objects.count()
        page = giulio.post(
            f"/fvoe/autorizzazioni/{auth.pk}/richiedi-documento/",
            {"type_code": "00036", "matr_OE": "80441618", "anno": "2025"},
            follow=True,
        ).content.decode()
        assert "La matricola INPS (matr_OE) deve essere di 10 caratteri" in page
        assert AnacTransmission.objects.count() == before
        assert not FvoeDocumentRequest.objects.filter(type_code="00036").exists()
