"""Periodic jobs of PTIM (spec §6.1), merged into the static beat schedule (Europe/Rome)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "ptim-expire-bookings": {
        "task": "ptim.tasks.expire_bookings",
        "schedule": crontab(hour="0,6", minute=5),
    },
    "ptim-expire-stipulations": {
        "task": "ptim.tasks.expire_stipulations",
        "schedule": crontab(hour="0,6", minute=10),
    },
    "ptim-expired-refusals": {
        "task": "ptim.tasks.notify_expired_refusals",
        "schedule": crontab(hour="0,6", minute=15),
    },
    "ptim-sweep-receipts": {
        "task": "ptim.tasks.sweep_receipts",
        "schedule": crontab(minute="*/10"),
    },
}
