"""Every time limit of the procedure (spec §5.6), computed from the tender and a `now`.

Days are calendar days. Datetimes are aware; date-only limits are shown in Europe/Rome.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

REMEDY_MIN_DAYS = 5  # T07, T08 [§14]
REMEDY_MAX_DAYS = 10
EXCLUSION_NOTICE_DAYS = 5  # T09 [§21]
SESSION_NOTICE_DAYS = 3  # T12, D-08
IMPROVEMENT_DAYS = 5  # T13 [§22]
ANOMALY_MAX_DAYS = 15  # T14 [§23]
FVOE_FALLBACK_DAYS = 30  # T16 [§24]


def q2(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def local(value: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(value)


def answers_deadline(tender) -> datetime.datetime | None:
    """T02: answers are published at least `answers_min_days_before` days before the deadline."""
    if tender.offer_deadline is None:
        return None
    return tender.offer_deadline - datetime.timedelta(days=tender.answers_min_days_before)


def submission_open(tender, now: datetime.datetime) -> bool:
    """S-06: accepted iff the commit time is strictly earlier than the offer deadline."""
    return tender.offer_deadline is not None and now < tender.offer_deadline


def questions_open(tender, now: datetime.datetime) -> bool:
    return tender.questions_deadline is not None and now < tender.questions_deadline


def remedy_deadline_ok(sent_at: datetime.datetime, deadline: datetime.datetime) -> bool:
    """T07: between 5 and 10 days from the request."""
    return (
        sent_at + datetime.timedelta(days=REMEDY_MIN_DAYS)
        <= deadline
        <= sent_at + datetime.timedelta(days=REMEDY_MAX_DAYS)
    )


def exclusion_notice_deadline(adopted_at: datetime.datetime) -> datetime.datetime:
    """T09: the exclusion is communicated within 5 days of its adoption (end of that day)."""
    day = local(adopted_at).date() + datetime.timedelta(days=EXCLUSION_NOTICE_DAYS)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 59, 59)))


def session_notice_ok(notice_at: datetime.datetime, session_at: datetime.datetime) -> bool:
    """T12/D-08: a subsequent session is announced at least 3 days before (by calendar date)."""
    return (
        local(notice_at).date() + datetime.timedelta(days=SESSION_NOTICE_DAYS)
        <= local(session_at).date()
    )


def improvement_deadline(requested_at: datetime.datetime) -> datetime.datetime:
    return requested_at + datetime.timedelta(days=IMPROVEMENT_DAYS)


def anomaly_deadline_ok(received_at: datetime.datetime, deadline: datetime.datetime) -> bool:
    """T14: at most 15 days from receipt of the request (by calendar date)."""
    limit = local(received_at).date() + datetime.timedelta(days=ANOMALY_MAX_DAYS)
    return received_at < deadline and local(deadline).date() <= limit


def offer_validity_until(tender) -> datetime.date:
    """T21: 180 days from the offer deadline."""
    return local(tender.offer_deadline).date() + datetime.timedelta(days=tender.offer_validity_days)


def earliest_signature_date(last_communication_sent_at: datetime.datetime, tender) -> datetime.date:
    """T18/D-28: not before 32 full days from the last award communication (send date + 33)."""
    return local(last_communication_sent_at).date() + datetime.timedelta(
        days=tender.standstill_days + 1
    )


def latest_signature_date(adopted_at: datetime.datetime, tender) -> datetime.date:
    """T19: within 60 days from the award."""
    return local(adopted_at).date() + datetime.timedelta(days=tender.signature_max_days_after_award)


def verification_fallback_from(proposed_at: datetime.datetime) -> datetime.datetime:
    """T16: award with a self-declaration once 30 days have passed since the proposal."""
    return proposed_at + datetime.timedelta(days=FVOE_FALLBACK_DAYS)
