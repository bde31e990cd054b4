"""AS-15 (validity part), R-GARE-074, D-50: offers valid until 23/01/2027 (27/07/2026 + 180 days);
the RPA/RUP is reminded from 24/12/2026 (30 days before) while the lot is not awarded; an
extension request to all remaining participants has a 5-day reply deadline, after which whoever
did not confirm is RENOUNCED. Time is controlled: the services and the sweep take `now`."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied

from gare.models import (
    Communication,
    LotStatus,
    ParticipantStatus,
    ValidityReminder,
    ValidityReply,
)
from gare.services.common import GareError
from gare.services.validity import (
    validity_confirm,
    validity_extension_request,
    validity_sweep,
    validity_until,
)
from gare.tasks import offer_validity_job
from procurement.audit.models import AuditEvent
from procurement.notifications.models import Notification
from tests.factories.kernel import aware

from .conftest import pdf_upload, run_to_admissions

pytestmark = pytest.mark.django_db


def reminders_to(user) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, subject__startswith="Validità delle offerte")
        .order_by("created_at")
        .values_list("subject", flat=True)
    )


def test_as_15_reminder_30_days_before_the_validity_end_once(world, lot):
    run_to_admissions(world, lot, 2)
    assert validity_until(lot) == datetime.date(2027, 1, 23)

    assert validity_sweep(now=aware(2026, 12, 23, 23, 0)) == {"reminders": 0, "renounced": 0}
    assert reminders_to(world.rup) == []

    assert validity_sweep(now=aware(2026, 12, 24, 7, 20))["reminders"] == 1
    assert validity_sweep(now=aware(2026, 12, 24, 8, 20))["reminders"] == 0  # idempotent
    assert validity_sweep(now=aware(2027, 1, 5, 8, 20))["reminders"] == 0
    subjects = reminders_to(world.rup)
    assert subjects == [
        f"Validità delle offerte in scadenza il 23/01/2027 – gara {lot.tender.code}, lotto 1"
    ]
    assert reminders_to(world.board) == []  # the RPA/RUP, not the seggio
    # D-50: a second reminder 10 days before (13/01/2027)
    assert validity_sweep(now=aware(2027, 1, 13, 7, 20))["reminders"] == 1
    assert list(ValidityReminder.objects.values_list("days_before", flat=True)) == [30, 10]
    assert (
        AuditEvent.objects.filter(
            action="promemoria di scadenza della validità delle offerte"
        ).count()
        == 2
    )


def test_no_reminder_when_the_lot_is_awarded(world, lot):
    run_to_admissions(world, lot, 2)
    type(lot).objects.filter(pk=lot.pk).update(status=LotStatus.AWARDED)
    assert validity_sweep(now=aware(2026, 12, 24, 7, 20))["reminders"] == 0
    assert reminders_to(world.rup) == []


def test_as_15_extension_request_five_days_and_renounced_if_not_confirmed(world, lot):
    run_to_admissions(world, lot, 2)
    first, second = sorted(lot.participants.all(), key=lambda p: p.pk)
    bidder = {p.pk: world.bidders[world.operators.index(p.operator)] for p in (first, second)}

    with pytest.raises(PermissionDenied):
        validity_extension_request(
            user=world.board,
            lot=lot,
            new_validity_date=datetime.date(2027, 4, 23),
            now=aware(2026, 12, 28, 9, 0),
        )
    with pytest.raises(GareError, match="successiva all'attuale"):
        validity_extension_request(
            user=world.rup,
            lot=lot,
            new_validity_date=datetime.date(2027, 1, 23),
            now=aware(2026, 12, 28, 9, 0),
        )
    req = validity_extension_request(
        user=world.rup,
        lot=lot,
        new_validity_date=datetime.date(2027, 4, 23),
        now=aware(2026, 12, 28, 9, 0),
    )
    assert req.reply_deadline == aware(2027, 1, 2, 9, 0)
    comms = Communication.objects.filter(kind="VALIDITY_EXTENSION")
    assert {c.operator_id for c in comms} == {first.operator_id, second.operator_id}
    assert all(c.legal_deadline == aware(2027, 1, 2, 9, 0) for c in comms)
    assert "23/04/2027" in comms[0].body
    with pytest.raises(GareError, match="già una richiesta"):
        validity_extension_request(
            user=world.rup,
            lot=lot,
            new_validity_date=datetime.date(2027, 5, 23),
            now=aware(2026, 12, 29, 9, 0),
        )

    reply_first = ValidityReply.objects.get(request=req, participant=first)
    reply_second = ValidityReply.objects.get(request=req, participant=second)
    with pytest.raises(PermissionDenied):  # only the participant itself confirms
        validity_confirm(
            user=bidder[second.pk],
            reply=reply_first,
            guarantee_file=pdf_upload("garanzia.pdf"),
            now=aware(2027, 1, 1, 9, 0),
        )
    validity_confirm(
        user=bidder[first.pk],
        reply=reply_first,
        guarantee_file=pdf_upload("garanzia.pdf"),
        now=aware(2027, 1, 2, 8, 59),
    )

    # before the deadline nothing happens; just after it the silent participant is RENOUNCED
    assert validity_sweep(now=aware(2027, 1, 2, 9, 0))["renounced"] == 0
    with pytest.raises(GareError, match="scaduto il 02/01/2027 09:00"):
        validity_confirm(
            user=bidder[second.pk],
            reply=reply_second,
            guarantee_file=pdf_upload("garanzia.pdf"),
            now=aware(2027, 1, 2, 9, 1),
        )
    assert validity_sweep(now=aware(2027, 1, 2, 9, 20))["renounced"] == 1
    assert validity_sweep(now=aware(2027, 1, 2, 10, 20))["renounced"] == 0  # once
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ParticipantStatus.ADMITTED
    assert second.status == ParticipantStatus.RENOUNCED
    event = AuditEvent.objects.get(action="concorrente rinunciatario: validità non confermata")
    assert (event.from_state, event.to_state) == ("ADMITTED", "RENOUNCED")
    assert Communication.objects.filter(kind="VALIDITY_RENOUNCED", operator=second.operator)
    # the new validity date moves the reminders: none on 24/12-like dates of the old expiry
    assert validity_until(lot) == datetime.date(2027, 4, 23)
    assert validity_sweep(now=aware(2027, 1, 13, 7, 20))["reminders"] == 0
    assert validity_sweep(now=aware(2027, 3, 24, 7, 20))["reminders"] == 1


def test_the_periodic_job_claims_its_slot(world, lot):
    run_to_admissions(world, lot, 2)
    assert offer_validity_job() == {"reminders": 0, "renounced": 0}
    assert offer_validity_job() is None  # a second beat in the same hour does nothing


def test_extension_through_the_pages_request_confirm_and_late_reply(world, lot, client_for):
    import time_machine

    run_to_admissions(world, lot, 2)
    first, second = sorted(lot.participants.all(), key=lambda p: p.pk)
    bidder = {p.pk: world.bidders[world.operators.index(p.operator)] for p in (first, second)}
    with time_machine.travel(aware(2026, 12, 28, 9, 0), tick=False):
        rup = client_for(world.rup)  # logged in at the travelled time (sessions expire)
        page = rup.get(f"/gare/lotti/{lot.pk}/").content.decode()
        assert 'data-testid="validity-request"' in page
        bad = rup.post(f"/gare/lotti/{lot.pk}/proroga-validita/", {"new_validity_date": "x"})
        assert bad.status_code == 302
        response = rup.post(
            f"/gare/lotti/{lot.pk}/proroga-validita/", {"new_validity_date": "2027-04-23"}
        )
        assert response.status_code == 302
    assert ValidityReply.objects.filter(request__lot=lot).count() == 2

    comm_first = Communication.objects.get(kind="VALIDITY_EXTENSION", operator=first.operator)
    comm_second = Communication.objects.get(kind="VALIDITY_EXTENSION", operator=second.operator)
    with time_machine.travel(aware(2026, 12, 30, 9, 0), tick=False):
        client_first = client_for(bidder[first.pk])
        page = client_first.get("/gare/comunicazioni/").content.decode()
        assert f'data-testid="validity-confirm-{comm_first.pk}"' in page
        # another operator's communication is not found
        url_second = f"/gare/comunicazioni/{comm_second.pk}/conferma-validita/"
        assert client_first.post(url_second).status_code == 404
        assert client_first.get(url_second).status_code == 404
        url_first = f"/gare/comunicazioni/{comm_first.pk}/conferma-validita/"
        form = client_first.get(url_first).content.decode()
        assert 'name="guarantee"' in form and 'enctype="multipart/form-data"' in form
        # the button of the communications page posts without a file: refused, back to the form
        response = client_first.post(url_first)
        assert response.status_code == 302 and response["Location"] == url_first
        assert ValidityReply.objects.get(participant=first).confirmed_at is None
        assert (
            "allega la garanzia provvisoria prorogata"
            in client_first.get(url_first).content.decode()
        )
        client_first.post(url_first, {"guarantee": pdf_upload("garanzia-prorogata.pdf")})
    reply = ValidityReply.objects.get(participant=first)
    assert reply.confirmed_at == aware(2026, 12, 30, 9, 0)
    assert reply.guarantee.original_name == "garanzia-prorogata.pdf"

    with time_machine.travel(aware(2027, 1, 2, 9, 30), tick=False):
        client_second = client_for(bidder[second.pk])
        client_second.post(f"/gare/comunicazioni/{comm_second.pk}/conferma-validita/")
        page = client_second.get("/gare/comunicazioni/").content.decode()
    assert "Il termine per confermare la validità dell&#x27;offerta è scaduto" in page
    assert ValidityReply.objects.get(participant=second).confirmed_at is None
