"""The procedure state machines of spec §5: admin check to award.

Scenarios AS-03, AS-07, AS-09, AS-10, AS-13.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from gare.models import (
    Communication,
    ImprovementOffer,
    LotStatus,
    ParticipantStatus,
    ScoreRun,
)
from gare.services import procedure as proc
from gare.services.common import GareError
from procurement.audit.models import AuditEvent
from procurement.opendata.models import OcdsRelease, PublicProcedure
from procurement.opendata.ocds import release_errors
from tests.factories.kernel import aware

from .conftest import (
    CODES,
    fee_paid,
    run_as01_to_ranking,
    run_to_admissions,
    run_to_ranking,
    run_to_technical,
    submit_offer,
)

pytestmark = pytest.mark.django_db


def test_as_07_admin_check_with_soccorso_istruttorio_and_exclusions(world, lot):
    for i in range(4):
        submit_offer(
            user=world.bidders[i],
            operator=world.operators[i],
            lot=lot,
            now=aware(2026, 7, 20, 9, i),
        )
    proc.session_start(user=world.rup, lot=lot, kind="ADMIN_OPENING", now=aware(2026, 7, 27, 15, 0))
    s1, s2, s3, s4 = list(lot.participants.order_by("created_at"))
    sent = aware(2026, 7, 28, 10, 0)
    # A deadline of 3 or 12 days is rejected (5–10 days).
    for days in (3, 12):
        with pytest.raises(GareError) as exc:
            proc.remedy_request_send(
                user=world.rup,
                participant=s1,
                items="Ricevuta ANAC",
                deadline=sent + datetime.timedelta(days=days),
                now=sent,
            )
        assert "tra 5 e 10 giorni" in exc.value.message
    deadline = aware(2026, 8, 4, 12, 0)
    r1 = proc.remedy_request_send(
        user=world.rup,
        participant=s1,
        items="Ricevuta del contributo ANAC",
        deadline=deadline,
        now=sent,
    )
    r2 = proc.remedy_request_send(
        user=world.rup,
        participant=s2,
        items="Appendice della garanzia: importo € 23.215,43",
        deadline=deadline,
        now=sent,
    )
    assert Communication.objects.filter(operator=s1.operator, kind="REMEDY_REQUEST").exists()
    # Exclusions of S3 and S4 adopted 28/07 16:00: communication due by 02/08/2026.
    x3 = proc.exclusion_adopt(
        user=world.rup,
        participant=s3,
        phase="ADMIN_CHECK",
        grounds="Garanzia firmata da agente senza poteri",
        now=aware(2026, 7, 28, 16, 0),
    )
    proc.exclusion_adopt(
        user=world.rup,
        participant=s4,
        phase="ADMIN_CHECK",
        grounds="Offerta economica nella busta A",
        now=aware(2026, 7, 28, 16, 0),
    )
    assert x3.communication_deadline.date() == datetime.date(2026, 8, 2)
    assert x3.communication.sent_within_deadline
    # (c) no admissions act while S1 or S2 is REMEDY_PENDING.
    with pytest.raises(GareError) as exc:
        proc.admissions_adopt(user=world.rup, lot=lot, now=aware(2026, 7, 31, 9, 0))
    assert "soccorso istruttorio" in exc.value.message
    proc.remedy_respond(
        user=world.bidders[0], remedy=r1, text="Ricevuta caricata", now=aware(2026, 7, 31, 9, 0)
    )
    with pytest.raises(GareError):  # answering after the deadline is refused
        proc.remedy_respond(
            user=world.bidders[1], remedy=r2, text="tardi", now=aware(2026, 8, 4, 12, 0)
        )
    fee_paid(world, s1, aware(2026, 7, 31, 10, 0))
    proc.remedy_decide(user=world.rup, remedy=r1, remedied=True, now=aware(2026, 8, 1, 9, 0))
    proc.remedy_decide(user=world.rup, remedy=r2, remedied=False, now=aware(2026, 8, 5, 9, 0))
    proc.admissions_adopt(user=world.rup, lot=lot, now=aware(2026, 8, 5, 10, 0))
    lot.refresh_from_db()
    assert lot.status == LotStatus.ADMISSIONS_DECIDED
    statuses = {p.pk: p.status for p in lot.participants.all()}
    assert statuses == {s1.pk: "ADMITTED", s2.pk: "EXCLUDED", s3.pk: "EXCLUDED", s4.pk: "EXCLUDED"}
    # S4's envelope C is never opened.
    assert s4.current_offer.envelopes.get(type="C").state == "SEALED"
    # Session notice: 05/08 for 10/08 allowed, 08/08 for 10/08 blocked (R-GARE-081).
    with pytest.raises(GareError):
        proc.session_schedule(
            user=world.rup,
            lot=lot,
            kind="TECH_OPENING",
            scheduled_at=aware(2026, 8, 10, 10, 0),
            now=aware(2026, 8, 8, 9, 0),
        )
    proc.session_schedule(
        user=world.rup,
        lot=lot,
        kind="TECH_OPENING",
        scheduled_at=aware(2026, 8, 10, 10, 0),
        now=aware(2026, 8, 5, 11, 0),
    )


def test_the_commission_is_appointed_after_the_deadline_and_declares(world, lot):
    run_to_admissions(world, lot, 2)
    with pytest.raises(GareError):
        proc.commission_appoint(
            user=world.rup,
            lot=lot,
            members=world.commissioners[:2],
            president=world.commissioners[0],
            now=aware(2026, 8, 3, 9, 0),
        )
    proc.commission_appoint(
        user=world.rup,
        lot=lot,
        members=world.commissioners,
        president=world.commissioners[0],
        now=aware(2026, 8, 3, 9, 0),
    )
    proc.session_schedule(
        user=world.rup,
        lot=lot,
        kind="TECH_OPENING",
        scheduled_at=aware(2026, 8, 10, 10, 0),
        now=aware(2026, 8, 5, 9, 0),
    )
    with pytest.raises(GareError) as exc:  # declarations missing
        proc.session_start(
            user=world.commissioners[0], lot=lot, kind="TECH_OPENING", now=aware(2026, 8, 10, 10, 0)
        )
    assert "dichiarazione" in exc.value.message


def test_as_13_coefficient_entry_and_independence(world, lot, client_for):
    run_to_admissions(world, lot, 2)
    proc.commission_appoint(
        user=world.rup,
        lot=lot,
        members=world.commissioners,
        president=world.commissioners[0],
        now=aware(2026, 8, 3, 9, 0),
    )
    for c in world.commissioners:
        proc.commissioner_declare(user=c, lot=lot, now=aware(2026, 8, 3, 10, 0))
    proc.session_schedule(
        user=world.rup,
        lot=lot,
        kind="TECH_OPENING",
        scheduled_at=aware(2026, 8, 10, 10, 0),
        now=aware(2026, 8, 5, 9, 0),
    )
    proc.session_start(
        user=world.commissioners[0], lot=lot, kind="TECH_OPENING", now=aware(2026, 8, 10, 10, 0)
    )
    proc.technical_session_close(
        user=world.commissioners[0], lot=lot, now=aware(2026, 8, 10, 11, 0)
    )
    lot.refresh_from_db()
    p1, _p2 = list(proc.admitted(lot))
    k1, k2, _k3 = world.commissioners
    # (1) 0.75 and 1.1 are not levels of the scale.
    for bad in ("0.75", "1.1"):
        with pytest.raises(GareError):
            proc.coefficient_enter(
                user=k1,
                lot=lot,
                participant=p1,
                criterion="C4",
                value=bad,
                now=aware(2026, 8, 11, 9, 0),
            )
    proc.coefficient_enter(
        user=k1, lot=lot, participant=p1, criterion="C4", value="0.9", now=aware(2026, 8, 11, 9, 0)
    )
    # (2) K2 does not see K1's coefficient.
    page = client_for(k2).get(f"/gare/lotti/{lot.pk}/coefficienti/").content.decode()
    assert 'value="0.9' not in page
    assert (
        'value="0.9' in client_for(k1).get(f"/gare/lotti/{lot.pk}/coefficienti/").content.decode()
    )
    # (3) finalisation is refused while coefficients are missing.
    with pytest.raises(GareError) as exc:
        proc.technical_finalise(user=k1, lot=lot, now=aware(2026, 8, 12, 9, 0))
    assert "Mancano" in exc.value.message
    # A tabular criterion takes no coefficient.
    with pytest.raises(GareError):
        proc.coefficient_enter(
            user=k1,
            lot=lot,
            participant=p1,
            criterion="A2",
            value="0.5",
            now=aware(2026, 8, 11, 9, 0),
        )


def _coefficients(k, i, code):
    # Offer 0 better on every discretionary criterion.
    return Decimal("0.9") if i == 0 else Decimal("0.6")


def test_main_path_from_admission_to_contract_signature_with_as_10_dates(world, lot):
    run_to_admissions(world, lot, 3)
    run_to_technical(world, lot, _coefficients)
    assert lot.status == LotStatus.TECH_SCORES_PUBLISHED
    technical = ScoreRun.objects.get(lot=lot, stage="TECHNICAL")
    assert len(technical.result["offers"]) == 3
    assert Communication.objects.filter(kind="TECH_SCORES").count() == 3
    run = run_to_ranking(world, lot)
    assert lot.status == LotStatus.RANKED
    assert run.result["offers"][0]["rank"] == 1
    first_id = int(run.result["offers"][0]["id"])
    # Economic values are readable now that C was opened in session.
    assert all(
        p.current_offer.envelopes.get(type="C").state == "OPENED" for p in proc.admitted(lot)
    )
    # AS-10: anomaly review, explanations within 15 days from receipt (20/08 → 04/09).
    first = lot.participants.get(pk=first_id)
    with pytest.raises(GareError) as exc:
        proc.anomaly_open(
            user=world.rup,
            lot=lot,
            participant=first,
            components="manodopera",
            received_at=aware(2026, 8, 20, 10, 0),
            deadline=aware(2026, 9, 5, 12, 0),
            now=aware(2026, 8, 20, 10, 0),
        )
    assert "04/09/2026" in exc.value.message
    review = proc.anomaly_open(
        user=world.rup,
        lot=lot,
        participant=first,
        components="costi della manodopera",
        received_at=aware(2026, 8, 20, 10, 0),
        deadline=aware(2026, 9, 4, 12, 0),
        now=aware(2026, 8, 20, 10, 0),
    )
    lot.refresh_from_db()
    assert lot.status == LotStatus.ANOMALY_REVIEW
    bidder = world.bidders[[o.pk for o in world.operators].index(first.operator_id)]
    proc.anomaly_explain(
        user=bidder,
        review=review,
        text="Organizzazione più efficiente",
        now=aware(2026, 9, 1, 9, 0),
    )
    proc.anomaly_conclude(
        user=world.rup, review=review, congruous=True, now=aware(2026, 9, 8, 9, 0)
    )
    lot.refresh_from_db()
    assert lot.status == LotStatus.RANKED
    award = proc.award_propose(user=world.commissioners[0], lot=lot, now=aware(2026, 9, 9, 9, 0))
    assert award.participant_id == first_id
    proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 10, 9, 0))
    # Award before a positive verification or the 30-day fallback is refused.
    with pytest.raises(GareError):
        proc.award_adopt(
            user=world.rup, lot=lot, now=aware(2026, 9, 20, 9, 0), self_declaration_fallback=True
        )
    proc.verification_record(
        user=world.rup, lot=lot, positive=True, note="FVOE regolare", now=aware(2026, 9, 21, 9, 0)
    )
    proc.award_adopt(user=world.rup, lot=lot, now=aware(2026, 10, 13, 9, 0))
    award.refresh_from_db()
    lot.refresh_from_db()
    assert lot.status == LotStatus.AWARDED
    assert lot.participants.get(pk=first_id).status == ParticipantStatus.AWARDEE
    assert Communication.objects.filter(kind="AWARD").count() == 3
    # Standstill: last communication 14/10/2026 → earliest 16/11, latest 12/12 (AS-10).
    award.last_communication_sent_at = aware(2026, 10, 14, 9, 5)
    award.save()
    with pytest.raises(GareError) as exc:
        proc.contract_sign(
            user=world.rup,
            lot=lot,
            signed_on=datetime.date(2026, 11, 15),
            now=aware(2026, 11, 15, 9, 0),
        )
    assert "dal 16/11/2026 al 12/12/2026" in exc.value.message
    proc.contract_sign(
        user=world.rup,
        lot=lot,
        signed_on=datetime.date(2026, 11, 20),
        now=aware(2026, 11, 20, 9, 0),
    )
    lot.refresh_from_db()
    assert lot.status == LotStatus.CONTRACT_SIGNED
    # Open data: the notice, the award and the contract, each valid OCDS 1.1.5.
    releases = list(OcdsRelease.objects.filter(source="gare").order_by("id"))
    assert [r.tags for r in releases] == [["tender"], ["award"], ["contract"]]
    assert all(release_errors(r.data) == [] for r in releases)
    [winner] = releases[1].data["awards"][0]["suppliers"]
    assert winner["name"] == lot.participants.get(pk=first_id).display_name
    expected = next(o for o in run.result["offers"] if o["id"] == str(first_id))
    assert Decimal(str(releases[1].data["awards"][0]["value"]["amount"])) == Decimal(
        expected["contract_value"]
    )
    public = PublicProcedure.objects.get(ocid=releases[0].ocid)
    assert public.is_notice and public.is_award and public.cig == lot.cig
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "busta A aperta",
        "busta B aperta",
        "busta C aperta",
        "aggiudicazione adottata",
        "contratto stipulato",
    } <= actions


def test_as_10_variant_award_with_self_declaration_after_30_days(world, lot):
    run_to_admissions(world, lot, 2)
    run_to_technical(world, lot, _coefficients)
    run_to_ranking(world, lot)
    proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 9, 9, 0))
    proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 10, 9, 0))
    with pytest.raises(GareError) as exc:
        proc.award_adopt(
            user=world.rup, lot=lot, now=aware(2026, 10, 8, 9, 0), self_declaration_fallback=True
        )
    assert "09/10/2026" in exc.value.message
    proc.award_adopt(
        user=world.rup, lot=lot, now=aware(2026, 10, 9, 9, 0), self_declaration_fallback=True
    )
    lot.refresh_from_db()
    assert lot.status == LotStatus.AWARDED


def test_as_09_negative_verification_excludes_the_first_and_recomputes(world, lot):
    run_to_admissions(world, lot, 3)
    run_to_technical(world, lot, _coefficients)
    run = run_to_ranking(world, lot)
    first_id = int(run.result["offers"][0]["id"])
    second_id = int(run.result["offers"][1]["id"])
    proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 9, 9, 0))
    proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 10, 9, 0))
    proc.verification_record(
        user=world.rup,
        lot=lot,
        positive=False,
        note="SOA OS30 scaduta",
        now=aware(2026, 9, 21, 9, 0),
    )
    lot.refresh_from_db()
    assert lot.status == LotStatus.RANKED
    assert lot.participants.get(pk=first_id).status == ParticipantStatus.EXCLUDED
    new = proc.latest_run(lot, "FULL")
    assert new.version > run.version and new.reason == "EXCLUSION_AFTER_SCORING"
    assert str(first_id) not in [o["id"] for o in new.result["offers"]]
    assert first_id not in new.admitted
    assert run.pk in ScoreRun.objects.filter(lot=lot).values_list(
        "pk", flat=True
    )  # v1 stays in history
    award = proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 22, 9, 0))
    assert award.participant_id == int(new.result["offers"][0]["id"])
    assert award.participant_id == second_id or award.participant_id != first_id


def test_as_03_full_tie_improvement_offers_then_draw(world, lot):
    run_to_admissions(world, lot, 2, discounts=["12.00", "12.00"], days=[420, 420])
    run_to_technical(world, lot)  # identical coefficients
    run_to_ranking(world, lot)
    assert lot.status == LotStatus.TIE_BREAK
    improvements = list(ImprovementOffer.objects.filter(participant__lot=lot))
    assert len(improvements) == 2
    assert all(
        i.deadline == aware(2026, 8, 18, 11, 0) + datetime.timedelta(days=5) for i in improvements
    )
    with pytest.raises(GareError):
        proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 8, 19, 9, 0))
    with pytest.raises(GareError):  # not before the deadline
        proc.improvements_open(user=world.rup, lot=lot, now=aware(2026, 8, 20, 9, 0))
    for imp in improvements:
        bidder = world.bidders[[o.pk for o in world.operators].index(imp.participant.operator_id)]
        proc.improvement_submit(
            user=bidder, improvement=imp, discount="13.00", now=aware(2026, 8, 20, 9, 0)
        )
    # Sealed until their deadline (R-GARE-117): not readable, not openable even if all replied.
    for imp in ImprovementOffer.objects.filter(participant__lot=lot):
        assert imp.discount is None and b"13.00" not in bytes(imp.sealed_discount)
    with pytest.raises(GareError):
        proc.improvements_open(user=world.rup, lot=lot, now=aware(2026, 8, 21, 9, 0))
    proc.improvements_open(user=world.rup, lot=lot, now=aware(2026, 8, 23, 11, 0))
    assert {i.discount for i in ImprovementOffer.objects.filter(participant__lot=lot)} == {
        Decimal("13.00")
    }
    lot.refresh_from_db()
    assert lot.status == LotStatus.TIE_BREAK  # still tied: public draw
    run = proc.draw_conduct(user=world.rup, lot=lot, now=aware(2026, 8, 25, 10, 0))
    lot.refresh_from_db()
    assert lot.status == LotStatus.RANKED
    assert [o["rank"] for o in run.result["offers"]] == [1, 2]
    event = AuditEvent.objects.get(action="sorteggio pubblico")
    assert event.payload["order"] == [o["id"] for o in run.result["offers"]]
    proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 8, 26, 9, 0))


def test_only_staff_and_commission_reach_the_procedure_page(world, lot, client_for):
    assert client_for(world.rup).get(f"/gare/lotti/{lot.pk}/").status_code == 200
    assert client_for(world.bidders[0]).get(f"/gare/lotti/{lot.pk}/").status_code == 404
    assert client_for(world.outsider).get(f"/gare/lotti/{lot.pk}/").status_code == 404


def test_codes_used_by_the_tests_are_the_discretionary_criteria(lot):
    assert proc.discretionary_codes(proc.scheme_of(lot)) == CODES


def test_as_14_same_oe_in_two_participants_is_reported_at_the_first_session(world, lot):
    from gare.services import submission as sub

    epsilon, kappa, lone = world.operators[:3]
    submit_offer(user=world.bidders[0], operator=epsilon, lot=lot, now=aware(2026, 7, 20, 9, 0))
    offer = sub.offer_draft(
        user=world.bidders[1],
        lot=lot,
        operator=kappa,
        now=aware(2026, 7, 20, 9, 5),
        form="RTI_TO_BE_CONSTITUTED",
        members=[f"Epsilon Lavori S.p.A. {epsilon.tax_code}"],
    )
    assert offer.members
    submit_offer(user=world.bidders[1], operator=kappa, lot=lot, now=aware(2026, 7, 20, 9, 6))
    submit_offer(user=world.bidders[2], operator=lone, lot=lot, now=aware(2026, 7, 20, 9, 7))
    session = proc.session_start(
        user=world.rup, lot=lot, kind="ADMIN_OPENING", now=aware(2026, 7, 27, 15, 0)
    )
    reported = [e["text"] for e in session.events if "unico centro decisionale" in e["text"]]
    assert len(reported) == 1 and epsilon.tax_code in reported[0]
    assert lone.name not in reported[0]
    both = list(lot.participants.filter(operator__in=[epsilon, kappa]))
    proc.single_centre_notice(
        user=world.rup, lot=lot, participants=both, now=aware(2026, 7, 28, 9, 0)
    )
    assert Communication.objects.filter(kind="SINGLE_CENTRE").count() == 2


def test_as_09_with_the_as_01_offers_through_the_whole_procedure(world, lot):
    """The exact AS-01/AS-09 figures, entered through the services, sealed and opened."""
    label, run = run_as01_to_ranking(world, lot)
    first = [label[int(o["id"])] for o in run.result["offers"]]
    assert first[0] == "O2"
    proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 9, 9, 0))
    proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 10, 9, 0))
    proc.verification_record(
        user=world.rup,
        lot=lot,
        positive=False,
        note="SOA OS30 di Gamma Impianti scaduta",
        now=aware(2026, 9, 21, 9, 0),
    )
    new = proc.latest_run(lot, "FULL")
    table = {
        label[int(o["id"])]: (o["rank"], o["technical"], o["economic"], o["total"])
        for o in new.result["offers"]
    }
    assert table == {
        "O4": (1, "68.42", "12.14", "80.56"),
        "O1": (2, "64.50", "16.01", "80.51"),
        "O3": (3, "60.67", "17.84", "78.51"),
        "O5": (4, "53.61", "20.00", "73.61"),
    }
    o5 = next(o for o in new.result["offers"] if label[int(o["id"])] == "O5")
    assert o5["points"]["C2"] == "8.50"
    award = proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 22, 9, 0))
    assert label[award.participant_id] == "O4"
