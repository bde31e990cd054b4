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
