"""REPORTISTICA: the "Report operatore" and the operator's "storico" (R-PTIM-140, D-49).

Read-only selectors; the scope is the user's territorial competence (D-21) through
`visible_agreements`.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType

from procurement.audit.models import AuditEvent

from .access import visible_agreements
from .amounts import operator_booked, operator_committed, operator_residual
from .models import AgreementOperator, Contract, FrameworkAgreement, OperatorBooking

# Events on a refusal: they concern the refused operator whenever they happen.
REFUSAL_ACTIONS = ("gestione rifiuto", "sblocco rifiuto")
INCREASE_ACTION = "incremento del massimale"


def visible_memberships(user):
    return (
        AgreementOperator.objects.filter(agreement__in=visible_agreements(user))
        .select_related("operator", "agreement")
        .order_by("operator__name", "agreement__identifier", "pk")
    )


def membership_history(membership) -> list[dict]:
    """Every audit event concerning the operator on this AQ, newest first (D-49)."""
    ct_contract = ContentType.objects.get_for_model(Contract)
    windows = defaultdict(list)
    for b in OperatorBooking.objects.filter(membership=membership).select_related(
        "contract__contracting_authority"
    ):
        windows[b.contract_id].append(b)
    refusal_ids = set(membership.refusals.values_list("pk", flat=True))
    rows = []
    events = AuditEvent.objects.filter(
        content_type=ct_contract, object_id__in=[str(pk) for pk in windows]
    ).select_related("actor")
    for e in events:
        bookings = windows[int(e.object_id)]
        if e.action in REFUSAL_ACTIONS:
            booking = bookings[0] if (e.payload or {}).get("refusal") in refusal_ids else None
        else:
            booking = next(
                (
                    b
                    for b in bookings
                    if b.booked_at <= e.created_at
                    and (b.ended_at is None or e.created_at <= b.ended_at)
                ),
                None,
            )
        if booking is None:
            continue
        amount = (e.payload or {}).get("total", booking.total_amount)
        rows.append(_row(e, booking.contract, amount))
    for e in AuditEvent.objects.for_object(membership).select_related("actor"):
        rows.append(_row(e, None, None))
    increases = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(FrameworkAgreement),
        object_id=str(membership.agreement_id),
        action=INCREASE_ACTION,
    ).select_related("actor")
    for e in increases:
        share = ((e.payload or {}).get("shares") or {}).get(str(membership.pk))
        if share is not None:
            rows.append(_row(e, None, share))
    rows.sort(key=lambda r: (r["at"], r["id"]), reverse=True)
    return rows


def _row(event, contract, amount) -> dict:
    return {
        "id": event.pk,
        "at": event.created_at,
        "event": event.action,
        "contract": contract,
        "sa": contract.contracting_authority if contract else None,
        "user": event.actor_label or (str(event.actor) if event.actor else ""),
        "amount": Decimal(str(amount)) if amount not in (None, "") else None,
    }


def operator_report(user) -> list[dict]:
    """One row per operator and AQ within the user's competence (D-49)."""
    return [
        {
            "m": m,
            "threshold": m.threshold,
            "booked": operator_booked(m),
            "committed": operator_committed(m),
            "residual": operator_residual(m),
            "activities": len(membership_history(m)),
        }
        for m in visible_memberships(user)
    ]
