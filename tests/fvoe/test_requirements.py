"""Requirements without a scenario of their own: R-FVOE-004, 022, 025, 071 and D-FVOE-20."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core import mail

from fvoe.jobs import verify_slot
from fvoe.models import AuthorizationStatus, FvoeAccessRequest
from fvoe.services import FvoeError, access_request_create
from procurement.anac.models import AnacTransmission
from tests.factories.kernel import aware
from tests.fvoe.conftest import DELTA, GAMMA, strong_login
from tests.fvoe.test_access_requests import auth_of, page_of, send

pytestmark = pytest.mark.django_db(transaction=True)

MSG_FV_09 = (
    "L’appalto non ha ancora un identificativo ANAC (idAppalto): le funzioni del Fascicolo "
    "Virtuale non sono disponibili."
)


def test_r_fvoe_004_no_id_appalto_no_functions(world, client_for):
    world.appalto.id_appalto = None
    world.appalto.save(update_fields=["id_appalto"])
    assert MSG_FV_09 in page_of(client_for(world.giulio), world).content.decode()
    strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
    with pytest.raises(FvoeError) as error:
        access_request_create(
            user=world.giulio, appalto=world.appalto, tax_codes=[GAMMA], now=aware(2026, 11, 23, 10)
        )
    assert str(error.value) == MSG_FV_09
    assert FvoeAccessRequest.objects.count() == 0


def test_r_fvoe_022_025_dates_sent_and_what_the_page_explains(world, sim, client_for):
    giulio = client_for(world.giulio)
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True):
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        page = page_of(giulio, world).content.decode()
        assert "Ogni operatore economico deve approvare la richiesta sulla piattaforma ANAC" in page
        assert "Una richiesta senza risposta per un mese diventa “Scaduta”" in page
        assert "31/12/2099" in page
        refused = send(giulio, world, [GAMMA], end_date="2026-11-22").content.decode()
        assert "La data di fine autorizzazione deve essere successiva a oggi." in refused
        assert FvoeAccessRequest.objects.count() == 0
        send(giulio, world, [GAMMA], end_date=date(2027, 6, 30).isoformat())
        [sent] = AnacTransmission.objects.filter(operation="richiesta-accesso-fvoe")
        # D-FVOE-06: 23:59:59 Europe/Rome (CEST in June) in UTC; start = now + 60 s.
        assert sent.request_body["dataFineAutorizzazione"] == "2027-06-30T21:59:59Z"
        assert sent.request_body["dataInizioAutorizzazione"].startswith("2026-11-23T09:01")
        assert auth_of(world, GAMMA).status == AuthorizationStatus.REQUESTED


def test_r_fvoe_071_skipped_checks_are_in_the_chronology(world, sim, client_for):
    giulio = client_for(world.giulio)
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        send(giulio, world, [GAMMA])
        # AS-FVOE-08 step 5: beat back at 08:10, the 07:00 slot is skipped.
        clock.move_to(aware(2026, 11, 24, 8, 10))
        assert verify_slot(now=aware(2026, 11, 24, 8, 10), concurrency=1) is None
        # AS-FVOE-04 step 4: the RUP's last strong login is 40 days old.
        clock.move_to(aware(2027, 1, 2, 7, 0))
        assert verify_slot(now=aware(2027, 1, 2, 7, 0), concurrency=1).skipped == 1
    chronology = page_of(giulio, world, "chronology").content.decode()
    assert "Saltata – nessun accesso SPID/CIE del RUP negli ultimi 30 giorni" in chronology
    assert "Saltata – slot non eseguito entro 60 minuti" in chronology
    assert chronology.count('data-testid="skipped"') == 2


def test_d_fvoe_20_fvc04_after_24_hours_marks_unknown_and_alerts_operators(
    world, sim, client_for, django_user_model
):
    django_user_model.objects.create_user(
        "ops", email="ops@example.org", is_staff=True, tax_code="PLTPRT80A01H501Z"
    )
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        send(client_for(world.giulio), world, [DELTA])
        sim.post("fvoe/reset", {})  # ANAC no longer knows the request: FVC04
        verify_slot(now=aware(2026, 11, 23, 14, 0), concurrency=1)
        assert auth_of(world, DELTA).status == AuthorizationStatus.REQUESTED  # < 24 h
        assert mail.outbox == []
        clock.move_to(aware(2026, 11, 24, 14, 0))
        verify_slot(now=aware(2026, 11, 24, 14, 0), concurrency=1)
        assert auth_of(world, DELTA).status == AuthorizationStatus.UNKNOWN
        [alert] = mail.outbox
        assert alert.to == ["ops@example.org"] and "Esito sconosciuto" in alert.subject
