"""Beat entries of the FVOE app (merged by procurement/celery.py; no model imports here).

The crontab is evaluated in the Celery app's timezone (Europe/Rome), so the verification runs
at 07:00 and 14:00 local time on both sides of a daylight-saving change.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "fvoe-verify-access-requests": {
        "task": "fvoe.tasks.verify_access_requests",
        "schedule": crontab(hour="7,14", minute=0),
    },
    "fvoe-sweep": {
        "task": "fvoe.tasks.sweep",
        "schedule": crontab(minute="*"),
    },
}
