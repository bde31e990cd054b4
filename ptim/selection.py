"""Which operator the system designates (spec §4.7, D-23, D-24, D-25)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .amounts import operator_residual, total_amount
from .models import AgreementOperator, OperatorStatus


@dataclass
class Selection:
    membership: AgreementOperator
    amount: Decimal


def ranking(agreement):
    return agreement.operators.select_related("operator").order_by(
        "-score", "ranking_position", "pk"
    )


def select_operator(
    *, agreement, works_amount, safety_costs, required_level, on_date, after=None
) -> Selection | None:
    """First operator of the ranking that may take the intervention, or None."""
    members = list(ranking(agreement))
    if after is not None:
        ids = [m.pk for m in members]
        members = members[ids.index(after.pk) + 1 :] if after.pk in ids else []
    for membership in members:
        if membership.status != OperatorStatus.ACTIVE:
            continue
        if required_level and not membership.operator.holds(required_level, on_date):
            continue
        amount = total_amount(works_amount, safety_costs, membership.discount_pct)
        if operator_residual(membership) < amount:
            continue
        return Selection(membership, amount)
    return None


def shortfall_cause(*, agreement, required_level, on_date, after=None) -> str:
    """'clearance' when no active operator holds the clearance, else 'capacity' (D-27)."""
    if not required_level:
        return "capacity"
    for membership in ranking(agreement):
        if membership.status == OperatorStatus.ACTIVE and membership.operator.holds(
            required_level, on_date
        ):
            return "capacity"
    return "clearance"


def suffix(n: int) -> str:
    """0 → '', 1 → 'a', 26 → 'z', 27 → 'a1', 53 → 'a2' (D-33)."""
    if n <= 0:
        return ""
    letter = "abcdefghijklmnopqrstuvwxyz"[(n - 1) % 26]
    k = (n - 1) // 26
    return letter + (str(k) if k > 0 else "")
