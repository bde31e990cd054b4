"""The check characters of a CIG (Codice Identificativo Gara), as published by ANAC.

Source: specs/algoritmoValidazioneCIG.md (ANAC npa repository). Three formats, ten characters:

- Simog, first version, `ANNNNNNKKK`: `A` in [0-9]; the 7-digit prefix `ANNNNNN` is a decimal
  progressive other than '0000000'; `KKK = Hex(ANNNNNN * 211 mod 4091)`.
- Simog, second version, and PCP, `ANNNNNNKKK`: `A` in [A-U]; `NNNNNN` a hexadecimal progressive;
  `KKK = Hex((Dec(NNNNNN) + Ord(A)) * 211 mod 4091)` with Ord(A) = 1, B = 2, ...
- SmartCIG, `AKKCCCCCCC`: `A` in {X, Y, Z}; `CCCCCCC` a hexadecimal progressive other than
  '0000000'; `KK = Hex(Dec(CCCCCCC) * 211 mod 251)`.

Hex() is written in upper case and zero-padded to the width of the check field. Codes are
checked as given: callers normalise user input (strip, upper case) first.

Because 4091 and 251 are primes that divide neither 211 nor any power of 10 or 16, changing one
character of a code for another of the same class (a letter in [A-U] for another, a digit for
another) always changes the expected check characters: such a typo is always detected.
"""

from __future__ import annotations

import re

_SIMOG_V1 = re.compile(r"[0-9]{7}[0-9A-F]{3}")
_PCP = re.compile(r"[A-U][0-9A-F]{6}[0-9A-F]{3}")
_SMARTCIG = re.compile(r"[XYZ][0-9A-F]{2}[0-9A-F]{7}")

PCP_LETTERS = "ABCDEFGHIJKLMNOPQRSTU"
PCP_PROGRESSIVES_PER_LETTER = 16**6


def _hex(value: int, width: int) -> str:
    return f"{value:0{width}X}"


def _ord(letter: str) -> int:
    return ord(letter) - ord("A") + 1


def simog_v1_check(prefix: str) -> str:
    """KKK of a first-version Simog CIG from its 7 decimal digits."""
    return _hex(int(prefix) * 211 % 4091, 3)


def pcp_check(letter: str, progressive: str) -> str:
    """KKK of a second-version Simog / PCP CIG from its letter and 6 hexadecimal digits."""
    return _hex((int(progressive, 16) + _ord(letter)) * 211 % 4091, 3)


def smartcig_check(progressive: str) -> str:
    """KK of a SmartCIG from its 7 hexadecimal digits."""
    return _hex(int(progressive, 16) * 211 % 251, 2)


def cig_format(cig: str) -> str | None:
    """'simog_v1', 'pcp' or 'smartcig' when the code has the shape of that format, else None."""
    if _SIMOG_V1.fullmatch(cig):
        return "simog_v1"
    if _PCP.fullmatch(cig):
        return "pcp"
    if _SMARTCIG.fullmatch(cig):
        return "smartcig"
    return None


def cig_is_valid(cig: str) -> bool:
    """Whether `cig` is a CIG of any published format with the right check characters."""
    kind = cig_format(cig) if isinstance(cig, str) else None
    if kind == "simog_v1":
        return cig[:7] != "0000000" and cig[7:] == simog_v1_check(cig[:7])
    if kind == "pcp":
        return cig[7:] == pcp_check(cig[0], cig[1:7])
    if kind == "smartcig":
        return cig[3:] != "0000000" and cig[1:3] == smartcig_check(cig[3:])
    return False


def cig_is_valid_pcp(cig: str) -> bool:
    """Whether `cig` is valid in the format PCP assigns (second rule): derived CIGs must be."""
    return cig_format(cig) == "pcp" and cig_is_valid(cig)


def cig_generate(sequence: int, *, first_letter: str = "A") -> str:
    """The PCP-format CIG number `sequence` (0, 1, ...) of the series starting at `first_letter`.

    Each letter holds 16**6 progressives; the sequence continues on the next letter, up to U.
    """
    if first_letter not in PCP_LETTERS:
        raise ValueError(f"first_letter must be one of {PCP_LETTERS}")
    if sequence < 0:
        raise ValueError("sequence must not be negative")
    letter_index, progressive = divmod(sequence, PCP_PROGRESSIVES_PER_LETTER)
    letter_index += PCP_LETTERS.index(first_letter)
    if letter_index >= len(PCP_LETTERS):
        raise ValueError("sequence beyond the PCP CIG space")
    letter = PCP_LETTERS[letter_index]
    digits = _hex(progressive, 6)
    return f"{letter}{digits}{pcp_check(letter, digits)}"
