"""R-GARE-054 / R-GARE-146: the ANAC fee checked through FVOE at the administrative check.

AS-07 S1: no receipt in envelope A and FVOE says the payment is not found → remediable with
soccorso istruttorio (Appendix B), the payment may come after the offer deadline; paid in time →
admitted; not regularised in time → out of the procedure.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from gare.models import AnacContribution, CheckOutcome, ParticipantStatus
from gare.services import admincheck
from gare.services import procedure as proc
from gare.services.common import GareError
from procurement.audit.models import AuditEvent
from tests.factories.kernel import aware

from .conftest import submit_offer

pytestmark = pytest.mark.django_db

FIRST_SESSION = aware(2026, 7, 27, 15, 0)


def in_admin_check(world, lot, n=2):
    for i in range(n):
        submit_offer(
            user=world.bidders[i],
            operator=world.operators[i],
            lot=lot,
            now=aware(2026, 7, 20, 10, i),
        )
    proc.session_start(user=world.rup, lot=lot, kind="ADMIN_OPENING", now=FIRST_SESSION)
    lot.refresh_from_db()
    return [lot.participants.get(operator=o) for o in world.operators[:n]]


def anac_item(participant):
    return participant.check_items.get(code="ANAC_RECEIPT")


def test_as_07_s1_fee_not_found_then_paid_during_the_soccorso(world, lot):
    s1, s2 = in_admin_check(world, lot)
    assert anac_item(s1).prefilled == CheckOutcome.MISSING  # no receipt uploaded in A
    for intruder in (world.bidders[0], world.outsider, world.commissioners[0]):
        with pytest.raises(PermissionDenied):
            admincheck.anac_fee_check(
                user=intruder, participant=s1, outcome="PAID", note="x", now=FIRST_SESSION
            )
    with pytest.raises(GareError, match="esito della verifica del contributo ANAC"):
        admincheck.anac_fee_check(
            user=world.board, participant=s1, outcome="PENDING", now=FIRST_SESSION
        )

    # The seggio checks FVOE: payment not found.
    check = admincheck.anac_fee_check(
        user=world.board,
        participant=s1,
        outcome="NOT_FOUND",
        now=aware(2026, 7, 27, 15, 30),
    )
    assert (check.cig, check.amount_due) == (lot.cig, Decimal("165.00"))
    assert check.checked_by == world.board
    item = anac_item(s1)
    assert (item.outcome, item.remediable, item.confirmed_by) == (
        CheckOutcome.MISSING,
        True,
        world.board,
    )
    assert "sanabile con soccorso istruttorio" in item.note
    event = AuditEvent.objects.for_object(s1).filter(to_state=CheckOutcome.MISSING).get()
    assert event.payload["code"] == "ANAC_RECEIPT" and event.payload["outcome"] == "NOT_FOUND"
    with pytest.raises(GareError, match="mancanti o irregolari"):
        proc.admin_check_admit(user=world.board, participant=s1, now=aware(2026, 7, 27, 16, 0))

    # Soccorso on the item (5–10 days); the operator pays after the offer deadline.
    sent = aware(2026, 7, 28, 10, 0)
    remedy = proc.remedy_request_send(
        user=world.rup,
        participant=s1,
        items="pagare il contributo e caricare la ricevuta",
        check_codes=["ANAC_RECEIPT"],
        deadline=sent + datetime.timedelta(days=7),
        now=sent,
    )
    assert "Contributo ANAC (mancante)" in remedy.items
    proc.remedy_respond(
        user=world.bidders[0], remedy=remedy, text="pagato il 30/07", now=aware(2026, 7, 30, 9, 0)
    )
    # The answer alone does not regularise it: FVOE still says not paid.
    with pytest.raises(GareError, match="risulta «Pagamento non trovato»"):
        proc.remedy_decide(user=world.rup, remedy=remedy, remedied=True, now=aware(2026, 7, 31))
    remedy.refresh_from_db()
    s1.refresh_from_db()
    assert remedy.outcome == "" and s1.status == ParticipantStatus.REMEDY_PENDING  # unchanged
    assert anac_item(s1).outcome == CheckOutcome.MISSING

    with pytest.raises(GareError, match="documento FVOE o gli estremi"):
        admincheck.anac_fee_check(
            user=world.board, participant=s1, outcome="PAID", now=aware(2026, 7, 31, 9, 0)
        )
    admincheck.anac_fee_check(
        user=world.board,
        participant=s1,
        outcome="PAID",
        note="Pagamento del 30/07/2026 trovato nel FVOE",
        now=aware(2026, 7, 31, 9, 0),
    )
    item = anac_item(s1)
    assert item.outcome == CheckOutcome.OK
    assert "Pagamento del 30/07/2026" in item.note
    proc.remedy_decide(user=world.rup, remedy=remedy, remedied=True, now=aware(2026, 7, 31, 10))
    s1.refresh_from_db()
    assert s1.status == ParticipantStatus.ADMITTED
    assert list(
        AnacContribution.objects.filter(participant=s1)
        .order_by("checked_at")
        .values_list("outcome", flat=True)
    ) == ["NOT_FOUND", "PAID"]

    # S2 paid: checked and admitted at once; then the admissions, and no more checks.
    admincheck.anac_fee_check(
        user=world.rup, participant=s2, outcome="PAID", note="FVOE: pagato", now=FIRST_SESSION
    )
    proc.admin_check_admit(user=world.board, participant=s2, now=aware(2026, 7, 27, 16, 0))
    proc.admissions_adopt(user=world.rup, lot=lot, now=aware(2026, 8, 1, 9, 0))
    with pytest.raises(GareError, match="non è in verifica amministrativa"):
        admincheck.anac_fee_check(
            user=world.board,
            participant=s2,
            outcome="NOT_FOUND",
            now=aware(2026, 8, 1, 10, 0),
        )
    assert AnacContribution.objects.filter(participant=s2).count() == 1


def test_a_fee_not_regularised_in_time_puts_the_offer_out(world, lot):
    s1, _s2 = in_admin_check(world, lot)
    admincheck.anac_fee_check(
        user=world.board, participant=s1, outcome="NOT_FOUND", now=aware(2026, 7, 27, 15, 30)
    )
    sent = aware(2026, 7, 28, 10, 0)
    remedy = proc.remedy_request_send(
        user=world.rup,
        participant=s1,
        items="",
        check_codes=["ANAC_RECEIPT"],
        deadline=sent + datetime.timedelta(days=5),
        now=sent,
    )
    with pytest.raises(GareError, match="non è ancora scaduto"):
        proc.remedy_decide(
            user=world.rup, remedy=remedy, remedied=False, now=aware(2026, 8, 2, 9, 0)
        )
    proc.remedy_decide(user=world.rup, remedy=remedy, remedied=False, now=aware(2026, 8, 2, 10, 0))
    s1.refresh_from_db()
    assert s1.status == ParticipantStatus.EXCLUDED
    exclusion = s1.exclusions.get()
    assert "Contributo ANAC" in exclusion.grounds and "inammissibile" in exclusion.grounds
    assert exclusion.code == "ANAC_FEE_INADMISSIBLE"  # Appendix C


def test_a_late_payment_found_but_another_defect_not_remedied_is_not_the_fee_ground(world, lot):
    s1, _s2 = in_admin_check(world, lot)
    admincheck.anac_fee_check(
        user=world.board, participant=s1, outcome="NOT_FOUND", now=aware(2026, 7, 27, 15, 30)
    )
    admincheck.check_item_record(
        user=world.board,
        item=s1.check_items.get(code="DGUE"),
        outcome=CheckOutcome.MISSING,
        now=aware(2026, 7, 27, 15, 31),
    )
    sent = aware(2026, 7, 28, 10, 0)
    remedy = proc.remedy_request_send(
        user=world.rup,
        participant=s1,
        items="",
        check_codes=["ANAC_RECEIPT", "DGUE"],
        deadline=sent + datetime.timedelta(days=5),
        now=sent,
    )
    admincheck.anac_fee_check(
        user=world.board,
        participant=s1,
        outcome="PAID",
        note="pagato il 30/07",
        now=aware(2026, 7, 31, 9, 0),
    )
    proc.remedy_decide(user=world.rup, remedy=remedy, remedied=False, now=aware(2026, 8, 2, 10))
    assert s1.exclusions.get().code == "REMEDY_FAILED"


def test_fvoe_unavailable_keeps_the_item_open_until_a_paid_check(world, lot):
    s1, s2 = in_admin_check(world, lot)
    admincheck.anac_fee_check(
        user=world.board, participant=s1, outcome="UNAVAILABLE", now=aware(2026, 7, 27, 15, 30)
    )
    item = anac_item(s1)
    assert item.outcome == CheckOutcome.TO_CHECK and item.confirmed_at is None
    assert "FVOE non disponibile" in item.note
    with pytest.raises(GareError, match="risulta «FVOE non disponibile»"):
        proc.admin_check_admit(user=world.board, participant=s1, now=aware(2026, 7, 27, 16, 0))
    # Ticking the item by hand does not replace the check.
    admincheck.check_item_record(
        user=world.board, item=item, outcome=CheckOutcome.OK, now=aware(2026, 7, 27, 16, 5)
    )
    with pytest.raises(GareError, match="risulta «FVOE non disponibile»"):
        proc.admin_check_admit(user=world.board, participant=s1, now=aware(2026, 7, 27, 16, 10))
    s1.refresh_from_db()
    assert s1.status == ParticipantStatus.UNDER_ADMIN_CHECK
    admincheck.anac_fee_check(
        user=world.board,
        participant=s1,
        outcome="PAID",
        note="FVOE di nuovo disponibile: pagato",
        now=aware(2026, 7, 28, 9, 0),
    )
    proc.admin_check_admit(user=world.board, participant=s1, now=aware(2026, 7, 28, 9, 5))
    s1.refresh_from_db()
    assert s1.status == ParticipantStatus.ADMITTED
    assert anac_item(s1).outcome == CheckOutcome.OK
    assert s2.status == ParticipantStatus.UNDER_ADMIN_CHECK


# --- the fee check is mandatory for the admission (R-GARE-054, R-GARE-146) -------------------


def test_no_admission_without_a_recorded_fee_check(world, lot):
    s1, _s2 = in_admin_check(world, lot)
    # The board ticks every item by hand, the receipt included: still no FVOE check.
    for item in s1.check_items.all():
        admincheck.check_item_record(
            user=world.board, item=item, outcome=CheckOutcome.OK, now=aware(2026, 7, 27, 15, 30)
        )
    with pytest.raises(GareError) as exc:
        proc.admin_check_admit(user=world.board, participant=s1, now=aware(2026, 7, 27, 16, 0))
    assert exc.value.message == (
        f"Prima di ammettere {s1.display_name} registra la verifica del contributo ANAC (FVOE): "
        "l'ammissione richiede l'esito «pagato»."
    )
    s1.refresh_from_db()
    assert s1.status == ParticipantStatus.UNDER_ADMIN_CHECK
    assert not AuditEvent.objects.for_object(s1).filter(action="concorrente ammesso").exists()

    admincheck.anac_fee_check(
        user=world.board,
        participant=s1,
        outcome="PAID",
        note="FVOE: versamento del 25/07/2026",
        now=aware(2026, 7, 27, 16, 5),
    )
    proc.admin_check_admit(user=world.board, participant=s1, now=aware(2026, 7, 27, 16, 10))
    s1.refresh_from_db()
    assert s1.status == ParticipantStatus.ADMITTED


def test_a_soccorso_on_another_item_does_not_replace_the_fee_check(world, lot):
    s1, _s2 = in_admin_check(world, lot)
    admincheck.check_item_record(
        user=world.board,
        item=s1.check_items.get(code="DGUE"),
        outcome=CheckOutcome.MISSING,
        now=aware(2026, 7, 27, 15, 30),
    )
    sent = aware(2026, 7, 28, 10, 0)
    remedy = proc.remedy_request_send(
        user=world.rup,
        participant=s1,
        items="",
        check_codes=["DGUE"],
        deadline=sent + datetime.timedelta(days=7),
        now=sent,
    )
    proc.remedy_respond(user=world.bidders[0], remedy=remedy, text="DGUE", now=aware(2026, 7, 29))
    with pytest.raises(GareError, match="registra la verifica del contributo ANAC"):
        proc.remedy_decide(user=world.rup, remedy=remedy, remedied=True, now=aware(2026, 7, 30))
    remedy.refresh_from_db()
    s1.refresh_from_db()
    assert remedy.outcome == "" and s1.status == ParticipantStatus.REMEDY_PENDING
    admincheck.anac_fee_check(
        user=world.board,
        participant=s1,
        outcome="PAID",
        note="FVOE: pagato",
        now=aware(2026, 7, 30, 9, 0),
    )
    proc.remedy_decide(user=world.rup, remedy=remedy, remedied=True, now=aware(2026, 7, 30, 10))
    s1.refresh_from_db()
    assert s1.status == ParticipantStatus.ADMITTED


def test_a_single_centre_case_without_influence_sends_back_who_has_no_fee_check(world, lot):
    s1, s2 = in_admin_check(world, lot)
    admincheck.anac_fee_check(
        user=world.board, participant=s1, outcome="PAID", note="pagato", now=FIRST_SESSION
    )
    proc.single_centre_notice(
        user=world.rup, lot=lot, participants=[s1, s2], now=aware(2026, 7, 28, 9, 0)
    )
    admincheck.single_centre_decide(
        user=world.rup,
        case=lot.single_centre_cases.get(),
        single_centre=False,
        reasons="nessun collegamento",
        now=aware(2026, 8, 3, 9, 0),
    )
    s1.refresh_from_db()
    s2.refresh_from_db()
    assert s1.status == ParticipantStatus.ADMITTED
    # Back to the check, where the seggio records the fee and admits it.
    assert s2.status == ParticipantStatus.UNDER_ADMIN_CHECK
    admincheck.anac_fee_check(
        user=world.board, participant=s2, outcome="PAID", note="pagato", now=aware(2026, 8, 3, 10)
    )
    proc.admin_check_admit(user=world.board, participant=s2, now=aware(2026, 8, 3, 11, 0))
    s2.refresh_from_db()
    assert s2.status == ParticipantStatus.ADMITTED


def test_the_procedure_page_refuses_the_admission_until_the_fee_is_recorded(world, lot, client_for):
    import time_machine

    s1, _s2 = in_admin_check(world, lot)
    client = client_for(world.board)
    url = f"/gare/lotti/{lot.pk}/azioni/"
    with time_machine.travel(aware(2026, 7, 27, 16, 0), tick=False):
        page = client.post(url + "ammetti/", {"participant": s1.pk}, follow=True)
        assert "registra la verifica del contributo ANAC (FVOE)" in page.content.decode()
        s1.refresh_from_db()
        assert s1.status == ParticipantStatus.UNDER_ADMIN_CHECK
        client.post(
            url + "contributo-anac/",
            {"participant": s1.pk, "outcome": "PAID", "note": "FVOE: pagato il 25/07"},
        )
        client.post(url + "ammetti/", {"participant": s1.pk})
    s1.refresh_from_db()
    assert s1.status == ParticipantStatus.ADMITTED
