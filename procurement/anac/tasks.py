"""Celery tasks of the ANAC operations layer (spec adesioni §7).

Periodic jobs claim a JobRun slot (a second beat, a retry or an overlapping run does nothing) and
claim each operation with a conditional update, so two workers never process the same item.
Every job takes `now` (ISO string or None) so that tests drive it with controlled time.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from procurement.core.jobs import claimed_run, slot_key

from . import operations
from .models import AnacOperation, Trigger

logger = logging.getLogger(__name__)


def _now(now: str | None):
    return parse_datetime(now) if now else timezone.now()


@shared_task(acks_late=True)
def anac_dispatch_operation(operation_id: int) -> str:
    """Send one operation right after the commit of the user's action."""
    return str(operations.dispatch(operation_id, now=timezone.now()))


@shared_task(acks_late=True)
def anac_poll_operation(operation_id: int, trigger: str = Trigger.RELOAD) -> str:
    """An immediate poll (page reload by the RUP, "Verifica invio")."""
    op = AnacOperation.objects.filter(pk=operation_id).first()
    if op is None:
        return "missing"
    return str(operations.poll(op, trigger=trigger, now=timezone.now()).state)


def _run(job: str, prefix: str, now, work, resolution: str = "minute"):
    with claimed_run(job=job, key=slot_key(prefix, now, resolution=resolution), now=now) as run:
        if run is None:
            return None
        done = work(now)
        run.summary = {"elaborate": done}
        return done


@shared_task(acks_late=True)
def anac_outbox_dispatch(now: str | None = None):
    """Sweeper: QUEUED operations due (429/backoff/broker down), and SENT -> UNKNOWN after 10'."""
    return _run(
        "anac_outbox_dispatch", "anac-outbox", _now(now), lambda t: operations.dispatch_due(now=t)
    )


@shared_task(acks_late=True)
def pcp_poll_due_operations(now: str | None = None):
    """esito-operazione for WAITING/STALLED operations whose next poll is due (D-ADE-18)."""
    return _run(
        "pcp_poll_due_operations", "pcp-poll", _now(now), lambda t: operations.poll_due(now=t)
    )


@shared_task(acks_late=True)
def pcp_reconcile_unknown(now: str | None = None):
    """Reconcile UNKNOWN operations (ricerca-appalto, ricerca-scheda, esito-operazione)."""
    return _run(
        "pcp_reconcile_unknown",
        "pcp-reconcile",
        _now(now),
        lambda t: operations.reconcile_due(now=t),
    )


@shared_task(acks_late=True)
def pcp_stalled_report(now: str | None = None):
    """Daily list of STALLED/FAILED operations for the platform operators (log + summary)."""

    def work(t):
        rows = list(operations.stalled_operations())
        for op in rows:
            logger.warning(
                "Operazione ANAC %s (%s) %s: appalto %s, RUP %s, dal %s",
                op.pk,
                op.kind,
                op.state,
                op.appalto.codice_appalto,
                op.actor_tax_code,
                op.ack_at or op.created_at,
            )
        _notify_operators(rows, now=t)
        return len(rows)

    return _run("pcp_stalled_report", "pcp-stalled", _now(now), work, resolution="day")


def _notify_operators(rows, *, now) -> None:
    """In-app notice (generic template) to the platform operators (staff users)."""
    if not rows:
        return
    try:
        from django.contrib.auth import get_user_model

        from procurement.notifications.services import notify

        staff = list(get_user_model().objects.filter(is_staff=True, is_active=True))
        if staff:
            notify(
                recipients=staff,
                template="generic",
                context={
                    "subject": _("Operazioni ANAC senza esito: %(n)s") % {"n": len(rows)},
                    "message": "\n".join(
                        f"#{op.pk} {op.kind} {op.get_state_display()} – "
                        f"{op.appalto.codice_appalto} – RUP {op.actor_tax_code}"
                        for op in rows
                    ),
                },
                email=False,
                now=now,
            )
    except Exception as exc:  # the report is also in the log; never fail the job for it
        logger.info("Stalled report not notified: %s", exc)
