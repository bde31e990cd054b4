"""``manage.py gare_score FILE``: the evaluation engine on a JSON file (issue 7, gare/README.md).

The same engine as the procedure pages and the minutes (``gare.evaluation.evaluate_json``); this
module only reads the file, checks its shape so that a wrong file gets an Italian message and
never a traceback, and prints the result in the issue's format: the technical criteria by code,
price and time as ``PRICE`` and ``TIME``, every score a string with 2 decimals.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gare.evaluation import SCHEME_CODES, EvaluationError, EvaluationScheme, evaluate_json
from gare.evaluation.engine import SCORE_JSON_ALIASES

PHASES = ("FULL", "TECHNICAL")


class ScoreFileError(Exception):
    """The file cannot be evaluated; ``problems`` are Italian sentences."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def read_payload(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScoreFileError(
            [
                _("Il file non è un JSON valido (riga %(line)s, colonna %(col)s): %(msg)s.")
                % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg}
            ]
        ) from None


def _scheme(raw: Any) -> EvaluationScheme:
    if isinstance(raw, str):
        if raw not in SCHEME_CODES:
            raise ScoreFileError(
                [
                    _(
                        "Schema di valutazione sconosciuto: «%(code)s». Schemi disponibili: "
                        "%(known)s."
                    )
                    % {"code": raw, "known": ", ".join(sorted(SCHEME_CODES))}
                ]
            )
        return SCHEME_CODES[raw]()
    if isinstance(raw, dict):
        return EvaluationScheme.from_dict(raw)  # SchemeError lists every problem
    raise ScoreFileError(
        [
            _(
                "«scheme» deve essere il codice di uno schema (ad esempio «bellinzago-2026») "
                "o un oggetto."
            )
        ]
    )


def _check_shape(payload: Any) -> None:
    """What the engine assumes about the structure, checked before calling it."""
    if not isinstance(payload, dict):
        raise ScoreFileError([_("Il file deve contenere un oggetto JSON con «scheme» e «offers».")])
    problems = []
    offers = payload.get("offers")
    if not isinstance(offers, list):
        problems.append(_("Manca l'elenco delle offerte («offers»: [...])."))
        offers = []
    for n, offer in enumerate(offers, start=1):
        if not isinstance(offer, dict):
            problems.append(_("L'offerta n. %(n)s non è un oggetto JSON.") % {"n": n})
            continue
        name = offer.get("id") or _("n. %(n)s") % {"n": n}
        if not isinstance(offer.get("id"), str | int) or offer.get("id") in ("", None):
            problems.append(_("L'offerta n. %(n)s non ha un identificativo («id»).") % {"n": n})
        coefficients = offer.get("coefficients", {})
        if not isinstance(coefficients, dict) or not all(
            isinstance(v, list) for v in coefficients.values()
        ):
            problems.append(
                _(
                    "Offerta %(id)s: «coefficients» deve associare a ogni criterio l'elenco dei "
                    'coefficienti dei commissari, ad esempio {"A1": ["0.7", "0.8", "0.7"]}.'
                )
                % {"id": name}
            )
        if not isinstance(offer.get("tabular", {}), dict):
            problems.append(
                _('Offerta %(id)s: «tabular» deve essere un oggetto, ad esempio {"A2": 3}.')
                % {"id": name}
            )
        for key in ("discount", "days"):
            value = offer.get(key)
            if isinstance(value, float | bool | list | dict):
                problems.append(
                    _('Offerta %(id)s: «%(key)s» deve essere una stringa (ad esempio "12.50").')
                    % {"id": name, "key": key}
                )
    phase = payload.get("phase", "FULL")
    if phase not in PHASES:
        problems.append(
            _("«phase» deve essere %(phases)s.") % {"phases": " o ".join(f"«{p}»" for p in PHASES)}
        )
    improvements = payload.get("improvements")
    if improvements is not None and not isinstance(improvements, dict):
        problems.append(
            _("«improvements» deve associare all'id dell'offerta il ribasso migliorativo.")
        )
    draw_order = payload.get("draw_order")
    if draw_order is not None and not isinstance(draw_order, list):
        problems.append(_("«draw_order» deve essere l'elenco degli id nell'ordine sorteggiato."))
    if problems:
        raise ScoreFileError(problems)


def score(payload: Any) -> dict:
    """The ``gare_score`` output for ``payload``; ``ScoreFileError`` if it cannot be scored."""
    _check_shape(payload)
    scheme = _scheme(payload.get("scheme", "bellinzago-2026"))
    try:
        result = evaluate_json(payload)
    except EvaluationError as exc:
        raise ScoreFileError([exc.message]) from None
    # Price and time go by their names in the format, not twice (E1/E2 and PRICE/TIME).
    aliased = {
        leaf.code
        for leaf in scheme.leaves()
        if leaf.quantitative is not None and leaf.quantitative.variable in SCORE_JSON_ALIASES
    }
    for offer in result["offers"]:
        offer["points"] = {k: v for k, v in offer["points"].items() if k not in aliased}
    return result


class Command(BaseCommand):
    help = _(
        "Valuta le offerte descritte in un file JSON con il motore di valutazione delle gare e "
        "stampa punteggi, graduatoria e parità in JSON (formato in gare/README.md)."
    )

    # call_command("gare_score", "-", stdin=io.StringIO(...)) in tests, as createsuperuser does.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("file JSON da valutare; «-» per lo standard input"))
        parser.add_argument(
            "--indent", type=int, default=2, help=_("rientro del JSON stampato (0: una riga)")
        )

    def handle(self, *args, file: str, indent: int, **options):
        try:
            if file == "-":
                text = (options.get("stdin") or sys.stdin).read()
            else:
                with open(file, encoding="utf-8") as fh:
                    text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(
                _("Impossibile leggere il file %(file)s: %(err)s") % {"file": file, "err": exc}
            ) from None
        try:
            result = score(read_payload(text))
        except ScoreFileError as exc:
            raise CommandError(
                _("Valutazione non eseguita:") + "\n" + "\n".join(exc.problems)
            ) from None
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=indent or None))
