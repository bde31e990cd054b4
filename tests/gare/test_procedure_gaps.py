"""Procedure steps added for issue 7: strong authentication for the offer, figures vs words at the
economic opening, signatory rules, the administrative checklist with further clarifications,
the single-decision-centre review, criterion correction runs, and suspension."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gare.models import (
    AttemptOutcome,
    CheckOutcome,
    Communication,
    Exclusion,
    LotStatus,
    Offer,
    OfferStatus,
    ParticipantStatus,
    RemedyKind,
    ScoreRun,
    SubmissionAttempt,
    TenderStatus,
)
from gare.services import admincheck, correction, suspension
from gare.services import procedure as proc
from gare.services import submission as sub
from gare.services.common import GareError
from gare.signatories import parse_members, participation_form_signers
from procurement.audit.models import AuditEvent
from tests.factories.documents import SECOND_SIGNER_TAX_CODE, SIGNER_TAX_CODE
from tests.factories.kernel import aware

from .conftest import (
    CODES,
    fee_paid,
    run_to_admissions,
    run_to_ranking,
    run_to_technical,
    submit_offer,
)

# --- strong authentication (R-GARE-002, R-GARE-003) -----------------------------------------


@pytest.mark.parametrize("loa", [None, 0, 1])
def test_submitting_needs_spid_or_cie_level_2(world, lot, loa):
    with pytest.raises(GareError, match="SPID o CIE"):
        submit_offer(
            user=world.bidders[0],
            operator=world.operators[0],
            lot=lot,
            now=aware(2026, 7, 20, 9, 0),
            loa=loa,
        )
    assert not Offer.objects.filter(status=OfferStatus.SUBMITTED).exists()
    assert not lot.participants.exists()


def test_replacing_and_withdrawing_need_strong_authentication_too(world, lot):
    v1 = submit_offer(
        user=world.bidders[0], operator=world.operators[0], lot=lot, now=aware(2026, 7, 20, 9, 0)
    )
    with pytest.raises(GareError, match="SPID o CIE"):
        submit_offer(
            user=world.bidders[0],
            operator=world.operators[0],
            lot=lot,
            now=aware(2026, 7, 21, 9, 0),
            loa=1,
        )
    v1.refresh_from_db()
    assert v1.status == OfferStatus.SUBMITTED  # the previous offer still counts (D-02)
    with pytest.raises(GareError, match="SPID o CIE"):
        sub.offer_withdraw(user=world.bidders[0], offer=v1, loa=1, now=aware(2026, 7, 22, 9, 0))
    sub.offer_withdraw(user=world.bidders[0], offer=v1, loa=3, now=aware(2026, 7, 22, 9, 0))
    v1.refresh_from_db()
    assert v1.status == OfferStatus.WITHDRAWN


def _draft_ready(world, lot, now, i=0):
    offer = sub.offer_draft(user=world.bidders[i], lot=lot, operator=world.operators[i], now=now)
    sub.envelope_data_set(
        user=world.bidders[i], offer=offer, envelope_type="B", data={"A2": 3}, now=now
    )
    sub.envelope_data_set(
        user=world.bidders[i],
        offer=offer,
        envelope_type="C",
        data={
            "discount": "12.50",
            "days": 430,
            "labour_costs": "598695.55",
            "company_safety_costs": "20000",
        },
        now=now,
    )
    return offer


def test_through_the_web_a_password_login_cannot_submit_a_strong_one_can(
    world, lot, client_for, strong_client_for
):
    import time_machine

    with time_machine.travel(aware(2026, 7, 20, 9, 0), tick=False):
        _draft_ready(world, lot, aware(2026, 7, 20, 9, 0))
        weak = client_for(world.bidders[0])
        page = weak.get(f"/gare/lotti/{lot.pk}/offerta/").content.decode()
        assert 'data-testid="strong-login"' in page
        response = weak.post(f"/gare/lotti/{lot.pk}/offerta/invia/", {"confirm": "on"}, follow=True)
        assert "accesso con SPID o CIE" in response.content.decode()
        assert not Offer.objects.filter(status=OfferStatus.SUBMITTED).exists()
        strong = strong_client_for(world.bidders[0])
        assert (
            'data-testid="strong-login"'
            not in strong.get(f"/gare/lotti/{lot.pk}/offerta/").content.decode()
        )
        response = strong.post(f"/gare/lotti/{lot.pk}/offerta/invia/", {"confirm": "on"})
        offer = Offer.objects.get(status=OfferStatus.SUBMITTED)
        assert response["Location"] == f"/gare/offerte/{offer.pk}/ricevuta/"


# --- figures and words at the economic opening (R-GARE-111, D-10) ----------------------------


def test_the_economic_opening_applies_the_more_favourable_value_and_records_it(
    world, lot, client_for
):
    submit_offer(
        user=world.bidders[0],
        operator=world.operators[0],
        lot=lot,
        now=aware(2026, 7, 20, 10, 0),
        discount="12.50",
        discount_words="dodici virgola settanta",
        days=430,
        days_words="quattrocentotrenta",
    )
    submit_offer(
        user=world.bidders[1],
        operator=world.operators[1],
        lot=lot,
        now=aware(2026, 7, 20, 10, 1),
        discount="12.00",
        discount_words="dodici",
        days=420,
        days_words="quattrocentodieci",
    )
    proc.session_start(user=world.rup, lot=lot, kind="ADMIN_OPENING", now=aware(2026, 7, 27, 15, 0))
    for p in lot.participants.all():
        fee_paid(world, p)
        proc.admin_check_admit(user=world.board, participant=p, now=aware(2026, 7, 27, 16, 0))
    proc.admissions_adopt(user=world.rup, lot=lot, now=aware(2026, 7, 28, 10, 0))
    lot.refresh_from_db()
    run_to_technical(world, lot)
    run = run_to_ranking(world, lot)
    session = lot.sessions.get(kind="ECON_OPENING")
    resolutions = [e["resolution"] for e in session.events if "resolution" in e]
    assert {(r["field"], r["figures"], r["words_value"], r["prevailing"]) for r in resolutions} == {
        ("discount", "12.50", "12.70", "12.70"),
        ("days", "420", "410", "410"),
    }
    first, second = (lot.participants.get(operator=o) for o in world.operators[:2])
    rows = {int(o["id"]): o for o in run.result["offers"]}
    assert rows[first.pk]["contract_discount"] == "12.70"
    assert rows[first.pk]["points"]["PRICE"] == "15.00"  # 12.70 is now the best discount
    # 410 days (the words) is the shortest duration, so the second offer has full time points.
    assert rows[second.pk]["points"]["TIME"] == "5.00"
    assert AuditEvent.objects.filter(action="discordanza tra cifre e lettere").count() == 2
    page = client_for(world.rup).get(f"/gare/lotti/{lot.pk}/").content.decode()
    shown = page.split(f'data-testid="economic-{first.pk}">')[1].split("</div>")[0]
    assert "12.70%" in shown  # the offered values shown are the prevailing ones (D-51)


def test_the_bidder_is_warned_before_sending_when_figures_and_words_differ(world, lot):
    offer = _draft_ready(world, lot, aware(2026, 7, 20, 9, 0))
    sub.envelope_data_set(
        user=world.bidders[0],
        offer=offer,
        envelope_type="C",
        data={
            "discount": "12.50",
            "discount_words": "dodici virgola cinque zero",
            "days": 430,
            "days_words": "quattrocentoventi",
            "labour_costs": "598695.55",
            "company_safety_costs": "20000",
        },
        now=aware(2026, 7, 20, 9, 1),
    )
    problems = sub.offer_check(offer)
    assert any("Tempo di esecuzione: in cifre 430, in lettere 420" in p for p in problems)


# --- signatories per form of participation (§1.4, R-GARE-064, R-GARE-068) --------------------


@pytest.mark.parametrize(
    ("form", "members", "expected"),
    [
        ("SINGLE", [], 1),
        ("RTI_CONSTITUTED", ["Lambda 01234567890 mandataria", "Mu 09876543210 mandante"], 1),
        ("RTI_TO_BE_CONSTITUTED", ["Lambda 01234567890 mandataria", "Mu 09876543210 mandante"], 2),
        ("ORDINARY_CONSORTIUM_TO_BE_CONSTITUTED", ["A 01234567890 capofila", "B 1 mandante"], 2),
        ("NETWORK_LEGAL_ENTITY", ["Rete organo comune", "X retista", "Y retista"], 1),
        ("NETWORK_CONTRACT", ["Rete organo comune", "X retista", "Y retista"], 3),
        ("NETWORK_AS_RTI_TO_BE_CONSTITUTED", ["X mandataria", "Y mandante", "Z mandante"], 3),
        ("GEIE", ["G capofila", "H mandante"], 1),
        ("STABLE_CONSORTIUM", ["Nu Due consorziata esecutrice"], 1),
        ("RTI_TO_BE_CONSTITUTED", ["Lambda mandataria", "Mu mandante", "Omega ausiliaria"], 2),
    ],
)
def test_who_signs_the_participation_form_per_form(form, members, expected):
    assert len(participation_form_signers(form, parse_members(members))) == expected


def _in_the_present(lot):
    """The test CA's certificates are issued today: run the bid in the present."""
    now = timezone.now()
    type(lot.tender).objects.filter(pk=lot.tender_id).update(
        offer_deadline=now + datetime.timedelta(days=3)
    )
    lot.refresh_from_db()
    return now


def test_as_07_s5_participation_form_signed_only_by_the_lead_is_flagged(world, lot, samples):
    lines = [
        f"Lambda S.r.l. 01234567890 mandataria {SIGNER_TAX_CODE}",
        f"Mu S.r.l. 09876543210 mandante {SECOND_SIGNER_TAX_CODE}",
    ]
    now = _in_the_present(lot)
    offer = sub.offer_draft(
        user=world.bidders[0],
        lot=lot,
        operator=world.operators[0],
        now=now,
        form="RTI_TO_BE_CONSTITUTED",
        members=lines,
    )
    sub.envelope_file_add(
        user=world.bidders[0],
        offer=offer,
        envelope_type="A",
        requirement_code="PARTICIPATION_FORM",
        uploaded_file=SimpleUploadedFile("domanda-lambda.pdf.p7m", samples.p7m),
        now=now,
    )
    problems = sub.offer_check(offer)
    assert any(SECOND_SIGNER_TAX_CODE in p for p in problems)
    assert not any(SIGNER_TAX_CODE in p for p in problems), (
        problems,
        [f.signature_report for f in offer.envelopes.get(type="A").files.all()],
    )
    sub.envelope_file_add(
        user=world.bidders[0],
        offer=offer,
        envelope_type="A",
        requirement_code="PARTICIPATION_FORM",
        uploaded_file=SimpleUploadedFile(
            "domanda-mu.pdf.p7m", samples.p7m_of(samples.pdf, signer=samples.second_signer)
        ),
        now=now,
    )
    problems = sub.offer_check(offer)
    assert not any("domanda di partecipazione" in p.lower() for p in problems), (
        problems,
        [f.signature_report for f in offer.envelopes.get(type="A").files.all()],
    )
    # The warning does not block the commit (R-GARE-064, D-09): the seggio decides.


def test_reliance_needs_a_contract_signed_by_both_parties(world, lot, samples):
    now = _in_the_present(lot)
    offer = sub.offer_draft(
        user=world.bidders[0],
        lot=lot,
        operator=world.operators[0],
        now=now,
        members=[f"Omega S.p.A. 11122233344 ausiliaria {SECOND_SIGNER_TAX_CODE}"],
    )
    assert any("contratto di avvalimento" in p for p in sub.offer_check(offer))
    sub.envelope_file_add(
        user=world.bidders[0],
        offer=offer,
        envelope_type="A",
        requirement_code="RELIANCE_CONTRACT",
        uploaded_file=SimpleUploadedFile("avvalimento.pdf.p7m", samples.p7m),
        now=now,
    )
    problems = sub.offer_check(offer)
    assert any("entrambe le parti" in p for p in problems)
    assert any(SECOND_SIGNER_TAX_CODE in p for p in problems)


# --- checklist, soccorso and further clarification (R-GARE-086..090, §5.5) --------------------


def _two_in_admin_check(world, lot):
    for i in range(2):
        submit_offer(
            user=world.bidders[i],
            operator=world.operators[i],
            lot=lot,
            now=aware(2026, 7, 20, 10, i),
        )
    proc.session_start(user=world.rup, lot=lot, kind="ADMIN_OPENING", now=aware(2026, 7, 27, 15, 0))
    lot.refresh_from_db()
    return [lot.participants.get(operator=o) for o in world.operators[:2]]


def test_the_checklist_is_prefilled_at_the_first_session_and_confirmed_by_the_board(world, lot):
    p1, p2 = _two_in_admin_check(world, lot)
    items = {i.code: i for i in p1.check_items.all()}
    assert {"PARTICIPATION_FORM", "DGUE", "ANAC_RECEIPT", "GUARANTEE", "SOA"} <= set(items)
    assert "COLLECTIVE_MANDATE" not in items  # only for constituted groupings
    assert items["DGUE"].prefilled == CheckOutcome.MISSING  # nothing uploaded in A
    assert all(i.outcome == CheckOutcome.TO_CHECK for i in items.values())
    with pytest.raises(PermissionDenied):  # only the seggio/RPA
        admincheck.check_item_record(
            user=world.bidders[0],
            item=items["DGUE"],
            outcome="OK",
            now=aware(2026, 7, 27, 15, 30),
        )
    admincheck.check_item_record(
        user=world.board,
        item=items["DGUE"],
        outcome=CheckOutcome.MISSING,
        note="DGUE della mandante assente",
        now=aware(2026, 7, 27, 15, 30),
    )
    with pytest.raises(GareError, match="mancanti o irregolari"):
        proc.admin_check_admit(user=world.board, participant=p1, now=aware(2026, 7, 27, 16, 0))
    # The other one: the board admits it, confirming the items it did not mark.
    fee_paid(world, p2)
    proc.admin_check_admit(user=world.board, participant=p2, now=aware(2026, 7, 27, 16, 0))
    assert set(p2.check_items.values_list("outcome", flat=True)) == {CheckOutcome.OK}
    assert set(p2.check_items.values_list("confirmed_by", flat=True)) == {world.board.pk}


def test_soccorso_on_checklist_items_then_further_clarification_then_exclusion(world, lot):
    p1, p2 = _two_in_admin_check(world, lot)
    guarantee = p1.check_items.get(code="GUARANTEE")
    signer = p1.check_items.get(code="SIGNATORIES")
    admincheck.check_item_record(
        user=world.board,
        item=guarantee,
        outcome=CheckOutcome.IRREGULAR,
        note="importo inferiore al dovuto",
        now=aware(2026, 7, 27, 15, 30),
    )
    admincheck.check_item_record(
        user=world.board,
        item=signer,
        outcome=CheckOutcome.IRREGULAR,
        remediable=False,
        note="garanzia firmata da agente senza poteri",
        now=aware(2026, 7, 27, 15, 31),
    )
    sent = aware(2026, 7, 28, 10, 0)
    with pytest.raises(GareError, match="non è sanabile"):
        proc.remedy_request_send(
            user=world.rup,
            participant=p1,
            items="",
            check_codes=["SIGNATORIES"],
            deadline=sent + datetime.timedelta(days=7),
            now=sent,
        )
    for days in (3, 12):  # AS-07: 5–10 days only
        with pytest.raises(GareError, match="tra 5 e 10 giorni"):
            proc.remedy_request_send(
                user=world.rup,
                participant=p1,
                items="",
                check_codes=["GUARANTEE"],
                deadline=sent + datetime.timedelta(days=days),
                now=sent,
            )
    remedy = proc.remedy_request_send(
        user=world.rup,
        participant=p1,
        items="appendice di integrazione della cauzione",
        check_codes=["GUARANTEE"],
        deadline=sent + datetime.timedelta(days=7),
        now=sent,
    )
    assert "Garanzia provvisoria (irregolare): importo inferiore al dovuto" in remedy.items
    assert remedy.check_codes == ["GUARANTEE"]
    # No clarification on an unanswered request: it is limited to the documents supplied.
    with pytest.raises(GareError, match="non ha risposto"):
        admincheck.remedy_further_clarification(
            user=world.rup,
            remedy=remedy,
            items="x",
            deadline=aware(2026, 8, 8, 12, 0),
            now=aware(2026, 8, 1, 9, 0),
        )
    proc.remedy_respond(
        user=world.bidders[0],
        remedy=remedy,
        text="appendice caricata",
        now=aware(2026, 8, 3, 9, 0),
    )
    further = admincheck.remedy_further_clarification(
        user=world.rup,
        remedy=remedy,
        items="l'appendice non indica il CIG: chiarire a quale gara si riferisce",
        deadline=aware(2026, 8, 8, 12, 0),
        now=aware(2026, 8, 4, 14, 0),
    )
    remedy.refresh_from_db()
    p1.refresh_from_db()
    assert remedy.outcome == "PARTIALLY"
    assert further.kind == RemedyKind.FURTHER_CLARIFICATION and further.parent == remedy
    assert p1.status == ParticipantStatus.REMEDY_PENDING
    assert Communication.objects.filter(kind="REMEDY_CLARIFICATION", operator=p1.operator).exists()
    fee_paid(world, p2)
    proc.admin_check_admit(user=world.board, participant=p2, now=aware(2026, 8, 4, 15, 0))
    with pytest.raises(GareError, match="soccorso istruttorio"):  # AS-07 (c)
        proc.admissions_adopt(user=world.rup, lot=lot, now=aware(2026, 8, 5, 9, 0))
    with pytest.raises(GareError, match="non è ancora scaduto"):
        proc.remedy_decide(
            user=world.rup, remedy=further, remedied=False, now=aware(2026, 8, 8, 11, 0)
        )
    proc.remedy_decide(user=world.rup, remedy=further, remedied=False, now=aware(2026, 8, 8, 12, 0))
    p1.refresh_from_db()
    assert p1.status == ParticipantStatus.EXCLUDED
    exclusion = p1.exclusions.get()
    assert "Ulteriori chiarimenti" in exclusion.grounds
    assert exclusion.code == "REMEDY_FAILED"  # Appendix C: not the ANAC fee
    proc.admissions_adopt(user=world.rup, lot=lot, now=aware(2026, 8, 9, 9, 0))


def test_a_clarification_answered_in_time_remedies_the_items_and_admits(world, lot):
    p1, _p2 = _two_in_admin_check(world, lot)
    admincheck.check_item_record(
        user=world.board,
        item=p1.check_items.get(code="ANAC_RECEIPT"),
        outcome=CheckOutcome.MISSING,
        now=aware(2026, 7, 27, 15, 30),
    )
    sent = aware(2026, 7, 28, 10, 0)
    remedy = proc.remedy_request_send(
        user=world.rup,
        participant=p1,
        items="",
        check_codes=["ANAC_RECEIPT"],
        deadline=sent + datetime.timedelta(days=7),
        now=sent,
    )
    proc.remedy_respond(user=world.bidders[0], remedy=remedy, text="ricevuta", now=sent)
    further = admincheck.remedy_further_clarification(
        user=world.rup,
        remedy=remedy,
        items="la ricevuta è di altro CIG",
        deadline=aware(2026, 8, 3, 12, 0),
        now=aware(2026, 7, 29, 9, 0),
    )
    proc.remedy_respond(user=world.bidders[0], remedy=further, text="ok", now=aware(2026, 7, 30))
    fee_paid(world, p1, aware(2026, 7, 30, 12, 0))
    proc.remedy_decide(user=world.rup, remedy=further, remedied=True, now=aware(2026, 7, 31))
    p1.refresh_from_db()
    assert p1.status == ParticipantStatus.ADMITTED
    assert p1.check_items.get(code="ANAC_RECEIPT").outcome == CheckOutcome.OK


# --- single decision centre review (R-GARE-034, AS-14, §5.4) ---------------------------------


def test_as_14_single_centre_review_blocks_admissions_until_decided(world, lot):
    epsilon, kappa, lone = world.operators[:3]
    submit_offer(user=world.bidders[0], operator=epsilon, lot=lot, now=aware(2026, 7, 20, 9, 0))
    submit_offer(
        user=world.bidders[1],
        operator=kappa,
        lot=lot,
        now=aware(2026, 7, 20, 9, 6),
        form="RTI_TO_BE_CONSTITUTED",
        members=[f"Epsilon Lavori S.p.A. {epsilon.tax_code} mandante"],
    )
    submit_offer(user=world.bidders[2], operator=lone, lot=lot, now=aware(2026, 7, 20, 9, 7))
    proc.session_start(user=world.rup, lot=lot, kind="ADMIN_OPENING", now=aware(2026, 7, 27, 15, 0))
    case = lot.single_centre_cases.get()
    assert case.shared == [epsilon.tax_code]
    both = set(case.participants.values_list("operator", flat=True))
    assert both == {epsilon.pk, kappa.pk}
    admincheck.single_centre_notify(user=world.rup, case=case, now=aware(2026, 7, 28, 9, 0))
    statuses = dict(lot.participants.values_list("operator", "status"))
    assert statuses[epsilon.pk] == statuses[kappa.pk] == ParticipantStatus.SINGLE_CENTRE_REVIEW
    lone_p = lot.participants.get(operator=lone)
    fee_paid(world, lone_p)
    proc.admin_check_admit(user=world.board, participant=lone_p, now=aware(2026, 7, 28, 10, 0))
    with pytest.raises(GareError, match="unico centro decisionale"):
        proc.admissions_adopt(user=world.rup, lot=lot, now=aware(2026, 7, 29, 9, 0))
    with pytest.raises(GareError, match="possono rispondere fino"):  # 5 days (T10)
        admincheck.single_centre_decide(
            user=world.rup,
            case=case,
            single_centre=True,
            reasons="stessa sede e stessi amministratori",
            now=aware(2026, 8, 1, 9, 0),
        )
    admincheck.single_centre_decide(
        user=world.rup,
        case=case,
        single_centre=True,
        reasons="stessa sede e stessi amministratori",
        now=aware(2026, 8, 2, 9, 0),
    )
    statuses = dict(lot.participants.values_list("operator", "status"))
    assert statuses[epsilon.pk] == statuses[kappa.pk] == ParticipantStatus.EXCLUDED
    assert statuses[lone.pk] == ParticipantStatus.ADMITTED
    codes = Exclusion.objects.filter(participant__lot=lot).values_list("code", flat=True)
    assert list(codes) == ["SINGLE_DECISION_CENTRE"] * 2
    proc.admissions_adopt(user=world.rup, lot=lot, now=aware(2026, 8, 3, 9, 0))


def test_a_case_without_influence_admits_both(world, lot):
    epsilon, kappa = world.operators[:2]
    submit_offer(user=world.bidders[0], operator=epsilon, lot=lot, now=aware(2026, 7, 20, 9, 0))
    submit_offer(
        user=world.bidders[1],
        operator=kappa,
        lot=lot,
        now=aware(2026, 7, 20, 9, 6),
        form="RTI_TO_BE_CONSTITUTED",
        members=[f"Epsilon {epsilon.tax_code} mandante"],
    )
    proc.session_start(user=world.rup, lot=lot, kind="ADMIN_OPENING", now=aware(2026, 7, 27, 15, 0))
    both = list(lot.participants.all())
    for p in both:
        fee_paid(world, p)
    proc.single_centre_notice(user=world.rup, lot=lot, participants=both, now=aware(2026, 7, 28))
    case = lot.single_centre_cases.get()
    admincheck.single_centre_decide(
        user=world.rup,
        case=case,
        single_centre=False,
        reasons="nessun elemento di collegamento nelle offerte",
        now=aware(2026, 8, 3),
    )
    assert set(lot.participants.values_list("status", flat=True)) == {ParticipantStatus.ADMITTED}


# --- reopening a criterion: CORRECTION run (AS-13 (4), R-GARE-120) ----------------------------


def test_as_13_4_a_reopened_criterion_produces_a_correction_run(world, lot):
    run_to_admissions(world, lot, 2)
    run_to_technical(world, lot)
    lot.refresh_from_db()
    assert lot.status == LotStatus.TECH_SCORES_PUBLISHED
    first = proc.latest_run(lot, "TECHNICAL")
    president, k2 = world.commissioners[0], world.commissioners[1]
    p = proc.admitted(lot).first()
    with pytest.raises(GareError, match="riapre il criterio"):
        proc.coefficient_enter(
            user=k2, lot=lot, participant=p, criterion="C4", value="0.4", now=aware(2026, 8, 13)
        )
    with pytest.raises(GareError, match="presidente"):
        correction.criterion_reopen(
            user=k2, lot=lot, criterion="C4", reason="errore", now=aware(2026, 8, 13)
        )
    correction.criterion_reopen(
        user=president,
        lot=lot,
        criterion="C4",
        reason="coefficiente trascritto in modo errato da K2",
        now=aware(2026, 8, 13, 9, 0),
    )
    proc.coefficient_enter(
        user=k2, lot=lot, participant=p, criterion="C4", value="0.4", now=aware(2026, 8, 13, 10)
    )
    with pytest.raises(GareError):  # only the reopened criterion
        proc.coefficient_enter(
            user=k2, lot=lot, participant=p, criterion="A1", value="0.4", now=aware(2026, 8, 13)
        )
    run = correction.criterion_correction_close(
        user=president, lot=lot, criterion="C4", now=aware(2026, 8, 13, 11, 0)
    )
    assert run.reason == "CORRECTION" and run.version == first.version + 1
    assert run.supersedes_id == first.pk and "C4" in run.note
    assert ScoreRun.objects.filter(pk=first.pk).exists()  # the old run stays
    old = {o["id"]: o for o in first.result["offers"]}[str(p.pk)]
    new = {o["id"]: o for o in run.result["offers"]}[str(p.pk)]
    assert old["points"]["C4"] == "12.00" and new["points"]["C4"] != "12.00"
    assert Decimal(new["technical"]) < Decimal(old["technical"])
    with pytest.raises(GareError):  # closed again
        proc.coefficient_enter(
            user=k2, lot=lot, participant=p, criterion="C4", value="0.5", now=aware(2026, 8, 14)
        )


def test_a_correction_after_the_ranking_is_a_new_full_run(world, lot):
    run_to_admissions(world, lot, 2)
    run_to_technical(world, lot)
    ranked = run_to_ranking(world, lot)
    president = world.commissioners[0]
    correction.criterion_reopen(
        user=president, lot=lot, criterion="A1", reason="rettifica", now=aware(2026, 8, 19)
    )
    for k in world.commissioners:
        proc.coefficient_enter(
            user=k,
            lot=lot,
            participant=proc.admitted(lot).first(),
            criterion="A1",
            value="1.0",
            now=aware(2026, 8, 19, 10),
        )
    run = correction.criterion_correction_close(
        user=president, lot=lot, criterion="A1", now=aware(2026, 8, 19, 11)
    )
    assert run.stage == "FULL" and run.supersedes_id == ranked.pk
    assert list(lot.runs.order_by("version").values_list("reason", flat=True))[-1] == "CORRECTION"
    assert CODES  # the reference scheme's discretionary criteria are the ones reopened


# --- suspension (§5.2, R-GARE-009, D-44, AS-08 variant) -------------------------------------


def test_suspension_blocks_submission_freezes_the_deadline_and_resume_moves_the_sessions(
    world, lot, tender
):
    submit_offer(
        user=world.bidders[0], operator=world.operators[0], lot=lot, now=aware(2026, 7, 24, 9, 0)
    )
    draft = _draft_ready(world, lot, aware(2026, 7, 26, 9, 0), i=1)
    suspension.tender_suspend(
        user=world.rup,
        tender=tender,
        reason="piattaforma non raggiungibile (causa: piattaforma)",
        malfunction_from=aware(2026, 7, 27, 10, 45),
        now=aware(2026, 7, 27, 10, 50),
    )
    tender.refresh_from_db()
    assert tender.status == TenderStatus.SUSPENDED
    with pytest.raises(GareError, match="sospesa"):
        sub.offer_submit(
            user=world.bidders[1],
            offer=draft,
            loa=2,
            confirm_problems=True,
            now=aware(2026, 7, 27, 11, 0),
        )
    with pytest.raises(GareError, match="sospesa"):  # nor can the draft be changed
        sub.envelope_data_set(
            user=world.bidders[1],
            offer=draft,
            envelope_type="B",
            data={"A2": 1},
            now=aware(2026, 7, 27, 11, 1),
        )
    attempt = SubmissionAttempt.objects.filter(operator=world.operators[1]).latest("at")
    assert attempt.outcome == AttemptOutcome.REJECTED_VALIDATION
    # The offer-deadline timer does not close a suspended tender.
    assert not sub.close_submission_if_due(tender=tender, now=aware(2026, 7, 27, 12, 30))
    with pytest.raises(GareError, match="48 ore"):
        suspension.tender_resume(
            user=world.rup,
            tender=tender,
            new_deadline=aware(2026, 7, 30, 12, 0),
            malfunction_to=aware(2026, 7, 27, 11, 55),
            now=aware(2026, 7, 27, 12, 30),
        )
    suspension.tender_resume(
        user=world.rup,
        tender=tender,
        new_deadline=aware(2026, 7, 28, 12, 0),
        malfunction_to=aware(2026, 7, 27, 11, 55),
        now=aware(2026, 7, 27, 12, 30),
    )
    tender.refresh_from_db()
    assert tender.status == TenderStatus.PUBLISHED
    assert tender.offer_deadline == aware(2026, 7, 28, 12, 0)
    assert tender.first_session_at == aware(2026, 7, 28, 15, 0)  # D-41
    event = AuditEvent.objects.get(action="procedura ripresa")
    assert event.payload["malfunction_minutes"] == 70
    sub.offer_submit(
        user=world.bidders[1],
        offer=draft,
        loa=2,
        confirm_problems=True,
        now=aware(2026, 7, 28, 11, 0),
    )
    assert lot.participants.count() == 2  # the offer committed before stays valid (D-44)


def test_an_extension_over_48_hours_needs_the_notice_amendment(world, tender):
    suspension.tender_suspend(
        user=world.rup,
        tender=tender,
        reason="guasto",
        malfunction_from=aware(2026, 7, 27, 10, 0),
        now=aware(2026, 7, 27, 10, 5),
    )
    suspension.tender_resume(
        user=world.rup,
        tender=tender,
        new_deadline=aware(2026, 7, 30, 12, 0),
        malfunction_to=aware(2026, 7, 27, 11, 0),
        notice_amendment_ref="Rettifica prot. 1234 del 27/07/2026",
        now=aware(2026, 7, 27, 12, 0),
    )
    tender.refresh_from_db()
    assert tender.offer_deadline == aware(2026, 7, 30, 12, 0)


def test_only_the_authority_suspends_and_not_after_the_deadline(world, tender):
    with pytest.raises(PermissionDenied):
        suspension.tender_suspend(
            user=world.bidders[0],
            tender=tender,
            reason="x",
            malfunction_from=aware(2026, 7, 27, 10, 0),
            now=aware(2026, 7, 27, 10, 5),
        )
    with pytest.raises(GareError, match="prima del termine"):
        suspension.tender_suspend(
            user=world.rup,
            tender=tender,
            reason="x",
            malfunction_from=aware(2026, 7, 27, 11, 0),
            now=aware(2026, 7, 27, 12, 0),
        )


# --- the procedure page is paginated ---------------------------------------------------------


def test_the_procedure_page_shows_participants_a_page_at_a_time(
    world, lot, client_for, monkeypatch
):
    import gare.views

    monkeypatch.setattr(gare.views, "PARTICIPANTS_PER_PAGE", 2)
    run_to_admissions(world, lot, 3)
    client = client_for(world.rup)
    page1 = client.get(f"/gare/lotti/{lot.pk}/").content.decode()
    page2 = client.get(f"/gare/lotti/{lot.pk}/?pagina=2").content.decode()
    rows = [f'data-testid="participant-{p.pk}"' for p in lot.participants.order_by("pk")]
    assert rows[0] in page1 and rows[1] in page1 and rows[2] not in page1
    assert rows[2] in page2 and rows[0] not in page2
    assert "Ammesso: 3" in page1 and 'data-testid="participants-pages"' in page1
    filtered = client.get(f"/gare/lotti/{lot.pk}/?stato=EXCLUDED").content.decode()
    assert not any(r in filtered for r in rows)


def test_checklist_soccorso_and_suspension_through_the_procedure_page(world, lot, client_for):
    import time_machine

    p1, _p2 = _two_in_admin_check(world, lot)
    item = p1.check_items.get(code="GUARANTEE")
    client = client_for(world.rup)
    with time_machine.travel(aware(2026, 7, 28, 10, 0), tick=False):
        page = client.get(f"/gare/lotti/{lot.pk}/").content.decode()
        assert f'data-testid="checklist-{p1.pk}"' in page
        client.post(
            f"/gare/lotti/{lot.pk}/azioni/voce/",
            {"item": item.pk, "outcome": "IRREGULAR", "remediable": "on", "note": "importo"},
        )
        item.refresh_from_db()
        assert item.outcome == CheckOutcome.IRREGULAR and item.confirmed_by == world.rup
        response = client.post(
            f"/gare/lotti/{lot.pk}/azioni/soccorso/",
            {"participant": p1.pk, "codes": ["GUARANTEE"], "days": "abc"},
            follow=True,
        )
        assert "Indica il numero di giorni" in response.content.decode()
        client.post(
            f"/gare/lotti/{lot.pk}/azioni/soccorso/",
            {"participant": p1.pk, "codes": ["GUARANTEE"], "days": "7"},
        )
    remedy = p1.remedies.get()
    assert remedy.check_codes == ["GUARANTEE"] and "Garanzia provvisoria" in remedy.items


def test_suspension_through_the_procedure_page(world, lot, tender, client_for):
    import time_machine

    client = client_for(world.rup)
    with time_machine.travel(aware(2026, 7, 27, 10, 50), tick=False):
        client.post(
            f"/gare/lotti/{lot.pk}/azioni/sospendi/",
            {"malfunction_from": "2026-07-27T10:45", "reason": "piattaforma irraggiungibile"},
        )
        tender.refresh_from_db()
        assert tender.status == TenderStatus.SUSPENDED
        page = client_for(world.bidders[0]).get(f"/gare/{tender.pk}/").content.decode()
        assert 'data-testid="suspended"' in page
    with time_machine.travel(aware(2026, 7, 27, 12, 30), tick=False):
        client.post(
            f"/gare/lotti/{lot.pk}/azioni/riprendi/",
            {"malfunction_to": "2026-07-27T11:55", "new_deadline": "2026-07-28T12:00"},
        )
    tender.refresh_from_db()
    assert tender.status == TenderStatus.PUBLISHED
    assert tender.offer_deadline == aware(2026, 7, 28, 12, 0)
