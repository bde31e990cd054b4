"""AS-FVOE-08: the 07:00/14:00 schedule across DST, one run per slot, late runs, 429 pauses."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import time_machine

from fvoe.jobs import verify_slot
from fvoe.models import AuthorizationStatus, FvoeAuthorization
from fvoe.schedule import BEAT_SCHEDULE as FVOE_SCHEDULE
from fvoe.tasks import verify_access_requests
from procurement.anac.models import AnacTransmission, TransmissionOutcome
from procurement.celery import BEAT_SCHEDULE
from procurement.core.models import JobRun
from tests.beat import fire_times, local_strings
from tests.factories.kernel import aware
from tests.fvoe.conftest import strong_login

ENTRY = FVOE_SCHEDULE["fvoe-verify-access-requests"]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_verification_is_in_the_beat_schedule():
    assert BEAT_SCHEDULE["fvoe-verify-access-requests"]["task"] == (
        "fvoe.tasks.verify_access_requests"
    )


def test_as_fvoe_08_fires_at_seven_and_fourteen_when_summer_time_starts():
    fired = fire_times(ENTRY["schedule"], utc(2026, 3, 28, 22), utc(2026, 3, 29, 22))
    assert local_strings(fired) == ["2026-03-29 07:00 CEST", "2026-03-29 14:00 CEST"]
    assert [t.astimezone(UTC).hour for t in fired] == [5, 12]


def test_as_fvoe_08_fires_at_seven_and_fourteen_when_summer_time_ends():
    fired = fire_times(ENTRY["schedule"], utc(2026, 10, 24, 22), utc(2026, 10, 25, 22))
    assert local_strings(fired) == ["2026-10-25 07:00 CET", "2026-10-25 14:00 CET"]
    assert [t.astimezone(UTC).hour for t in fired] == [6, 13]


@pytest.mark.django_db
@pytest.mark.parametrize("day", [(2026, 3, 29), (2026, 10, 25)])
def test_as_fvoe_08_each_firing_runs_its_slot_once(day):
    start = utc(*day) - (utc(2026, 1, 2) - utc(2026, 1, 1)) / 12  # 22:00 UTC the day before
    fired = fire_times(ENTRY["schedule"], start, utc(*day, 22))
    for moment in fired:
        for _attempt in range(2):  # a retried task, or a second beat
            with time_machine.travel(moment, tick=False):
                verify_access_requests.apply()
    keys = sorted(JobRun.objects.filter(job="fvoe-verify").values_list("key", flat=True))
    date = "{:04d}-{:02d}-{:02d}".format(*day)
    assert keys == [f"fvoe-verify:{date}T07", f"fvoe-verify:{date}T14"]


@pytest.mark.django_db
def test_as_fvoe_08_nothing_runs_before_seven():
    assert verify_slot(now=aware(2026, 11, 24, 6, 59, 59)) is None
    assert JobRun.objects.count() == 0


@pytest.mark.django_db
def test_as_fvoe_08_beat_back_at_0740_runs_the_seven_o_clock_slot():
    summary = verify_slot(now=aware(2026, 11, 24, 7, 40))
    assert summary.key == "fvoe-verify:2026-11-24T07"


@pytest.mark.django_db
def test_as_fvoe_08_beat_back_at_0810_skips_the_slot_and_fourteen_runs():
    assert verify_slot(now=aware(2026, 11, 24, 8, 10)) is None
    run = JobRun.objects.get(key="fvoe-verify:2026-11-24T07")
    assert run.summary["outcome"] == "SKIPPED"
    assert verify_slot(now=aware(2026, 11, 24, 14, 0)).key == "fvoe-verify:2026-11-24T14"


def _requested(world, sim, n: int):
    """n operators of the appalto with a pending request at ANAC."""
    from fvoe.services import access_request_create, appalto_operator_register

    codes = []
    for i in range(n):
        body = f"{50000000 + i:010d}"
        from stdnum import luhn

        code = body + luhn.calc_check_digit(body)
        appalto_operator_register(
            appalto=world.appalto, tax_code=code, name=f"Operatore {i:02d} S.r.l.", source="offer"
        )
        sim.script(code, "manual")
        codes.append(code)
    access_request_create(
        user=world.giulio, appalto=world.appalto, tax_codes=codes, now=aware(2026, 11, 24, 6, 0)
    )
    assert FvoeAuthorization.objects.filter(status=AuthorizationStatus.REQUESTED).count() == n
    return codes


@pytest.mark.django_db(transaction=True)
def test_as_fvoe_08_two_beats_at_seven_verify_each_authorisation_once(world, sim):
    with time_machine.travel(aware(2026, 11, 24, 6, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 24, 5, 55))
        _requested(world, sim, 6)
        clock.move_to(aware(2026, 11, 24, 7, 0))
        results = []

        def beat():
            results.append(verify_slot(now=aware(2026, 11, 24, 7, 0), concurrency=2))

        threads = [threading.Thread(target=beat) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert JobRun.objects.filter(key="fvoe-verify:2026-11-24T07").count() == 1
    assert sum(1 for r in results if r is not None) == 1
    verified = AnacTransmission.objects.filter(operation="verifica-richiesta-accesso-fvoe")
    assert verified.count() == 6
    assert len(set(verified.values_list("object_label", flat=True))) == 6


@pytest.mark.django_db(transaction=True)
def test_as_fvoe_08_a_429_pauses_the_queue_and_every_item_is_verified(world, sim):
    slept = []
    fake = {"t": 0.0}

    def sleep(seconds):
        slept.append(seconds)
        fake["t"] += seconds

    with time_machine.travel(aware(2026, 11, 24, 6, 0), tick=True) as clock:
        strong_login(world.elisa, aware(2026, 11, 24, 5, 55))
        _requested(world, sim, 12)
        clock.move_to(aware(2026, 11, 24, 7, 0))
        sim.config(rate_429=0.25, retry_after_s=120, seed=11)
        try:
            summary = verify_slot(
                now=aware(2026, 11, 24, 7, 0),
                concurrency=1,
                rate_per_second=0,
                sleep=sleep,
                monotonic=lambda: fake["t"],
            )
        finally:
            sim.config(rate_429=0.0, retry_after_s=1, seed=None)
    assert summary.rate_limited >= 1
    assert summary.verified == 12 and summary.failed == 0
    assert 120 in [round(s) for s in slept]
    limited = AnacTransmission.objects.filter(outcome=TransmissionOutcome.RATE_LIMITED)
    assert limited.count() == summary.rate_limited
    assert all(t.retry_after == 120 for t in limited)
    run = JobRun.objects.get(key="fvoe-verify:2026-11-24T07")
    assert run.summary["rate_limited"] == summary.rate_limited and run.done == 12
