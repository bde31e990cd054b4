"""Amounts "in cifre e in lettere" of the economic offer (R-GARE-071, R-GARE-111, D-10, D-11).

`parse_words` reads an Italian number written in words ("dodici virgola cinquanta",
"quattrocentotrenta", "dodici/50") into an exact Decimal. `resolve_economic` compares the words
with the figures of envelope C and applies the rule of [§17] / D-10: on any discrepancy the
value more favourable to the contracting authority prevails, i.e. the **higher discount** and
the **shorter duration**; the resolution is returned so that the session can record it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.utils.translation import gettext as _


class WordsError(ValueError):
    """The text is not an Italian number in words."""


_UNITS = {
    "zero": 0,
    "uno": 1,
    "un": 1,
    "una": 1,
    "due": 2,
    "tre": 3,
    "quattro": 4,
    "cinque": 5,
    "sei": 6,
    "sette": 7,
    "otto": 8,
    "nove": 9,
    "dieci": 10,
    "undici": 11,
    "dodici": 12,
    "tredici": 13,
    "quattordici": 14,
    "quindici": 15,
    "sedici": 16,
    "diciassette": 17,
    "diciotto": 18,
    "diciannove": 19,
}
_TENS = {
    "venti": 20,
    "trenta": 30,
    "quaranta": 40,
    "cinquanta": 50,
    "sessanta": 60,
    "settanta": 70,
    "ottanta": 80,
    "novanta": 90,
}
# Longest first, so that "diciassette" is not read as "dieci" + ...; the elided forms
# ("ventuno", "trentotto") are handled by trying the tens without their final vowel.
_ATOMS = sorted(
    [(w, v) for w, v in _UNITS.items()]
    + [(w, v) for w, v in _TENS.items()]
    + [(w[:-1], v) for w, v in _TENS.items()],
    key=lambda item: -len(item[0]),
)
_NOISE = re.compile(
    r"\b(per\s*cento|percento|percentuale|%|giorni|giorno|gg|naturali|consecutivi|"
    r"di\s+ribasso|ribasso|euro)\b|%"
)
_SEPARATORS = ("virgola", "punto", "e")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    text = text.lower().replace("'", " ")
    text = _NOISE.sub(" ", text)
    text = re.sub(r"[()\[\].;:]+$", "", text.strip())
    text = re.sub(r"\s+", " ", text).strip()
    # What the noise words leave behind ("giorni naturali e consecutivi" → "e").
    return re.sub(r"(^e\s+|\s+e$)", "", text).strip()


def _below_thousand(word: str) -> int | None:
    """Value of a compound word below 1000 ("quattrocentotrenta" → 430), or None."""
    if not word:
        return None
    total = 0
    rest = word
    m = re.match(r"^(.*?)cento", rest)
    if m is not None:
        head = m.group(1)
        if head == "":
            hundreds = 1
        else:
            hundreds = _UNITS.get(head)
            if hundreds is None or not 2 <= hundreds <= 9:
                return None
        total += hundreds * 100
        rest = rest[m.end() :]
        # "centotto", "centottanta": the o of cento is elided before otto/ottanta.
        if rest.startswith("tt"):
            rest = "o" + rest
    if rest == "":
        return total
    for atom, value in _ATOMS:
        if rest.startswith(atom):
            tail = rest[len(atom) :]
            if tail == "":
                return total + value
            if value >= 20 and value % 10 == 0:
                unit = _UNITS.get(tail)
                if unit is not None and 1 <= unit <= 9:
                    return total + value + unit
            return None
    return None


def _integer_words(text: str) -> int:
    """An integer written in words, possibly in several tokens ("mille e cinquecento")."""
    word = re.sub(r"[\s-]+", "", text)
    word = re.sub(r"(?<=[a-z])e(?=(uno|due|tre|quattro|cinque|sei|sette|otto|nove)$)", "", word)
    if word.isdigit():
        return int(word)
    if word in ("", "e"):
        raise WordsError(text)
    total = 0
    m = re.match(r"^(.*?)(mila|mille)(.*)$", word)
    if m is not None:
        head, kind, rest = m.groups()
        if kind == "mille":
            if head:
                raise WordsError(text)
            thousands = 1
        else:
            thousands = _below_thousand(head)
            if thousands is None or thousands < 2:
                raise WordsError(text)
        total = thousands * 1000
        word = rest
        if word.startswith("e") and _below_thousand(word[1:]) is not None:
            word = word[1:]
        if word == "":
            return total
    value = _below_thousand(word)
    if value is None:
        raise WordsError(text)
    return total + value


def _decimal_part(text: str) -> str:
    """The digits after the comma: "cinquanta" → "50", "zero cinque" → "05", "5" → "5"."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return text
    tokens = text.split()
    digits = ""
    # Leading zeros are said one by one ("zero cinque" = ,05).
    while tokens and tokens[0] == "zero" and len(tokens) > 1:
        digits += "0"
        tokens.pop(0)
    return digits + str(_integer_words(" ".join(tokens)))


def parse_words(text: str) -> Decimal:
    """Read an Italian number in words into an exact Decimal.

    Accepts "dodici virgola cinquanta" (12.50), "dodici virgola cinque" (12.5), "dodici e
    cinquanta centesimi", "dodici/50", "dodici,50", "quattrocentotrenta" (430), "ventuno",
    "mille duecento" and digits mixed with words; ignores "per cento", "giorni" and similar.
    Raises WordsError when the text cannot be read.
    """
    norm = _normalise(text)
    if not norm:
        raise WordsError(text)
    norm = re.sub(r"\s*centesim[io]\s*$", "", norm)
    integer_text, decimal_text = norm, ""
    m = re.match(r"^(.*?)\s*(?:/|,)\s*(.+)$", norm)
    if m is None:
        for sep in _SEPARATORS:
            parts = re.split(rf"\s+{sep}\s+", norm, maxsplit=1)
            if len(parts) == 2:
                if sep == "e":
                    # "mille e cinquecento" is one integer; "dodici e cinquanta" is 12,50 only
                    # when the second part is below 100 and the text speaks of cents or the
                    # first part reads on its own.
                    try:
                        _integer_words(parts[0])
                        right = _integer_words(parts[1])
                    except WordsError:
                        continue
                    if right >= 100 or parts[0].endswith(("mila", "mille")):
                        continue
                integer_text, decimal_text = parts
                break
    else:
        integer_text, decimal_text = m.group(1), m.group(2)
    try:
        whole = _integer_words(integer_text) if integer_text.strip() else 0
        if decimal_text:
            return Decimal(f"{whole}.{_decimal_part(decimal_text)}")
        return Decimal(whole)
    except (WordsError, InvalidOperation):
        raise WordsError(text) from None


@dataclass(frozen=True)
class Resolution:
    """How one value of envelope C was read (figures vs words) and which one prevails."""

    field: str
    figures: str
    words: str
    words_value: str | None
    prevailing: str
    note: str

    @property
    def discrepancy(self) -> bool:
        return self.words_value is not None and Decimal(self.words_value) != Decimal(self.figures)

    def as_dict(self) -> dict:
        return {
            "field": self.field,
            "figures": self.figures,
            "words": self.words,
            "words_value": self.words_value,
            "prevailing": self.prevailing,
            "note": self.note,
        }


def _resolve(field: str, figures: Decimal, words: str, *, higher_wins: bool, label) -> Resolution:
    words = (words or "").strip()
    if not words:
        return Resolution(field, str(figures), "", None, str(figures), "")
    try:
        value = parse_words(words)
    except WordsError:
        return Resolution(
            field,
            str(figures),
            words,
            None,
            str(figures),
            _("%(label)s in lettere non leggibile («%(w)s»): vale il valore in cifre.")
            % {"label": label, "w": words},
        )
    if field == "discount":
        # D-11: at most two decimals, the excess truncated.
        value = value.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    elif value != value.to_integral_value() or value < 1:
        return Resolution(
            field,
            str(figures),
            words,
            None,
            str(figures),
            _(
                "%(label)s in lettere non è un numero intero di giorni («%(w)s»): vale il valore "
                "in cifre."
            )
            % {"label": label, "w": words},
        )
    if value == figures:
        return Resolution(field, str(figures), words, str(value), str(figures), "")
    prevailing = max(value, figures) if higher_wins else min(value, figures)
    return Resolution(
        field,
        str(figures),
        words,
        str(value),
        str(prevailing),
        _(
            "%(label)s: in cifre %(f)s, in lettere %(w)s; prevale il valore più vantaggioso per "
            "la stazione appaltante, %(p)s."
        )
        % {"label": label, "f": figures, "w": value, "p": prevailing},
    )


def resolve_economic(eco: dict) -> tuple[dict, list[Resolution]]:
    """Envelope C data with the prevailing discount and days, and how each was resolved."""
    discount = Decimal(str(eco["discount"]))
    days = Decimal(str(eco["days"]))
    resolutions = [
        _resolve(
            "discount",
            discount,
            eco.get("discount_words", ""),
            higher_wins=True,
            label=_("Ribasso"),
        ),
        _resolve(
            "days",
            days,
            eco.get("days_words", ""),
            higher_wins=False,
            label=_("Tempo di esecuzione"),
        ),
    ]
    resolved = dict(eco)
    resolved["discount"] = resolutions[0].prevailing
    resolved["days"] = int(Decimal(resolutions[1].prevailing))
    return resolved, resolutions
