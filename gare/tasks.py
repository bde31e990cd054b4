"""Celery tasks: thin wrappers around the services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task
def close_due_submissions() -> int:
    """Timer T04: close every published tender whose offer deadline has passed (idempotent)."""
    from .models import Tender, TenderStatus
    from .services.submission import close_submission_if_due

    now = timezone.now()
    closed = 0
    for tender in Tender.objects.filter(status=TenderStatus.PUBLISHED, offer_deadline__lte=now):
        closed += close_submission_if_due(tender=tender, now=now)
    return closed


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=5,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=600,
)
def render_gare_document(self, document_id: int) -> str:
    """Render and store one minutes/award PDF requested by a procedure step (R-GARE-084)."""
    from .services.documents import document_render

    doc = document_render(document_id=document_id, now=timezone.now())
    return doc.sha256


@shared_task(acks_late=True)
def sweep_pending_documents() -> int | None:
    """Every 5 minutes: render the documents whose after-commit task was lost (broker down)."""
    from procurement.core.jobs import claimed_run, slot_key

    from .services.documents import render_pending

    now = timezone.now()
    key = slot_key("gare-documents-sweep", now, resolution="minute")
    with claimed_run(job="gare-documents-sweep", key=key, now=now, slot=now) as run:
        if run is None:
            return None
        done = render_pending(now=now)
        run.summary = {"rendered": done}
    return done


@shared_task(acks_late=True)
def offer_validity_job() -> dict | None:
    """Daily: validity reminders to the RPA/RUP (30 and 10 days before) and renunciations of the
    participants that did not confirm an extension by its deadline (R-GARE-074, D-50)."""
    from procurement.core.jobs import claimed_run, slot_key

    from .services.validity import validity_sweep

    now = timezone.now()
    key = slot_key("gare-offer-validity", now, resolution="hour")
    with claimed_run(job="gare-offer-validity", key=key, now=now, slot=now) as run:
        if run is None:
            return None
        summary = validity_sweep(now=now)
        run.summary = summary
    return summary


# --- FVOE requirement verification (R-GARE-146; services/verification_fvoe.py) ----------------


@shared_task(acks_late=True)
def fvoe_verification_submit(verification_id: int) -> str:
    """After commit: send the QUEUED access request of a requirement verification to ANAC."""
    from .services.verification_fvoe import verification_fvoe_submit

    return verification_fvoe_submit(verification_id=verification_id, now=timezone.now())


@shared_task(acks_late=True)
def fvoe_verification_poll(verification_id: int, force: bool = False) -> str:
    """Authorisations and documents of one verification, with the RUP's stored identity."""
    from .services.verification_fvoe import verification_fvoe_poll

    return verification_fvoe_poll(
        verification_id=verification_id,
        now=timezone.now(),
        trigger="user" if force else "scheduler",
        force=force,
    )


@shared_task(acks_late=True)
def fvoe_verification_sweep() -> dict | None:
    """Every 10 minutes: send what a lost task left QUEUED, poll the requests still waiting."""
    from procurement.core.jobs import claimed_run, slot_key

    from .services.verification_fvoe import verification_fvoe_sweep

    now = timezone.now()
    key = slot_key("gare-fvoe-verification", now, resolution="minute")
    with claimed_run(job="gare-fvoe-verification", key=key, now=now, slot=now) as run:
        if run is None:
            return None
        summary = verification_fvoe_sweep(now=now)
        run.summary = summary
    return summary
