"""Amounts in figures and in words (R-GARE-071, R-GARE-111, D-10, D-11)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gare.amounts import WordsError, parse_words, resolve_economic


@pytest.mark.parametrize(
    ("words", "value"),
    [
        ("dodici virgola cinquanta", "12.50"),
        ("dodici virgola cinque", "12.5"),
        ("dodici/50", "12.50"),
        ("dodici,50", "12.50"),
        ("12,50", "12.50"),
        ("dodici e cinquanta centesimi", "12.50"),
        ("Quattordici virgola venticinque per cento", "14.25"),
        ("diciotto virgola settantadue %", "18.72"),
        ("nove virgola cinquantacinque", "9.55"),
        ("zero virgola zero cinque", "0.05"),
        ("zero", "0"),
        ("quattrocentotrenta", "430"),
        ("quattrocento trenta giorni", "430"),
        ("quattrocentocinquantotto giorni naturali e consecutivi", "458"),
        ("trecentonovantacinque", "395"),
        ("ventuno", "21"),
        ("ventotto", "28"),
        ("centotto", "108"),
        ("centottanta", "180"),
        ("cento", "100"),
        ("diciassette", "17"),
        ("mille duecento", "1200"),
        ("milleduecento", "1200"),
        ("duemilacinquecento", "2500"),
        ("mille e cinquecento", "1500"),
        ("ventitré virgola quaranta", "23.40"),
    ],
)
def test_italian_number_words_are_read_exactly(words, value):
    result = parse_words(words)
    assert result == Decimal(value)
    assert str(result) == value  # exact: "cinquanta" after the comma is ,50 not ,5


@pytest.mark.parametrize("words", ["", "ciao", "dodici virgola", "venti quattordici", "xx,yy"])
def test_text_that_is_not_a_number_is_refused(words):
    with pytest.raises(WordsError):
        parse_words(words)


def _eco(discount, days, discount_words="", days_words=""):
    return {
        "discount": discount,
        "discount_words": discount_words,
        "days": days,
        "days_words": days_words,
        "labour_costs": "598695.55",
        "company_safety_costs": "20000.00",
    }


def test_matching_figures_and_words_need_no_resolution():
    eco, resolutions = resolve_economic(
        _eco("12.50", 430, "dodici virgola cinquanta", "quattrocentotrenta")
    )
    assert eco["discount"] == "12.50" and eco["days"] == 430
    assert not any(r.note for r in resolutions)
    assert not any(r.discrepancy for r in resolutions)


def test_on_a_discrepancy_the_higher_discount_prevails_either_way():
    eco, res = resolve_economic(_eco("12.50", 430, "dodici virgola settanta"))
    assert eco["discount"] == "12.70" and res[0].discrepancy
    assert "prevale" in res[0].note
    eco, res = resolve_economic(_eco("12.70", 430, "dodici virgola cinquanta"))
    assert eco["discount"] == "12.70" and res[0].discrepancy


def test_on_a_discrepancy_the_shorter_duration_prevails_either_way():
    eco, res = resolve_economic(_eco("12.50", 400, "", "trecentonovanta"))
    assert eco["days"] == 390 and res[1].discrepancy
    eco, _res = resolve_economic(_eco("12.50", 390, "", "quattrocento"))
    assert eco["days"] == 390


def test_discount_words_with_more_than_two_decimals_are_truncated_d_11():
    eco, _res = resolve_economic(_eco("12.57", 430, "dodici virgola cinquecentosettantanove"))
    assert eco["discount"] == "12.57"


def test_unreadable_words_leave_the_figures_and_are_reported():
    eco, res = resolve_economic(_eco("12.50", 430, "ribasso in lettere", "giorni in lettere"))
    assert eco["discount"] == "12.50" and eco["days"] == 430
    assert all("non leggibile" in r.note for r in res)
    assert not any(r.discrepancy for r in res)
