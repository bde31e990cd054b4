"""Provisional guarantee (spec §7): reductions of art. 106 c.8 Code and the adequacy check.

Pure functions, exact Decimal arithmetic. Decision D-22: reductions are successive
(multiplicative), computed without intermediate rounding, rounded HALF_UP to the cent at the end;
`ADDITIVE_ON_ORIGINAL` is kept as configuration.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

RATES = {
    "QUALITY_ISO9000": Decimal("0.30"),  # a
    "SME": Decimal("0.50"),  # b
    "ANNEX_II13_CERT": Decimal("0.20"),  # c
    "ONLINE_VERIFIABLE": Decimal("0.10"),  # d
}
SUCCESSIVE = "SUCCESSIVE"
ADDITIVE_ON_ORIGINAL = "ADDITIVE_ON_ORIGINAL"
ASSOCIATED = {"RTI", "ORDINARY", "GEIE", "NETWORK"}
CONSORTIA = {"CONSORTIUM_COOPERATIVES", "CONSORTIUM_ARTISANS", "STABLE_CONSORTIUM"}
SME_SIZES = {"MICRO", "SMALL", "MEDIUM"}


@dataclass(frozen=True)
class Subject:
    """A member (or the consortium itself) with what matters for the reductions."""

    size: str = "LARGE"  # MICRO | SMALL | MEDIUM | LARGE
    iso9001: bool = False
    annex_ii13: bool = False  # ISO 14001, EMAS, ... (All. II.13 list is configuration)


def _family(form: str) -> str:
    if form in CONSORTIA:
        return "CONSORTIUM"
    if form == "SINGLE":
        return "SINGLE"
    return "ASSOCIATED"


def applicable_reductions(
    *,
    form: str,
    subjects: list[Subject],
    consortium: Subject | None = None,
    online_verifiable: bool,
    cash_deposit: bool,
) -> list[str]:
    """The set S of §7.2; b replaces a when both hold (D-22)."""
    family = _family(form)
    if family == "SINGLE":
        one = subjects[0]
        a, b, c = one.iso9001, one.size in SME_SIZES, one.annex_ii13
    elif family == "ASSOCIATED":
        a = all(s.iso9001 for s in subjects)
        b = all(s.size in SME_SIZES for s in subjects)
        c = any(s.annex_ii13 for s in subjects)
    else:
        holder = consortium or Subject()
        a = holder.iso9001 or any(s.iso9001 for s in subjects)
        b = holder.size in SME_SIZES  # D-23: the consortium itself must be an SME
        c = holder.annex_ii13 or any(s.annex_ii13 for s in subjects)
    chosen = []
    if b:
        chosen.append("SME")
    elif a:
        chosen.append("QUALITY_ISO9000")
    if c:
        chosen.append("ANNEX_II13_CERT")
    if online_verifiable and not cash_deposit:  # d is a property of a surety
        chosen.append("ONLINE_VERIFIABLE")
    return chosen


def required_amount(base: Decimal, reductions: list[str], method: str = SUCCESSIVE) -> Decimal:
    base = Decimal(base)
    if method == ADDITIVE_ON_ORIGINAL:
        total = sum((RATES[r] for r in reductions), Decimal("0"))
        value = base * (1 - total)
    else:
        value = base
        for r in reductions:
            value *= 1 - RATES[r]
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class GuaranteeCheck:
    required: Decimal
    adequate: bool
    shortfall: Decimal
    remediable: bool
    exclusion: bool
    messages: tuple[str, ...]


def guarantee_check(
    *,
    base: Decimal,
    reductions: list[str],
    amount: Decimal | None,
    constituted_on: datetime.date | None,
    offer_deadline: datetime.date,
    signer_has_power: bool = True,
    all_holders_named: bool = True,
    valid_until: datetime.date | None = None,
    offer_validity_until: datetime.date | None = None,
    method: str = SUCCESSIVE,
) -> GuaranteeCheck:
    """Adequacy and the soccorso classification of Appendix B / §7.5."""
    required = required_amount(base, reductions, method)
    messages: list[str] = []
    if amount is None or constituted_on is None or constituted_on > offer_deadline:
        messages.append(
            _("Garanzia non costituita prima del termine delle offerte: non sanabile, esclusione.")
        )
        return GuaranteeCheck(required, False, required, False, True, tuple(messages))
    if not signer_has_power:
        messages.append(
            _(
                "Garanzia firmata da soggetto non autorizzato a impegnare il garante: non "
                "sanabile, esclusione."
            )
        )
        return GuaranteeCheck(required, False, Decimal("0.00"), False, True, tuple(messages))
    shortfall = max(required - Decimal(amount), Decimal("0.00"))
    remediable = False
    if shortfall > 0:
        messages.append(
            _(
                "Importo non corretto: mancano € %(s)s rispetto a € %(r)s; sanabile con soccorso "
                "istruttorio."
            )
            % {"s": shortfall, "r": required}
        )
        remediable = True
    if not all_holders_named:
        messages.append(
            _(
                "La garanzia non è intestata a tutti i componenti del raggruppamento: sanabile "
                "con soccorso istruttorio."
            )
        )
        remediable = True
    if valid_until and offer_validity_until and valid_until < offer_validity_until:
        messages.append(
            _("Attenzione: la garanzia scade il %(g)s, prima della validità dell'offerta (%(o)s).")
            % {
                "g": valid_until.strftime("%d/%m/%Y"),
                "o": offer_validity_until.strftime("%d/%m/%Y"),
            }
        )
    return GuaranteeCheck(required, shortfall == 0, shortfall, remediable, False, tuple(messages))
