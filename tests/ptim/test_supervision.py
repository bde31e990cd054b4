"""SC-08 … SC-12: refusals and exclusion, variations, rescission, DG edits, the 50 % increase."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied

from procurement.notifications.models import EmailOutbox
from procurement.opendata.models import OcdsRelease, PublicProcedure
from ptim import services
from ptim.models import (
    AgreementOperator,
    Contract,
    ContractState,
    OperatorBooking,
    OperatorEventKind,
    OperatorStatus,
    Refusal,
    VariationKind,
)
from ptim.services import split_equally
from tests.factories.kernel import aware

from .conftest import D, pdf
from .test_booking import _definitive

pytestmark = pytest.mark.django_db


def _refusal(f0, key, root, booked_at, inserted_at):
    c = _definitive(f0, key, "MU", D("1000"), booked_at, root=root)
    booking = OperatorBooking.objects.get(contract=c)
    booking.outcome = "WAIVED"
    booking.save()
    from procurement.documents.services import document_upload

    doc = document_upload(
        user=f0.p1,
        organisation=f0.prov,
        use="ptim_waiver",
        title="r",
        uploaded_file=pdf(),
        now=inserted_at,
    ).document
    return Refusal.objects.create(
        booking=booking,
        contract=c,
        membership=f0.ops[key],
        booked_at=booked_at,
        waiver_document=doc,
        inserted_at=inserted_at,
        inserted_by=f0.p1,
        handling_deadline=inserted_at.date() + datetime.timedelta(days=30),
    )


def status(f0, key):
    return AgreementOperator.objects.get(pk=f0.ops[key].pk).status


def test_sc08_refusal_register_expiry_unlock_exclusion_readmission(f0):
    r1 = _refusal(f0, "A", 330, aware(2024, 3, 4, 10), aware(2024, 3, 6, 10))
    r2 = _refusal(f0, "A", 335, aware(2024, 3, 11, 10), aware(2024, 3, 13, 10))
    r3 = _refusal(f0, "A", 341, aware(2024, 3, 18, 10), aware(2024, 3, 19, 10))
    assert str(r1.handling_deadline) == "2024-04-05"
    # 1: R-2 = NO, neighbours pending → no exclusion
    services.handle_refusal(
        user=f0.t1, refusal_id=r2.pk, justified=False, motivation="no", now=aware(2024, 3, 20, 10)
    )
    assert status(f0, "A") == OperatorStatus.ACTIVE
    # 2: R-3 = SI
    services.handle_refusal(
        user=f0.t1, refusal_id=r3.pk, justified=True, motivation="ok", now=aware(2024, 3, 25, 10)
    )
    # 3: J3 notifies R-1 once, to UO and DT, text A-35
    before = EmailOutbox.objects.order_by("-pk").first().pk
    assert services.notify_expired_refusals(now=aware(2024, 4, 6, 0, 15)) == 1
    assert services.notify_expired_refusals(now=aware(2024, 4, 6, 6, 15)) == 0
    sent = EmailOutbox.objects.filter(pk__gt=before)
    assert sorted(sent.values_list("to", flat=True)) == [
        "dt.lombardia@example.it",
        "uo.manutenzioni@example.it",
    ]
    assert (
        "Il termine per inserire a sistema le motivazioni del rifiuto espresso per il contratto prog. 330 è "  # noqa: E501
        "scaduto. Contattare urgentemente la U.O. Manutenzioni e Performance del Patrimonio Immobiliare."  # noqa: E501
    ) in sent.first().body_text
    with pytest.raises(services.PtimError) as exc:
        services.handle_refusal(
            user=f0.t1, refusal_id=r1.pk, justified=False, motivation="x", now=aware(2024, 4, 7)
        )
    assert exc.value.code == "a30"
    # 4: only the DG unlocks
    with pytest.raises(PermissionDenied):
        services.unlock_refusal(user=f0.t1, refusal_id=r1.pk, motivation="x", now=aware(2024, 4, 8))
    services.unlock_refusal(
        user=f0.g1, refusal_id=r1.pk, motivation="istanza DT", now=aware(2024, 4, 8, 10)
    )
    # 5: R-1 = NO → adjacent NO → automatic exclusion
    res = services.handle_refusal(
        user=f0.t1, refusal_id=r1.pk, justified=False, motivation="no", now=aware(2024, 4, 9, 10)
    )
    assert res.excluded and status(f0, "A") == OperatorStatus.EXCLUDED
    event = f0.ops["A"].events.get()
    assert event.kind == OperatorEventKind.EXCLUSION_AUTO
    assert event.motivation == (
        "Esclusione automatica: due rifiuti consecutivi non giustificati (contratti n. 330 e n. 335, "  # noqa: E501
        "prenotazioni del 04/03/2024 e del 11/03/2024)."
    )
    assert EmailOutbox.objects.filter(to="a@pec.example.it").exists()
    # 6: new booking skips A
    c = f0.book("I-3", at=aware(2024, 4, 10, 9))
    assert c.membership == f0.ops["B"]
    # 8: readmission by DG only
    with pytest.raises(PermissionDenied):
        services.readmit_operator(
            user=f0.t1, membership_id=f0.ops["A"].pk, motivation="x", now=aware(2024, 4, 15)
        )
    services.readmit_operator(
        user=f0.g1, membership_id=f0.ops["A"].pk, motivation="riammesso", now=aware(2024, 4, 15, 10)
    )
    assert status(f0, "A") == OperatorStatus.ACTIVE
    # 9: only refusals booked after the readmission count
    r4 = _refusal(f0, "A", 350, aware(2024, 4, 16, 10), aware(2024, 4, 17, 10))
    services.handle_refusal(
        user=f0.t1, refusal_id=r4.pk, justified=False, motivation="no", now=aware(2024, 4, 22, 10)
    )
    assert status(f0, "A") == OperatorStatus.ACTIVE
    # 10: R-5 NO → excluded again
    r5 = _refusal(f0, "A", 352, aware(2024, 4, 23, 10), aware(2024, 4, 24, 10))
    services.handle_refusal(
        user=f0.t1, refusal_id=r5.pk, justified=False, motivation="no", now=aware(2024, 4, 26, 10)
    )
    assert status(f0, "A") == OperatorStatus.EXCLUDED
    # 11: manual exclusion of D: reasons mandatory and ≤ 4000; no e-mail to D
    with pytest.raises(services.PtimError):
        services.exclude_operator(
            user=f0.t1, membership_id=f0.ops["D"].pk, motivation="x" * 4001, now=aware(2024, 4, 27)
        )
    services.exclude_operator(
        user=f0.t1, membership_id=f0.ops["D"].pk, motivation="motivi", now=aware(2024, 4, 27)
    )
    assert status(f0, "D") == OperatorStatus.EXCLUDED
    assert not EmailOutbox.objects.filter(to="d@pec.example.it").exists()


def test_sc08_7_excluded_operator_contracts_remain_workable(f0):
    c = f0.book("I-1", at=aware(2024, 4, 8, 9))
    services.exclude_operator(
        user=f0.t1, membership_id=f0.ops["A"].pk, motivation="m", now=aware(2024, 4, 9)
    )
    c = services.accept_contract(
        user=f0.p1, contract_id=c.pk, document=pdf(), now=aware(2024, 4, 10)
    )
    assert c.state == ContractState.ACCEPTED


@pytest.fixture
def sc09(f0):
    at = aware(2024, 5, 1, 9)
    c325 = _definitive(f0, "A", "MU", D("85000.00"), at, root=325)
    Contract.objects.filter(pk=c325.pk).update(
        works_amount=D("100000"), safety_costs=D("5000"), planned_amount=D("105000")
    )
    _definitive(f0, "A", "MU", D("120000.00"), at, root=320)
    _definitive(f0, "A", "DIFESA", D("85000.00"), at, user=f0.d1, root=321)
    _definitive(f0, "B", "MU", D("195000.00"), at, root=322)
    return c325


def test_sc09_variations(f0, sc09):
    from ptim.amounts import planned_with_variations, total_with_variations

    r = f0.residuals()
    assert (r["A"], r["B"], r["MU"], r["DIFESA"], r["AQ"]) == (
        D(10000),
        D(105000),
        D(100000),
        D(115000),
        D(515000),
    )
    kw = dict(user=f0.p1, contract_id=sc09.pk, kind=VariationKind.VARIANT, description="variante")
    with pytest.raises(services.PtimError) as exc:
        services.add_variation(
            **kw,
            works_amount=D(60000),
            non_discounted_amount=D(2000),
            documents=[],
            now=aware(2024, 6, 10),
        )
    assert exc.value.message == "Inserire almeno un documento autorizzativo."
    with pytest.raises(services.PtimError) as exc:
        services.add_variation(
            **kw,
            works_amount=D(60000),
            non_discounted_amount=D(2000),
            documents=[pdf()] * 6,
            now=aware(2024, 6, 10),
        )
    assert exc.value.message == "È possibile inserire al massimo 5 documenti autorizzativi."
    # 2: V1 → non-blocking A-24, confirmed
    with pytest.raises(services.PtimError) as exc:
        services.add_variation(
            **kw,
            works_amount=D(60000),
            non_discounted_amount=D(2000),
            documents=[pdf()],
            now=aware(2024, 6, 10),
        )
    assert exc.value.code == "a24" and "(€ -40.000,00)" in exc.value.message
    v1 = services.add_variation(
        **kw,
        works_amount=D(60000),
        non_discounted_amount=D(2000),
        documents=[pdf()],
        confirm_negative=True,
        now=aware(2024, 6, 10),
    )
    assert (v1.planned_amount, v1.total_amount) == (D("62000.00"), D("50000.00"))
    c = Contract.objects.get(pk=sc09.pk)
    assert (planned_with_variations(c), total_with_variations(c)) == (
        D("167000.00"),
        D("135000.00"),
    )
    assert c.lot.number == 1
    r = f0.residuals()
    assert (r["A"], r["MU"], r["AQ"]) == (D(-40000), D(50000), D(465000))
    # 3: V2 negative
    v2 = services.add_variation(
        user=f0.p1,
        contract_id=sc09.pk,
        kind=VariationKind.PRICE_COMPENSATION,
        description="comp",
        works_amount=D(-10000),
        non_discounted_amount=D(0),
        documents=[pdf()],
        now=aware(2024, 7, 1),
    )
    assert v2.total_amount == D("-8000.00")
    # 4: V3 → blocking A-23
    before = EmailOutbox.objects.count()
    with pytest.raises(services.PtimError) as exc:
        services.add_variation(
            user=f0.p1,
            contract_id=sc09.pk,
            kind=VariationKind.COMPLEMENTARY_WORKS,
            description="c",
            works_amount=D(80000),
            non_discounted_amount=D(0),
            documents=[pdf()],
            confirm_negative=True,
            now=aware(2024, 7, 2),
        )
    assert (
        exc.value.code == "a23"
        and "(residuo attuale € 58.000,00; importo della variazione € 64.000,00)"
        in exc.value.message
    )
    assert EmailOutbox.objects.count() == before
    # 5: p1 cannot modify
    with pytest.raises(PermissionDenied):
        services.update_variation(
            user=f0.p1,
            variation_id=v1.pk,
            works_amount=D(50000),
            non_discounted_amount=D(2000),
            now=aware(2024, 7, 15),
        )
    # 6: t1 modifies V1
    services.update_variation(
        user=f0.t1,
        variation_id=v1.pk,
        works_amount=D(50000),
        non_discounted_amount=D(2000),
        now=aware(2024, 7, 15),
    )
    r = f0.residuals()
    assert (r["A"], r["MU"], r["AQ"]) == (D(-24000), D(66000), D(481000))
    # 7: t1 annuls V2 (A-24 confirmed)
    with pytest.raises(services.PtimError):
        services.annul_variation(
            user=f0.t1, variation_id=v2.pk, note="nota", now=aware(2024, 7, 20)
        )
    services.annul_variation(
        user=f0.t1, variation_id=v2.pk, note="nota", confirm_negative=True, now=aware(2024, 7, 20)
    )
    c = Contract.objects.get(pk=sc09.pk)
    assert (planned_with_variations(c), total_with_variations(c)) == (
        D("157000.00"),
        D("127000.00"),
    )
    r = f0.residuals()
    assert (r["A"], r["MU"], r["AQ"]) == (D(-32000), D(58000), D(473000))
    assert c.variations.filter(annulled_at__isnull=False).count() == 1


@pytest.mark.parametrize(
    "paid,due,expected",
    [("40000", "5000", (255000, 455000, 955000)), ("80000", "10000", (210000, 410000, 910000))],
)
def test_sc10_rescission(f0, paid, due, expected):
    c = _definitive(f0, "A", "MU", D("85000.00"), aware(2024, 5, 1, 9), root=325)
    kw = dict(
        contract_id=c.pk, rescission_date=datetime.date(2024, 9, 30), now=aware(2024, 9, 30, 10)
    )
    with pytest.raises(PermissionDenied):
        services.rescind_contract(
            user=f0.p1, reason="r", amount_paid=D(paid), amount_due=D(due), **kw
        )
    with pytest.raises(services.PtimError):
        services.rescind_contract(
            user=f0.t1, reason="r" * 4001, amount_paid=D(paid), amount_due=D(due), **kw
        )
    from tests.factories.documents import office_file, upload

    with pytest.raises(services.PtimError):
        services.rescind_contract(
            user=f0.t1,
            reason="r",
            amount_paid=D(paid),
            amount_due=D(due),
            document=upload("rescissione.docx", office_file("docx")),
            **kw,
        )
    c = services.rescind_contract(
        user=f0.t1,
        reason="motivi",
        amount_paid=D(paid),
        amount_due=D(due),
        document=pdf("rescissione_325.pdf"),
        **kw,
    )
    assert c.state == ContractState.RESCINDED
    # (this fixture makes the contract definitive without the confirmation service)
    tags = list(OcdsRelease.objects.filter(source="ptim").values_list("tags", flat=True))
    assert tags == [["contractUpdate"]]
    compiled = PublicProcedure.objects.get(source="ptim").compiled
    assert compiled["contracts"][0]["status"] == "terminated"
    r = f0.residuals()
    assert (r["A"], r["MU"], r["AQ"]) == tuple(D(x) for x in expected)


def test_sc11_rebooking_limits_and_dg_modification(f0):
    c325 = f0.book("I-1", at=aware(2024, 3, 4, 9), intervention_identifier="MU-23-0001")
    c326 = f0.book("I-2", at=aware(2024, 3, 4, 10))
    c327 = f0.book("I-3", at=aware(2024, 3, 4, 11), intervention_identifier="MU-23-0003")
    assert [c325.progressive, c326.progressive, c327.progressive] == ["325", "326", "327"]
    # chain 325 → 325a → 325b
    services.annul_contract(user=f0.t1, contract_id=c325.pk, reason="errore", now=aware(2024, 3, 5))
    c325a = services.rebook_operator(
        user=f0.p1, progressive="325", measured_basis_confirmed=True, now=aware(2024, 3, 5, 10)
    )
    services.annul_contract(
        user=f0.t1, contract_id=c325a.pk, reason="errore", now=aware(2024, 3, 5, 11)
    )
    c325b = services.rebook_operator(
        user=f0.p1, progressive="325a", measured_basis_confirmed=True, now=aware(2024, 3, 5, 12)
    )
    assert c325b.progressive == "325b"
    for typed, code in (("325b", "a27"), ("325a", "a29"), ("325", "a29")):
        with pytest.raises(services.PtimError) as exc:
            services.find_rebookable(user=f0.p1, progressive=typed)
        assert exc.value.code == code
    with pytest.raises(services.PtimError) as exc:
        services.find_rebookable(user=f0.d1, progressive="325")
    assert exc.value.code == "a28"
    # 4: empty causale; p1 cannot annul; excluded operator → A-33
    with pytest.raises(services.PtimError):
        services.annul_contract(user=f0.t1, contract_id=c326.pk, reason="  ", now=aware(2024, 3, 6))
    with pytest.raises(PermissionDenied):
        services.annul_contract(user=f0.p1, contract_id=c326.pk, reason="x", now=aware(2024, 3, 6))
    services.annul_contract(
        user=f0.t1, contract_id=c326.pk, reason="istanza SA", now=aware(2024, 3, 6)
    )
    services.exclude_operator(
        user=f0.t1, membership_id=f0.ops["A"].pk, motivation="m", now=aware(2024, 3, 6)
    )
    with pytest.raises(services.PtimError) as exc:
        services.rebook_operator(
            user=f0.p1, progressive="326", measured_basis_confirmed=True, now=aware(2024, 3, 7)
        )
    assert exc.value.message == (
        "L’operatore Alfa Costruzioni S.r.l. non è prenotabile (escluso dalla selezione): non è possibile "  # noqa: E501
        "riprenotarlo. Procedere con un nuovo inserimento."
    )
    # 5: DG edits 327's MU identifier
    before = EmailOutbox.objects.count()
    with pytest.raises(services.PtimError) as exc:
        services.update_contract_descriptive_data(
            user=f0.g1,
            contract_id=c327.pk,
            data={"intervention_identifier": "MU-23-0001"},
            now=aware(2024, 3, 8),
        )
    assert "contratto n. 325b" in exc.value.message
    with pytest.raises(PermissionDenied):
        services.update_contract_descriptive_data(
            user=f0.t1,
            contract_id=c327.pk,
            data={"intervention_identifier": "MU-23-0099"},
            now=aware(2024, 3, 8),
        )
    services.update_contract_descriptive_data(
        user=f0.g1,
        contract_id=c327.pk,
        data={"intervention_identifier": "MU-23-0099"},
        now=aware(2024, 3, 8),
    )
    assert Contract.objects.get(pk=c327.pk).intervention_identifier == "MU-23-0099"
    assert EmailOutbox.objects.count() == before
    # 6: chapter change needs "Note"; moves consumption; Difesa refused
    mu_before = f0.residuals()["MU"]
    with pytest.raises(services.PtimError):
        services.update_contract_descriptive_data(
            user=f0.g1,
            contract_id=c327.pk,
            data={"spending_chapter": f0.chapters["C7754"].pk},
            now=aware(2024, 3, 8),
        )
    services.update_contract_descriptive_data(
        user=f0.g1,
        contract_id=c327.pk,
        data={"spending_chapter": f0.chapters["C7754"].pk, "notes": "cambio"},
        now=aware(2024, 3, 8),
    )
    r = f0.residuals()
    assert r["MU"] == mu_before + D(114000) and r["C7754"] == D(36000)
    with pytest.raises(services.PtimError):
        services.update_contract_descriptive_data(
            user=f0.g1,
            contract_id=c327.pk,
            data={"spending_chapter": f0.chapters["DIFESA"].pk, "notes": "x"},
            now=aware(2024, 3, 8),
        )


def test_sc12_exhausted_aq_increase_and_chapter_ceiling(f0):
    at = aware(2024, 9, 1, 9)
    _definitive(f0, "A", "MU", D(300000), at, root=100)
    _definitive(f0, "B", "MU", D(190000), at, root=101)
    _definitive(f0, "B", "MIC", D(105000), at, root=102)
    _definitive(f0, "C", "C7754", D(150000), at, root=103)
    _definitive(f0, "C", "MIC", D(45000), at, root=104)
    _definitive(f0, "C", "DIFESA", D(5000), at, root=105)
    _definitive(f0, "D", "DIFESA", D(195000), at, root=106)
    r = f0.residuals()
    assert (r["A"], r["B"], r["C"], r["D"], r["MU"], r["AQ"]) == (
        0,
        D(5000),
        0,
        D(5000),
        D(10000),
        D(10000),
    )
    now = aware(2024, 10, 1, 10)
    with pytest.raises(services.Unavailable) as exc:
        f0.book("I-1", at=now)
    assert (
        "a causa dell’incapienza degli importi disponibili a livello di Accordo quadro."
        in exc.value.message
    )
    with pytest.raises(PermissionDenied):
        services.increase_agreement_ceiling(
            user=f0.t1,
            agreement_id=f0.aq.pk,
            reference_works=D(100000),
            reference_safety=D(5000),
            motivation="m",
            now=now,
        )
    inc = services.increase_agreement_ceiling(
        user=f0.g1,
        agreement_id=f0.aq.pk,
        reference_works=D(100000),
        reference_safety=D(5000),
        motivation="m",
        now=now,
    )
    assert inc.amount == D("500000.00")
    r = f0.residuals()
    assert (r["A"], r["B"], r["C"], r["D"], r["AQ"], r["MU"]) == (
        D(125000),
        D(130000),
        D(125000),
        D(130000),
        D(510000),
        D(10000),
    )
    with pytest.raises(services.PtimError) as exc:
        services.increase_agreement_ceiling(
            user=f0.g1,
            agreement_id=f0.aq.pk,
            reference_works=D(100000),
            reference_safety=D(5000),
            motivation="m",
            now=now,
        )
    assert (
        exc.value.message
        == "L’incremento del massimale non è consentito: l’incremento è già stato applicato."
    )
    with pytest.raises(services.Unavailable):
        f0.book("I-1", at=now)
    services.set_chapter_ceiling(
        user=f0.g1,
        agreement_id=f0.aq.pk,
        chapter_id=f0.chapters["MU"].pk,
        amount=D(750000),
        now=now,
    )
    c = f0.book("I-1", at=now)
    assert c.membership == f0.ops["A"] and c.total_amount == D(85000)
    r = f0.residuals()
    assert (r["A"], r["MU"], r["AQ"]) == (D(40000), D(175000), D(425000))


def test_sc12_6_rounding_of_shares():
    assert split_equally(D("500000.00"), 3) == [D("166666.67"), D("166666.67"), D("166666.66")]
    assert split_equally(D("500000.00"), 7)[:2] == [D("71428.58"), D("71428.57")]


def test_sc10_4_rescission_after_variations(f0, sc09):
    kw = dict(
        contract_id=sc09.pk, kind=VariationKind.VARIANT, description="v", now=aware(2024, 6, 10)
    )
    v1 = services.add_variation(
        user=f0.p1,
        works_amount=D(60000),
        non_discounted_amount=D(2000),
        documents=[pdf()],
        confirm_negative=True,
        **kw,
    )
    v2 = services.add_variation(
        user=f0.p1, works_amount=D(-10000), non_discounted_amount=D(0), documents=[pdf()], **kw
    )
    services.update_variation(
        user=f0.t1,
        variation_id=v1.pk,
        works_amount=D(50000),
        non_discounted_amount=D(2000),
        now=aware(2024, 7, 15),
    )
    services.annul_variation(
        user=f0.t1, variation_id=v2.pk, note="n", confirm_negative=True, now=aware(2024, 7, 20)
    )
    r = f0.residuals()
    assert (r["A"], r["MU"], r["AQ"]) == (D(-32000), D(58000), D(473000))
    services.rescind_contract(
        user=f0.t1,
        contract_id=sc09.pk,
        reason="r",
        rescission_date=datetime.date(2024, 9, 30),
        amount_paid=D(120000),
        amount_due=D(0),
        now=aware(2024, 9, 30, 10),
    )
    r = f0.residuals()
    assert (r["A"], r["MU"], r["AQ"]) == (D(-25000), D(65000), D(480000))
