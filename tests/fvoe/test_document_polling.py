"""D-FVOE-12 and §4.3: polling of document requests (15 minutes for 24 hours, then at the
07:00/14:00 slots) and STALLED after 30 days, with controlled time, against the simulator."""

from __future__ import annotations

import pytest
import time_machine

from fvoe.document_requests import (
    document_request_create,
    document_request_poll,
    document_requests_due,
    document_requests_poll_due,
)
from fvoe.models import DocumentRequestItemStatus, FvoeDocumentRequest
from tests.factories.kernel import aware
from tests.fvoe.conftest import strong_login
from tests.fvoe.test_access_requests import calls
from tests.fvoe.test_documents import gamma_authorised  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_polling_rhythm_and_stalled_after_thirty_days(world, sim, gamma_authorised):  # noqa: F811
    sim.post("fvoe/settings", {"docreq_step_seconds": 400 * 24 * 3600})  # stays 001 for ever
    with time_machine.travel(aware(2026, 11, 24, 9, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 24, 8, 50))
        document_request_create(
            user=world.elisa,
            authorization=gamma_authorised,
            type_code="00008",
            now=aware(2026, 11, 24, 9, 0),
        )
        request = FvoeDocumentRequest.objects.get()
        pk = request.pk

        # First 24 hours: every 15 minutes.
        assert document_requests_due(aware(2026, 11, 24, 9, 10)) == [pk]  # never checked
        clock.move_to(aware(2026, 11, 24, 9, 10))
        assert document_requests_poll_due(now=aware(2026, 11, 24, 9, 10))["polled"] == 1
        assert request.items.get().status == DocumentRequestItemStatus.WAITING
        assert document_requests_due(aware(2026, 11, 24, 9, 24)) == []
        assert document_requests_due(aware(2026, 11, 24, 9, 25)) == [pk]

        # After 24 hours: once per 07:00 / 14:00 slot.
        clock.move_to(aware(2026, 11, 25, 10, 0))
        document_requests_poll_due(now=aware(2026, 11, 25, 10, 0))
        assert document_requests_due(aware(2026, 11, 25, 13, 59)) == []
        assert document_requests_due(aware(2026, 11, 25, 14, 0)) == [pk]
        clock.move_to(aware(2026, 11, 25, 14, 1))
        document_requests_poll_due(now=aware(2026, 11, 25, 14, 1))
        assert document_requests_due(aware(2026, 11, 25, 20, 0)) == []
        assert document_requests_due(aware(2026, 11, 26, 6, 59)) == []
        assert document_requests_due(aware(2026, 11, 26, 7, 0)) == [pk]

        # 30 days after the send, no final state: STALLED, and no more automatic polls.
        clock.move_to(aware(2026, 12, 24, 8, 59))
        assert document_requests_poll_due(now=aware(2026, 12, 24, 8, 59))["stalled"] == 0
        clock.move_to(aware(2026, 12, 24, 9, 0, 1))
        strong_login(world.elisa, aware(2026, 12, 24, 9, 0))
        before = calls("verifica-stato-richiesta-documento")
        counts = document_requests_poll_due(now=aware(2026, 12, 24, 9, 0, 1))
        assert counts == {"polled": 0, "stalled": 1, "failed": 0}
        item = request.items.get()
        assert item.status == DocumentRequestItemStatus.STALLED
        clock.move_to(aware(2026, 12, 24, 14, 0))
        document_requests_poll_due(now=aware(2026, 12, 24, 14, 0))
        assert calls("verifica-stato-richiesta-documento") == before

        # A manual "Verifica stato richiesta" still asks ANAC.
        document_request_poll(request_id=pk, now=aware(2026, 12, 24, 14, 0), user=world.giulio)
        assert calls("verifica-stato-richiesta-documento") == before + 1
        request.refresh_from_db()
        assert request.is_open
