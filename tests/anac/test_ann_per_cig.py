"""ANN cancels one lot (CIG): in a multi-lot appalto each lot has its own ANN and the other lots
go on after one of them is annulled. Against the simulator, over real HTTP, time-machine."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone

from procurement.anac import operations
from procurement.anac.models import AnacOperationState as S
from procurement.anac.simulator.models import SimLot
from procurement.pcp.models import AppaltoState, PcpScheda, SchedaStatus
from procurement.pcp.services import (
    MSG_D16,
    PcpError,
    ann_payload,
    pcp_confirm_appalto,
    pcp_fetch_cigs,
    pcp_scheda_create,
    pcp_scheda_send,
)
from tests.anac.test_simulator_pcp import ad4
from tests.factories.pcp import actor_for, rup_appalto

pytestmark = pytest.mark.django_db(transaction=True)

LOTS = ("LOT-0001", "LOT-0002")


@pytest.fixture
def ops(anac_live, settings):
    settings.ANAC_DISPATCH_INLINE = True
    return anac_live


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def two_lot_appalto(clock):
    """A confirmed appalto of two lots with their CIGs from PCP; returns it and the CIGs."""
    appalto = rup_appalto()
    pcp_confirm_appalto(
        appalto=appalto,
        user=appalto.rup,
        actor=actor_for(appalto),
        scheda=ad4(str(appalto.codice_appalto), lots=LOTS),
        now=timezone.now(),
    )
    clock.shift(timedelta(seconds=6))
    operations.poll_due(now=timezone.now())
    pcp_fetch_cigs(
        appalto=appalto,
        user=appalto.rup,
        actor=actor_for(appalto),
        now=timezone.now(),
        lot_identifiers=list(LOTS),
    )
    appalto = fresh(appalto)
    assert appalto.local_state == AppaltoState.CIG_ASSIGNED
    cigs = dict(appalto.lots.values_list("lot_identifier", "cig"))
    return appalto, cigs[LOTS[0]], cigs[LOTS[1]]


def create(appalto, code, payload):
    return pcp_scheda_create(
        appalto=appalto, user=appalto.rup, code=code, payload=payload, now=timezone.now()
    )


def send_and_confirm(scheda, clock):
    appalto = scheda.appalto
    op = pcp_scheda_send(
        scheda=scheda, user=appalto.rup, actor=actor_for(appalto), now=timezone.now()
    )
    clock.shift(timedelta(seconds=6))
    operations.poll_due(now=timezone.now())
    assert fresh(op).state == S.OK
    scheda = fresh(scheda)
    assert scheda.status == SchedaStatus.CONFIRMED
    return scheda


def contract_of(cig):
    """An SC1-like execution-phase scheda whose anacForm names its lot with a top-level CIG."""
    return {"anacForm": {"cig": cig, "datiContratto": {"dataStipula": "2026-11-23T10:00:00Z"}}}


def lot_states(appalto):
    return dict(appalto.lots.values_list("lot_identifier", "anac_state"))


def test_each_lot_gets_its_own_ann_and_the_other_lot_goes_on(ops):
    with time_machine.travel(timezone.now(), tick=True) as clock:
        appalto, cig1, cig2 = two_lot_appalto(clock)
        with pytest.raises(PcpError, match="CIG indicato nella scheda non è valido"):
            create(appalto, "ANN", ann_payload(cig1 + "X"))
        assert not PcpScheda.objects.filter(appalto=appalto).exists()
        first = create(appalto, "ANN", ann_payload(cig1))
        assert first.cig == cig1
        with pytest.raises(PcpError, match="Operazione non consentita"):
            create(appalto, "ANN", ann_payload(cig1))  # one live ANN per CIG
        first = send_and_confirm(first, clock)
        assert lot_states(appalto) == {LOTS[0]: "ANN", LOTS[1]: "AGG"}

        # Lot 1 is annulled: nothing more for its CIG...
        with pytest.raises(PcpError, match="Operazione non consentita"):
            create(appalto, "ANN", ann_payload(cig1))
        with pytest.raises(PcpError, match="Operazione non consentita"):
            create(appalto, "SC1", contract_of(cig1))
        # ... but lot 2 goes on: a scheda of its CIG, and then its own ANN.
        contract = create(appalto, "SC1", contract_of(cig2))
        assert contract.cig == cig2 and contract.status == SchedaStatus.DRAFT
        second = create(appalto, "ANN", ann_payload(cig2))
        assert second.cig == cig2
        second = send_and_confirm(second, clock)

    assert lot_states(appalto) == {LOTS[0]: "ANN", LOTS[1]: "ANN"}
    assert set(SimLot.objects.filter(cig__in=[cig1, cig2]).values_list("stato", flat=True)) == {
        "ANN"
    }
    assert list(
        PcpScheda.objects.filter(appalto=appalto, code="ANN")
        .order_by("created_at")
        .values_list("cig", "status", "anac_state")
    ) == [(cig1, SchedaStatus.CONFIRMED, "CONF"), (cig2, SchedaStatus.CONFIRMED, "CONF")]
    # Every lot annulled: nothing follows, whether it names a CIG or the whole appalto.
    for code, payload in (
        ("ANN", ann_payload(cig2)),
        ("SC1", contract_of(cig2)),
        ("S2", {"anacForm": {"elencoSoggetti": [{"cig": cig2, "partecipanti": []}]}}),
    ):
        with pytest.raises(PcpError, match="Operazione non consentita"):
            create(appalto, code, payload)


def test_an_appalto_wide_scheda_is_allowed_while_one_lot_is_still_alive(ops):
    with time_machine.travel(timezone.now(), tick=True) as clock:
        appalto, cig1, cig2 = two_lot_appalto(clock)
        send_and_confirm(create(appalto, "ANN", ann_payload(cig1)), clock)
        bidders = create(
            appalto, "S2", {"anacForm": {"elencoSoggetti": [{"cig": cig2, "partecipanti": []}]}}
        )
    assert bidders.cig == "" and bidders.status == SchedaStatus.DRAFT


def test_execution_phase_scheda_blocks_the_ann_of_its_lot_only(ops):
    with time_machine.travel(timezone.now(), tick=True) as clock:
        appalto, cig1, cig2 = two_lot_appalto(clock)
        send_and_confirm(create(appalto, "SC1", contract_of(cig1)), clock)

        with pytest.raises(PcpError) as refused:
            create(appalto, "ANN", ann_payload(cig1))
        assert str(refused.value) == MSG_D16
        ann2 = create(appalto, "ANN", ann_payload(cig2))  # lot 2 has no contract yet

        # An execution-phase scheda without a CIG concerns every lot: lot 2's ANN is refused
        # when it is sent.
        s2 = {"anacForm": {"elencoSoggetti": [{"cig": cig2, "partecipanti": []}]}}
        send_and_confirm(create(appalto, "S2", s2), clock)
        with pytest.raises(PcpError) as refused:
            pcp_scheda_send(
                scheda=ann2, user=appalto.rup, actor=actor_for(appalto), now=timezone.now()
            )
        assert str(refused.value) == MSG_D16
    assert fresh(ann2).status == SchedaStatus.DRAFT
    assert lot_states(appalto) == {LOTS[0]: "AGG", LOTS[1]: "AGG"}


def test_the_migration_fills_the_cig_of_existing_schede(db):
    appalto = rup_appalto()
    now = timezone.now()
    ann = PcpScheda.objects.create(
        appalto=appalto,
        code="ANN",
        payload=ann_payload("K00003EC3A"),
        created_by=appalto.rup,
        created_at=now,
    )
    s2 = PcpScheda.objects.create(
        appalto=appalto,
        code="S2",
        payload={"anacForm": {"elencoSoggetti": [{"cig": "K00004EC3B"}]}},
        created_by=appalto.rup,
        created_at=now,
    )
    odd = PcpScheda.objects.create(
        appalto=appalto,
        code="SC1",
        payload={"anacForm": {"cig": ["K00004EC3B"]}},
        created_by=appalto.rup,
        created_at=now,
    )
    migration = importlib.import_module("procurement.pcp.migrations.0005_scheda_cig")
    migration.fill_cig(apps, None)
    assert [fresh(s).cig for s in (ann, s2, odd)] == ["K00003EC3A", "", ""]
