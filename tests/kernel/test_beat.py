"""The beat schedule fires at local wall-clock times, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from celery.schedules import crontab

from procurement.celery import BEAT_SCHEDULE, app
from procurement.core.jobs import claimed_run, job_claim, slot_key
from procurement.core.models import JobRun, JobRunStatus
from procurement.core.tasks import heartbeat
from tests.beat import fire_times, local_strings


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_scheduler_runs_in_rome_time():
    assert str(app.conf.timezone) == "Europe/Rome"
    assert app.now().tzinfo is not None


def test_every_scheduled_entry_names_a_registered_task():
    app.loader.import_default_modules()
    for name, entry in BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


def test_seven_and_fourteen_on_the_day_summer_time_starts():
    fired = fire_times(crontab(hour="7,14", minute=0), utc(2026, 3, 28), utc(2026, 3, 30, 22))
    assert local_strings(fired) == [
        "2026-03-28 07:00 CET",
        "2026-03-28 14:00 CET",
        "2026-03-29 07:00 CEST",
        "2026-03-29 14:00 CEST",
        "2026-03-30 07:00 CEST",
        "2026-03-30 14:00 CEST",
    ]


def test_seven_and_fourteen_on_the_day_summer_time_ends():
    fired = fire_times(crontab(hour="7,14", minute=0), utc(2026, 10, 24), utc(2026, 10, 26, 22))
    assert local_strings(fired) == [
        "2026-10-24 07:00 CEST",
        "2026-10-24 14:00 CEST",
        "2026-10-25 07:00 CET",
        "2026-10-25 14:00 CET",
        "2026-10-26 07:00 CET",
        "2026-10-26 14:00 CET",
    ]


def test_a_slot_missed_while_beat_was_down_runs_late_once():
    # Beat is down from 06:00 to 08:30 local time on 2026-10-25 (CET, UTC+1).
    fired = fire_times(
        crontab(hour="7,14", minute=0),
        utc(2026, 10, 25),
        utc(2026, 10, 25, 22),
        down=(utc(2026, 10, 25, 5), utc(2026, 10, 25, 7, 30)),
    )
    assert local_strings(fired) == ["2026-10-25 08:30 CET", "2026-10-25 14:00 CET"]


def test_a_slot_missed_by_more_than_the_starting_deadline_is_skipped():
    # Down from 06:00 to 13:30 local: 07:00 is more than three hours behind, 14:00 runs.
    assert app.conf.beat_cron_starting_deadline == 3 * 3600
    fired = fire_times(
        crontab(hour="7,14", minute=0),
        utc(2026, 10, 25),
        utc(2026, 10, 25, 22),
        down=(utc(2026, 10, 25, 5), utc(2026, 10, 25, 12, 30)),
    )
    assert [t.strftime("%H") for t in fired] == ["14"]


def test_the_slot_key_is_the_local_hour():
    # 06:00 UTC on 2026-10-25 is 07:00 in Rome (CET); on 2026-10-24 it was 08:00 (CEST).
    assert slot_key("fvoe", utc(2026, 10, 25, 6, 0, 5)) == "fvoe:2026-10-25T07"
    assert slot_key("fvoe", utc(2026, 10, 24, 6, 0, 5)) == "fvoe:2026-10-24T08"


@pytest.mark.django_db
def test_a_slot_is_claimed_once():
    now = utc(2026, 10, 25, 6)
    first = job_claim(job="demo", key="demo:slot", now=now)
    second = job_claim(job="demo", key="demo:slot", now=now)

    assert first is not None and second is None
    assert JobRun.objects.filter(key="demo:slot").count() == 1


@pytest.mark.django_db
def test_a_failing_run_is_recorded_with_its_error_and_its_slot_stays_claimed():
    now = utc(2026, 10, 25, 6)
    with pytest.raises(RuntimeError), claimed_run(job="demo", key="demo:x", now=now):
        raise RuntimeError("servizio non raggiungibile")

    run = JobRun.objects.get(key="demo:x")
    assert run.status == JobRunStatus.FAILED
    assert "servizio non raggiungibile" in run.error
    with claimed_run(job="demo", key="demo:x", now=now) as again:
        assert again is None


@pytest.mark.django_db
def test_the_heartbeat_runs_once_per_minute_whatever_the_retries(time_machine):
    time_machine.move_to(utc(2026, 10, 25, 6, 0, 10), tick=False)
    assert heartbeat.apply().get() == "heartbeat:2026-10-25T07:00"
    assert heartbeat.apply().get() is None  # the same minute again: nothing
    time_machine.move_to(utc(2026, 10, 25, 6, 1, 10), tick=False)
    assert heartbeat.apply().get() == "heartbeat:2026-10-25T07:01"

    runs = JobRun.objects.filter(job="heartbeat").order_by("slot")
    assert [r.status for r in runs] == [JobRunStatus.SUCCEEDED] * 2
