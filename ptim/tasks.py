"""Thin Celery tasks around the services; each periodic run claims its slot (idempotent)."""

from celery import shared_task
from django.utils import timezone

from procurement.core.jobs import claimed_run, slot_key

from . import pdf, services
from .models import Receipt


def _run(job: str, func):
    now = timezone.now()
    key = slot_key(job, now, resolution="hour")
    with claimed_run(job=job, key=key, now=now, slot=now) as run:
        if run is None:
            return None
        done = func(now=now)
        run.summary = {"done": done}
    return done


@shared_task(acks_late=True)
def expire_bookings():
    return _run("ptim-expire-bookings", services.expire_bookings)


@shared_task(acks_late=True)
def expire_stipulations():
    return _run("ptim-expire-stipulations", services.expire_stipulations)


@shared_task(acks_late=True)
def notify_expired_refusals():
    return _run("ptim-expired-refusals", services.notify_expired_refusals)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def render_receipt(receipt_id: int) -> bool:
    return pdf.render_receipt(receipt_id)


@shared_task(acks_late=True)
def sweep_receipts() -> int:
    """Render the receipts still without a file (broker down at booking time)."""
    ids = list(Receipt.objects.filter(file="").values_list("pk", flat=True)[:200])
    return sum(bool(pdf.render_receipt(pk)) for pk in ids)
