"""Thin Celery tasks around the FVOE services and the slot job."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import document_requests, services
from .jobs import verify_slot
from .models import (
    AccessRequestStatus,
    DocumentRequestStatus,
    FvoeAccessRequest,
    FvoeDocumentRequest,
)

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def verify_access_requests() -> str | None:
    """07:00 and 14:00 Europe/Rome: verify every pending or authorised access (R-FVOE-030)."""
    summary = verify_slot(now=timezone.now())
    return summary.key if summary else None


@shared_task(acks_late=True)
def access_request_submit_task(request_id: str) -> str:
    return services.access_request_submit(request_id=request_id, now=timezone.now())


@shared_task(acks_late=True)
def document_request_submit_task(request_id: str) -> str:
    return document_requests.document_request_submit(request_id=request_id, now=timezone.now())


@shared_task(acks_late=True)
def sweep() -> dict:
    """Every minute: resend what never reached Celery, reconcile, poll document requests."""
    now = timezone.now()
    counts = {"submitted": 0, "reconciled": 0, "polled": 0}
    if services.maintenance_window(now) is not None:
        return {**counts, "maintenance": 1}  # R-FVOE-083: nothing is sent to ANAC
    stale = now - timedelta(minutes=2)
    for pk in FvoeAccessRequest.objects.filter(
        status=AccessRequestStatus.QUEUED, submitted_at__isnull=True, created_at__lt=stale
    ).values_list("pk", flat=True)[:200]:
        services.access_request_submit(request_id=pk, now=now)
        counts["submitted"] += 1
    for pk in FvoeAccessRequest.objects.filter(status=AccessRequestStatus.UNKNOWN).values_list(
        "pk", flat=True
    )[:200]:
        services.access_request_reconcile(request_id=pk, now=now)
        counts["reconciled"] += 1
    for pk in FvoeDocumentRequest.objects.filter(
        status=DocumentRequestStatus.QUEUED, submitted_at__isnull=True, created_at__lt=stale
    ).values_list("pk", flat=True)[:200]:
        document_requests.document_request_submit(request_id=pk, now=now)
    # D-FVOE-12: every 15 minutes during the first 24 hours, then at 07:00 and 14:00, up to
    # 30 days; then STALLED.
    counts.update(document_requests.document_requests_poll_due(now=now))
    return counts
