"""Derived amounts and residual availabilities (spec §3.4, D-07, D-08)."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from django.db.models import Sum

from .models import ZERO, ContractState

CENT = Decimal("0.01")
MIN_PLANNED = Decimal("40000.00")
MAX_PLANNED = Decimal("2582000.00")
USUARIA_LIMIT = Decimal("100000.00")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def floor_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_DOWN)


def total_amount(works_amount: Decimal, safety_costs: Decimal, discount_pct: Decimal) -> Decimal:
    """Importo complessivo dell'appalto: the discounted works plus the safety costs (D-07)."""
    return cents(works_amount * (Decimal(100) - discount_pct) / Decimal(100)) + safety_costs


def planned_amount(works_amount: Decimal, safety_costs: Decimal) -> Decimal:
    return works_amount + safety_costs


def prevalent_amount(og1: Decimal, og2: Decimal, og11: Decimal) -> Decimal:
    return max(og1, og2, og11)


def consumption(contract) -> Decimal:
    """What a contract takes from the thresholds in its state (D-08)."""
    if contract.state in (ContractState.BOOKED, ContractState.ACCEPTED):
        return contract.total_amount
    if contract.state == ContractState.DEFINITIVE:
        return total_with_variations(contract)
    if contract.state == ContractState.RESCINDED:
        return (contract.amount_paid or ZERO) + (contract.amount_due or ZERO)
    return ZERO


def active_variations(contract):
    if contract.pk is None:
        return contract.variations.model.objects.none()
    return contract.variations.filter(annulled_at__isnull=True)


def total_with_variations(contract) -> Decimal:
    extra = active_variations(contract).aggregate(s=Sum("total_amount"))["s"] or ZERO
    return contract.total_amount + extra


def planned_with_variations(contract) -> Decimal:
    extra = active_variations(contract).aggregate(s=Sum("planned_amount"))["s"] or ZERO
    return contract.planned_amount + extra


# --- residuals (computed from the contracts, never stored) -------------------------------------


def _consumed(qs) -> Decimal:
    return qs.aggregate(s=Sum("consumed_amount"))["s"] or ZERO


def operator_booked(membership) -> Decimal:
    return _consumed(
        membership.contracts.filter(state__in=[ContractState.BOOKED, ContractState.ACCEPTED])
    )


def operator_committed(membership) -> Decimal:
    return _consumed(
        membership.contracts.filter(state__in=[ContractState.DEFINITIVE, ContractState.RESCINDED])
    )


def operator_residual(membership) -> Decimal:
    return membership.threshold - _consumed(membership.contracts.all())


def chapter_residual(agreement, chapter) -> Decimal:
    ceiling = agreement.ceilings.filter(chapter=chapter).first()
    amount = ceiling.amount if ceiling else ZERO
    return amount - _consumed(agreement.contracts.filter(spending_chapter=chapter))


def agreement_residual(agreement) -> Decimal:
    return agreement.total_ceiling - _consumed(agreement.contracts.all())


def agreement_booked(agreement) -> Decimal:
    return _consumed(
        agreement.contracts.filter(state__in=[ContractState.BOOKED, ContractState.ACCEPTED])
    )


def agreement_committed(agreement) -> Decimal:
    return _consumed(
        agreement.contracts.filter(state__in=[ContractState.DEFINITIVE, ContractState.RESCINDED])
    )


def parse_amount(raw) -> Decimal:
    """'1.234,56', '1234,56' or '1234.56' → Decimal (R-PTIM-153); ValueError if not an amount."""
    if isinstance(raw, Decimal):
        return raw
    text = str(raw or "").strip().replace("€", "").replace(" ", "")
    if not text:
        raise ValueError("empty")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not value.is_finite() or value != value.quantize(CENT):
        raise ValueError(text)
    return value


def euro(value) -> str:
    """Italian format without the symbol: 63.000,00."""
    if value is None:
        return ""
    q = Decimal(value).quantize(CENT, ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    integer, _, dec = f"{abs(q):.2f}".partition(".")
    groups = []
    while len(integer) > 3:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    groups.insert(0, integer)
    return f"{sign}{'.'.join(groups)},{dec}"
