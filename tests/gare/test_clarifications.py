"""Clarifications and individual communications (AS-11, §8.3)."""

from __future__ import annotations

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.test import Client

from gare.models import Clarification, Communication
from gare.services.clarifications import (
    clarification_answer,
    clarification_ask,
    communication_mark_read,
)
from gare.services.common import GareError, communication_send
from procurement.audit.models import AuditEvent
from procurement.notifications.models import Notification
from procurement.opendata.models import OcdsRelease
from procurement.opendata.services import ocid_for
from tests.factories.kernel import aware

pytestmark = pytest.mark.django_db


def test_as_11_clarifications(world, tender, client_for):
    alfa, beta, zeta = world.operators[:3]
    q1 = clarification_ask(
        user=world.bidders[0],
        tender=tender,
        operator=alfa,
        text="È ammesso il subappalto al 100 % della OS30? (Alfa Costruzioni S.r.l.)",
        now=aware(2026, 7, 15, 10, 12),
    )
    clarification_answer(
        user=world.rup,
        clarification=q1,
        published_question="È ammesso il subappalto al 100 % della OS30?",
        answer="Sì, come indicato nella Tab. 2.",
        now=aware(2026, 7, 17, 9, 0),
    )
    q2 = clarification_ask(
        user=world.bidders[1],
        tender=tender,
        operator=beta,
        text="Quesito di Beta",
        now=aware(2026, 7, 20, 11, 59, 30),
    )
    with pytest.raises(GareError) as exc:
        clarification_ask(
            user=world.bidders[2],
            tender=tender,
            operator=zeta,
            text="Quesito di Zeta",
            now=aware(2026, 7, 20, 12, 0, 5),
        )
    assert "Il termine per i quesiti è scaduto il 20/07/2026 12:00:00" in exc.value.message
    # 21/07 11:00: in time (limit 21/07/2026 12:00).
    clarification_answer(
        user=world.rup,
        clarification=q2,
        published_question="Quesito",
        answer="Risposta",
        now=aware(2026, 7, 21, 11, 0),
    )
    q3 = Clarification.objects.create(
        tender=tender,
        operator=zeta,
        asked_by=world.bidders[2],
        asked_at=aware(2026, 7, 20, 11, 0),
        question_text="Altro quesito",
    )
    with pytest.raises(GareError) as exc:
        clarification_answer(
            user=world.rup,
            clarification=q3,
            published_question="Altro quesito",
            answer="Risposta",
            now=aware(2026, 7, 22, 9, 0),
        )
    assert "valuta la proroga del termine" in exc.value.message
    clarification_answer(
        user=world.rup,
        clarification=q3,
        published_question="Altro quesito",
        answer="Risposta",
        override=True,
        now=aware(2026, 7, 22, 9, 0),
    )
    assert AuditEvent.objects.filter(action="risposta pubblicata in deroga al termine").exists()
    # Published anonymously to everyone: no company name, nobody but the SA sees who asked.
    with time_machine.travel(aware(2026, 7, 23, 9, 0), tick=False):
        page = client_for(world.bidders[3]).get(f"/gare/{tender.pk}/").content.decode()
    assert "È ammesso il subappalto al 100 % della OS30?" in page
    assert "Alfa Costruzioni" not in page and alfa.name not in page
    staff_page = client_for(world.rup).get(f"/gare/{tender.pk}/chiarimenti/").content.decode()
    assert alfa.name in staff_page
    # The public transparency page shows the three answers, anonymous, without login.
    ocid = tender.lots.get().cig
    public = Client().get(f"/trasparenza/procedura/{ocid_for(ocid)}/").content.decode()
    assert "È ammesso il subappalto al 100 % della OS30?" in public
    assert "Sì, come indicato nella Tab. 2." in public
    assert "Alfa Costruzioni" not in public and alfa.name not in public
    assert "Quesito di Beta" not in public  # the original question stays reserved
    latest = OcdsRelease.objects.filter(source="gare").latest("id")
    assert latest.tags == ["tenderUpdate"] and len(latest.data["tender"]["enquiries"]) == 3


def test_a_question_through_the_browser_after_the_deadline_is_refused(world, tender, client_for):
    client = client_for(world.bidders[0])
    with time_machine.travel(aware(2026, 7, 20, 12, 0, 5), tick=False):
        response = client.post(f"/gare/{tender.pk}/chiarimenti/", {"text": "Tardi"}, follow=True)
    assert "Il termine per i quesiti è scaduto" in response.content.decode()
    assert not Clarification.objects.exists()


def test_individual_communications_have_receipts_and_read_status(world, tender, client_for):
    comm = communication_send(
        user=world.rup,
        tender=tender,
        operator=world.operators[0],
        kind="OTHER",
        subject="Richiesta di chiarimenti",
        body="Testo",
        now=aware(2026, 7, 28, 9, 0),
    )
    assert comm.receipt_no.startswith("COM-")
    assert Notification.objects.filter(
        recipient=world.bidders[0], subject="Richiesta di chiarimenti"
    ).exists()
    page = client_for(world.bidders[0]).get("/gare/comunicazioni/").content.decode()
    assert comm.receipt_no in page
    assert (
        comm.receipt_no
        not in client_for(world.bidders[1]).get("/gare/comunicazioni/").content.decode()
    )
    with pytest.raises(PermissionDenied):
        communication_mark_read(
            user=world.bidders[1], communication=comm, now=aware(2026, 7, 28, 10, 0)
        )
    communication_mark_read(
        user=world.bidders[0], communication=comm, now=aware(2026, 7, 28, 10, 0)
    )
    assert Communication.objects.get(pk=comm.pk).read_at == aware(2026, 7, 28, 10, 0)
