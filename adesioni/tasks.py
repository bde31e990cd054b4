"""Thin Celery tasks around the services (safe to run twice)."""

from celery import shared_task

from .pdf import summary_render


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=5,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=600,
)
def render_summary_pdf(self, order_id: str) -> str:
    """adesioni_render_summary_pdf: the summary sheet after the CIG is acquired (R-ADE-071)."""
    order = summary_render(order_id=order_id)
    return str(order.summary_generated_id or "")


@shared_task(acks_late=True)
def sweep_missing_summaries() -> int | None:
    """Every 5 minutes: render the sheets whose after-commit task was lost (broker down)."""
    from django.utils import timezone

    from procurement.core.jobs import claimed_run, slot_key

    from .models import OrderStatus, SupplyOrder

    now = timezone.now()
    key = slot_key("adesioni-summary-sweep", now, resolution="minute")
    with claimed_run(job="adesioni-summary-sweep", key=key, now=now, slot=now) as run:
        if run is None:
            return None
        pending = SupplyOrder.objects.filter(
            status=OrderStatus.CIG_ACQUIRED, summary_generated__isnull=True
        ).values_list("pk", flat=True)[:100]
        done = 0
        for pk in pending:
            summary_render(order_id=pk, now=now)
            done += 1
        run.summary = {"rendered": done}
    return done
