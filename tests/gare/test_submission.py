"""Participation: envelopes, limits, signatures, deadline, replacement, withdrawal (spec §4)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gare.models import (
    AttemptOutcome,
    LotStatus,
    Offer,
    OfferStatus,
    Participant,
    ParticipantStatus,
    SubmissionAttempt,
)
from gare.services import submission as sub
from gare.services.common import GareError
from gare.services.submission import close_submission_if_due
from procurement.notifications.models import Notification
from tests.factories.kernel import aware

from .conftest import pdf_upload, submit_offer

pytestmark = pytest.mark.django_db

MS = 1000  # microseconds per millisecond


def at(day, h, m, s=0, ms=0):
    return aware(2026, 7, day, h, m, s, ms * MS)


def test_as_08_late_offers_replacement_and_withdrawal(world, lot):
    (l1, l2, l3, l4, l6), users = world.operators[:5], world.bidders[:5]
    # L1: v1 on 24/07, v2 at 11:59:58.731 -> v2 accepted, v1 superseded.
    v1 = submit_offer(user=users[0], operator=l1, lot=lot, now=at(24, 9, 12, 40, 118))
    v2 = submit_offer(
        user=users[0], operator=l1, lot=lot, now=at(27, 11, 59, 58, 731), discount="11.00"
    )
    v1.refresh_from_db()
    assert (v1.status, v2.status, v2.version_no) == (
        OfferStatus.SUPERSEDED,
        OfferStatus.SUBMITTED,
        2,
    )
    assert v2.receipt_no and v2.receipt_no != v1.receipt_no
    # L2: v1 on 25/07; the v2 commit reaches the server at 12:00:00.412 -> refused, v1 stays valid.
    l2_v1 = submit_offer(user=users[1], operator=l2, lot=lot, now=at(25, 18, 3, 11, 502))
    with pytest.raises(GareError) as exc:
        submit_offer(
            user=users[1],
            operator=l2,
            lot=lot,
            now=at(27, 12, 0, 0, 412),
            prepared_at=at(27, 11, 0),
        )
    assert "irricevibile" in exc.value.message and "27/07/2026 12:00:00" in exc.value.message
    # L3: first commit at 12:00:07.090 -> refused, not a participant.
    with pytest.raises(GareError):
        submit_offer(
            user=users[2], operator=l3, lot=lot, now=at(27, 12, 0, 7, 90), prepared_at=at(27, 11, 0)
        )
    # L4: v1 on 26/07, withdrawn at 11:40:02, a new commit at 12:01:15 is refused.
    l4_v1 = submit_offer(user=users[3], operator=l4, lot=lot, now=at(26, 10, 0))
    sub.offer_withdraw(user=users[3], offer=l4_v1, loa=2, now=at(27, 11, 40, 2))
    l4_v1.refresh_from_db()
    assert l4_v1.status == OfferStatus.WITHDRAWN and l4_v1.withdrawal_receipt_no
    with pytest.raises(GareError):
        submit_offer(
            user=users[3], operator=l4, lot=lot, now=at(27, 12, 1, 15), prepared_at=at(27, 11, 0)
        )
    # L6: a commit at exactly 12:00:00.000 is refused (D-01).
    with pytest.raises(GareError):
        submit_offer(
            user=users[4], operator=l6, lot=lot, now=at(27, 12, 0, 0, 0), prepared_at=at(27, 11, 0)
        )
    assert SubmissionAttempt.objects.filter(outcome=AttemptOutcome.REJECTED_LATE).count() == 4

    # Before 12:00:00.000 nothing closes; at the deadline the lot waits for the first session.
    assert close_submission_if_due(tender=lot.tender, now=at(27, 11, 59, 59, 999)) is False
    assert close_submission_if_due(tender=lot.tender, now=at(27, 12, 0)) is True
    lot.refresh_from_db()
    assert lot.status == LotStatus.AWAITING_FIRST_SESSION
    valid = {
        p.operator: p.current_offer
        for p in lot.participants.filter(status=ParticipantStatus.SUBMITTED)
    }
    assert valid == {l1: v2, l2: l2_v1}
    assert not Participant.objects.filter(operator=l3).exists()
    assert Participant.objects.get(operator=l4).status == ParticipantStatus.WITHDRAWN


def test_as_08_the_lot_with_no_offers_is_deserted(lot):
    close_submission_if_due(tender=lot.tender, now=at(27, 12, 0))
    lot.refresh_from_db()
    assert lot.status == LotStatus.DESERTED


def test_the_deadline_is_enforced_at_request_time_with_server_time(world, lot, client_for):
    client = client_for(world.bidders[0])
    with time_machine.travel(at(27, 11, 0), tick=False):
        client.post(f"/gare/lotti/{lot.pk}/offerta/prepara/")
        assert Offer.objects.filter(operator=world.operators[0], status=OfferStatus.DRAFT).exists()
    with time_machine.travel(at(27, 12, 0, 0, 1), tick=False):
        response = client.post(
            f"/gare/lotti/{lot.pk}/offerta/invia/", {"confirm": "on"}, follow=True
        )
    text = response.content.decode()
    assert "Offerta irricevibile" in text
    assert "ora del server al momento dell&#x27;invio: 27/07/2026 12:00:00" in text
    assert not Offer.objects.filter(status=OfferStatus.SUBMITTED).exists()


def test_a_file_over_15_mb_is_refused(world, lot):
    offer = sub.offer_draft(
        user=world.bidders[0], lot=lot, operator=world.operators[0], now=at(20, 9, 0)
    )
    big = SimpleUploadedFile(
        "relazione.pdf", b"%PDF-1.4\n" + b"0" * (15 * 1024 * 1024), content_type="application/pdf"
    )
    with pytest.raises(GareError) as exc:
        sub.envelope_file_add(
            user=world.bidders[0],
            offer=offer,
            envelope_type="B",
            requirement_code="TECHNICAL_REPORT",
            uploaded_file=big,
            now=at(20, 9, 1),
        )
    assert "15,0" in exc.value.message or "15.0" in exc.value.message


def test_an_envelope_over_its_limit_is_refused(world, lot):
    tender = lot.tender
    tender.max_file_size_mb, tender.max_envelope_size_mb = 1, 2  # scaled-down limits, same rule
    type(tender).objects.filter(pk=tender.pk).update(max_file_size_mb=1, max_envelope_size_mb=2)
    offer = sub.offer_draft(
        user=world.bidders[0], lot=lot, operator=world.operators[0], now=at(20, 9, 0)
    )
    chunk = b"%PDF-1.4\n" + b"0" * (900 * 1024)
    for _ in range(2):
        sub.envelope_file_add(
            user=world.bidders[0],
            offer=offer,
            envelope_type="A",
            requirement_code="OTHER_A",
            uploaded_file=SimpleUploadedFile("a.pdf", chunk),
            now=at(20, 9, 1),
        )
    with pytest.raises(GareError) as exc:
        sub.envelope_file_add(
            user=world.bidders[0],
            offer=offer,
            envelope_type="A",
            requirement_code="OTHER_A",
            uploaded_file=SimpleUploadedFile("b.pdf", chunk),
            now=at(20, 9, 2),
        )
    assert "La busta supererebbe il limite" in exc.value.message


def test_signed_files_are_verified_and_an_unsigned_one_needs_confirmation(world, lot, samples):
    # The test CA's certificates are issued today: run this bid in the present.
    now = timezone.now()
    type(lot.tender).objects.filter(pk=lot.tender_id).update(
        offer_deadline=now + datetime.timedelta(days=3)
    )
    lot.refresh_from_db()

    def at(day, h, m):
        return now + datetime.timedelta(minutes=m)

    user, operator = world.bidders[0], world.operators[0]
    offer = sub.offer_draft(user=user, lot=lot, operator=operator, now=at(20, 9, 0))
    signed = sub.envelope_file_add(
        user=user,
        offer=offer,
        envelope_type="A",
        requirement_code="PARTICIPATION_FORM",
        uploaded_file=SimpleUploadedFile("domanda.pdf.p7m", samples.p7m),
        now=at(20, 9, 1),
    )
    unsigned = sub.envelope_file_add(
        user=user,
        offer=offer,
        envelope_type="C",
        requirement_code="ECONOMIC_OFFER",
        uploaded_file=pdf_upload("offerta.pdf"),
        now=at(20, 9, 2),
    )
    assert signed.signature_ok is True
    assert signed.signature_report["signers"][0]["tax_code"]
    assert unsigned.signature_ok is False  # a warning, not a block (S-04)
    sub.envelope_data_set(
        user=user, offer=offer, envelope_type="B", data={"A2": 1}, now=at(20, 9, 3)
    )
    sub.envelope_data_set(
        user=user,
        offer=offer,
        envelope_type="C",
        data={
            "discount": "12.505",
            "days": 430,
            "labour_costs": "598695.55",
            "company_safety_costs": "1000",
        },
        now=at(20, 9, 4),
    )
    with pytest.raises(GareError) as exc:
        sub.offer_submit(user=user, offer=offer, loa=2, now=at(20, 9, 5))
    assert "«offerta.pdf» non ha una firma digitale valida" in exc.value.message
    assert "Manca «DGUE elettronico»" in exc.value.message
    submitted = sub.offer_submit(
        user=user, offer=offer, loa=2, confirm_problems=True, now=at(20, 9, 6)
    )
    assert submitted.status == OfferStatus.SUBMITTED and submitted.unsigned_confirmed


def test_economic_values_are_checked(world, lot):
    user, operator = world.bidders[0], world.operators[0]
    offer = sub.offer_draft(user=user, lot=lot, operator=operator, now=at(20, 9, 0))
    base = {"labour_costs": "598695.55", "company_safety_costs": "1000"}
    for data, message in (
        ({"discount": "-1", "days": 400}, "Il ribasso deve essere compreso"),
        ({"discount": "100", "days": 400}, "Il ribasso deve essere compreso"),
        ({"discount": "10", "days": 459}, "tra 1 e 458"),
        ({"discount": "10", "days": "400.5"}, "tra 1 e 458"),
    ):
        with pytest.raises(GareError) as exc:
            sub.envelope_data_set(
                user=user, offer=offer, envelope_type="C", data={**data, **base}, now=at(20, 9, 1)
            )
        assert message in exc.value.message


def test_each_submission_gets_a_receipt_with_hashes(world, lot, client_for):
    offer = submit_offer(
        user=world.bidders[0],
        operator=world.operators[0],
        lot=lot,
        now=at(20, 9, 0),
        files=[("A", "OTHER_A", pdf_upload())],
    )
    note = Notification.objects.get(recipient=world.bidders[0], template="gare_receipt")
    assert offer.receipt_no in note.subject
    assert offer.manifest_sha256 in note.body
    page = client_for(world.bidders[0]).get(f"/gare/offerte/{offer.pk}/ricevuta/").content.decode()
    assert offer.receipt_no in page and offer.manifest_sha256 in page
    assert offer.envelopes.get(type="A").files.get().sha256 in page
    # Another operator cannot see it.
    assert (
        client_for(world.bidders[1]).get(f"/gare/offerte/{offer.pk}/ricevuta/").status_code == 404
    )


def test_participants_are_hidden_from_the_authority_until_the_deadline(world, lot, client_for):
    submit_offer(user=world.bidders[0], operator=world.operators[0], lot=lot, now=at(20, 9, 0))
    client = client_for(world.rup)
    with time_machine.travel(at(27, 11, 59), tick=False):
        page = client.get(f"/gare/lotti/{lot.pk}/").content.decode()
    assert world.operators[0].name not in page
    assert "nessuno, stazione appaltante compresa" in page
    with time_machine.travel(at(27, 12, 0, 0, 1), tick=False):
        page = client.get(f"/gare/lotti/{lot.pk}/").content.decode()
    assert world.operators[0].name in page


def test_as_08_variant_malfunction_reopening_within_48_hours(world, lot):
    from gare.services.tenders import deadline_extend

    tender = lot.tender
    submit_offer(user=world.bidders[0], operator=world.operators[0], lot=lot, now=at(26, 9, 0))
    with pytest.raises(GareError):
        submit_offer(
            user=world.bidders[1],
            operator=world.operators[1],
            lot=lot,
            now=at(27, 12, 0, 0, 412),
            prepared_at=at(27, 11, 0),
        )
    close_submission_if_due(tender=tender, now=at(27, 12, 0))
    # 72 hours would need a published amendment of the notice (D-44).
    with pytest.raises(GareError) as exc:
        deadline_extend(
            user=world.rup,
            tender=tender,
            new_deadline=at(30, 12, 0),
            reason="Piattaforma non disponibile dalle 10:45 alle 11:55",
            now=at(27, 12, 30),
        )
    assert "48 ore" in exc.value.message
    deadline_extend(
        user=world.rup,
        tender=tender,
        new_deadline=at(28, 12, 0),
        reason="Piattaforma non disponibile dalle 10:45 alle 11:55 (70 minuti)",
        now=at(27, 12, 30),
    )
    tender.refresh_from_db()
    lot.refresh_from_db()
    assert tender.first_session_at == at(28, 15, 0)  # D-41
    assert (tender.status, lot.status) == ("PUBLISHED", LotStatus.OPEN_FOR_SUBMISSION)
    # The refused attempt stays refused; L2 must commit again during the reopening.
    assert SubmissionAttempt.objects.filter(
        operator=world.operators[1], outcome=AttemptOutcome.REJECTED_LATE
    ).exists()
    submit_offer(user=world.bidders[1], operator=world.operators[1], lot=lot, now=at(28, 10, 0))
    close_submission_if_due(tender=tender, now=at(28, 12, 0))
    lot.refresh_from_db()
    assert lot.participants.filter(status=ParticipantStatus.SUBMITTED).count() == 2
