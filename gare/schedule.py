"""Periodic jobs of the tenders app (merged into the beat schedule by procurement/celery.py)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "gare-close-submissions": {
        "task": "gare.tasks.close_due_submissions",
        "schedule": 60.0,
    },
    # Minutes and award PDFs whose after-commit render task was lost (broker down).
    "gare-documents-sweep": {
        "task": "gare.tasks.sweep_pending_documents",
        "schedule": crontab(minute="*/5"),
    },
    # Offer validity: reminders 30/10 days before the expiry, renunciations after the reply
    # deadline of an extension request (R-GARE-074, D-50). Hourly, so a 5-day reply deadline
    # is enforced within the hour; the reminders are once per lot and threshold.
    "gare-offer-validity": {
        "task": "gare.tasks.offer_validity_job",
        "schedule": crontab(minute=20),
    },
    # FVOE requirement verification: resend what a lost task left queued, poll waiting requests.
    "gare-fvoe-verification": {
        "task": "gare.tasks.fvoe_verification_sweep",
        "schedule": crontab(minute="*/10"),
    },
}
