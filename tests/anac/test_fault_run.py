"""Fault run (issue 3 "Must show"): 20 % 5xx, 10 % 429 and 200 ms latency injected in the
simulator; 100 "Conferma appalto" driven concurrently through the services, then the sweepers
(dispatch, reconciliation, polling) run concurrently in threads until every operation is final.
Asserts zero duplicate appalti at the simulator and zero lost / never-final operations, and
prints the figures."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from procurement.anac import operations
from procurement.anac.models import (
    FINAL_STATES,
    AnacOperation,
    AnacTransmission,
)
from procurement.anac.models import (
    AnacOperationKind as Kind,
)
from procurement.anac.models import (
    AnacOperationState as S,
)
from procurement.anac.simulator.models import SimAppalto, SimulatorConfig
from procurement.pcp.models import AppaltoState, PcpAppalto
from procurement.pcp.services import pcp_confirm_appalto
from tests.anac.test_simulator_pcp import ad4
from tests.factories.pcp import actor_for, rup_appalto

pytestmark = pytest.mark.django_db(transaction=True)

CONFIRMATIONS = 100
WORKERS = 10
MAX_ROUNDS = 40


def _in_thread(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    finally:
        connection.close()


def test_fault_run_100_concurrent_confirmations(anac_live, settings):
    settings.ANAC_DISPATCH_INLINE = True
    config = SimulatorConfig.current()
    config.rate_5xx, config.rate_429, config.latency_ms = 0.2, 0.1, 200
    config.retry_after_s, config.wt_seconds = 2, 0.0
    config.save()
    appalti = [rup_appalto() for _ in range(CONFIRMATIONS)]
    started = time.perf_counter()

    def click(appalto):
        return pcp_confirm_appalto(
            appalto=appalto,
            user=appalto.rup,
            actor=actor_for(appalto),
            scheda=ad4(str(appalto.codice_appalto)),
            now=timezone.now(),
        ).pk

    lock = threading.Lock()
    sweeps = Counter()

    def sweep(now):
        done = Counter(
            dispatched=operations.dispatch_due(now=now),
            reconciled=operations.reconcile_due(now=now),
            polled=operations.poll_due(now=now),
        )
        with lock:
            sweeps.update(done)

    with time_machine.travel(timezone.now(), tick=True) as clock:
        with ThreadPoolExecutor(WORKERS) as pool:
            confirm_ids = list(pool.map(lambda a: _in_thread(click, a), appalti))
        rounds = 0
        while rounds < MAX_ROUNDS:
            pending = AnacOperation.objects.exclude(state__in=list(FINAL_STATES)).count()
            if not pending:
                break
            rounds += 1
            clock.shift(timedelta(minutes=6))
            now = timezone.now()
            with ThreadPoolExecutor(WORKERS) as pool:  # overlapping sweepers claim items safely
                list(pool.map(lambda _i, t=now: _in_thread(sweep, t), range(WORKERS)))
    elapsed = time.perf_counter() - started

    states = Counter(AnacOperation.objects.values_list("state", flat=True))
    confirm_states = Counter(
        AnacOperation.objects.filter(pk__in=confirm_ids).values_list("state", flat=True)
    )
    codes = [str(a.codice_appalto) for a in appalti]
    duplicates = (
        SimAppalto.objects.filter(codice_appalto__in=codes)
        .values("codice_appalto")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    at_simulator = SimAppalto.objects.filter(codice_appalto__in=codes).count()
    http = Counter(AnacTransmission.objects.values_list("http_status", flat=True))
    outcomes = Counter(AnacTransmission.objects.values_list("outcome", flat=True))
    adopted = AnacOperation.objects.filter(kind=Kind.CREA_APPALTO, result__adottato=True).count()
    crea_sent = AnacTransmission.objects.filter(operation="crea-appalto").count()
    print(
        f"\nFAULT RUN: {CONFIRMATIONS} confirmations, 20% 5xx, 10% 429, 200 ms latency\n"
        f"  elapsed {elapsed:.1f} s, sweep rounds {rounds} (6 simulated minutes each), "
        f"sweeps {dict(sweeps)}\n"
        f"  operations by state {dict(states)}; conferma-appalto {dict(confirm_states)}\n"
        f"  HTTP exchanges {sum(http.values())}: by status {dict(http)}; by outcome "
        f"{dict(outcomes)}\n"
        f"  crea-appalto requests {crea_sent}, creations adopted by reconciliation {adopted}\n"
        f"  appalti at the simulator {at_simulator}, duplicates {duplicates}"
    )
    assert duplicates == 0
    assert at_simulator == CONFIRMATIONS
    not_ok = [
        (op.kind, op.state, op.error_codes if hasattr(op, "error_codes") else None, op.result)
        for op in AnacOperation.objects.exclude(state=S.OK)
    ]
    assert confirm_states == Counter({S.OK: CONFIRMATIONS}), f"not OK: {not_ok}"
    assert not AnacOperation.objects.exclude(state__in=list(FINAL_STATES)).exists()
    assert PcpAppalto.objects.filter(local_state=AppaltoState.CONFIRMED).count() == CONFIRMATIONS
    assert http[503] > 0 and http[429] > 0  # the faults really happened
