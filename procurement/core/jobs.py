"""Claiming slots of periodic jobs.

A run claims its slot by inserting the JobRun row with a unique key: a second beat process, a
retried task or a manual re-run of the same slot fails the insert and does nothing.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import JobRun, JobRunStatus


def slot_key(job: str, slot: datetime, *, resolution: str = "hour") -> str:
    """A readable, unique key for the slot of `job` that contains `slot`, in local time."""
    local = timezone.localtime(slot)
    fmt = {"hour": "%Y-%m-%dT%H", "minute": "%Y-%m-%dT%H:%M", "day": "%Y-%m-%d"}[resolution]
    return f"{job}:{local.strftime(fmt)}"


def job_claim(
    *, job: str, key: str, now: datetime, slot: datetime | None = None, trigger: str = "scheduler"
) -> JobRun | None:
    """Insert the JobRun for `key`; None when that slot was already claimed."""
    try:
        with transaction.atomic():
            return JobRun.objects.create(
                key=key,
                job=job,
                slot=slot,
                trigger=trigger,
                host=socket.gethostname()[:255],
                started_at=now,
            )
    except IntegrityError:
        return None


def job_finish(run: JobRun, *, now: datetime, summary: dict | None = None, error: str = "") -> None:
    run.finished_at = now
    run.status = JobRunStatus.FAILED if error else JobRunStatus.SUCCEEDED
    run.error = error
    if summary is not None:
        run.summary = summary
    run.save(update_fields=["finished_at", "status", "error", "summary", "total", "done", "failed"])


@contextmanager
def claimed_run(
    *, job: str, key: str, now: datetime, slot: datetime | None = None, trigger: str = "scheduler"
):
    """`with claimed_run(...) as run:` runs the body once per key; `run` is None if already done."""
    run = job_claim(job=job, key=key, now=now, slot=slot, trigger=trigger)
    if run is None:
        yield None
        return
    try:
        yield run
    except Exception as exc:
        job_finish(run, now=timezone.now(), error=f"{type(exc).__name__}: {exc}")
        raise
    job_finish(run, now=timezone.now())
