"""Periodic jobs of the tenders app (merged into the beat schedule by procurement/celery.py)."""

BEAT_SCHEDULE = {
    "gare-close-submissions": {
        "task": "gare.tasks.close_due_submissions",
        "schedule": 60.0,
    },
}
