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
        # Celery computes schedules in Europe/Rome wall time: when summer time ends the
        # repeated hour 02:00–03:00 is skipped (one 70-minute gap, tests/ptim/test_schedule.py).
        # Harmless: receipts are rendered right after commit; this is only the safety net.
        "schedule": crontab(minute="*/10"),
    },
}
