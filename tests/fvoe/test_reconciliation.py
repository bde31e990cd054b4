"""AS-FVOE-09 (unknown outcome of the access request), N-FV-07 and D-FVOE-22, against the
simulator over HTTP: the simulator's gateway loses answers on request (control API)."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail

from fvoe.document_requests import MSG_REGISTERED_WITHOUT_ID, document_request_create
from fvoe.models import (
    AccessRequestStatus,
    AuthorizationStatus,
    DocumentOrigin,
    DocumentRequestItemStatus,
    DocumentRequestStatus,
    FvoeAccessRequest,
    FvoeDocument,
    FvoeDocumentRequest,
)
from fvoe.services import documents_refresh
from fvoe.tasks import sweep
from procurement.anac.models import AnacTransmission
from tests.factories.kernel import aware
from tests.fvoe.conftest import DELTA, EPSILON, GAMMA, ID_APPALTO, strong_login
from tests.fvoe.test_access_requests import auth_of, calls, page_of, send
from tests.fvoe.test_documents import gamma_authorised  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def lose(sim, operation: str, kind: str, count: int = 1) -> None:
    sim.post(
        "fvoe/settings",
        {"fault_operation": operation, "fault_kind": kind, "fault_count": count},
    )


def sim_requests(anac_live) -> set[str]:
    import httpx

    rows = httpx.get(
        f"{anac_live}/_control/fvoe/access", params={"idAppalto": str(ID_APPALTO)}
    ).json()["autorizzazioni"]
    return {row["idRichiesta"] for row in rows}


def test_as_fvoe_09_registered_request_with_lost_answer_is_adopted(
    world, sim, client_for, anac_live
):
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        lose(sim, "richiesta-accesso-fvoe", "lost_response")
        send(client_for(world.giulio), world, [DELTA, EPSILON])
        request = FvoeAccessRequest.objects.get()
        assert request.status == AccessRequestStatus.UNKNOWN
        assert auth_of(world, DELTA).status == AuthorizationStatus.UNKNOWN
        listing = page_of(client_for(world.giulio), world).content.decode()
        assert listing.count("In invio") >= 2
        [registered] = sim_requests(anac_live)  # ANAC did register it

        clock.move_to(aware(2026, 11, 23, 10, 1))
        sweep()  # the periodic reconciliation
        request.refresh_from_db()
        assert request.status == AccessRequestStatus.ACKED
        assert request.id_richiesta == registered
        for code in (DELTA, EPSILON):
            auth = auth_of(world, code)
            assert auth.status == AuthorizationStatus.REQUESTED
            assert auth.expected_expiry_at.date().isoformat() == "2026-12-23"
        assert calls("richiesta-accesso-fvoe") == 1  # no second request
        assert sim_requests(anac_live) == {registered}
        triggers = page_of(client_for(world.giulio), world, "chronology").content.decode()
        assert "Riconciliazione" in triggers


def test_as_fvoe_09_fvc04_at_two_checks_five_minutes_apart_resends_once(
    world, sim, client_for, anac_live
):
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        lose(sim, "richiesta-accesso-fvoe", "lost_request")
        send(client_for(world.giulio), world, [DELTA, EPSILON])
        request = FvoeAccessRequest.objects.get()
        assert request.status == AccessRequestStatus.UNKNOWN
        assert sim_requests(anac_live) == set()

        clock.move_to(aware(2026, 11, 23, 10, 1))
        sweep()  # first check: FVC04 for both
        request.refresh_from_db()
        assert request.status == AccessRequestStatus.UNKNOWN and request.not_found_at
        assert calls("verifica-richiesta-accesso-fvoe") == 2

        clock.move_to(aware(2026, 11, 23, 10, 4))
        sweep()  # less than 5 minutes later: no resend yet
        request.refresh_from_db()
        assert request.status == AccessRequestStatus.UNKNOWN
        assert calls("richiesta-accesso-fvoe") == 1

        clock.move_to(aware(2026, 11, 23, 10, 6, 30))
        sweep()  # second check 5 minutes after the first: FVC04 again → resend once
        request.refresh_from_db()
        assert request.status == AccessRequestStatus.ACKED and request.resend_count == 1
        first, second = AnacTransmission.objects.filter(
            operation="richiesta-accesso-fvoe"
        ).order_by("sent_at")
        assert second.http_status == 200 and second.trigger == "retry"
        assert first.request_body == second.request_body  # the same data
        assert sim_requests(anac_live) == {request.id_richiesta}
        assert {auth_of(world, c).status for c in (DELTA, EPSILON)} == {
            AuthorizationStatus.REQUESTED
        }
        chronology = page_of(client_for(world.giulio), world, "chronology").content.decode()
        assert "Nuovo tentativo" in chronology and "Manuale – Giulio Bianchi" in chronology

        clock.move_to(aware(2026, 11, 23, 10, 20))
        sweep()
        assert calls("richiesta-accesso-fvoe") == 2  # once only


def test_n_fv_07_operators_are_alerted_when_the_outcome_stays_unknown(
    world, sim, client_for, django_user_model
):
    staff = django_user_model.objects.create_user(
        "ops", email="ops@example.org", is_staff=True, tax_code="PLTPRT80A01H501Z"
    )
    with time_machine.travel(aware(2026, 11, 23, 10, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 23, 9, 0))
        lose(sim, "richiesta-accesso-fvoe", "lost_request", count=2)  # the resend is lost too
        send(client_for(world.giulio), world, [DELTA])
        for minute in (1, 7):
            clock.move_to(aware(2026, 11, 23, 10, minute))
            sweep()
        request = FvoeAccessRequest.objects.get()
        assert request.status == AccessRequestStatus.UNKNOWN and request.resend_count == 1
        assert mail.outbox == []

        clock.move_to(aware(2026, 11, 24, 10, 8))
        sweep()
        sweep()
        request.refresh_from_db()
        assert request.operators_alerted_at is not None
        assert calls("richiesta-accesso-fvoe") == 2  # never a third send
        [alert] = [m for m in mail.outbox if m.to == [staff.email]]
        assert "Esito sconosciuto" in alert.subject
        assert "Delta S.p.A. (04555666777)" in alert.body


def test_d_fvoe_22_lost_answer_of_a_document_request(world, sim, gamma_authorised):  # noqa: F811
    with time_machine.travel(aware(2026, 11, 24, 9, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 24, 8, 50))
        lose(sim, "richiedi-documenti", "lost_response")
        document_request_create(
            user=world.elisa,
            authorization=gamma_authorised,
            type_code="00042",
            now=aware(2026, 11, 24, 9, 0),
        )
        request = FvoeDocumentRequest.objects.get()
        # First send: answer lost; the resend gets FVC05: the first one got through.
        assert calls("richiedi-documenti") == 2
        assert request.status == DocumentRequestStatus.SUBMITTED
        assert request.id_richiesta == "" and request.note == MSG_REGISTERED_WITHOUT_ID
        assert request.attempts == 2

        # The certifying body answers; the next listing brings a new 00042 document.
        clock.move_to(aware(2026, 11, 24, 12, 0))
        gamma_authorised.refresh_from_db()
        documents_refresh(
            user=world.giulio, authorization=gamma_authorised, now=aware(2026, 11, 24, 12, 0)
        )
        document = FvoeDocument.objects.get(authorization=gamma_authorised, type_code="00042")
        assert document.origin == DocumentOrigin.REQUESTED
        assert document.versions.count() == 1
        request.refresh_from_db()
        assert not request.is_open
        [item] = request.items.all()
        assert item.status == DocumentRequestItemStatus.RETRIEVED and item.document == document
        others = FvoeDocument.objects.filter(authorization=gamma_authorised).exclude(pk=document.pk)
        assert set(others.values_list("origin", flat=True)) == {DocumentOrigin.AUTOMATIC}
        assert GAMMA in document.operator_tax_code
