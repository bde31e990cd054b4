"""The scheduled verification of access requests at 07:00 and 14:00 (Europe/Rome), at scale.

One run per slot (`JobRun` key `fvoe-verify:YYYY-MM-DDTHH`, local date and hour). The items —
authorisations REQUESTED or AUTHORISED of appalti not archived — are processed by a pool of
worker threads (`FVOE_VERIFY_CONCURRENCY`), each with its own HTTP client and database
connection, within a global call rate (`FVOE_RATE_LIMIT_PER_S`, 0 = unlimited). A 429 pauses
the whole queue for Retry-After seconds and the item is retried after the pause. Each item is
claimed with a conditional update on `last_check_slot`, so a second beat or a retried task never
verifies an authorisation twice in one slot. Progress is written on the JobRun as it goes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta

from django.db import close_old_connections, connection
from django.utils import timezone

from procurement.anac.errors import AnacError, AnacRateLimited
from procurement.anac.fvoe import FvoeClient
from procurement.core.jobs import claimed_run, slot_key
from procurement.core.models import JobRun

from .models import VERIFIABLE_STATUSES, CheckTrigger, FvoeAuthorization, FvoeSkippedCheck
from .services import (
    SlotSummary,
    authorization_verify,
    conf,
    documents_sync,
    maintenance_window,
    notify_verification_skipped,
    record_span,
)

logger = logging.getLogger(__name__)

JOB = "fvoe-verify"
SLOT_HOURS = (7, 14)


SKIP_NO_IDENTITY = "nessun accesso SPID/CIE del RUP negli ultimi 30 giorni"
SKIP_MAINTENANCE = "Manutenzione ANAC"
SKIP_LATE = "slot non eseguito entro 60 minuti"


def record_skips(*, appalto_ids, key: str, trigger: str, now: datetime, reason: str) -> None:
    """One "Saltata" line per appalto and slot in Cronologia PCP (R-FVOE-071)."""
    FvoeSkippedCheck.objects.bulk_create(
        [
            FvoeSkippedCheck(appalto_id=pk, slot=key, trigger=trigger, at=now, reason=reason)
            for pk in set(appalto_ids)
        ],
        ignore_conflicts=True,
    )


def _concerned_appalti():
    return (
        FvoeAuthorization.objects.filter(
            status__in=VERIFIABLE_STATUSES, appalto__archived_at__isnull=True
        )
        .values_list("appalto_id", flat=True)
        .distinct()
    )


def slot_of(now: datetime) -> datetime | None:
    """The latest 07:00/14:00 local slot at or before `now` (same local day), or None."""
    local = timezone.localtime(now)
    for hour in sorted(SLOT_HOURS, reverse=True):
        slot = timezone.make_aware(
            datetime(local.year, local.month, local.day, hour, 0), timezone.get_current_timezone()
        )
        if slot <= now:
            return slot
    return None


class RateGate:
    """A global pace for calls, and the pause every worker honours after a 429."""

    def __init__(self, *, per_second: float, sleep, monotonic):
        self.interval = 1.0 / per_second if per_second else 0.0
        self.sleep = sleep
        self.monotonic = monotonic
        self.lock = threading.Lock()
        self.next_at = 0.0
        self.paused_until = 0.0

    def wait(self) -> None:
        with self.lock:
            now = self.monotonic()
            start = max(now, self.next_at, self.paused_until)
            self.next_at = start + self.interval
        delay = start - now
        if delay > 0:
            self.sleep(delay)

    def pause(self, seconds: float) -> None:
        with self.lock:
            self.paused_until = max(self.paused_until, self.monotonic() + seconds)


def verify_slot(
    *,
    now: datetime,
    slot: datetime | None = None,
    concurrency: int | None = None,
    rate_per_second: float | None = None,
    client_factory=None,
    sleep=time.sleep,
    monotonic=time.monotonic,
    clock=timezone.now,
) -> SlotSummary | None:
    """Run the verification of one slot; None when the slot was already run (or never due)."""
    slot = slot or slot_of(now)
    if slot is None:
        return None
    key = slot_key(JOB, slot)
    catchup = timedelta(minutes=conf("FVOE_SLOT_CATCHUP_MINUTES", 60))
    trigger = (
        CheckTrigger.SCHEDULED_07
        if timezone.localtime(slot).hour == 7
        else (CheckTrigger.SCHEDULED_14)
    )
    if now - slot > catchup:
        # D-FVOE-16: too late; record the slot as skipped (once) and leave it to the next one.
        with claimed_run(job=JOB, key=key, now=now, slot=slot) as run:
            if run is not None:
                run.summary = {"outcome": "SKIPPED", "reason": "Saltata: oltre 60 minuti"}
                JobRun.objects.filter(pk=run.pk).update(summary=run.summary)
                record_skips(
                    appalto_ids=_concerned_appalti(),
                    key=key,
                    trigger=trigger,
                    now=now,
                    reason=SKIP_LATE,
                )
        return None
    window = maintenance_window(now)
    if window is not None:
        # R-FVOE-083, §7 rule 5: no call during ANAC's maintenance; the next slot tries again.
        with claimed_run(job=JOB, key=key, now=now, slot=slot) as run:
            if run is None:
                return None
            skipped = FvoeAuthorization.objects.filter(
                status__in=VERIFIABLE_STATUSES, appalto__archived_at__isnull=True
            ).count()
            summary = SlotSummary(key=key, total=skipped, skipped=skipped)
            summary.extra = {
                "outcome": "SKIPPED",
                "reason": "Manutenzione ANAC",
                "until": window.ends_at.isoformat(),
            }
            run.total = skipped
            run.summary = {**asdict(summary), "outcome": "SKIPPED", "reason": SKIP_MAINTENANCE}
            record_skips(
                appalto_ids=_concerned_appalti(),
                key=key,
                trigger=trigger,
                now=now,
                reason=SKIP_MAINTENANCE,
            )
        return summary
    with claimed_run(job=JOB, key=key, now=now, slot=slot) as run:
        if run is None:
            return None
        summary = SlotSummary(key=key)
        ids = list(
            FvoeAuthorization.objects.filter(
                status__in=VERIFIABLE_STATUSES, appalto__archived_at__isnull=True
            )
            .exclude(last_check_slot=key)
            .order_by("appalto_id", "pk")
            .values_list("pk", flat=True)
        )
        summary.total = len(ids)
        JobRun.objects.filter(pk=run.pk).update(total=summary.total)
        started = monotonic()
        _run_items(
            ids,
            key=key,
            trigger=trigger,
            slot=slot,
            summary=summary,
            run=run,
            concurrency=concurrency or conf("FVOE_VERIFY_CONCURRENCY", 8),
            gate=RateGate(
                per_second=(
                    rate_per_second
                    if rate_per_second is not None
                    else conf("FVOE_RATE_LIMIT_PER_S", 5)
                ),
                sleep=sleep,
                monotonic=monotonic,
            ),
            client_factory=client_factory or FvoeClient,
            clock=clock,
        )
        summary.extra["elapsed_s"] = round(monotonic() - started, 3)
        run.total = summary.total
        run.done = summary.verified + summary.changed
        run.failed = summary.failed
        run.summary = asdict(summary)
    return summary


def _run_items(ids, *, key, trigger, slot, summary, run, concurrency, gate, client_factory, clock):
    work: queue.Queue = queue.Queue()
    for pk in ids:
        work.put(pk)
    lock = threading.Lock()
    deadline = slot + timedelta(hours=conf("FVOE_SLOT_DEADLINE_HOURS", 6))
    span_id = record_span(trigger=trigger, span_id=str(uuid.uuid4()))  # one span per slot
    in_thread = concurrency <= 1

    def count(**deltas):
        with lock:
            for name, value in deltas.items():
                setattr(summary, name, getattr(summary, name) + value)
            processed = summary.verified + summary.changed + summary.failed + summary.skipped
            if processed % 100 == 0:
                JobRun.objects.filter(pk=run.pk).update(
                    done=summary.verified + summary.changed, failed=summary.failed
                )

    def worker():
        client = client_factory()
        try:
            while True:
                try:
                    pk = work.get_nowait()
                except queue.Empty:
                    return
                if clock() > deadline:
                    count(not_verified=1)
                    continue
                _one(pk, client)
        finally:
            client.close()
            if not in_thread:
                connection.close()

    def _one(pk, client):
        claimed = (
            FvoeAuthorization.objects.filter(pk=pk, status__in=VERIFIABLE_STATUSES)
            .exclude(last_check_slot=key)
            .update(last_check_slot=key)
        )
        if claimed != 1:
            return
        auth = FvoeAuthorization.objects.select_related("appalto", "operator", "request").get(pk=pk)
        gate.wait()
        with lock:
            summary.calls += 1
        try:
            outcome = authorization_verify(
                authorization=auth,
                trigger=trigger,
                now=clock(),
                slot=key,
                client=client,
                span_id=span_id,
            )
        except AnacRateLimited as exc:
            # Give the item back and pause everybody for Retry-After.
            FvoeAuthorization.objects.filter(pk=pk, last_check_slot=key).update(last_check_slot="")
            gate.pause(float(exc.retry_after or 60))
            count(rate_limited=1)
            work.put(pk)
            return
        except AnacError:
            logger.info("fvoe verify failed for %s", pk, exc_info=True)
            count(failed=1)
            return
        if outcome.result == "skipped":
            count(skipped=1)
            record_skips(
                appalto_ids=[auth.appalto_id],
                key=key,
                trigger=trigger,
                now=clock(),
                reason=SKIP_NO_IDENTITY,
            )
            notify_verification_skipped(authorization=auth, now=clock())
            return
        count(changed=1) if outcome.result == "changed" else count(verified=1)
        if outcome.needs_sync:
            try:
                stored = documents_sync(
                    authorization_id=pk,
                    key=key,
                    now=clock(),
                    client=client,
                    trigger=trigger,
                    span_id=span_id,
                )
                count(synced_documents=stored)
            except AnacRateLimited as exc:
                gate.pause(float(exc.retry_after or 60))
                count(rate_limited=1)
            except AnacError:
                logger.info("fvoe sync failed for %s", pk, exc_info=True)

    if in_thread:
        worker()
        return
    threads = [
        threading.Thread(target=_thread_main(worker), daemon=True) for _ in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _thread_main(worker):
    def main():
        close_old_connections()
        worker()

    return main
