from celery import shared_task

from .services import email_deliver, outbox_sweep


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def deliver_email(outbox_id: int) -> str:
    return email_deliver(outbox_id=outbox_id)


@shared_task(acks_late=True)
def sweep_outbox() -> int:
    return outbox_sweep()
