"""SC-04 … SC-07: acceptance, extension, confirmation, lapses, re-booking, waivers, NOS/NOSI."""

from __future__ import annotations

import datetime

import pytest

from procurement.notifications.models import EmailOutbox
from procurement.opendata.models import OcdsRelease, PublicProcedure
from ptim import services
from ptim.models import (
    AnnulmentKind,
    Contract,
    ContractOrigin,
    ContractState,
    Receipt,
    ReceiptKind,
    Refusal,
)
from tests.factories.documents import office_file, upload
from tests.factories.kernel import aware

from .conftest import D, pdf

pytestmark = pytest.mark.django_db


def refresh(c):
    return Contract.objects.get(pk=c.pk)


def test_sc04_acceptance_extension_confirmation_and_deadlines(f0):
    c325 = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    c326 = f0.book("I-2", at=aware(2024, 3, 4, 11, 0))
    # 1: no file → A-15; with file → Accettato, stipula 2024-04-17
    with pytest.raises(services.PtimError) as exc:
        services.accept_contract(
            user=f0.p1, contract_id=c325.pk, document=None, now=aware(2024, 3, 8, 10)
        )
    assert exc.value.message == "Allegare il documento richiesto."
    c = services.accept_contract(
        user=f0.p1,
        contract_id=c325.pk,
        document=pdf("accettazione_alfa.pdf"),
        now=aware(2024, 3, 8, 10),
    )
    assert c.state == ContractState.ACCEPTED and str(c.stipula_deadline) == "2024-04-17"
    assert f0.residuals()["A"] == D("93000")
    # 2: last valid day 23:59:30 → accepted; J1 at 00:05 finds nothing
    c = services.accept_contract(
        user=f0.p1, contract_id=c326.pk, document=pdf(), now=aware(2024, 3, 14, 23, 59, 30)
    )
    assert str(c.stipula_deadline) == "2024-04-23"
    assert services.expire_bookings(now=aware(2024, 3, 15, 0, 5)) == 0
    # 3: extension → 2024-05-17; a second one → A-25
    c = services.extend_stipula_deadline(
        user=f0.p1, contract_id=c325.pk, now=aware(2024, 4, 15, 10)
    )
    assert str(c.stipula_deadline) == "2024-05-17"
    with pytest.raises(services.PtimError) as exc:
        services.extend_stipula_deadline(
            user=f0.p1, contract_id=c325.pk, now=aware(2024, 4, 16, 10)
        )
    assert exc.value.message.startswith(
        "La proroga del termine di stipula può essere concessa una sola volta"
    )
    # 4: J2 annuls 326 (deadline 2024-04-23); second run does nothing
    mails = EmailOutbox.objects.count()
    assert services.expire_stipulations(now=aware(2024, 4, 24, 0, 10)) == 1
    c = refresh(c326)
    assert c.state == ContractState.ANNULLED and c.annulment_kind == AnnulmentKind.STIPULA_EXPIRED
    assert EmailOutbox.objects.count() == mails + 5
    r = f0.residuals()
    assert (r["A"], r["MU"], r["AQ"]) == (D("215000"), D("415000"), D("915000"))
    assert services.expire_stipulations(now=aware(2024, 4, 24, 6, 10)) == 0
    assert EmailOutbox.objects.count() == mails + 5
    # 5: too big → A-20; docx → A-19; valid → Definitivo, residual unchanged
    with pytest.raises(services.PtimError) as exc:
        services.confirm_contract(
            user=f0.p1,
            contract_id=c325.pk,
            document=pdf(size=6_100_000),
            now=aware(2024, 5, 10, 10),
        )
    assert exc.value.message == "Il documento non può avere dimensioni superiori a 5 MB."
    with pytest.raises(services.PtimError) as exc:
        services.confirm_contract(
            user=f0.p1,
            contract_id=c325.pk,
            document=upload("contratto.docx", office_file("docx")),
            now=aware(2024, 5, 10, 10),
        )
    assert (
        exc.value.message
        == "Il documento di stipula del contratto deve essere un file in formato .pdf."
    )
    result = services.confirm_contract(
        user=f0.p1,
        contract_id=c325.pk,
        document=pdf("contratto_325.pdf", size=3_200_000),
        now=aware(2024, 5, 10, 10),
    )
    assert result.contract.state == ContractState.DEFINITIVE and not result.clearance_lapsed
    assert f0.residuals()["A"] == D("215000")
    # Open data: the definitive contract is public (OCDS award + contract), the booking was not.
    [release] = OcdsRelease.objects.filter(source="ptim")
    assert release.tags == ["award", "contract"] and release.ocid.endswith("PTIM-325")
    assert release.data["contracts"][0]["status"] == "active"
    assert PublicProcedure.objects.get(ocid=release.ocid).is_award


def test_sc04_4_extension_after_lapse_annuls_first_then_a25(f0):
    c = f0.book("I-2", at=aware(2024, 3, 4, 11, 0))
    services.accept_contract(
        user=f0.p1, contract_id=c.pk, document=pdf(), now=aware(2024, 3, 14, 23)
    )
    with pytest.raises(services.PtimError) as exc:
        services.extend_stipula_deadline(user=f0.p1, contract_id=c.pk, now=aware(2024, 4, 24, 0, 1))
    assert exc.value.code == "expired"
    assert refresh(c).annulment_kind == AnnulmentKind.STIPULA_EXPIRED


def test_sc04_6_acceptance_after_the_term_annuls_then_a16(f0):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    with pytest.raises(services.PtimError) as exc:
        services.accept_contract(
            user=f0.p1, contract_id=c.pk, document=pdf(), now=aware(2024, 3, 15, 0, 1)
        )
    assert exc.value.message == (
        "Il termine di 10 giorni dalla prenotazione è scaduto il 14/03/2024: il contratto è stato "
        "annullato automaticamente."
    )
    c = refresh(c)
    assert c.state == ContractState.ANNULLED and c.annulment_kind == AnnulmentKind.BOOKING_EXPIRED


def test_sc05_lapse_rebooking_and_waiver_with_declaration(f0):
    c325 = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    # 2: J1 at 00:05 annuls; safety run does nothing; no refusal
    assert services.expire_bookings(now=aware(2024, 3, 14, 23, 59, 59)) == 0
    assert services.expire_bookings(now=aware(2024, 3, 15, 0, 5)) == 1
    mails = EmailOutbox.objects.count()
    assert services.expire_bookings(now=aware(2024, 3, 15, 6, 5)) == 0
    assert EmailOutbox.objects.count() == mails
    assert not Refusal.objects.exists()
    r = f0.residuals()
    assert (r["A"], r["MU"], r["AQ"]) == (D("300000"), D("500000"), D("1000000"))
    # 3: re-booking → 325a with A
    c325a = services.rebook_operator(
        user=f0.p1, progressive="325", measured_basis_confirmed=True, now=aware(2024, 3, 15, 10)
    )
    assert (c325a.progressive, c325a.membership, c325a.predecessor) == (
        "325a",
        f0.ops["A"],
        refresh(c325),
    )
    assert (
        c325a.origin == ContractOrigin.REBOOKING and str(c325a.acceptance_deadline) == "2024-03-25"
    )
    assert f0.residuals()["A"] == D("215000")
    # 4: waiver with declaration → B on the same contract; refusal R-A1
    proposal = services.waiver_proposal(contract=refresh(c325a), now=aware(2024, 3, 15, 10, 30))
    assert proposal.membership == f0.ops["B"] and proposal.amount == D("95000")
    result = services.register_waiver(
        user=f0.p1,
        contract_id=c325a.pk,
        document=pdf("dichiarazione_decorso_termine_325.pdf"),
        lapse_declaration=True,
        expected_membership_id=f0.ops["B"].pk,
        now=aware(2024, 3, 15, 10, 30),
    )
    assert result.replaced and result.contract.progressive == "325a"
    assert result.contract.membership == f0.ops["B"]
    refusal = result.refusal
    assert refusal.membership == f0.ops["A"] and refusal.is_lapse_declaration
    assert str(refusal.handling_deadline) == "2024-04-14"
    r = f0.residuals()
    assert (r["A"], r["B"], r["MU"], r["AQ"]) == (
        D("300000"),
        D("205000"),
        D("405000"),
        D("905000"),
    )
    # 5
    with pytest.raises(services.PtimError) as exc:
        services.find_rebookable(user=f0.p1, progressive="325")
    assert exc.value.code == "a29" and "ultimo progressivo: 325a" in exc.value.message
    with pytest.raises(services.PtimError) as exc:
        services.find_rebookable(user=f0.p1, progressive="325a")
    assert (
        exc.value.message
        == "Il contratto n. 325a si trova nello stato «Prenotato»: non è possibile riprenotarlo."
    )
    with pytest.raises(services.PtimError) as exc:
        services.find_rebookable(user=f0.p1, progressive="999")
    assert exc.value.code == "a28"


def test_sc06_waiver_chain_ending_with_no_operator(f0):
    c = f0.book("I-4", "C7754", at=aware(2024, 3, 4, 9, 0))
    assert c.membership == f0.ops["C"]
    res = services.register_waiver(
        user=f0.p1,
        contract_id=c.pk,
        document=pdf("rinuncia_gamma.pdf"),
        expected_membership_id=f0.ops["D"].pk,
        now=aware(2024, 3, 6, 10),
    )
    assert (
        res.contract.membership == f0.ops["D"]
        and str(res.contract.acceptance_deadline) == "2024-03-16"
    )
    assert str(res.refusal.handling_deadline) == "2024-04-05"
    r = f0.residuals()
    assert (r["C"], r["D"], r["C7754"], r["AQ"]) == (
        D("200000"),
        D("141000"),
        D("91000"),
        D("941000"),
    )
    res = services.register_waiver(
        user=f0.p1,
        contract_id=c.pk,
        document=pdf(),
        expected_membership_id=0,
        now=aware(2024, 3, 8, 10),
    )
    assert not res.replaced
    c = refresh(c)
    assert (
        c.state == ContractState.ANNULLED
        and c.annulment_kind == AnnulmentKind.NO_OPERATOR_AVAILABLE
    )
    assert Refusal.objects.count() == 2
    assert Receipt.objects.filter(contract=c, kind=ReceiptKind.UNAVAILABILITY).count() == 1
    assert res.message.startswith(
        "Non ci sono Accordi Quadro in grado di soddisfare l’esigenza richiesta"
    )
    r = f0.residuals()
    assert (r["D"], r["C7754"], r["AQ"]) == (D("200000"), D("150000"), D("1000000"))


def test_sc07_clearance_lapse_at_confirmation_and_replacement(f0):
    c = f0.book("I-4", "C7754", at=aware(2024, 4, 2, 9, 0))
    assert c.membership == f0.ops["C"] and c.progressive == "325"
    services.accept_contract(
        user=f0.p1, contract_id=c.pk, document=pdf(), now=aware(2024, 4, 10, 10)
    )
    assert str(refresh(c).stipula_deadline) == "2024-05-20"
    before = EmailOutbox.objects.order_by("-pk").first().pk
    result = services.confirm_contract(
        user=f0.p1, contract_id=c.pk, document=pdf("contratto_325.pdf"), now=aware(2024, 5, 6, 10)
    )
    assert result.clearance_lapsed
    c = refresh(c)
    assert c.state == ContractState.ANNULLED and c.annulment_kind == AnnulmentKind.CLEARANCE_LAPSED
    assert c.stipula_document is None
    assert sorted(EmailOutbox.objects.filter(pk__gt=before).values_list("to", flat=True)) == [
        "dt.lombardia@example.it",
        "uo.manutenzioni@example.it",
    ]
    r = f0.residuals()
    assert (r["C"], r["C7754"], r["AQ"]) == (D("200000"), D("150000"), D("1000000"))
    rep = services.book_replacement_after_clearance_lapse(
        user=f0.p1, contract_id=c.pk, now=aware(2024, 5, 6, 10, 5)
    )
    new = rep.contract
    assert (new.progressive, new.membership, new.origin) == (
        "325a",
        f0.ops["D"],
        ContractOrigin.CLEARANCE_REPLACEMENT,
    )
    assert str(new.acceptance_deadline) == "2024-05-16"
    r = f0.residuals()
    assert (r["D"], r["C7754"], r["AQ"]) == (D("141000"), D("91000"), D("941000"))
    with pytest.raises(services.PtimError) as exc:
        services.find_rebookable(user=f0.p1, progressive="325")
    assert exc.value.code == "a29"


def test_sc07_5_no_cleared_operator_left(f0):
    c = f0.book("I-4", "C7754", at=aware(2024, 4, 2, 9, 0))
    services.accept_contract(
        user=f0.p1, contract_id=c.pk, document=pdf(), now=aware(2024, 4, 10, 10)
    )
    f0.ops["D"].operator.clearances.update(annulled_on=datetime.date(2024, 5, 1))
    services.confirm_contract(
        user=f0.p1, contract_id=c.pk, document=pdf(), now=aware(2024, 5, 6, 10)
    )
    rep = services.book_replacement_after_clearance_lapse(
        user=f0.p1, contract_id=c.pk, now=aware(2024, 5, 6, 10, 5)
    )
    assert rep.contract is None and rep.message.startswith("Non ci sono Accordi Quadro")
    assert rep.receipt.kind == ReceiptKind.UNAVAILABILITY
    assert Contract.objects.count() == 1


def test_j1_periodic_task_claims_its_slot_once(f0):
    import time_machine

    from procurement.notifications.models import Notification
    from ptim import tasks

    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    with time_machine.travel(aware(2024, 3, 15, 0, 5)):
        assert tasks.expire_bookings() == 1
        assert tasks.expire_bookings() is None  # same slot: nothing done twice
    assert refresh(c).annulment_kind == AnnulmentKind.BOOKING_EXPIRED
    # the in-app list of the SA, of the competent DT and of the DG
    subjects = Notification.objects.filter(subject__contains="scadenza del termine di accettazione")
    assert {n.recipient for n in subjects} == {f0.p1, f0.t1, f0.g1}


def test_demo_seed_is_rerunnable(db):
    from procurement.core.demo import seed_demo
    from ptim import demo
    from ptim.models import AgreementOperator, FrameworkAgreement

    seed_demo()
    assert "AQ-MU-2023-L1-PIE" in demo.seed()
    demo.seed()
    assert FrameworkAgreement.objects.count() == 1 and AgreementOperator.objects.count() == 4
