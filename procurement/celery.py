"""The Celery app and its static beat schedule, in Europe/Rome.

The schedule lives here, in code, and not in the database: django-celery-beat has open timezone
regressions, while crontab entries of the static scheduler fire at the local wall-clock time on
both sides of a daylight-saving change. Workflow apps declare their entries in `<app>/schedule.py`
(a `BEAT_SCHEDULE` dict pointing at tasks in their own `tasks.py`), merged below.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procurement.settings")

app = Celery("procurement")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    timezone="Europe/Rome",
    enable_utc=True,
    task_serializer="json",
    accept_content=["json"],
    result_backend=None,
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    # A beat process that was down at a slot runs the job once when it comes back, if within
    # this many seconds; later than that the slot is skipped (the job itself is idempotent).
    beat_cron_starting_deadline=3 * 3600,
    broker_connection_retry_on_startup=True,
    # Publishing must not hang a request when the broker is down: the outbox sweeper
    # re-dispatches whatever could not be queued.
    task_publish_retry=False,
)

BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "procurement.notifications.tasks.sweep_outbox",
        "schedule": 60.0,
    },
    "heartbeat": {
        "task": "procurement.core.tasks.heartbeat",
        "schedule": crontab(minute="*"),
    },
    "documents-purge-orphans": {
        "task": "procurement.documents.tasks.purge_orphan_files",
        "schedule": crontab(hour=3, minute=30),
    },
    # ANAC operations (spec adesioni §7): outbox sweeper, polls, reconciliation, daily report.
    "anac-outbox-dispatch": {
        "task": "procurement.anac.tasks.anac_outbox_dispatch",
        "schedule": crontab(minute="*"),
    },
    "pcp-poll-due-operations": {
        "task": "procurement.anac.tasks.pcp_poll_due_operations",
        "schedule": crontab(minute="*"),
    },
    "pcp-reconcile-unknown": {
        "task": "procurement.anac.tasks.pcp_reconcile_unknown",
        "schedule": crontab(minute="*/5"),
    },
    "pcp-stalled-report": {
        "task": "procurement.anac.tasks.pcp_stalled_report",
        "schedule": crontab(hour=8, minute=0),
    },
}

WORKFLOW_APPS = ("adesioni", "fvoe", "ptim", "gare")


def _workflow_schedules() -> dict:
    """Each workflow app may declare `BEAT_SCHEDULE` in its `schedule.py` (no model imports)."""
    import importlib

    entries = {}
    for label in WORKFLOW_APPS:
        try:
            module = importlib.import_module(f"{label}.schedule")
        except ModuleNotFoundError as exc:
            if exc.name != f"{label}.schedule":
                raise
            continue
        entries.update(module.BEAT_SCHEDULE)
    return entries


BEAT_SCHEDULE.update(_workflow_schedules())
app.conf.beat_schedule = BEAT_SCHEDULE
app.autodiscover_tasks()
