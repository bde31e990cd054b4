"""Exact → Decimal conversion and the rounding rules of §6.5 (D-13)."""

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

ROUNDING_MODES = {"HALF_UP": ROUND_HALF_UP, "DOWN": ROUND_DOWN, "HALF_EVEN": ROUND_HALF_EVEN}

# Enough digits for any division of the operands we meet (scores < 1e4, coefficients with few
# decimals): the exact value is decided before quantising, so the rounding sees the true digit.
_CTX = Context(prec=60)


def fraction_to_decimal(value: Fraction, decimals: int, mode: str = "HALF_UP") -> Decimal:
    """Round the exact rational ``value`` to ``decimals`` places with ``mode`` (no float ever)."""
    if mode not in ROUNDING_MODES:
        raise ValueError(mode)
    quantum = Decimal(1).scaleb(-decimals)
    # Exact integer arithmetic for the rounding decision: never depends on a truncated quotient.
    num, den = value.numerator, value.denominator
    n, rest = divmod(abs(num) * 10**decimals, den)
    twice = 2 * rest
    if (mode == "HALF_UP" and twice >= den) or (
        mode == "HALF_EVEN" and (twice > den or (twice == den and n % 2 == 1))
    ):
        n += 1
    if num < 0:
        n = -n
    return (Decimal(n) * quantum).quantize(quantum, context=_CTX)


def round_decimal(value: Fraction | Decimal | int, rule) -> Decimal:
    """Round ``value`` with a ``RoundingRule`` (decimals, mode)."""
    return fraction_to_decimal(Fraction(value), rule.decimals, rule.mode)


def to_fraction(value) -> Fraction:
    """Exact conversion of Decimal/int/str (never float) to Fraction."""
    if isinstance(value, float):
        raise TypeError("float non ammesso: usare Decimal")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, str):
        return Fraction(Decimal(value.strip().replace(",", ".")))
    return Fraction(value)


def show(value: Fraction, decimals: int) -> str:
    """Display helper for the trail (Italian decimal comma)."""
    return str(fraction_to_decimal(value, decimals)).replace(".", ",")
