"""The asynchronous ANAC operations layer against the simulator, over real HTTP (spec adesioni
§4.5, §6.2–6.7, AS-ADE-05/06/07/09/10). Time is controlled with time-machine."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.dispatch import receiver
from django.utils import timezone

from procurement.anac import operations
from procurement.anac.cig import cig_is_valid_pcp
from procurement.anac.models import (
    AnacOperation,
    AnacTransmission,
    TransmissionOutcome,
)
from procurement.anac.models import (
    AnacOperationKind as Kind,
)
from procurement.anac.models import (
    AnacOperationState as S,
)
from procurement.anac.signals import operation_finished, operation_stalled
from procurement.anac.simulator.models import SimAppalto, SimEsito, SimScheda, SimulatorConfig
from procurement.audit.models import AuditEvent
from procurement.pcp.models import AppaltoState, SchedaStatus
from procurement.pcp.services import (
    PcpError,
    ann_payload,
    operation_in_progress,
    pcp_actor_for,
    pcp_confirm_appalto,
    pcp_fetch_cigs,
    pcp_request_poll,
    pcp_scheda_create,
    pcp_scheda_delete,
    pcp_scheda_send,
    pcp_scheda_verify,
)
from tests.anac.test_simulator_pcp import ad4
from tests.factories.pcp import actor_for, rup_appalto

pytestmark = pytest.mark.django_db(transaction=True)


def configure(**fields):
    config = SimulatorConfig.current()
    for key, value in fields.items():
        setattr(config, key, value)
    config.save()


@pytest.fixture
def ops(anac_live, settings):
    settings.ANAC_DISPATCH_INLINE = True
    return anac_live


@pytest.fixture
def outcomes():
    seen = []

    @receiver(operation_finished, weak=False)
    def record(sender, operation, outcome, **kwargs):
        assert connection.in_atomic_block  # receivers change their objects atomically
        seen.append((operation.kind, outcome))

    yield seen
    operation_finished.disconnect(record)


def confirm(appalto, now=None):
    return pcp_confirm_appalto(
        appalto=appalto,
        user=appalto.rup,
        actor=actor_for(appalto),
        scheda=ad4(str(appalto.codice_appalto)),
        now=now or timezone.now(),
    )


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def operations_log(appalto):
    return list(
        AnacTransmission.objects.filter(appalto=appalto)
        .order_by("id")
        .values_list("operation", flat=True)
    )


def test_wt_then_ok_then_cigs(ops, outcomes):
    configure(wt_seconds=60)
    appalto = rup_appalto()
    with time_machine.travel(timezone.now(), tick=True) as clock:
        op = confirm(appalto)
        op = fresh(op)
        appalto = fresh(appalto)
        assert op.state == S.ACKED and appalto.local_state == AppaltoState.CONFIRMATION_PENDING
        assert appalto.id_appalto is not None and appalto.last_confirm_ack_at == op.ack_at
        assert op.next_poll_at == op.ack_at + timedelta(seconds=5)
        assert operation_in_progress(appalto) == op

        clock.shift(timedelta(seconds=6))
        assert operations.poll_due(now=timezone.now()) == 1
        op = fresh(op)
        assert op.state == S.WAITING and op.next_poll_at == op.ack_at + timedelta(seconds=15)

        clock.shift(timedelta(seconds=60))
        operations.poll_due(now=timezone.now())
        op = fresh(op)
        assert op.state == S.OK
        assert fresh(appalto).local_state == AppaltoState.CONFIRMED
        assert ("conferma-appalto", "OK") in outcomes

        cig_op = pcp_fetch_cigs(
            appalto=appalto,
            user=appalto.rup,
            actor=actor_for(appalto),
            now=timezone.now(),
            lot_identifiers=["LOT-0001"],
        )
    cig_op = fresh(cig_op)
    appalto = fresh(appalto)
    assert cig_op.state == S.OK and appalto.local_state == AppaltoState.CIG_ASSIGNED
    [lot] = appalto.lots.all()
    assert lot.lot_identifier == "LOT-0001" and cig_is_valid_pcp(lot.cig)
    assert cig_op.result["cigs"] == [{"cig": lot.cig, "lotIdentifier": "LOT-0001"}]
    log = list(AnacTransmission.objects.filter(appalto=appalto).order_by("id"))
    assert [r.operation for r in log] == [
        "crea-appalto",
        "conferma-appalto",
        "esito-operazione",
        "esito-operazione",
        "recupera-cig",
    ]
    assert {r.span_id for r in log[:2]} == {str(op.span_id)}  # one click, one spanID
    assert all(r.anac_operation_id for r in log)
    assert AuditEvent.objects.filter(object_id=str(appalto.pk)).count() >= 4


def test_AS_ADE_05_ko_with_italian_errors_then_retry_with_modifica_and_stale_ko_ignored(
    ops, outcomes
):
    configure(wt_seconds=30, ko_rate=1.0)
    appalto = rup_appalto()
    with time_machine.travel(timezone.now(), tick=True) as clock:
        first = confirm(appalto)
        clock.shift(timedelta(seconds=31))
        operations.poll_due(now=timezone.now())
        first = fresh(first)
        assert first.state == S.KO
        [error] = first.error_codes
        assert error["codice"] == "ERR41" and error["descrizione"]  # ANAC's Italian text
        assert first.error_lines()[0].startswith("ERR41 – ")
        appalto = fresh(appalto)
        assert appalto.local_state == AppaltoState.CREATED
        assert ("conferma-appalto", "KO") in outcomes
        id_appalto = appalto.id_appalto

        configure(ko_rate=0.0)
        clock.shift(timedelta(minutes=30))
        second = fresh(confirm(appalto))
        assert second.state == S.ACKED
        assert second.idempotency_key.endswith(":conferma-appalto:2")
        # ANAC still returns the KO of the first attempt as ULTIMO_ESITO: it must be ignored.
        old = SimEsito.objects.filter(outcome="KO").get()
        SimEsito.objects.filter(pk=old.pk).update(created=timezone.now() + timedelta(hours=1))
        clock.shift(timedelta(seconds=6))
        operations.poll_due(now=timezone.now())
        assert fresh(second).state == S.WAITING
        SimEsito.objects.filter(pk=old.pk).update(created=old.created)

        clock.shift(timedelta(seconds=40))
        operations.poll_due(now=timezone.now())
    assert fresh(second).state == S.OK
    assert fresh(appalto).id_appalto == id_appalto
    log = operations_log(appalto)
    assert log.count("crea-appalto") == 1 and log.count("modifica-appalto") == 1
    assert log.count("conferma-appalto") == 2
    assert SimAppalto.objects.filter(codice_appalto=appalto.codice_appalto).count() == 1


def test_AS_ADE_06_timeout_on_crea_appalto_is_reconciled_by_codice_appalto(ops, settings):
    appalto = rup_appalto()
    settings.ANAC_TIMEOUT_READ = 0.5
    configure(latency_ms=1500)  # the simulator creates the appalto after the client gave up
    with time_machine.travel(timezone.now(), tick=True) as clock:
        op = confirm(appalto)
        crea = AnacOperation.objects.get(appalto=appalto, kind=Kind.CREA_APPALTO)
        assert crea.state == S.UNKNOWN and fresh(op).state == S.QUEUED
        assert AnacTransmission.objects.filter(outcome=TransmissionOutcome.TIMEOUT).exists()
        for _i in range(50):  # the server thread finishes the creation
            if SimAppalto.objects.filter(codice_appalto=appalto.codice_appalto).exists():
                break
            time.sleep(0.1)
        configure(latency_ms=0)
        settings.ANAC_TIMEOUT_READ = 30.0
        with pytest.raises(PcpError):  # a second click while the outcome is unknown
            confirm(appalto)
        clock.shift(timedelta(minutes=5))
        assert operations.reconcile_due(now=timezone.now()) == 1
    crea = fresh(crea)
    assert crea.state == S.OK and crea.result["adottato"] is True
    sim = SimAppalto.objects.get(codice_appalto=appalto.codice_appalto)
    assert str(fresh(appalto).id_appalto) == str(sim.id_appalto)
    assert fresh(op).state == S.ACKED  # conferma-appalto followed the adoption
    assert operations_log(appalto).count("crea-appalto") == 1
    assert "ricerca-appalto" in operations_log(appalto)


def test_AS_ADE_06_variant_nothing_found_twice_then_resend_once(ops):
    appalto = rup_appalto()
    configure(rate_5xx=1.0)  # 503 on the POST: unknown outcome, nothing created
    with time_machine.travel(timezone.now(), tick=True) as clock:
        confirm(appalto)
        crea = AnacOperation.objects.get(appalto=appalto, kind=Kind.CREA_APPALTO)
        assert crea.state == S.UNKNOWN
        configure(rate_5xx=0.0)
        operations.reconcile_due(now=timezone.now())
        assert fresh(crea).state == S.UNKNOWN
        clock.shift(timedelta(seconds=30))
        operations.reconcile_due(now=timezone.now())
        assert fresh(crea).state == S.UNKNOWN  # not 60 s apart yet
        clock.shift(timedelta(seconds=31))
        operations.reconcile_due(now=timezone.now())
    assert fresh(crea).state == S.OK
    assert SimAppalto.objects.filter(codice_appalto=appalto.codice_appalto).count() == 1
    assert operations_log(appalto).count("ricerca-appalto") == 3


def test_AS_ADE_06_variant_err38_is_adopted(ops):
    """The earlier create reached ANAC unseen: the resend answers ERR38 and is adopted."""
    appalto = rup_appalto()
    from procurement.anac.identity import NIL_FLOW_ID
    from procurement.anac.transport import AnacClient, CallContext

    with AnacClient() as client:
        ctx = CallContext(actor=actor_for(appalto), business_flow_id=NIL_FLOW_ID)
        lost = client.call(
            "ComunicaAppalto",
            "crea-appalto",
            ctx=ctx,
            json={"scheda": ad4(str(appalto.codice_appalto))},
        ).body["idAppalto"]
    confirm(appalto)
    crea = AnacOperation.objects.get(appalto=appalto, kind=Kind.CREA_APPALTO)
    assert crea.state == S.UNKNOWN and crea.attempts == 1
    operations.reconcile_due(now=timezone.now())
    assert str(fresh(appalto).id_appalto) == lost
    assert SimAppalto.objects.filter(codice_appalto=appalto.codice_appalto).count() == 1


def test_AS_ADE_07_wt_schedule_429_stalled_and_reload(ops, settings):
    stalled = []

    @receiver(operation_stalled, weak=False)
    def on_stalled(sender, operation, outcome, **kwargs):
        stalled.append(operation.pk)

    configure(never_resolves=True)
    appalto = rup_appalto()
    try:
        with time_machine.travel(timezone.now(), tick=False) as clock:
            op = fresh(confirm(appalto))
            ack = op.ack_at
            polls = []
            for _i in range(5):  # +5 s, +15 s, +30 s, +60 s, +2 min
                clock.move_to(op.next_poll_at)
                polls.append(int((op.next_poll_at - ack).total_seconds()))
                operations.poll_due(now=timezone.now())
                op = fresh(op)
                assert op.state == S.WAITING
            assert polls == [5, 15, 30, 60, 120]
            assert op.next_poll_at == ack + timedelta(minutes=5)

            clock.move_to(op.next_poll_at)  # +5 min: 429 with Retry-After 120
            configure(rate_429=1.0, retry_after_s=120)
            operations.poll_due(now=timezone.now())
            op = fresh(op)
            assert op.state == S.WAITING
            assert op.next_poll_at == ack + timedelta(minutes=7)
            last = AnacTransmission.objects.latest("id")
            assert last.outcome == TransmissionOutcome.RATE_LIMITED and last.retry_after == 120
            configure(rate_429=0.0)

            clock.move_to(op.next_poll_at)
            operations.poll_due(now=timezone.now())
            op = fresh(op)
            assert op.next_poll_at == ack + timedelta(minutes=10)  # back on the schedule
            assert operations.next_poll_after(ack, ack + timedelta(hours=2, seconds=1)) == (
                ack + timedelta(hours=3)
            )

            clock.move_to(ack + timedelta(hours=72))
            operations.poll_due(now=timezone.now())
            op = fresh(op)
            assert op.state == S.STALLED and stalled == [op.pk]
            assert op.next_poll_at == ack + timedelta(hours=78)
            clock.move_to(ack + timedelta(hours=78))
            operations.poll_due(now=timezone.now())
            assert stalled == [op.pk]  # N-15 once

            # 06/11 15:00: ANAC has decided; the RUP reloads the page: immediate poll -> OK.
            clock.move_to(ack + timedelta(hours=77, minutes=30) + timedelta(hours=1))
            SimEsito.objects.update(resolves_at=timezone.now() - timedelta(seconds=1))
            other = rup_appalto()  # someone else's reload changes nothing
            assert (
                pcp_request_poll(subject=appalto, user=other.rup, actor=None, now=timezone.now())
                is None
            )
            pcp_request_poll(
                subject=appalto, user=appalto.rup, actor=actor_for(appalto), now=timezone.now()
            )
        assert fresh(op).state == S.OK
        assert fresh(appalto).local_state == AppaltoState.CONFIRMED
        log = operations_log(appalto)
        assert log.count("crea-appalto") == 1 and log.count("conferma-appalto") == 1
    finally:
        operation_stalled.disconnect(on_stalled)


def test_double_click_sends_one_crea_appalto(ops):
    configure(latency_ms=200)
    appalto = rup_appalto()
    results = []

    def click():
        try:
            results.append(confirm(appalto).pk)
        except PcpError as exc:
            results.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, int) for r in results) == 1
    assert any("Operazione non consentita" in str(r) for r in results)
    assert SimAppalto.objects.filter(codice_appalto=appalto.codice_appalto).count() == 1


def _cig_assigned(clock):
    appalto = rup_appalto()
    confirm(appalto)
    clock.shift(timedelta(seconds=6))
    operations.poll_due(now=timezone.now())
    pcp_fetch_cigs(appalto=appalto, user=appalto.rup, actor=actor_for(appalto), now=timezone.now())
    appalto = fresh(appalto)
    assert appalto.local_state == AppaltoState.CIG_ASSIGNED
    return appalto


def test_AS_ADE_09_ann_send_and_verify(ops, outcomes):
    with time_machine.travel(timezone.now(), tick=True) as clock:
        appalto = _cig_assigned(clock)
        cig = appalto.lots.get().cig
        configure(wt_seconds=20)
        scheda = pcp_scheda_create(
            appalto=appalto,
            user=appalto.rup,
            code="ANN",
            payload=ann_payload(cig),
            now=timezone.now(),
        )
        with pytest.raises(PcpError):  # never two ANN
            pcp_scheda_create(
                appalto=appalto,
                user=appalto.rup,
                code="ANN",
                payload=ann_payload(cig),
                now=timezone.now(),
            )
        op = pcp_scheda_send(
            scheda=scheda, user=appalto.rup, actor=actor_for(appalto), now=timezone.now()
        )
        scheda = fresh(scheda)
        assert scheda.status == SchedaStatus.SENDING and scheda.id_scheda is not None
        assert fresh(op).state == S.ACKED
        sim = SimScheda.objects.get(id_scheda=scheda.id_scheda)
        assert sim.body["anacForm"]["annullamento"]["motivoAnnullamento"]["codice"] == "1"

        clock.shift(timedelta(seconds=5))
        pcp_scheda_verify(
            scheda=scheda, user=appalto.rup, actor=actor_for(appalto), now=timezone.now()
        )
        assert fresh(op).state == S.WAITING  # WT
        clock.shift(timedelta(seconds=10))  # throttled: no new poll within 30 s
        pcp_scheda_verify(
            scheda=scheda, user=appalto.rup, actor=actor_for(appalto), now=timezone.now()
        )
        polls = AnacTransmission.objects.filter(
            operation="esito-operazione", id_appalto=str(appalto.id_appalto)
        )
        assert polls.count() == 2  # one for the appalto's AP_CONF, one for the scheda

        clock.shift(timedelta(seconds=30))
        pcp_scheda_verify(
            scheda=scheda, user=appalto.rup, actor=actor_for(appalto), now=timezone.now()
        )
    scheda = fresh(scheda)
    assert fresh(op).state == S.OK
    assert scheda.status == SchedaStatus.CONFIRMED and scheda.anac_state == "CONF"
    assert appalto.lots.get().anac_state == "ANN"
    assert ("conferma-scheda", "OK") in outcomes
    rows = operations.transmissions_for(scheda)
    assert {r.operation for r in rows} >= {"crea-scheda", "conferma-scheda", "esito-operazione"}
    assert "recupera-cig" not in {r.operation for r in rows}
    with pytest.raises(PcpError):  # ANN is final
        pcp_scheda_create(
            appalto=appalto,
            user=appalto.rup,
            code="ANN",
            payload=ann_payload(cig),
            now=timezone.now(),
        )


def test_AS_ADE_10_ann_ko_then_deleted_with_cancella_scheda(ops):
    with time_machine.travel(timezone.now(), tick=True) as clock:
        appalto = _cig_assigned(clock)
        cig = appalto.lots.get().cig
        configure(ko_rate=1.0, wt_seconds=0)
        scheda = pcp_scheda_create(
            appalto=appalto,
            user=appalto.rup,
            code="ANN",
            payload=ann_payload(cig),
            now=timezone.now(),
        )
        op = pcp_scheda_send(
            scheda=scheda, user=appalto.rup, actor=actor_for(appalto), now=timezone.now()
        )
        clock.shift(timedelta(seconds=6))
        operations.poll_due(now=timezone.now())
        scheda = fresh(scheda)
        assert fresh(op).state == S.KO
        assert scheda.status == SchedaStatus.ERROR and scheda.last_errors[0]["codice"] == "ERR41"
        configure(ko_rate=0.0)
        delete = pcp_scheda_delete(
            scheda=scheda, user=appalto.rup, actor=actor_for(appalto), now=timezone.now()
        )
    assert fresh(delete).state == S.OK
    scheda = fresh(scheda)
    assert scheda.status == SchedaStatus.DELETED and scheda.anac_state == "CANC"
    assert SimScheda.objects.get(id_scheda=scheda.id_scheda).stato == "CANC"
    # The menu is enabled again: a new ANN can be created.
    again = pcp_scheda_create(
        appalto=appalto, user=appalto.rup, code="ANN", payload=ann_payload(cig), now=timezone.now()
    )
    assert again.status == SchedaStatus.DRAFT


def test_only_the_rup_can_confirm(ops):
    appalto = rup_appalto()
    other = rup_appalto(organisation=appalto.organisation).rup
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        pcp_confirm_appalto(
            appalto=appalto,
            user=other,
            actor=actor_for(appalto),
            scheda=ad4(str(appalto.codice_appalto)),
            now=timezone.now(),
        )
    assert not AnacOperation.objects.exists()


def test_jobs_claim_their_slot_once(ops):
    from procurement.anac import tasks

    configure(wt_seconds=0)
    appalto = rup_appalto()
    op = confirm(appalto)
    later = (timezone.now() + timedelta(seconds=10)).isoformat()
    assert tasks.pcp_poll_due_operations(now=later) == 1
    assert tasks.pcp_poll_due_operations(now=later) is None  # same minute: slot taken
    assert fresh(op).state == S.OK
    assert uuid.UUID(str(fresh(op).span_id))


def test_log_trasmissioni_shows_bodies_only_to_the_rup_and_staff(ops):
    from django.template.loader import render_to_string

    from tests.factories.kernel import UserFactory

    configure(wt_seconds=0)
    appalto = rup_appalto()
    confirm(appalto)
    rows = list(operations.transmissions_for(appalto))
    assert [r.operation for r in rows] == ["conferma-appalto", "crea-appalto"]  # newest first
    staff = UserFactory(is_staff=True)
    colleague = rup_appalto(organisation=appalto.organisation).rup
    assert operations.can_see_bodies(appalto.rup, appalto)
    assert operations.can_see_bodies(staff, appalto)
    assert not operations.can_see_bodies(colleague, appalto)

    public = render_to_string(
        "anac/log_trasmissioni.html",
        {"rows": rows, "show_bodies": operations.can_see_bodies(colleague, appalto)},
    )
    assert "Log Trasmissioni" in public and "crea-appalto" in public
    assert appalto.rup.tax_code in public  # "Avviata da": the acting identity is visible
    assert 'data-testid="log-hashes"' in public and "codiceAppalto" not in public
    assert rows[1].request_sha256[:10] in public

    private = render_to_string("anac/log_trasmissioni.html", {"rows": rows, "show_bodies": True})
    assert "codiceAppalto" in private and "Richiesta acquisita" in private
    assert "Bearer" not in private


def test_pcp_actor_for_needs_the_rup_with_a_strong_session(db):
    from django.test import RequestFactory

    from procurement.accounts.models import StrongAuthSession
    from procurement.accounts.strongauth import SESSION_KEY

    appalto = rup_appalto()
    now = timezone.now()

    def request_as(user, loa=2, anac_loa="3", idp="SPID"):
        session = StrongAuthSession.objects.create(
            user=user,
            provider="dev",
            idp_type=idp,
            loa=loa,
            anac_loa=anac_loa,
            authenticated_at=now,
            expires_at=now + timedelta(hours=1),
        )
        request = RequestFactory().get("/")
        request.user = user
        request.session = {SESSION_KEY: session.pk}
        return request

    actor = pcp_actor_for(
        user=appalto.rup, request=request_as(appalto.rup), appalto=appalto, now=now
    )
    assert (actor.tax_code, actor.role, actor.loa, actor.idp_type, actor.sa_ausa) == (
        appalto.rup.tax_code,
        "RP",
        "3",
        "SPID",
        appalto.sa_ausa_code,
    )
    cie = pcp_actor_for(
        user=appalto.rup,
        request=request_as(appalto.rup, loa=3, anac_loa="4", idp="CIE"),
        appalto=appalto,
        now=now,
    )
    assert (cie.loa, cie.idp_type) == ("4", "CIE")
    with pytest.raises(PcpError, match="riservata al RUP"):  # password session: MSG-D13
        pcp_actor_for(
            user=appalto.rup,
            request=request_as(appalto.rup, loa=1, anac_loa="", idp="PASSWORD"),
            appalto=appalto,
            now=now,
        )
    other = rup_appalto(organisation=appalto.organisation).rup
    with pytest.raises(PcpError, match="riservata al RUP"):
        pcp_actor_for(user=other, request=request_as(other), appalto=appalto, now=now)
    type(appalto).objects.filter(pk=appalto.pk).update(sa_ausa_code="")
    appalto.organisation.ausa_code = ""
    appalto.organisation.save()
    with pytest.raises(PcpError, match="AUSA"):
        pcp_actor_for(
            user=appalto.rup, request=request_as(appalto.rup), appalto=fresh(appalto), now=now
        )


def _row(appalto, state, **fields):
    from django.contrib.contenttypes.models import ContentType

    actor = actor_for(appalto)
    return AnacOperation.objects.create(
        kind=fields.pop("kind", Kind.CONFERMA_APPALTO),
        idempotency_key=f"test:{uuid.uuid4()}",
        state=state,
        subject_type=ContentType.objects.get_for_model(appalto),
        subject_id=str(appalto.pk),
        appalto=appalto,
        acting_user=appalto.rup,
        actor_tax_code=actor.tax_code,
        actor_loa=actor.loa,
        actor_idp=actor.idp_type,
        sa_ausa_code=actor.sa_ausa,
        created_at=fields.pop("created_at", timezone.now()),
        **fields,
    )


def test_a_worker_crash_leaves_sent_which_becomes_unknown_after_10_minutes(db):
    appalto = rup_appalto()
    now = timezone.now()
    crashed = _row(appalto, S.SENT, kind=Kind.CREA_APPALTO, sent_at=now - timedelta(minutes=11))
    recent = _row(appalto, S.SENT, kind=Kind.MODIFICA_APPALTO, sent_at=now - timedelta(minutes=2))
    operations.dispatch_due(now=now)
    assert fresh(crashed).state == S.UNKNOWN and fresh(crashed).unknown_since == now
    assert fresh(recent).state == S.SENT


def test_stalled_report_runs_once_per_day(db):
    from procurement.anac import tasks
    from procurement.notifications.models import Notification
    from tests.factories.kernel import UserFactory

    operator = UserFactory(is_staff=True)
    appalto = rup_appalto()
    _row(appalto, S.STALLED)
    _row(appalto, S.FAILED, kind=Kind.RECUPERA_CIG)
    _row(appalto, S.WAITING)
    at_eight = timezone.now().replace(hour=7, minute=0).isoformat()
    assert tasks.pcp_stalled_report(now=at_eight) == 2
    assert tasks.pcp_stalled_report(now=at_eight) is None
    assert Notification.objects.filter(recipient=operator).count() == 1


def test_a_resend_refused_with_err16_is_an_earlier_send_that_got_through(ops, outcomes):
    """A conferma-appalto whose answer was lost is resent after reconciliation; ANAC had
    already confirmed it and refuses the resend with ERR16: the outcome is polled, not a KO."""
    configure(wt_seconds=0)
    appalto = rup_appalto()
    with time_machine.travel(timezone.now(), tick=True) as clock:
        op = confirm(appalto)
        assert fresh(op).state == S.ACKED  # ANAC has it and confirms it at once
        # The answer is lost: the operation is requeued as reconciliation would do.
        AnacOperation.objects.filter(pk=op.pk).update(state=S.QUEUED, next_attempt_at=None)
        operations.dispatch(op.pk, now=timezone.now())
        resent = fresh(op)
        assert AnacTransmission.objects.latest("id").errors[0]["codice"] == "ERR16"
        assert resent.state == S.ACKED and resent.attempts == 2

        clock.shift(timedelta(seconds=6))
        operations.poll_due(now=timezone.now())
    assert fresh(op).state == S.OK
    assert fresh(appalto).local_state == AppaltoState.CONFIRMED
    assert outcomes.count(("conferma-appalto", "OK")) == 1
