"""R-GARE-145 / D-57: a tender's CIGs come from ANAC's PCP, and its transitions wait for ANAC.

Against the project's ANAC simulator over HTTP (live server), through the kernel client; the
RUP acts with a dev SPID session. Polls are driven with the kernel's `poll_due` under
time-machine, as the Negozio Elettronico tests do.
"""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from gare.models import LotStatus, Tender, TenderStatus
from gare.services import procedure as proc
from gare.services import tenders as tender_services
from gare.services import transmissions
from gare.services.common import GareError
from procurement.anac import operations
from procurement.anac.cig import cig_is_valid
from procurement.anac.models import AnacTransmission
from procurement.anac.simulator.models import SimulatorConfig
from procurement.anac.simulator.pcp_views import script_error
from procurement.notifications.models import Notification
from procurement.pcp.models import PcpScheda, SchedaStatus
from tests.anac.conftest import anac_live  # noqa: F401 (fixture)
from tests.factories.kernel import aware

from .conftest import add_required_documents, run_to_admissions, run_to_ranking, run_to_technical

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live(anac_live, settings):  # noqa: F811
    settings.ANAC_DISPATCH_INLINE = True
    settings.GARE_MANUAL_CIG = False  # production rule: the CIG only comes from PCP
    config = SimulatorConfig.current()
    config.wt_seconds = 5
    config.save()
    return anac_live


@pytest.fixture
def pcp_draft(world, draft_tender):
    draft_tender.lots.update(cig="")
    add_required_documents(world, draft_tender, aware(2026, 6, 25, 10, 0))
    return Tender.objects.get(pk=draft_tender.pk)


def fresh(tender) -> Tender:
    return Tender.objects.select_related("pcp_appalto").get(pk=tender.pk)


def log_of(tender) -> list[str]:
    return list(
        AnacTransmission.objects.filter(appalto=fresh(tender).pcp_appalto)
        .order_by("id")
        .values_list("operation", flat=True)
    )


def settle(clock, until, steps=20):
    """Let the simulator's outcomes mature and poll them until `until()` holds."""
    for _ in range(steps):
        if until():
            return
        clock.shift(timedelta(seconds=10))
        operations.poll_due(now=timezone.now())
    assert until()


def publish_through_anac(world, tender, strong_client_for, clock):
    rup = strong_client_for(world.rup)
    response = rup.post(f"/gare/{tender.pk}/pubblica/", follow=True)
    assert response.status_code == 200
    assert fresh(tender).status == TenderStatus.DRAFT  # not before ANAC accepts the notice
    settle(clock, lambda: fresh(tender).status == TenderStatus.PUBLISHED)
    return rup


def test_publication_sends_the_notice_and_takes_the_cig_of_each_lot_from_pcp(
    world, pcp_draft, live, strong_client_for, client_for
):
    tender = pcp_draft
    # A password session is not enough: ANAC needs the RUP's SPID/CIE/CNS identity.
    page = client_for(world.rup).post(f"/gare/{tender.pk}/pubblica/", follow=True)
    assert "SPID, CIE o CNS" in page.content.decode()
    assert fresh(tender).pcp_appalto is None
    with time_machine.travel(aware(2026, 6, 26, 9, 0), tick=True) as clock:
        rup = strong_client_for(world.rup)
        page = rup.post(f"/gare/{tender.pk}/pubblica/", follow=True).content.decode()
        assert "Bando inviato ad ANAC" in page
        t = fresh(tender)
        assert t.status == TenderStatus.DRAFT and t.publication_requested_at is not None
        assert t.pcp_appalto.scheda_code == "P2_16"  # below the EU threshold, no TED
        assert t.pcp_appalto.owner == t
        # Publishing by hand before ANAC's acknowledgement is refused.
        with pytest.raises(GareError, match="dopo che ANAC ha accettato il bando"):
            tender_services.tender_publish(user=world.rup, tender=t, now=timezone.now())
        settle(clock, lambda: fresh(tender).status == TenderStatus.PUBLISHED)
        t = fresh(tender)
        lot = t.lots.get()
        # The tender page shows the transmissions and the CIG.
        page = rup.get(f"/gare/{t.pk}/").content.decode()
        assert 'data-testid="anac-transmissions"' in page and lot.cig in page
        assert 'data-operation="pubblica-avviso"' in page
    assert cig_is_valid(lot.cig) and lot.cig_from_pcp
    assert t.pcp_appalto.lots.get().cig == lot.cig
    assert t.pcp_appalto.avviso_state in {"IN_ATT_PUBB", "PUBB"}
    assert t.publication_requested_at is None and t.published_at is not None
    assert log_of(t)[:2] == ["crea-appalto", "conferma-appalto"]
    for step in ("recupera-cig", "pubblica-avviso", "stato-avviso"):
        assert step in log_of(t)
    # The notice the simulator received is a P2_16 with the lot and its amounts.
    scheda = AnacTransmission.objects.filter(appalto=t.pcp_appalto, operation="crea-appalto").get()
    body = scheda.request_body["scheda"]
    assert body["codice"]["codice"] == "P2_16"
    assert body["body"]["anacForm"]["lotti"][0]["datiBase"]["importo"] == 1658245.14


def test_a_refused_notice_leaves_the_tender_unpublished_and_tells_the_rup(
    world, pcp_draft, live, strong_client_for
):
    tender = pcp_draft
    with time_machine.travel(aware(2026, 6, 26, 9, 0), tick=True) as clock:
        script_error("conferma-appalto", ("ERR69", "CUP non coerente"), times=1)
        rup = strong_client_for(world.rup)
        rup.post(f"/gare/{tender.pk}/pubblica/")
        settle(clock, lambda: fresh(tender).publication_requested_at is None)
        t = fresh(tender)
        assert t.status == TenderStatus.DRAFT and t.lots.get().cig == ""
        note = Notification.objects.get(recipient=world.rup, subject__contains="non riuscita")
        assert "ERR69" in note.body
        # Corrected, a new click sends modifica-appalto and publishes.
        rup.post(f"/gare/{tender.pk}/pubblica/")
        settle(clock, lambda: fresh(tender).status == TenderStatus.PUBLISHED)
    assert "modifica-appalto" in log_of(tender)


def _to_verification(world, lot):
    run_to_admissions(world, lot, 3)
    run_to_technical(world, lot)
    run_to_ranking(world, lot)
    proc.award_propose(user=world.commissioners[0], lot=lot, now=aware(2026, 9, 9, 9, 0))
    proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 10, 9, 0))
    proc.verification_record(
        user=world.rup, lot=lot, positive=True, note="FVOE regolare", now=aware(2026, 9, 21, 9, 0)
    )
    lot.refresh_from_db()
    return lot


def test_s2_award_and_signature_wait_for_anac(world, pcp_draft, live, strong_client_for):
    tender = pcp_draft
    with time_machine.travel(aware(2026, 6, 26, 9, 0), tick=True) as clock:
        rup = publish_through_anac(world, tender, strong_client_for, clock)
    lot = fresh(tender).lots.get()
    lot = _to_verification(world, lot)
    assert lot.status == LotStatus.VERIFICATION
    with time_machine.travel(aware(2026, 10, 13, 9, 0), tick=True) as clock:
        rup = strong_client_for(world.rup)
        # S2: the bidders, after the deadline.
        rup.post(f"/gare/lotti/{lot.pk}/azioni/invia-s2/")
        settle(clock, lambda: PcpScheda.objects.filter(code="S2", status="CONFIRMED").exists())
        s2 = PcpScheda.objects.get(code="S2")
        partecipanti = s2.payload["anacForm"]["elencoSoggetti"][0]["partecipanti"]
        assert len(partecipanti) == 3 and s2.payload["anacForm"]["elencoSoggetti"][0]["cig"]
        page = rup.post(f"/gare/lotti/{lot.pk}/azioni/invia-s2/", follow=True).content.decode()
        assert "già stata trasmessa" in page
        # The award: adopted only when ANAC confirms the A2_29.
        with pytest.raises(GareError, match="A2_29"):
            proc.award_adopt(user=world.rup, lot=lot, now=timezone.now())
        page = rup.post(f"/gare/lotti/{lot.pk}/azioni/aggiudica/", follow=True).content.decode()
        lot.refresh_from_db()
        assert lot.status == LotStatus.VERIFICATION and lot.pcp_pending["action"] == "award"
        assert 'data-testid="pcp-pending"' in page
        settle(clock, lambda: lot.__class__.objects.get(pk=lot.pk).status == LotStatus.AWARDED)
    lot.refresh_from_db()
    assert lot.pcp_pending == {}
    a2 = PcpScheda.objects.get(code="A2_29")
    assert a2.status == SchedaStatus.CONFIRMED
    aggiudicazione = a2.payload["anacForm"]["aggiudicazioni"][0]
    assert aggiudicazione["cig"] == lot.cig and aggiudicazione["numeroOfferteAmmesse"] == 3
    award = proc.current_award(lot)
    assert award.adopted_at is not None
    # The signature (after the standstill): SC1 first, the lot is signed when ANAC confirms.
    award.last_communication_sent_at = aware(2026, 10, 14, 9, 5)
    award.save()
    with time_machine.travel(aware(2026, 11, 20, 9, 0), tick=True) as clock:
        rup = strong_client_for(world.rup)
        page = rup.post(
            f"/gare/lotti/{lot.pk}/azioni/stipula/",
            {"signed_on": "2026-11-20", "guarantee": "120.000,00"},
            follow=True,
        ).content.decode()
        lot.refresh_from_db()
        assert lot.status == LotStatus.AWARDED and lot.pcp_pending["action"] == "sign"
        settle(
            clock, lambda: lot.__class__.objects.get(pk=lot.pk).status == LotStatus.CONTRACT_SIGNED
        )
    sc1 = PcpScheda.objects.get(code="SC1")
    contratto = sc1.payload["anacForm"]["datiContratto"]
    assert contratto["cig"] == [lot.cig] and contratto["importoCauzione"] == 120000.0
    assert proc.current_award(lot).signed_on == datetime.date(2026, 11, 20)
    assert [s.code for s in PcpScheda.objects.order_by("created_at")] == ["S2", "A2_29", "SC1"]


def test_a_refused_award_scheda_leaves_the_lot_in_verification(
    world, pcp_draft, live, strong_client_for
):
    tender = pcp_draft
    with time_machine.travel(aware(2026, 6, 26, 9, 0), tick=True) as clock:
        publish_through_anac(world, tender, strong_client_for, clock)
    lot = _to_verification(world, fresh(tender).lots.get())
    with time_machine.travel(aware(2026, 10, 13, 9, 0), tick=True) as clock:
        script_error("conferma-scheda", ("ERR41", "importo incoerente"), times=1)
        rup = strong_client_for(world.rup)
        rup.post(f"/gare/lotti/{lot.pk}/azioni/aggiudica/")
        settle(clock, lambda: not type(lot).objects.get(pk=lot.pk).pcp_pending)
    lot.refresh_from_db()
    assert lot.status == LotStatus.VERIFICATION
    assert PcpScheda.objects.get(code="A2_29").status == SchedaStatus.ERROR
    assert Notification.objects.filter(
        recipient=world.rup, subject__contains="aggiudicazione non registrata"
    ).exists()


def test_manual_cig_only_in_the_simulator_environment(world, draft_tender, settings):
    settings.GARE_MANUAL_CIG = True
    assert not transmissions.uses_pcp(draft_tender)  # typed CIG, simulator: no PCP
    settings.GARE_MANUAL_CIG = False
    assert transmissions.uses_pcp(draft_tender)
    add_required_documents(world, draft_tender, aware(2026, 6, 25, 10, 0))
    with pytest.raises(GareError, match="dopo che ANAC ha accettato il bando"):
        tender_services.tender_publish(
            user=world.rup, tender=draft_tender, now=aware(2026, 6, 26, 9, 0)
        )
    with pytest.raises(GareError, match="assegnato da ANAC"):
        tender_services.tender_update(
            user=world.rup,
            tender=draft_tender,
            data={"lot_cig": "ZZ00000000"},
            now=aware(2026, 6, 25, 11, 0),
        )


def test_cancellation_sends_ann_for_each_lot_and_stops_the_procedure(
    world, pcp_draft, live, strong_client_for
):
    tender = pcp_draft
    with time_machine.travel(aware(2026, 6, 26, 9, 0), tick=True) as clock:
        publish_through_anac(world, tender, strong_client_for, clock)
    lot = fresh(tender).lots.get()
    run_to_admissions(world, lot, 2)
    with time_machine.travel(aware(2026, 7, 29, 9, 0), tick=True) as clock:
        rup = strong_client_for(world.rup)
        page = rup.post(f"/gare/{tender.pk}/annulla/", {"act": "", "reason": "x"}, follow=True)
        assert "Indica gli estremi" in page.content.decode()
        assert fresh(tender).status != TenderStatus.CANCELLED
        rup.post(
            f"/gare/{tender.pk}/annulla/",
            {"act": "Determina n. 410 del 29/07/2026", "reason": "Sopravvenute esigenze"},
        )
        t = fresh(tender)
        assert t.status == TenderStatus.CANCELLED and t.cancellation_act.startswith("Determina")
        settle(clock, lambda: PcpScheda.objects.filter(code="ANN", status="CONFIRMED").exists())
    ann = PcpScheda.objects.get(code="ANN")
    assert ann.payload["anacForm"]["cig"] == lot.cig
    assert ann.appalto.lots.get().anac_state == "ANN"
    assert lot.tender.communications.filter(subject__startswith="Annullamento").count() == 2
    lot.refresh_from_db()
    with pytest.raises(GareError, match="annullata"):
        proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 8, 3, 9, 0))


def test_a_deserted_lot_sends_nag_and_nothing_else(world, pcp_draft, live, strong_client_for):
    from gare.services.submission import close_submission_if_due

    tender = pcp_draft
    with time_machine.travel(aware(2026, 6, 26, 9, 0), tick=True) as clock:
        publish_through_anac(world, tender, strong_client_for, clock)
    lot = fresh(tender).lots.get()
    with time_machine.travel(aware(2026, 7, 27, 12, 5), tick=True) as clock:
        close_submission_if_due(tender=fresh(tender), now=timezone.now())
        lot.refresh_from_db()
        assert lot.status == LotStatus.DESERTED
        rup = strong_client_for(world.rup)
        page = rup.get(f"/gare/lotti/{lot.pk}/").content.decode()
        assert 'data-testid="send-nag"' in page
        rup.post(f"/gare/lotti/{lot.pk}/azioni/invia-nag/")
        settle(clock, lambda: PcpScheda.objects.filter(code="NAG", status="CONFIRMED").exists())
        # An award scheda makes no sense for a deserted lot.
        with pytest.raises(GareError):
            transmissions.award_request(user=world.rup, lot=lot, actor=None, now=timezone.now())
    nag = PcpScheda.objects.get(code="NAG")
    lotto = nag.payload["anacForm"]["lotti"][0]
    assert lotto["cig"] == lot.cig
    assert lotto["datiBaseRisultatoProcedura"]["giustificazione"]["codice"] == "no-rece"


def test_a_two_lot_tender_gets_one_cig_per_lot_and_one_ann_per_lot(
    world, pcp_draft, live, strong_client_for
):
    from decimal import Decimal

    from gare.models import Lot

    tender = pcp_draft
    Lot.objects.create(
        tender=tender,
        number=2,
        title="Arredo urbano della piazza",
        cpv_main="45233200-1",
        nuts_code="ITC15",
        works_amount=Decimal("200000.00"),
        safety_costs=Decimal("5000.00"),
        labour_cost_estimate=Decimal("60000.00"),
        duration_days=120,
    )
    with time_machine.travel(aware(2026, 6, 26, 9, 0), tick=True) as clock:
        publish_through_anac(world, tender, strong_client_for, clock)
        cigs = list(fresh(tender).lots.order_by("number").values_list("cig", flat=True))
        assert len(set(cigs)) == 2 and all(cig_is_valid(c) for c in cigs)
        rup = strong_client_for(world.rup)
        rup.post(
            f"/gare/{tender.pk}/annulla/",
            {"act": "Determina n. 300 del 26/06/2026", "reason": "Errore nel progetto"},
        )
        assert fresh(tender).status == TenderStatus.CANCELLED
        settle(
            clock,
            lambda: PcpScheda.objects.filter(code="ANN", status="CONFIRMED").count() == 2,
            steps=40,
        )
    anns = PcpScheda.objects.filter(code="ANN").order_by("created_at")
    assert [a.cig for a in anns] == cigs
    assert set(fresh(tender).pcp_appalto.lots.values_list("anac_state", flat=True)) == {"ANN"}
