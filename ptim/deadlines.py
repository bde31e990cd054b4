"""Every deadline of the module, in calendar days, ending at 23:59:59 Europe/Rome (D-01, D-05)."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")
BOOKING_DAYS = 10
STIPULA_DAYS = 40
EXTENSION_DAYS = 30
REFUSAL_HANDLING_DAYS = 30


def local_date(now: datetime.datetime) -> datetime.date:
    return now.astimezone(ROME).date()


def acceptance_deadline(booking_date: datetime.date) -> datetime.date:
    return booking_date + datetime.timedelta(days=BOOKING_DAYS)


def stipula_deadline(accepted_date: datetime.date, *, extended: bool) -> datetime.date:
    days = STIPULA_DAYS + (EXTENSION_DAYS if extended else 0)
    return accepted_date + datetime.timedelta(days=days)


def extension_request_deadline(accepted_date: datetime.date) -> datetime.date:
    return accepted_date + datetime.timedelta(days=STIPULA_DAYS)


def refusal_handling_deadline(inserted_date: datetime.date) -> datetime.date:
    return inserted_date + datetime.timedelta(days=REFUSAL_HANDLING_DAYS)


def lapsed(deadline: datetime.date | None, now: datetime.datetime) -> bool:
    """True once the last valid day is over."""
    return deadline is not None and local_date(now) > deadline
