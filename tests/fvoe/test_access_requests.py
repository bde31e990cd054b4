"""Acceptance scenarios AS-FVOE-01..04, 07, 10 against the simulator over HTTP (AS-FVOE-05:
test_roles.py)."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail

from fvoe.jobs import verify_slot
from fvoe.models import (
    AuthorizationStatus,
    CheckTrigger,
    DocumentOrigin,
    FvoeAccessRequest,
    FvoeAuthorization,
    FvoeDocument,
    FvoeDocumentVersion,
)
from procurement.accounts.models import IdpType
from procurement.anac.models import AnacTransmission
from procurement.notifications.models import Notification
from tests.factories.kernel import aware
from tests.fvoe.conftest import DELTA, EPSILON, ETA, GAMMA, strong_login

pytestmark = pytest.mark.django_db(transaction=True)


def page_of(client, world, name="access_requests"):
    return client.get(
        f"/fvoe/appalti/{world.appalto.pk}/"
        + {
            "access_requests": "richieste/",
            "documents": "documenti/",
            "chronology": "cronologia-pcp/",
        }[name]
    )


def send(client, world, codes, **extra):
    return client.post(
        f"/fvoe/appalti/{world.appalto.pk}/richieste/",
        {"operators": codes, **extra},
        follow=True,
    )


def auth_of(world, code) -> FvoeAuthorization:
    return FvoeAuthorization.objects.get(
        appalto=world.appalto, operator_tax_code=code, superseded_by__isnull=True
    )


def calls(operation: str) -> int:
    return AnacTransmission.objects.filter(operation=operation).count()


def test_as_fvoe_01_three_operators_answer_at_different_times(world, sim, client_for):
    with time_machine.travel(aware(2026, 11, 23, 8, 45), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 23, 8, 45))  # SPID level 2, until 16:45

        clock.move_to(aware(2026, 11, 23, 10, 12))
        listing = page_of(client_for(world.giulio), world).content.decode()
        assert "Gamma S.r.l." in listing and "Delta S.p.A." in listing
        assert "Epsilon Soc. Coop." in listing and "Eta S.r.l." not in listing
        assert "Offerta" in listing

        response = send(client_for(world.giulio), world, [GAMMA, DELTA, EPSILON])
        text = response.content.decode()
        assert "Richiesta di accesso al FVOE inviata ad ANAC per 3 operatori economici" in text
        request = FvoeAccessRequest.objects.get()
        assert request.status == "ACKED" and request.id_richiesta
        assert request.acting_rup == world.elisa and request.requested_by == world.giulio
        for code in (GAMMA, DELTA, EPSILON):
            auth = auth_of(world, code)
            assert auth.status == AuthorizationStatus.REQUESTED
            assert auth.expected_expiry_at.date().isoformat() == "2026-12-23"
        [sent] = AnacTransmission.objects.filter(operation="richiesta-accesso-fvoe")
        assert sent.actor_tax_code == world.elisa.tax_code and sent.actor_role == "RP"
        assert sent.actor_loa == "3" and sent.actor_idp == "SPID"
        assert sorted(o["codiceFiscale"] for o in sent.request_body["operatoriEconomici"]) == (
            sorted([GAMMA, DELTA, EPSILON])
        )
        assert sent.request_body["appalto"] == {"idAppalto": str(world.appalto.id_appalto)}
        assert sent.request_body["dataInizioAutorizzazione"] == "2026-11-23T09:13:02Z" or (
            sent.request_body["dataInizioAutorizzazione"].startswith("2026-11-23T09:13")
        )
        assert "Scadenza prevista" in page_of(client_for(world.giulio), world).content.decode()

        clock.move_to(aware(2026, 11, 23, 11, 40))
        sim.answer("autorizza", GAMMA)
        assert auth_of(world, GAMMA).status == AuthorizationStatus.REQUESTED  # nothing yet

        clock.move_to(aware(2026, 11, 23, 14, 0))
        summary = verify_slot(now=aware(2026, 11, 23, 14, 0), concurrency=1)
        assert summary.key == "fvoe-verify:2026-11-23T14"
        assert (summary.total, summary.changed, summary.verified) == (3, 1, 2)
        gamma = auth_of(world, GAMMA)
        assert gamma.status == AuthorizationStatus.AUTHORISED and gamma.access_key
        assert gamma.access_key not in gamma.access_key_encrypted
        assert gamma.valid_to.year == 2099
        assert [m.to for m in mail.outbox] == [[world.giulio.email]]
        assert mail.outbox[0].subject.startswith("FVOE – Accesso autorizzato: Gamma S.r.l.")
        docs = FvoeDocument.objects.filter(authorization=gamma)
        assert sorted(docs.values_list("type_code", flat=True)) == ["00008", "00033", "00034"]
        assert FvoeDocumentVersion.objects.filter(document__authorization=gamma).count() == 3
        for version in FvoeDocumentVersion.objects.all():
            assert version.file.read().startswith(b"%PDF") and len(version.sha256) == 64
        for code in (DELTA, EPSILON):
            auth = auth_of(world, code)
            assert auth.status == AuthorizationStatus.REQUESTED
            assert auth.last_check_trigger == CheckTrigger.SCHEDULED_14

        clock.move_to(aware(2026, 11, 23, 16, 5))
        sim.answer("nega", DELTA, motivo="Richiesta non pertinente")

        clock.move_to(aware(2026, 11, 24, 7, 0))
        summary = verify_slot(now=aware(2026, 11, 24, 7, 0), concurrency=1)
        assert summary.key == "fvoe-verify:2026-11-24T07"
        delta = auth_of(world, DELTA)
        assert delta.status == AuthorizationStatus.DENIED
        assert delta.reason == "Richiesta non pertinente"
        assert Notification.objects.filter(
            recipient=world.giulio, template="fvoe_status_changed"
        ).exists()
        assert len(mail.outbox) == 1  # no second e-mail for Gamma
        assert FvoeDocumentVersion.objects.count() == 3  # nothing new
        assert auth_of(world, EPSILON).status == AuthorizationStatus.REQUESTED
        listing = page_of(client_for(world.giulio), world).content.decode()
        assert "Richiesta non pertinente" in listing and "Negata" in listing

        documents = page_of(client_for(world.giulio), world, "documents").content.decode()
        assert "Gamma S.r.l." in documents and "Recuperato automaticamente" in documents
        assert "Delta S.p.A." not in documents and "Epsilon Soc. Coop." not in documents

        chronology = page_of(client_for(world.giulio), world, "chronology").content.decode()
        assert chronology.count("<td>richiesta-accesso-fvoe</td>") == 1
        assert chronology.count("<td>verifica-richiesta-accesso-fvoe</td>") == 6
        assert "recupera-documento-fvoe" in chronology
        assert chronology.count("Manuale – Giulio Bianchi") == 1  # step 3
        assert "Automatica 14:00" in chronology and "Automatica 07:00" in chronology
        assert gamma.access_key not in chronology


def test_as_fvoe_02_manual_verification_before_the_slot_and_throttle(world, sim, client_for):
    giulio = client_for(world.giulio)
    with time_machine.travel(aware(2026, 11, 23, 8, 45), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 23, 8, 45))
        clock.move_to(aware(2026, 11, 23, 10, 12))
        send(client_for(world.giulio), world, [GAMMA, DELTA, EPSILON])
        clock.move_to(aware(2026, 11, 23, 11, 40))
        sim.answer("autorizza", GAMMA)

        clock.move_to(aware(2026, 11, 23, 12, 0))
        gamma = auth_of(world, GAMMA)
        page = giulio.post(f"/fvoe/autorizzazioni/{gamma.pk}/verifica/", follow=True)
        assert "Autorizzata" in page.content.decode()
        gamma.refresh_from_db()
        assert gamma.status == AuthorizationStatus.AUTHORISED
        assert gamma.last_check_trigger == CheckTrigger.USER
        assert len(mail.outbox) == 1
        assert FvoeDocumentVersion.objects.count() == 3
        before = calls("verifica-richiesta-accesso-fvoe")

        clock.move_to(aware(2026, 11, 23, 12, 0, 30))
        page = giulio.post(f"/fvoe/autorizzazioni/{gamma.pk}/verifica/", follow=True)
        assert "Verifica già eseguita alle 12:00:" in page.content.decode()
        assert calls("verifica-richiesta-accesso-fvoe") == before

        clock.move_to(aware(2026, 11, 23, 14, 0))
        verify_slot(now=aware(2026, 11, 23, 14, 0), concurrency=1)
        assert auth_of(world, GAMMA).status == AuthorizationStatus.AUTHORISED
        assert len(mail.outbox) == 1
        assert FvoeDocumentVersion.objects.count() == 3


def test_as_fvoe_03_expiry_denial_and_new_requests(world, sim, client_for):
    sim.script(EPSILON, "never")
    with time_machine.travel(aware(2026, 11, 23, 8, 45), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 23, 8, 45))
        clock.move_to(aware(2026, 11, 23, 10, 12))
        send(client_for(world.giulio), world, [GAMMA, DELTA, EPSILON])
        sim.answer("autorizza", GAMMA)
        sim.answer("nega", DELTA, motivo="Non pertinente")
        verify_slot(now=aware(2026, 11, 23, 14, 0), concurrency=1)
        assert auth_of(world, DELTA).status == AuthorizationStatus.DENIED

        clock.move_to(aware(2026, 12, 23, 14, 0))
        strong_login(world.elisa, aware(2026, 12, 23, 8, 30))  # within the last 30 days
        verify_slot(now=aware(2026, 12, 23, 14, 0), concurrency=1)
        assert auth_of(world, EPSILON).status == AuthorizationStatus.EXPIRED

        clock.move_to(aware(2026, 12, 23, 15, 0))
        listing = page_of(client_for(world.giulio), world).content.decode()
        assert f'value="{GAMMA}"' not in listing  # not offered while authorised
        assert f'value="{DELTA}"' in listing and f'value="{EPSILON}"' in listing
        old_delta, old_epsilon = auth_of(world, DELTA), auth_of(world, EPSILON)
        send(client_for(world.giulio), world, [DELTA, EPSILON])
        assert FvoeAccessRequest.objects.count() == 2
        new_delta, new_epsilon = auth_of(world, DELTA), auth_of(world, EPSILON)
        assert new_delta.status == new_epsilon.status == AuthorizationStatus.REQUESTED
        old_delta.refresh_from_db()
        old_epsilon.refresh_from_db()
        assert old_delta.superseded_by == new_delta and old_epsilon.superseded_by == new_epsilon

        before = calls("richiesta-accesso-fvoe")
        page = send(client_for(world.giulio), world, [GAMMA]).content.decode()
        assert (
            "Per l’operatore economico Gamma S.r.l. è già presente una richiesta di accesso in "
            "attesa di risposta o autorizzata."
        ) in page
        assert calls("richiesta-accesso-fvoe") == before


def test_as_fvoe_04_rup_session_conditions(world, sim, client_for):
    with time_machine.travel(aware(2026, 11, 25, 18, 30), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 25, 8, 50), ended_at=aware(2026, 11, 25, 17, 0))
        page = send(client_for(world.giulio), world, [EPSILON]).content.decode()
        assert (
            "Operazione non eseguibile: è necessaria una sessione attiva del RUP dell’appalto "
            "(Elisa Neri) con accesso mediante SPID (o CIE)."
        ) in page
        assert FvoeAccessRequest.objects.count() == 0
        assert AnacTransmission.objects.count() == 0

        strong_login(world.elisa, aware(2026, 11, 25, 18, 0), idp=IdpType.CIE, loa=3)
        send(client_for(world.giulio), world, [EPSILON])
        [sent] = AnacTransmission.objects.filter(operation="richiesta-accesso-fvoe")
        assert (sent.actor_idp, sent.actor_loa) == ("CIE", "4")

        # The slot runs with Elisa's identity although she is not logged in.
        clock.move_to(aware(2026, 11, 26, 7, 0))
        summary = verify_slot(now=aware(2026, 11, 26, 7, 0), concurrency=1)
        assert summary.verified == 1 and summary.skipped == 0

        # 40 days after her last strong login the items are skipped.
        clock.move_to(aware(2027, 1, 4, 7, 0))
        summary = verify_slot(now=aware(2027, 1, 4, 7, 0), concurrency=1)
        assert summary.skipped == 1 and summary.verified == 0
        notices = Notification.objects.filter(template="fvoe_skipped")
        assert sorted(n.recipient_id for n in notices) == sorted([world.elisa.pk, world.giulio.pk])
        clock.move_to(aware(2027, 1, 4, 14, 0))
        assert verify_slot(now=aware(2027, 1, 4, 14, 0), concurrency=1).skipped == 1
        assert notices.count() == 2  # once a day per appalto


def test_as_fvoe_04_not_registered_rup(world, sim, client_for):
    # Variant 5: ANAC answers SEC01 when the RUP is unknown to its services.
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True):
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        send(client_for(world.giulio), world, [GAMMA])
        gamma = auth_of(world, GAMMA)
        from fvoe.services import msg_anac_error
        from procurement.anac.errors import AnacErrorItem, AnacRejected

        exc = AnacRejected("x", status=401, body={}, errors=[AnacErrorItem("SEC01")])
        assert msg_anac_error(exc).startswith(
            "Il RUP dell’appalto non risulta registrato e profilato come “RESPONSABILE UNICO"
        )
        assert "SEC01" in msg_anac_error(exc)
        assert gamma.status == AuthorizationStatus.REQUESTED


def test_as_fvoe_07_revocation_after_authorisation(world, sim, client_for):
    with time_machine.travel(aware(2026, 11, 23, 9, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        send(client_for(world.giulio), world, [GAMMA])
        sim.answer("autorizza", GAMMA)
        verify_slot(now=aware(2026, 11, 23, 14, 0), concurrency=1)
        assert FvoeDocumentVersion.objects.count() == 3

        clock.move_to(aware(2026, 12, 1, 10, 0))
        sim.answer("revoca", GAMMA)
        clock.move_to(aware(2026, 12, 1, 14, 0))
        retrievals = calls("recupera-documento-fvoe") + calls("ricerca-documenti-fvoe")
        verify_slot(now=aware(2026, 12, 1, 14, 0), concurrency=1)
        assert auth_of(world, GAMMA).status == AuthorizationStatus.REVOKED
        assert calls("recupera-documento-fvoe") + calls("ricerca-documenti-fvoe") == retrievals
        documents = page_of(client_for(world.giulio), world, "documents").content.decode()
        assert "Accesso revocato il 01/12/2026" in documents
        assert documents.count("Recuperato automaticamente") == 3

        clock.move_to(aware(2026, 12, 1, 15, 0))
        strong_login(world.elisa, aware(2026, 12, 1, 15, 0))
        send(client_for(world.giulio), world, [GAMMA])
        assert auth_of(world, GAMMA).status == AuthorizationStatus.REQUESTED


def test_as_fvoe_10_ineligible_operator(world, sim, client_for):
    from fvoe.services import FvoeError, access_request_create

    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True):
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        with pytest.raises(FvoeError) as error:
            access_request_create(
                user=world.giulio,
                appalto=world.appalto,
                tax_codes=[ETA],
                now=aware(2026, 11, 23, 10, 0),
            )
        assert str(error.value) == (
            "L’operatore economico Eta S.r.l. non ha presentato offerta né è destinatario di un "
            "affidamento diretto per questo appalto: la richiesta di accesso non è consentita."
        )
        assert AnacTransmission.objects.count() == 0
        assert FvoeAccessRequest.objects.count() == 0


def test_documents_download_is_audited(world, sim, client_for):
    from procurement.audit.models import AuditEvent

    giulio = client_for(world.giulio)
    with time_machine.travel(aware(2026, 11, 23, 9, 0), tick=True):
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        send(client_for(world.giulio), world, [GAMMA])
        sim.answer("autorizza", GAMMA)
        verify_slot(now=aware(2026, 11, 23, 14, 0), concurrency=1)
    version = FvoeDocumentVersion.objects.first()
    response = giulio.get(f"/fvoe/versioni/{version.pk}/scarica/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="documento FVOE scaricato").count() == 1
    assert client_for(world.marco).get(f"/fvoe/versioni/{version.pk}/scarica/").status_code == 403
    assert FvoeDocument.objects.first().origin == DocumentOrigin.AUTOMATIC


def test_as_fvoe_09_unknown_outcome_of_the_request(world, sim, client_for):
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True):
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        sim.config(rate_5xx=1.0)
        try:
            page = send(client_for(world.giulio), world, [DELTA, EPSILON]).content.decode()
        finally:
            sim.config(rate_5xx=0.0)
        assert "Il servizio ANAC non è al momento raggiungibile" in page
        request = FvoeAccessRequest.objects.get()
        assert request.status == "UNKNOWN"
        assert auth_of(world, DELTA).status == AuthorizationStatus.UNKNOWN
        # While the outcome is unknown no second request can be sent for the same operators.
        page = send(client_for(world.giulio), world, [DELTA]).content.decode()
        assert "Per l’operatore economico Delta S.p.A. è già presente" in page
        assert calls("richiesta-accesso-fvoe") == 1


def test_verify_all_checks_every_row(world, sim, client_for):
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True):
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        send(client_for(world.giulio), world, [GAMMA, DELTA])
        sim.answer("autorizza", GAMMA)
        page = client_for(world.giulio).post(
            f"/fvoe/appalti/{world.appalto.pk}/verifica-tutti/", follow=True
        )
        assert "Verifica eseguita per 2 operatori economici." in page.content.decode()
        assert auth_of(world, GAMMA).status == AuthorizationStatus.AUTHORISED
        assert calls("verifica-richiesta-accesso-fvoe") == 2
