from celery import shared_task
from django.utils import timezone

from .jobs import claimed_run, slot_key


@shared_task(acks_late=True)
def heartbeat() -> str | None:
    """A demo periodic job: once a minute it claims its slot and records that beat and worker run.

    The home page of an administrator shows the last run, so a person can see the scheduler alive.
    """
    now = timezone.now()
    key = slot_key("heartbeat", now, resolution="minute")
    with claimed_run(job="heartbeat", key=key, now=now, slot=now) as run:
        if run is None:
            return None
        run.summary = {"message": "Schedulatore e worker attivi"}
    return key
