"""Provisional guarantee: §7.4 examples G1–G18 and AS-06."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from gare.guarantee import (
    ADDITIVE_ON_ORIGINAL,
    Subject,
    applicable_reductions,
    guarantee_check,
    required_amount,
)

BASE = Decimal("33164.90")
A, B, C, D = "QUALITY_ISO9000", "SME", "ANNEX_II13_CERT", "ONLINE_VERIFIABLE"


@pytest.mark.parametrize(
    ("reductions", "successive", "additive"),
    [
        ([], "33164.90", "33164.90"),
        ([A], "23215.43", "23215.43"),
        ([B], "16582.45", "16582.45"),
        ([C], "26531.92", "26531.92"),
        ([D], "29848.41", "29848.41"),
        ([A, C], "18572.34", "16582.45"),
        ([A, D], "20893.89", "19898.94"),
        ([B, D], "14924.21", "13265.96"),
        ([B, C], "13265.96", "9949.47"),
        ([C, D], "23878.73", "23215.43"),
        ([A, C, D], "16715.11", "13265.96"),
        ([B, C, D], "11939.36", "6632.98"),
    ],
)
def test_as_06_worked_examples_g1_g13(reductions, successive, additive):
    assert required_amount(BASE, reductions) == Decimal(successive)
    assert required_amount(BASE, reductions, ADDITIVE_ON_ORIGINAL) == Decimal(additive)


def test_as_06_reductions_by_form_g4_g14_g17():
    # G4: medium company with ISO 9001 -> b only (a not cumulative).
    assert applicable_reductions(
        form="SINGLE",
        subjects=[Subject("MEDIUM", iso9001=True)],
        online_verifiable=False,
        cash_deposit=False,
    ) == [B]
    # G14: RTI M (medium, ISO 9001, ISO 14001) + N (large, ISO 9001), online surety -> a, c, d.
    g14 = applicable_reductions(
        form="RTI_TO_BE_CONSTITUTED",
        subjects=[Subject("MEDIUM", True, True), Subject("LARGE", True)],
        online_verifiable=True,
        cash_deposit=False,
    )
    assert g14 == [A, C, D] and required_amount(BASE, g14) == Decimal("16715.11")
    # G15: RTI of SMEs, N without ISO 9001, paper surety -> b.
    assert applicable_reductions(
        form="RTI_CONSTITUTED",
        subjects=[Subject("SMALL", True), Subject("MICRO")],
        online_verifiable=False,
        cash_deposit=False,
    ) == [B]
    # G16: M small ISO, N large ISO, O medium EMAS, online -> c, d.
    g16 = applicable_reductions(
        form="RTI_CONSTITUTED",
        subjects=[
            Subject("SMALL", True),
            Subject("LARGE", True),
            Subject("MEDIUM", annex_ii13=True),
        ],
        online_verifiable=True,
        cash_deposit=False,
    )
    assert g16 == [C, D] and required_amount(BASE, g16) == Decimal("23878.73")
    # G17: large stable consortium, executor with ISO 9001, online -> a, d.
    g17 = applicable_reductions(
        form="STABLE_CONSORTIUM",
        subjects=[Subject("LARGE", True)],
        consortium=Subject("LARGE"),
        online_verifiable=True,
        cash_deposit=False,
    )
    assert g17 == [A, D] and required_amount(BASE, g17) == Decimal("20893.89")
    # 6.1: d is not available for a cash deposit.
    assert applicable_reductions(
        form="SINGLE", subjects=[Subject("LARGE", True)], online_verifiable=True, cash_deposit=True
    ) == [A]


DEADLINE = datetime.date(2026, 7, 27)


def test_as_06_checks():
    # 6.1 adequate.
    ok = guarantee_check(
        base=BASE,
        reductions=[A],
        amount=Decimal("23215.43"),
        constituted_on=datetime.date(2026, 7, 20),
        offer_deadline=DEADLINE,
    )
    assert ok.adequate and not ok.messages
    # 6.2 SME claimed by a large company with ISO 9001: shortfall 6,632.98, remediable.
    short = guarantee_check(
        base=BASE,
        reductions=[A],
        amount=Decimal("16582.45"),
        constituted_on=datetime.date(2026, 7, 20),
        offer_deadline=DEADLINE,
    )
    assert (short.adequate, short.shortfall, short.remediable) == (False, Decimal("6632.98"), True)
    assert "Importo non corretto" in short.messages[0]
    # 6.3 micro, ISO 14001, online surety.
    assert required_amount(BASE, [B, C, D]) == Decimal("11939.36")
    # 6.4 RTI surety naming only the lead: amount fine, holders incomplete -> remediable.
    g18 = guarantee_check(
        base=BASE,
        reductions=[A, C, D],
        amount=Decimal("16715.11"),
        constituted_on=datetime.date(2026, 7, 20),
        offer_deadline=DEADLINE,
        all_holders_named=False,
    )
    assert g18.remediable and not g18.exclusion
    # 6.5 issued after the deadline -> not remediable, exclusion.
    late = guarantee_check(
        base=BASE,
        reductions=[],
        amount=Decimal("33164.90"),
        constituted_on=datetime.date(2026, 7, 28),
        offer_deadline=DEADLINE,
    )
    assert late.exclusion and not late.remediable
    # 6.6 signed by an agent without power -> exclusion.
    agent = guarantee_check(
        base=BASE,
        reductions=[],
        amount=Decimal("33164.90"),
        constituted_on=datetime.date(2026, 7, 20),
        offer_deadline=DEADLINE,
        signer_has_power=False,
    )
    assert agent.exclusion
    # 6.7 valid until 20/01/2027, offer valid until 23/01/2027 -> adequate with a warning (D-24).
    warn = guarantee_check(
        base=BASE,
        reductions=[],
        amount=Decimal("33164.90"),
        constituted_on=datetime.date(2026, 7, 24),
        offer_deadline=DEADLINE,
        valid_until=datetime.date(2027, 1, 20),
        offer_validity_until=datetime.date(2027, 1, 23),
    )
    assert warn.adequate and "20/01/2027" in warn.messages[0]
