"""Periodic jobs of the Negozio Elettronico (merged by procurement/celery.py)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "adesioni-summary-sweep": {
        "task": "adesioni.tasks.sweep_missing_summaries",
        "schedule": crontab(minute="*/5"),
    },
}
