from celery import shared_task
from django.utils import timezone

from procurement.core.jobs import claimed_run, slot_key

from .services import document_purge_orphan_files


@shared_task(acks_late=True)
def purge_orphan_files() -> int | None:
    """Daily: remove stored files left without a version by rolled-back transactions."""
    now = timezone.now()
    key = slot_key("documents-purge-orphans", now, resolution="day")
    with claimed_run(job="documents-purge-orphans", key=key, now=now, slot=now) as run:
        if run is None:
            return None
        removed = document_purge_orphan_files(now=now)
        run.summary = {"removed": len(removed)}
    return len(removed)
