"""The CIG check algorithm of ANAC (specs/algoritmoValidazioneCIG.md, spec Appendix D)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from procurement.anac.cig import (
    PCP_LETTERS,
    PCP_PROGRESSIVES_PER_LETTER,
    cig_format,
    cig_generate,
    cig_is_valid,
    cig_is_valid_pcp,
)

HEX = "0123456789ABCDEF"


@pytest.mark.parametrize(
    ("cig", "kind"),
    [
        ("7154112FF8", "simog_v1"),  # the CIG principale of the requirements
        ("K00003EC3A", "pcp"),  # recupera-cig in the ANAC worked example
        ("L00003DC3A", "pcp"),
        ("B7A41C2BB3", "pcp"),
        ("9050626CD6", "simog_v1"),  # the example of the OpenAPI document
    ],
)
def test_published_vectors_are_valid(cig, kind):
    assert cig_format(cig) == kind
    assert cig_is_valid(cig)


@pytest.mark.parametrize(
    "cig",
    [
        "7154112FF9",  # wrong check
        "K00003EC3B",
        "L00003EC3A",  # letter changed
        "V00003EC3A",  # letter outside A-U
        "k00003ec3a",  # lower case is not normalised here
        "K00003EC3",  # too short
        "K00003EC3AA",  # too long
        "0000000000",  # progressive zero (Simog v1)
        "",
        "K00003EG3A",  # not hexadecimal
    ],
)
def test_invalid_codes_are_refused(cig):
    assert not cig_is_valid(cig)


def test_smartcig_rule():
    progressive = "0000001"
    check = f"{211 % 251:02X}"
    assert cig_is_valid(f"X{check}{progressive}")
    assert not cig_is_valid(f"X{check}0000002")
    assert not cig_is_valid("X000000000")  # progressive zero


def test_pcp_only_accepts_the_second_rule():
    assert cig_is_valid_pcp("K00003EC3A")
    assert not cig_is_valid_pcp("7154112FF8")


def test_generate_known_values():
    # K = 11th letter, 0x3E = 62: the sequence number of K00003EC3A from the series "A".
    assert cig_generate(10 * PCP_PROGRESSIVES_PER_LETTER + 0x3E) == "K00003EC3A"
    assert cig_generate(0x3D, first_letter="L") == "L00003DC3A"
    assert cig_generate(PCP_PROGRESSIVES_PER_LETTER - 1)[:7] == "AFFFFFF"
    assert cig_generate(PCP_PROGRESSIVES_PER_LETTER)[:7] == "B000000"


def test_generate_refuses_out_of_range():
    with pytest.raises(ValueError):
        cig_generate(-1)
    with pytest.raises(ValueError):
        cig_generate(len(PCP_LETTERS) * PCP_PROGRESSIVES_PER_LETTER)
    with pytest.raises(ValueError):
        cig_generate(1, first_letter="X")


sequences = st.integers(min_value=0, max_value=len(PCP_LETTERS) * PCP_PROGRESSIVES_PER_LETTER - 1)


@given(sequences)
def test_every_generated_cig_is_a_valid_pcp_cig(sequence):
    cig = cig_generate(sequence)
    assert len(cig) == 10
    assert cig_is_valid(cig)
    assert cig_is_valid_pcp(cig)


@given(st.tuples(sequences, sequences).filter(lambda pair: pair[0] != pair[1]))
def test_generation_is_injective(pair):
    assert cig_generate(pair[0]) != cig_generate(pair[1])


@given(sequences, st.integers(min_value=0, max_value=9), st.data())
def test_one_changed_character_of_the_same_class_is_detected(sequence, position, data):
    cig = cig_generate(sequence)
    alphabet = PCP_LETTERS if position == 0 else HEX
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != cig[position]]))
    typo = cig[:position] + replacement + cig[position + 1 :]
    assert not cig_is_valid(typo)


@given(st.integers(min_value=1, max_value=9_999_999), st.integers(0, 6), st.data())
def test_one_changed_digit_of_a_simog_v1_cig_is_detected(number, position, data):
    prefix = f"{number:07d}"
    cig = f"{prefix}{number * 211 % 4091:03X}"
    assert cig_is_valid(cig)
    replacement = data.draw(st.sampled_from([c for c in string.digits if c != cig[position]]))
    assert not cig_is_valid(cig[:position] + replacement + cig[position + 1 :])
