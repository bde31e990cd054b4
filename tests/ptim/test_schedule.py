"""The PTIM beat entries (spec §6.1, §6.3 point 6) stepped through the real Celery scheduler
across the DST changes of 2026 (last Sunday of March and of October), as tests/fvoe does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import time_machine

from procurement.celery import BEAT_SCHEDULE
from procurement.core.models import JobRun
from ptim.models import AnnulmentKind, Contract, ContractState, FrameworkAgreement
from ptim.schedule import BEAT_SCHEDULE as PTIM_SCHEDULE
from ptim.tasks import expire_bookings, expire_stipulations, notify_expired_refusals
from tests.beat import fire_times, local_strings
from tests.factories.kernel import aware

DAILY = {
    "ptim-expire-bookings": 5,
    "ptim-expire-stipulations": 10,
    "ptim-expired-refusals": 15,
}
SPRING = (2026, 3, 29)  # 02:00 CET → 03:00 CEST
AUTUMN = (2026, 10, 25)  # 03:00 CEST → 02:00 CET


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _local_day(day) -> tuple[datetime, datetime]:
    """The UTC bounds of the local (Europe/Rome) calendar day `day`."""
    start = aware(*day, 0, 0)
    end = aware(*(start + timedelta(days=1, hours=3)).date().timetuple()[:3], 0, 0)
    return start.astimezone(UTC), end.astimezone(UTC)


def test_every_ptim_entry_is_in_the_static_beat_schedule():
    for name, entry in PTIM_SCHEDULE.items():
        assert BEAT_SCHEDULE[name]["task"] == entry["task"]


@pytest.mark.parametrize(
    ("day", "offsets"),
    [(SPRING, ("CET", "CEST")), (AUTUMN, ("CEST", "CET"))],
    ids=["summer-time-starts", "summer-time-ends"],
)
@pytest.mark.parametrize("job", list(DAILY))
def test_daily_jobs_fire_at_00_and_06_local_on_dst_days(job, day, offsets):
    start, end = _local_day(day)
    fired = fire_times(PTIM_SCHEDULE[job]["schedule"], start - timedelta(minutes=1), end)
    minute = DAILY[job]
    date = "{:04d}-{:02d}-{:02d}".format(*day)
    assert local_strings(fired) == [
        f"{date} 00:{minute:02d} {offsets[0]}",
        f"{date} 06:{minute:02d} {offsets[1]}",
    ]


def _utc_gaps(fired) -> list[int]:
    # Differences in UTC: Python subtracts same-zone datetimes on the wall clock.
    moments = [t.astimezone(UTC) for t in fired]
    return [int((b - a).total_seconds() // 60) for a, b in pairwise(moments)]


def test_receipt_sweeper_every_ten_minutes_when_summer_time_starts():
    start, end = _local_day(SPRING)
    fired = fire_times(
        PTIM_SCHEDULE["ptim-sweep-receipts"]["schedule"], start - timedelta(minutes=1), end
    )
    assert set(_utc_gaps(fired)) == {10}
    assert len(fired) == 23 * 6  # a 23-hour day
    assert "2026-03-29 01:50 CET" in local_strings(fired)
    assert "2026-03-29 03:00 CEST" in local_strings(fired)


def test_receipt_sweeper_skips_the_repeated_hour_when_summer_time_ends():
    """Celery reads crontabs on the Europe/Rome wall clock: the repeated 02:00–03:00 hour runs
    once, so there is one 70-minute pause (the sweeper is only a safety net for receipts the
    after-commit render missed)."""
    start, end = _local_day(AUTUMN)
    fired = fire_times(
        PTIM_SCHEDULE["ptim-sweep-receipts"]["schedule"], start - timedelta(minutes=1), end
    )
    gaps = _utc_gaps(fired)
    assert sorted(set(gaps)) == [10, 70] and gaps.count(70) == 1
    i = gaps.index(70)
    assert local_strings(fired[i : i + 2]) == ["2026-10-25 02:50 CEST", "2026-10-25 03:00 CET"]
    assert len(fired) == 24 * 6


@pytest.mark.django_db
@pytest.mark.parametrize("day", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_each_firing_claims_its_slot_once_and_expires_on_the_right_local_day(f0, day):
    """A booking whose last valid day is the DST day lapses at the 00:05 run of the next day,
    not before; a repeated run (retry, second beat) of the same slot does nothing."""
    FrameworkAgreement.objects.filter(pk=f0.aq.pk).update(valid_until=datetime(2099, 12, 31).date())
    booking_day = aware(*day, 9, 0) - timedelta(days=10)
    contract = f0.book("I-1", at=booking_day)
    assert contract.acceptance_deadline.timetuple()[:3] == day
    start, end = _local_day(day)
    next_start, next_end = _local_day((end + timedelta(hours=2)).astimezone(UTC).timetuple()[:3])
    for lo, hi in ((start, end), (next_start, next_end)):
        for job, task in (
            ("ptim-expire-bookings", expire_bookings),
            ("ptim-expire-stipulations", expire_stipulations),
            ("ptim-expired-refusals", notify_expired_refusals),
        ):
            for moment in fire_times(PTIM_SCHEDULE[job]["schedule"], lo - timedelta(minutes=1), hi):
                for _attempt in range(2):  # a retried task, or a second beat
                    with time_machine.travel(moment, tick=False):
                        task.apply()
                c = Contract.objects.get(pk=contract.pk)
                if lo == start:
                    assert c.state == ContractState.BOOKED  # last valid day: still open
    c = Contract.objects.get(pk=contract.pk)
    assert (c.state, c.annulment_kind) == (ContractState.ANNULLED, AnnulmentKind.BOOKING_EXPIRED)
    assert c.annulled_at.astimezone(next_start.tzinfo) < next_start + timedelta(hours=1)
    date = "{:04d}-{:02d}-{:02d}".format(*day)
    keys = sorted(JobRun.objects.filter(job="ptim-expire-bookings").values_list("key", flat=True))
    next_date = next_start.astimezone(aware(2026, 1, 1).tzinfo).strftime("%Y-%m-%d")
    assert keys == [
        f"ptim-expire-bookings:{date}T00",
        f"ptim-expire-bookings:{date}T06",
        f"ptim-expire-bookings:{next_date}T00",
        f"ptim-expire-bookings:{next_date}T06",
    ]
    assert JobRun.objects.count() == 12
