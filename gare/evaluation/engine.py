"""``evaluate(scheme, offers)``: scores, ranking, ties and anomaly indicators (spec §6, §8.11–8.13).

All arithmetic is on ``fractions.Fraction`` built exactly from ``Decimal`` inputs; results are
rounded only where the scheme's rounding rules say so.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from gare.evaluation._i18n import _
from gare.evaluation.errors import OfferInputError, SchemeError
from gare.evaluation.reference import SCHEME_CODES
from gare.evaluation.rounding import fraction_to_decimal, round_decimal, show
from gare.evaluation.scheme import Criterion, EvaluationScheme, LotAmounts, QuantitativeRule

_CTX = Context(prec=50)
ZERO = Fraction(0)
ONE = Fraction(1)
CENT = Decimal("0.01")
VARIABLE_ALIASES = {"discount": "discount_pct", "days": "duration_days"}
SCORE_JSON_ALIASES = {"discount_pct": "PRICE", "duration_days": "TIME"}
VARIABLE_LABELS = {"discount_pct": "ribasso %", "duration_days": "durata in giorni"}


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OfferInput:
    """One admitted offer: coefficients per discretionary criterion (one per commissioner),
    tabular answers, quantitative values (by variable name), optional anomaly data."""

    id: str
    coefficients: Mapping[str, Sequence[Decimal]] = field(default_factory=dict)
    tabular: Mapping[str, Any] = field(default_factory=dict)
    values: Mapping[str, Decimal] = field(default_factory=dict)
    labour_costs: Decimal | None = None
    company_safety_costs: Decimal | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OfferInput:
        values = dict(data.get("values") or {})
        for alias, variable in VARIABLE_ALIASES.items():
            if alias in data and data[alias] is not None:
                values[variable] = data[alias]

        def dec(v: Any) -> Decimal | None:
            if v is None or v == "":
                return None
            if isinstance(v, float):
                raise OfferInputError(
                    [_("Valori numerici in virgola mobile non ammessi: usare stringhe.")]
                )
            try:
                return Decimal(str(v).strip().replace(",", "."))
            except InvalidOperation as exc:
                raise OfferInputError([_("Valore numerico non valido: %(v)s.") % {"v": v}]) from exc

        return cls(
            id=str(data.get("id", "")),
            coefficients={
                str(k): tuple(dec(x) for x in (v if isinstance(v, list | tuple) else [v]))
                for k, v in (data.get("coefficients") or {}).items()
            },
            tabular=dict(data.get("tabular") or {}),
            values={str(k): dec(v) for k, v in values.items()},
            labour_costs=dec(data.get("labour_costs")),
            company_safety_costs=dec(data.get("company_safety_costs")),
        )


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------
def _frac_str(x: Fraction | None) -> str | None:
    if x is None:
        return None
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def _plain_number(x: Decimal) -> str:
    """'400.000000' -> '400', '12.350000' -> '12.35' (never exponent notation)."""
    text = format(x, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _dec_str(x: Decimal | None) -> str | None:
    return None if x is None else str(x)


@dataclass(frozen=True)
class CriterionScore:
    code: str
    kind: str
    raw: Any
    provisional: Fraction | None
    definitive: Fraction | None
    points_exact: Fraction
    points: Decimal

    def to_dict(self) -> dict[str, Any]:
        raw = self.raw
        if isinstance(raw, tuple):
            raw = [str(x) for x in raw]
        elif isinstance(raw, Decimal | Fraction):
            raw = str(raw) if isinstance(raw, Decimal) else _frac_str(raw)
        return {
            "code": self.code,
            "kind": self.kind,
            "raw": raw,
            "provisional": _frac_str(self.provisional),
            "provisional_display": (
                None if self.provisional is None else str(fraction_to_decimal(self.provisional, 4))
            ),
            "definitive": _frac_str(self.definitive),
            "definitive_display": (
                None if self.definitive is None else str(fraction_to_decimal(self.definitive, 4))
            ),
            "points_exact": _frac_str(self.points_exact),
            "points": str(self.points),
        }


@dataclass(frozen=True)
class CriterionSummary:
    code: str
    kind: str
    max_points: Decimal
    best: Fraction | None
    best_ids: tuple[str, ...]
    reparametrised: bool
    note: str
    variable: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "max_points": str(self.max_points),
            "best": _frac_str(self.best),
            "best_ids": list(self.best_ids),
            "reparametrised": self.reparametrised,
            "note": self.note,
            "variable": self.variable,
        }


@dataclass(frozen=True)
class AnomalyIndicator:
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class AnomalyCheck:
    id: str
    indicators: tuple[AnomalyIndicator, ...]

    @property
    def appears_abnormal(self) -> bool:
        return bool(self.indicators)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "appears_abnormal": self.appears_abnormal,
            "indicators": [i.to_dict() for i in self.indicators],
        }


@dataclass(frozen=True)
class Inadmissible:
    id: str
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return " ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class TieGroup:
    ids: tuple[str, ...]
    rank: int
    involves_first: bool
    steps_applied: tuple[str, ...]
    pending: str | None
    resolved_order: tuple[tuple[str, ...], ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "ids": list(self.ids),
            "rank": self.rank,
            "involves_first": self.involves_first,
            "steps_applied": list(self.steps_applied),
            "pending": self.pending,
            "resolved_order": [list(g) for g in self.resolved_order],
            "reason": self.reason,
        }


@dataclass(frozen=True)
class OfferResult:
    id: str
    criteria: dict[str, CriterionScore]
    groups: dict[str, Decimal]
    technical: Decimal
    technical_before_reparametrisation: Decimal
    economic: Decimal | None
    total: Decimal | None
    rank: int | None
    values: dict[str, Fraction]
    contract_discount: Decimal | None
    offered_works_amount: Decimal | None
    contract_value: Decimal | None
    tie_group: int | None
    explanation: tuple[str, ...]

    def points(self, code: str) -> Decimal:
        return self.criteria[code].points

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "criteria": {k: v.to_dict() for k, v in self.criteria.items()},
            "groups": {k: str(v) for k, v in self.groups.items()},
            "technical": str(self.technical),
            "technical_before_reparametrisation": str(self.technical_before_reparametrisation),
            "economic": _dec_str(self.economic),
            "total": _dec_str(self.total),
            "rank": self.rank,
            "values": {k: _plain_number(fraction_to_decimal(v, 6)) for k, v in self.values.items()},
            "contract_discount": _dec_str(self.contract_discount),
            "offered_works_amount": _dec_str(self.offered_works_amount),
            "contract_value": _dec_str(self.contract_value),
            "tie_group": self.tie_group,
            "explanation": list(self.explanation),
        }


@dataclass(frozen=True)
class Separation:
    """Two consecutive offers with the same total, separated by a later step of the chain."""

    ahead: str
    behind: str
    step: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {
            "ahead": self.ahead,
            "behind": self.behind,
            "step": self.step,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class EvaluationResult:
    scheme_code: str
    phase: str
    offers: tuple[OfferResult, ...]
    inadmissible: tuple[Inadmissible, ...]
    below_threshold: tuple[str, ...]
    ties: tuple[TieGroup, ...]
    separations: tuple[Separation, ...]
    criteria: dict[str, CriterionSummary]
    anomaly: tuple[AnomalyCheck, ...]
    trail: tuple[str, ...]
    technical_only: tuple[OfferResult, ...] = ()

    @property
    def by_id(self) -> dict[str, OfferResult]:
        return {o.id: o for o in (*self.offers, *self.technical_only)}

    @property
    def ranking(self) -> list[str]:
        return [o.id for o in self.offers]

    def top(self, n: int = 5) -> list[str]:
        """Ids ranked within the first ``n`` places; a tie across place ``n`` includes all the
        tied offers (D-19, access to the top five [§27])."""
        return [o.id for o in self.offers if o.rank is not None and o.rank <= n]

    @property
    def anomaly_review_order(self) -> list[str]:
        """Offers showing at least one indicator, in ranking order ([§23], R-GARE-126)."""
        return [a.id for a in self.anomaly if a.appears_abnormal]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme_code,
            "phase": self.phase,
            "offers": [o.to_dict() for o in self.offers],
            "technical_only": [o.to_dict() for o in self.technical_only],
            "inadmissible": [i.to_dict() for i in self.inadmissible],
            "below_threshold": list(self.below_threshold),
            "ties": [t.to_dict() for t in self.ties],
            "separations": [s.to_dict() for s in self.separations],
            "criteria": {k: v.to_dict() for k, v in self.criteria.items()},
            "anomaly": [a.to_dict() for a in self.anomaly],
            "trail": list(self.trail),
        }

    def to_score_json(self) -> dict[str, Any]:
        """The output of ``manage.py gare_score`` (issue 7): 2-decimal strings."""
        aliases = {
            code: SCORE_JSON_ALIASES[c.variable]
            for code, c in self.criteria.items()
            if c.variable in SCORE_JSON_ALIASES
        }
        offers = []
        for o in (*self.offers, *self.technical_only):
            points = {code: str(cs.points) for code, cs in o.criteria.items()}
            for code in list(points):
                alias = aliases.get(code)
                if alias:
                    points[alias] = points[code]
            offers.append(
                {
                    "id": o.id,
                    "points": points,
                    "technical": str(o.technical),
                    "economic": _dec_str(o.economic),
                    "total": _dec_str(o.total),
                    "rank": o.rank,
                }
            )
        return {
            "offers": offers,
            "ties": [list(t.ids) for t in self.ties],
            "inadmissible": [{"id": i.id, "reason": i.reason} for i in self.inadmissible],
            "below_threshold": list(self.below_threshold),
        }


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------
class _Ctx:
    """Working state of one evaluation."""

    def __init__(self, scheme: EvaluationScheme):
        self.scheme = scheme
        self.trail: list[str] = []
        self.expl: dict[str, list[str]] = {}
        self.scores: dict[str, dict[str, CriterionScore]] = {}
        self.summaries: dict[str, CriterionSummary] = {}
        self.leaf = {c.code: c for c in scheme.leaves()}


def evaluate(
    scheme: EvaluationScheme,
    offers: Iterable[OfferInput],
    *,
    improvements: Mapping[str, Decimal | None] | None = None,
    draw_order: Sequence[str] | None = None,
    amounts: LotAmounts | None = None,
    phase: str = "FULL",
) -> EvaluationResult:
    """Evaluate the admitted ``offers`` with ``scheme``.

    ``phase="TECHNICAL"`` scores only the technical side (to publish technical scores before the
    economic envelopes are opened, R-GARE-109); ``"FULL"`` scores everything and ranks.
    ``improvements`` (improvement offers, one per tied bidder; missing/None = no reply) and
    ``draw_order`` (the order fixed by the public draw) resolve ties on rank 1 (§6.6).
    """
    scheme.validate()
    if phase not in ("FULL", "TECHNICAL"):
        raise ValueError(phase)
    offers = list(offers)
    amounts = amounts if amounts is not None else scheme.amounts
    ctx = _Ctx(scheme)
    _check_inputs(scheme, offers, phase, improvements, draw_order)

    leaves = scheme.leaves()
    tech_leaves = [c for c in leaves if c.side == "TECHNICAL"]
    econ_leaves = [c for c in leaves if c.side == "ECONOMIC"] if phase == "FULL" else []

    # 1. Quantitative values: normalise and check bounds (inadmissible offers are not scored).
    values: dict[str, dict[str, Fraction]] = {}
    inadmissible: list[Inadmissible] = []
    for offer in sorted(offers, key=lambda o: o.id):
        vals, reasons = _normalise_values(
            ctx, offer, [c for c in (*tech_leaves, *econ_leaves) if c.quantitative]
        )
        if reasons:
            inadmissible.append(Inadmissible(offer.id, tuple(reasons)))
            ctx.trail.append(
                _("Offerta %(id)s inammissibile, non valutata: %(r)s")
                % {"id": offer.id, "r": " ".join(reasons)}
            )
        else:
            values[offer.id] = vals
    scored = [o for o in sorted(offers, key=lambda o: o.id) if o.id in values]
    ids = [o.id for o in scored]
    for i in ids:
        ctx.expl[i] = []
        ctx.scores[i] = {}
    ctx.trail.insert(
        0,
        _("Valutazione secondo lo schema «%(code)s»: %(n)d offerte ammesse alla valutazione.")
        % {"code": scheme.code, "n": len(ids)},
    )

    # 2. Technical side.
    by_id = {o.id: o for o in scored}
    for leaf in tech_leaves:
        _score_leaf(ctx, leaf, ids, by_id, values)
    technical, groups, technical_raw = _technical_totals(ctx, ids)

    # 3. Threshold (barrier) on the technical score.
    below: list[str] = []
    if scheme.threshold is not None:
        t = scheme.threshold
        basis = technical if t.stage == "AFTER_REPARAMETRISATION" else technical_raw
        below = [i for i in ids if basis[i] < t.min_technical]
        for i in below:
            ctx.trail.append(
                _(
                    "Offerta %(id)s: punteggio tecnico %(s)s inferiore alla soglia di sbarramento "
                    "%(t)s; non è ammessa alla fase economica."
                )
                % {"id": i, "s": _it(basis[i]), "t": _it(t.min_technical)}
            )
    ranked_ids = [i for i in ids if i not in below]

    def offer_result(i: str, economic, total, rank, tie_idx, money) -> OfferResult:
        return OfferResult(
            id=i,
            criteria=dict(ctx.scores[i]),
            groups=groups[i],
            technical=technical[i],
            technical_before_reparametrisation=technical_raw[i],
            economic=economic,
            total=total,
            rank=rank,
            values=values[i],
            contract_discount=money[0],
            offered_works_amount=money[1],
            contract_value=money[2],
            tie_group=tie_idx,
            explanation=tuple(ctx.expl[i]),
        )

    if phase == "TECHNICAL":
        ctx.trail.append(_("Fase tecnica: punteggi tecnici calcolati, nessuna graduatoria."))
        results = tuple(
            offer_result(i, None, None, None, None, (None, None, None))
            for i in sorted(ids, key=lambda i: (-technical[i], i))
        )
        return EvaluationResult(
            scheme_code=scheme.code,
            phase=phase,
            offers=(),
            inadmissible=tuple(inadmissible),
            below_threshold=tuple(below),
            ties=(),
            separations=(),
            criteria=dict(ctx.summaries),
            anomaly=(),
            trail=tuple(ctx.trail),
            technical_only=results,
        )

    # 4. Economic side, over the offers that passed the threshold.
    missing = [
        _("Offerta %(id)s: manca il valore «%(v)s» del criterio %(c)s.")
        % {
            "id": i,
            "c": c.code,
            "v": VARIABLE_LABELS.get(c.quantitative.variable, c.quantitative.variable),
        }
        for i in ranked_ids
        for c in econ_leaves
        if c.quantitative and c.quantitative.variable not in values[i]
    ]
    if missing:
        raise OfferInputError(missing)
    for leaf in econ_leaves:
        _score_leaf(ctx, leaf, ranked_ids, by_id, values)
    economic = {
        i: sum((ctx.scores[i][c.code].points for c in econ_leaves), Decimal("0.00"))
        for i in ranked_ids
    }
    total = {i: technical[i] + economic[i] for i in ranked_ids}
    for i in ranked_ids:
        ctx.expl[i].append(
            _("Punteggio tecnico %(t)s + economico %(e)s = totale %(tot)s.")
            % {"t": _it(technical[i]), "e": _it(economic[i]), "tot": _it(total[i])}
        )

    # 5. Ranking and ties.
    order, ranks, ties, tie_of, separations = _rank(
        ctx, ranked_ids, technical, economic, total, values, improvements, draw_order
    )

    # 6. Amounts (informative; contract discount = improved discount if any, D-18).
    money: dict[str, tuple[Decimal | None, Decimal | None, Decimal | None]] = {}
    for i in ranked_ids:
        money[i] = _amounts(values[i], amounts, (improvements or {}).get(i))

    # 7. Anomaly indicators (non-binding, D-26).
    anomaly = _anomaly(ctx, order, by_id, values, technical, economic, amounts)
    results = tuple(
        offer_result(i, economic[i], total[i], ranks[i], tie_of.get(i), money[i]) for i in order
    )
    counts = Counter(ranks.values())
    for o in results:
        line = _(
            "%(rank)dº posto: offerta %(id)s — tecnico %(t)s, economico %(e)s, totale %(tot)s."
        ) % {
            "rank": o.rank,
            "id": o.id,
            "t": _it(o.technical),
            "e": _it(o.economic),
            "tot": _it(o.total),
        }
        if counts[o.rank] > 1:
            line = f"{line} {_('(ex aequo)')}"
        ctx.trail.append(line)
    return EvaluationResult(
        scheme_code=scheme.code,
        phase=phase,
        offers=results,
        inadmissible=tuple(inadmissible),
        below_threshold=tuple(below),
        ties=tuple(ties),
        separations=tuple(separations),
        criteria=dict(ctx.summaries),
        anomaly=tuple(anomaly),
        trail=tuple(ctx.trail),
        technical_only=tuple(
            offer_result(i, None, None, None, None, (None, None, None)) for i in below
        ),
    )


def evaluate_json(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``gare_score FILE`` contract: JSON in (amounts as strings), JSON out."""
    raw_scheme = payload.get("scheme", "bellinzago-2026")
    if isinstance(raw_scheme, str):
        if raw_scheme not in SCHEME_CODES:
            raise SchemeError([_("Schema sconosciuto: %(code)s.") % {"code": raw_scheme}])
        scheme = SCHEME_CODES[raw_scheme]()
    else:
        scheme = EvaluationScheme.from_dict(raw_scheme)
    offers = [OfferInput.from_dict(o) for o in payload.get("offers", [])]
    improvements = payload.get("improvements")
    if improvements is not None:
        improvements = {
            str(k): (None if v in (None, "") else Decimal(str(v))) for k, v in improvements.items()
        }
    result = evaluate(
        scheme,
        offers,
        improvements=improvements,
        draw_order=payload.get("draw_order"),
        phase=payload.get("phase", "FULL"),
    )
    return result.to_score_json()


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------
def _check_inputs(
    scheme: EvaluationScheme,
    offers: list[OfferInput],
    phase: str,
    improvements: Mapping[str, Any] | None = None,
    draw_order: Sequence[str] | None = None,
) -> None:
    problems: list[str] = []
    p = problems.append
    seen: set[str] = set()
    scale = scheme.scale_values()
    for offer in offers:
        if not offer.id:
            p(_("Un'offerta non ha identificativo."))
        if offer.id in seen:
            p(_("Offerta %(id)s ripetuta.") % {"id": offer.id})
        seen.add(offer.id)
        for leaf in scheme.leaves():
            if phase == "TECHNICAL" and leaf.side == "ECONOMIC":
                continue
            where = {"id": offer.id, "c": leaf.code}
            if leaf.kind == "DISCRETIONARY":
                coeffs = offer.coefficients.get(leaf.code)
                if not coeffs:
                    p(_("Offerta %(id)s: mancano i coefficienti del criterio %(c)s.") % where)
                    continue
                expected = 1 if leaf.method == "COMMISSION_CONSENSUS" else scheme.commissioners
                if expected is not None and len(coeffs) != expected:
                    p(
                        _(
                            "Offerta %(id)s, criterio %(c)s: attesi %(n)d coefficienti, ricevuti "
                            "%(m)d."
                        )
                        % {**where, "n": expected, "m": len(coeffs)}
                    )
                for value in coeffs:
                    if (
                        isinstance(value, float)
                        or value is None
                        or Decimal(str(value)) not in scale
                    ):
                        p(
                            _(
                                "Offerta %(id)s, criterio %(c)s: il coefficiente %(v)s non è un "
                                "valore della scala dei giudizi."
                            )
                            % {**where, "v": value}
                        )
            elif leaf.kind == "TABULAR":
                try:
                    _tabular_points(leaf, offer.tabular.get(leaf.code, _MISSING))
                except ValueError as exc:
                    p(_("Offerta %(id)s, criterio %(c)s: %(err)s") % {**where, "err": exc})
            elif leaf.kind == "QUANTITATIVE":
                variable = leaf.quantitative.variable
                if offer.values.get(variable) is None:
                    if leaf.side == "ECONOMIC" and scheme.threshold is not None:
                        continue  # checked after the threshold (envelope C may stay sealed)
                    p(
                        _("Offerta %(id)s: manca il valore «%(v)s» del criterio %(c)s.")
                        % {**where, "v": VARIABLE_LABELS.get(variable, variable)}
                    )
                elif isinstance(offer.values[variable], float):
                    p(_("Offerta %(id)s: valori in virgola mobile non ammessi.") % where)
    for oid in improvements or {}:
        if oid not in seen:
            p(_("Offerta migliorativa di un'offerta non valutata: %(id)s.") % {"id": oid})
    for oid, value in (improvements or {}).items():
        if value is not None and (
            isinstance(value, float) or Decimal(str(value)).as_tuple().exponent < -2
        ):
            p(
                _("Offerta %(id)s: l'offerta migliorativa deve avere al massimo 2 decimali.")
                % {"id": oid}
            )
    if draw_order is not None:
        if len(set(draw_order)) != len(draw_order):
            p(_("L'ordine del sorteggio contiene offerte ripetute."))
        for oid in draw_order:
            if oid not in seen:
                p(_("L'ordine del sorteggio indica un'offerta non valutata: %(id)s.") % {"id": oid})
    if problems:
        raise OfferInputError(problems)


_MISSING = object()


def _tabular_points(leaf: Criterion, answer: Any) -> tuple[Decimal, Any]:
    """Points and the derived value for a tabular answer; ValueError with an Italian message."""
    rule = leaf.tabular
    if answer is _MISSING or answer is None:
        raise ValueError(_("manca la risposta tabellare."))
    if rule.type == "BOOLEAN":
        if isinstance(answer, str):
            low = answer.strip().lower()
            if low in ("si", "sì", "yes", "true", "1"):
                answer = True
            elif low in ("no", "false", "0"):
                answer = False
        if not isinstance(answer, bool):
            raise ValueError(_("la risposta deve essere sì o no."))
        return (rule.yes_points if answer else rule.no_points), answer
    if rule.type == "OPTION_TABLE":
        for option in rule.options:
            if option.value == str(answer):
                return option.points, option.value
        raise ValueError(_("l'opzione «%(v)s» non è tra quelle previste.") % {"v": answer})
    # COUNT_BANDS
    if isinstance(answer, bool):
        raise ValueError(_("la risposta deve essere un numero o un elenco."))
    if isinstance(answer, list | tuple):
        items = list(answer)
        if rule.closed_list or rule.closed_list_size:
            valid = set()
            size = rule.closed_list_size or len(rule.closed_list)
            for item in items:
                if isinstance(item, int) and 1 <= item <= size:
                    valid.add(item)
                elif isinstance(item, str) and item in rule.closed_list:
                    valid.add(rule.closed_list.index(item) + 1)
            n = len(valid)  # distinct items of the closed list only (D-15)
        else:
            n = len(items)
    else:
        try:
            n = int(str(answer))
        except ValueError:
            raise ValueError(_("il numero indicato non è valido.")) from None
        if str(n) != str(answer).strip() or n < 0:
            raise ValueError(_("il numero indicato deve essere un intero non negativo."))
        size = rule.closed_list_size or len(rule.closed_list) or None
        if size is not None and n > size:
            raise ValueError(
                _("indicati %(n)d elementi, ma l'elenco chiuso ne prevede %(s)d.")
                % {"n": n, "s": size}
            )
    counted = min(n, rule.count_cap) if rule.count_cap is not None else n
    for band in rule.bands:
        if band.contains(Fraction(counted)):
            return band.points, counted
    raise ValueError(_("nessuna fascia prevede il valore %(n)d.") % {"n": counted})


def _normalise_values(
    ctx: _Ctx, offer: OfferInput, leaves: list[Criterion]
) -> tuple[dict[str, Fraction], list[str]]:
    vals: dict[str, Fraction] = {}
    reasons: list[str] = []
    for leaf in leaves:
        rule = leaf.quantitative
        if offer.values.get(rule.variable) is None:
            continue  # economic value of an offer that may stay below the threshold
        raw = Decimal(str(offer.values[rule.variable]))
        where = {"c": leaf.code, "t": leaf.title, "v": str(raw).replace(".", ",")}
        value = raw
        if rule.integer and raw != raw.to_integral_value():
            reasons.append(
                _("Criterio %(c)s (%(t)s): il valore %(v)s deve essere un numero intero.") % where
            )
            continue
        if rule.decimals is not None and -raw.as_tuple().exponent > rule.decimals:
            quantum = Decimal(1).scaleb(-rule.decimals)
            if rule.excess_decimals == "REJECT":
                reasons.append(
                    _("Criterio %(c)s (%(t)s): il valore %(v)s ha più di %(d)d decimali.")
                    % {**where, "d": rule.decimals}
                )
                continue
            mode = "DOWN" if rule.excess_decimals == "TRUNCATE" else "HALF_UP"
            value = fraction_to_decimal(Fraction(raw), rule.decimals, mode).quantize(quantum)
            ctx.trail.append(
                _(
                    "Offerta %(id)s, criterio %(c)s: valore %(v)s considerato %(n)s "
                    "(cifre decimali oltre la %(d)dª non considerate)."
                )
                % {**where, "id": offer.id, "n": str(value).replace(".", ","), "d": rule.decimals}
            )
        if rule.min is not None and value < rule.min:
            reasons.append(
                _("Criterio %(c)s (%(t)s): il valore %(v)s è inferiore al minimo ammesso %(m)s.")
                % {**where, "m": str(rule.min).replace(".", ",")}
            )
            continue
        if rule.max is not None and value > rule.max:
            reasons.append(
                _("Criterio %(c)s (%(t)s): il valore %(v)s supera il massimo ammesso %(m)s.")
                % {**where, "m": str(rule.max).replace(".", ",")}
            )
            continue
        if rule.max_exclusive is not None and value >= rule.max_exclusive:
            reasons.append(
                _("Criterio %(c)s (%(t)s): il valore %(v)s deve essere inferiore a %(m)s.")
                % {**where, "m": str(rule.max_exclusive).replace(".", ",")}
            )
            continue
        vals[rule.variable] = Fraction(value)
    return vals, reasons


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------
def _it(x: Decimal | None) -> str:
    """Decimal with the Italian decimal comma, for the minutes."""
    return "" if x is None else str(x).replace(".", ",")


def _ids_str(ids: Iterable[str]) -> str:
    return ", ".join(ids)


def _score_leaf(
    ctx: _Ctx,
    leaf: Criterion,
    ids: list[str],
    by_id: dict[str, OfferInput],
    values: dict[str, dict[str, Fraction]],
) -> None:
    scheme = ctx.scheme
    weight = Fraction(leaf.max_points)
    coeff_rule = scheme.rounding.coefficients
    points_rule = leaf.rounding or scheme.rounding.points
    dp = scheme.rounding.display_coefficients_dp
    label = {"c": leaf.code, "m": leaf.max_points}

    def maybe_round(x: Fraction) -> Fraction:
        # Tabular points come from the option table: there is no coefficient to round.
        if coeff_rule is None or leaf.kind == "TABULAR":
            return x
        return Fraction(round_decimal(x, coeff_rule))

    raw: dict[str, Any] = {}
    prov: dict[str, Fraction] = {}
    note_formula = ""
    if leaf.kind == "DISCRETIONARY":
        for i in ids:
            cs = tuple(Decimal(str(x)) for x in by_id[i].coefficients[leaf.code])
            raw[i] = cs
            # Sum of the exact decimals as one integer ratio: fast and exact.
            prov[i] = _decimal_mean(cs)
    elif leaf.kind == "TABULAR":
        for i in ids:
            pts, derived = _tabular_points(leaf, by_id[i].tabular.get(leaf.code, _MISSING))
            raw[i] = derived
            prov[i] = Fraction(pts) / weight if weight else ZERO
    else:
        rule = leaf.quantitative
        xs = {i: values[i][rule.variable] for i in ids}
        raw = {i: fraction_to_decimal(xs[i], rule.decimals or 0) for i in ids}
        coeffs, note_formula = _formula(leaf, rule, xs)
        prov = dict(coeffs)

    reparam = (
        scheme.reparametrisation.first == "CRITERION"
        and leaf.kind in scheme.reparametrisation.applies_to
    )
    best = max(prov.values()) if prov else None
    best_ids = tuple(i for i in ids if prov[i] == best) if prov else ()
    definitive: dict[str, Fraction] = {}
    if reparam and best is not None:
        if best > 0:
            for i in ids:
                definitive[i] = maybe_round(prov[i] / best)
            if best == 1:
                note = _(
                    "Criterio %(c)s (max %(m)s): un'offerta ha già coefficiente 1 (%(ids)s); "
                    "i coefficienti definitivi coincidono con i provvisori."
                ) % {**label, "ids": _ids_str(best_ids)}
            else:
                note = _(
                    "Criterio %(c)s (max %(m)s): coefficiente provvisorio massimo %(b)s (%(ids)s); "
                    "coefficiente definitivo = provvisorio / %(b)s (riparametrazione)."
                ) % {**label, "b": show(best, dp), "ids": _ids_str(best_ids)}
        else:
            definitive = dict.fromkeys(ids, ZERO)
            note = (
                _(
                    "Criterio %(c)s (max %(m)s): tutti i coefficienti provvisori sono 0; "
                    "punteggio 0 a tutte le offerte, nessuna riparametrazione."
                )
                % label
            )
    else:
        definitive = {i: maybe_round(prov[i]) for i in ids}
        if leaf.kind == "TABULAR":
            note = (
                _(
                    "Criterio %(c)s (max %(m)s): punti secondo l'opzione dichiarata, senza "
                    "riparametrazione."
                )
                % label
            )
        elif leaf.kind == "QUANTITATIVE":
            note = _("Criterio %(c)s (max %(m)s):") % label
        else:
            note = _("Criterio %(c)s (max %(m)s): nessuna riparametrazione.") % label
    if note_formula:
        note = f"{note} {note_formula}"
    if ids:
        ctx.trail.append(note)
    ctx.summaries[leaf.code] = CriterionSummary(
        code=leaf.code,
        kind=leaf.kind,
        max_points=leaf.max_points,
        best=best,
        best_ids=best_ids,
        reparametrised=reparam and best is not None and best not in (ZERO, ONE),
        note=note,
        variable=leaf.quantitative.variable if leaf.quantitative else None,
    )
    for i in ids:
        exact = definitive[i] * weight
        pts = round_decimal(exact, points_rule)
        ctx.scores[i][leaf.code] = CriterionScore(
            code=leaf.code,
            kind=leaf.kind,
            raw=raw[i],
            provisional=prov[i],
            definitive=definitive[i],
            points_exact=exact,
            points=pts,
        )
        if leaf.kind == "DISCRETIONARY":
            ctx.expl[i].append(
                _(
                    "%(c)s: coefficienti %(r)s → provvisorio %(p)s → definitivo %(d)s → "
                    "punti %(pts)s su %(m)s."
                )
                % {
                    **label,
                    "r": " / ".join(str(x).replace(".", ",") for x in raw[i]),
                    "p": show(prov[i], dp),
                    "d": show(definitive[i], dp),
                    "pts": str(pts).replace(".", ","),
                }
            )
        elif leaf.kind == "TABULAR":
            answer = by_id[i].tabular.get(leaf.code)
            shown = _answer_label(raw[i])
            if leaf.tabular.type == "COUNT_BANDS":
                declared = len(answer) if isinstance(answer, list | tuple) else int(str(answer))
                if declared != raw[i]:
                    shown = _("%(n)d indicati, %(m)d considerati") % {"n": declared, "m": raw[i]}
            ctx.expl[i].append(
                _("%(c)s: risposta %(r)s → punti %(pts)s su %(m)s.")
                % {**label, "r": shown, "pts": str(pts).replace(".", ",")}
            )
        else:
            ctx.expl[i].append(
                _("%(c)s: valore offerto %(r)s → punti %(e)s → %(pts)s su %(m)s.")
                % {
                    **label,
                    "r": str(raw[i]).replace(".", ","),
                    "e": show(exact, 6),
                    "pts": str(pts).replace(".", ","),
                }
            )


def _decimal_mean(values: tuple[Decimal, ...]) -> Fraction:
    exponent = min(v.as_tuple().exponent for v in values)
    scale = 10**-exponent if exponent < 0 else 1
    total = sum(int(v.scaleb(-exponent)) if exponent < 0 else int(v) for v in values)
    return Fraction(total, scale * len(values))


def _answer_label(value: Any) -> str:
    if value is True:
        return _("sì")
    if value is False:
        return _("no")
    return str(value)


def _formula(
    leaf: Criterion, rule: QuantitativeRule, xs: dict[str, Fraction]
) -> tuple[dict[str, Fraction], str]:
    """Coefficients in [0, 1] for each offer (exact except POWER), and a note for the minutes."""
    if not xs:
        return {}, ""
    higher = rule.better == "HIGHER"
    best = max(xs.values()) if higher else min(xs.values())
    worst = min(xs.values()) if higher else max(xs.values())
    best_ids = _ids_str(i for i, x in xs.items() if x == best)
    degenerate_value = ONE if rule.zero_best == "ALL_MAX" else ZERO
    fmt = {"c": leaf.code, "b": show(best, rule.decimals or 0), "ids": best_ids}
    f = rule.formula
    if f in ("RATIO_TO_BEST", "POWER", "BILINEAR") and best == 0:
        return dict.fromkeys(xs, degenerate_value), _(
            "Valore migliore pari a 0: denominatore nullo, coefficiente %(d)s a tutte le offerte."
        ) % {"d": degenerate_value}
    if f == "RATIO_TO_BEST":
        return {i: x / best for i, x in xs.items()}, _(
            "valore migliore %(b)s (%(ids)s): punti = valore / %(b)s × massimo."
        ) % fmt
    if f == "BEST_OVER_VALUE":
        return {i: best / x for i, x in xs.items()}, _(
            "valore migliore %(b)s (%(ids)s): punti = %(b)s / valore × massimo."
        ) % fmt
    if f == "POWER":
        alpha = Decimal(rule.params["alpha"])
        out = {}
        for i, x in xs.items():
            ratio = x / best
            out[i] = (
                ZERO
                if ratio == 0
                else Fraction(
                    _CTX.power(
                        _CTX.divide(Decimal(ratio.numerator), Decimal(ratio.denominator)), alpha
                    )
                )
            )
        return out, _(
            "valore migliore %(b)s (%(ids)s): punti = (valore / %(b)s)^α × massimo."
        ) % fmt
    if f == "BILINEAR":
        x_coef = Fraction(Decimal(rule.params["x"]))
        mean = sum(xs.values(), ZERO) / len(xs)
        out = {}
        for i, x in xs.items():
            if x <= mean:
                out[i] = x_coef * x / mean
            else:
                out[i] = x_coef + (ONE - x_coef) * (x - mean) / (best - mean)
        return out, _(
            "Formula bilineare: ribasso medio %(r)s, X = %(x)s, ribasso massimo %(b)s."
        ) % {
            **fmt,
            "r": show(mean, 4),
            "x": rule.params["x"],
        }
    if f == "LINEAR_INTERPOLATION":
        if "worst" in rule.params:
            worst = Fraction(Decimal(rule.params["worst"]))
        if best == worst:
            return dict.fromkeys(xs, degenerate_value), _(
                "Valore migliore uguale al peggiore: coefficiente %(d)s a tutte le offerte."
            ) % {"d": degenerate_value}
        out = {i: min(ONE, max(ZERO, (x - worst) / (best - worst))) for i, x in xs.items()}
        return out, _("Interpolazione lineare tra %(w)s e %(b)s.") % {
            **fmt,
            "w": show(worst, rule.decimals or 0),
        }
    # STEP_TABLE: points of the last step whose start is not above the value.
    steps = sorted(rule.steps, key=lambda b: b.min)
    weight = Fraction(leaf.max_points)
    out = {}
    for i, x in xs.items():
        pts = ZERO
        for step in steps:
            if Fraction(step.min) <= x:
                pts = Fraction(step.points)
        out[i] = pts / weight if weight else ZERO
    return out, _("Punti attribuiti per scaglioni del valore offerto.")


def _technical_totals(ctx: _Ctx, ids: list[str]):
    scheme = ctx.scheme
    rep = scheme.reparametrisation.second
    tops = [c for c in scheme.criteria if c.side == "TECHNICAL"]
    points_rule = scheme.rounding.points
    raw_sum = {
        i: sum(
            (cs.points for c, cs in ctx.scores[i].items() if ctx.leaf[c].side == "TECHNICAL"),
            Decimal("0.00"),
        )
        for i in ids
    }
    before = {}
    for i in ids:
        total = Decimal("0.00")
        for code, cs in ctx.scores[i].items():
            leaf = ctx.leaf[code]
            if leaf.side == "TECHNICAL":
                rule = leaf.rounding or points_rule
                total += round_decimal(cs.provisional * Fraction(leaf.max_points), rule)
        before[i] = total
    groups: dict[str, dict[str, Decimal]] = {i: {} for i in ids}
    for top in tops:
        if top.kind != "GROUP":
            continue
        codes = {leaf.code for leaf in top.leaves()}
        sums = {i: sum((ctx.scores[i][c].points for c in codes), Decimal("0.00")) for i in ids}
        if rep == "GROUP" and ids:
            best = max(sums.values())
            for i in ids:
                groups[i][top.code] = (
                    round_decimal(
                        Fraction(sums[i]) / Fraction(best) * Fraction(top.max_points), points_rule
                    )
                    if best > 0
                    else Decimal("0.00")
                )
            ctx.trail.append(
                _("Gruppo %(g)s: riparametrazione di secondo livello sul punteggio massimo %(b)s.")
                % {"g": top.code, "b": _it(best)}
            )
        else:
            for i in ids:
                groups[i][top.code] = sums[i]
    technical: dict[str, Decimal] = {}
    if rep == "GROUP":
        for i in ids:
            loose = sum(
                (ctx.scores[i][t.code].points for t in tops if t.kind != "GROUP"), Decimal("0.00")
            )
            technical[i] = sum(groups[i].values(), Decimal("0.00")) + loose
    elif rep == "TECHNICAL_TOTAL" and ids:
        best = max(raw_sum.values())
        for i in ids:
            technical[i] = (
                round_decimal(
                    Fraction(raw_sum[i]) / Fraction(best) * Fraction(scheme.technical_max),
                    points_rule,
                )
                if best > 0
                else Decimal("0.00")
            )
        ctx.trail.append(
            _(
                "Riparametrazione del punteggio tecnico complessivo: il migliore (%(b)s) riceve "
                "%(m)s punti."
            )
            % {"b": _it(best), "m": _it(scheme.technical_max)}
        )
    else:
        technical = raw_sum
    for i in ids:
        ctx.expl[i].append(_("Punteggio tecnico: %(t)s.") % {"t": _it(technical[i])})
    return technical, groups, before


# ---------------------------------------------------------------------------------------------
# Ranking and ties (§6.6)
# ---------------------------------------------------------------------------------------------
STEP_LABELS = {
    "TOTAL_DESC": "punteggio complessivo",
    "TECHNICAL_DESC": "punteggio tecnico",
    "ECONOMIC_DESC": "punteggio economico",
    "CRITERION_DESC": "punteggio del criterio",
    "IMPROVEMENT_OFFER": "offerta migliorativa",
    "DRAW": "sorteggio",
}


def _rank(ctx, ids, technical, economic, total, values, improvements, draw_order):
    scheme = ctx.scheme
    chain = list(scheme.tie_break_chain)
    det = [t for t in chain if t.kind not in ("IMPROVEMENT_OFFER", "DRAW")]
    ext = [t for t in chain if t.kind in ("IMPROVEMENT_OFFER", "DRAW")]

    def metric(step, i) -> Decimal:
        if step.kind == "TOTAL_DESC":
            return total[i]
        if step.kind == "TECHNICAL_DESC":
            return technical[i]
        if step.kind == "ECONOMIC_DESC":
            return economic[i]
        return ctx.scores[i][step.criterion].points

    def key(i):
        return tuple(-metric(s, i) for s in det)

    ordered = sorted(ids, key=lambda i: (key(i), i))
    # Groups of offers equal on every deterministic step.
    blocks: list[list[str]] = []
    for i in ordered:
        if blocks and key(blocks[-1][0]) == key(i):
            blocks[-1].append(i)
        else:
            blocks.append([i])

    separations: list[Separation] = []
    for a_block, b_block in itertools.pairwise(blocks):
        a, b = a_block[-1], b_block[0]
        for step in det:
            if metric(step, a) != metric(step, b):
                if step.kind != "TOTAL_DESC":
                    reason = _(
                        "A parità di punteggio complessivo (%(tot)s), l'offerta %(a)s precede "
                        "l'offerta "
                        "%(b)s per il maggior %(what)s (%(va)s contro %(vb)s)."
                    ) % {
                        "tot": _it(total[a]),
                        "a": a,
                        "b": b,
                        "what": STEP_LABELS[step.kind]
                        + (f" {step.criterion}" if step.kind == "CRITERION_DESC" else ""),
                        "va": _it(metric(step, a)),
                        "vb": _it(metric(step, b)),
                    }
                    separations.append(Separation(a, b, step.kind, reason))
                    ctx.trail.append(reason)
                break

    order: list[str] = []
    ranks: dict[str, int] = {}
    ties: list[TieGroup] = []
    tie_of: dict[str, int] = {}
    position = 1
    for block in blocks:
        if len(block) == 1:
            ranks[block[0]] = position
            order.append(block[0])
            position += 1
            continue
        involves_first = position == 1
        resolve = scheme.tie_resolution_scope == "ALL" or involves_first
        subgroups: list[list[str]] = [sorted(block)]
        steps_applied: list[str] = []
        pending = None
        reasons = [
            _(
                "Offerte %(ids)s in parità: stesso punteggio complessivo (%(tot)s) e stessi "
                "punteggi "
                "parziali (tecnico %(t)s, economico %(e)s)."
            )
            % {
                "ids": _ids_str(sorted(block)),
                "tot": _it(total[block[0]]),
                "t": _it(technical[block[0]]),
                "e": _it(economic[block[0]]),
            }
        ]
        if not resolve:
            reasons.append(
                _(
                    "La parità non riguarda il primo posto: le offerte restano ex aequo con la "
                    "stessa "
                    "posizione."
                )
            )
        else:
            for step in ext:
                if all(len(g) == 1 for g in subgroups):
                    break
                if step.kind == "IMPROVEMENT_OFFER":
                    if improvements is None:
                        pending = step.kind
                        reasons.append(
                            _(
                                "Si richiede a tutte le offerte in parità un'offerta migliorativa "
                                "(%(v)s) entro %(d)d giorni."
                            )
                            % {
                                "v": VARIABLE_LABELS.get(step.variable, step.variable),
                                "d": step.days,
                            }
                        )
                        break
                    subgroups = _apply_improvements(
                        ctx, step, subgroups, values, improvements, reasons
                    )
                    steps_applied.append(step.kind)
                else:  # DRAW
                    still = [g for g in subgroups if len(g) > 1]
                    drawn = list(draw_order or [])
                    if not all(set(g) <= set(drawn) for g in still):
                        pending = step.kind
                        reasons.append(
                            _(
                                "Permane la parità tra %(ids)s: si procede mediante sorteggio "
                                "pubblico."
                            )
                            % {"ids": "; ".join(_ids_str(g) for g in still)}
                        )
                        break
                    new: list[list[str]] = []
                    for g in subgroups:
                        if len(g) > 1:
                            new.extend([i] for i in sorted(g, key=drawn.index))
                        else:
                            new.append(g)
                    reasons.append(
                        _("Ordine fissato dal sorteggio: %(ids)s.")
                        % {"ids": _ids_str(i for g in new for i in g if any(i in s for s in still))}
                    )
                    subgroups = new
                    steps_applied.append(step.kind)
        tie_index = len(ties)
        sub_pos = position
        for g in subgroups:
            for i in g:
                ranks[i] = sub_pos
                order.append(i)
                tie_of[i] = tie_index
            sub_pos += len(g)
        reason = " ".join(reasons)
        ctx.trail.append(reason)
        ties.append(
            TieGroup(
                ids=tuple(sorted(block)),
                rank=position,
                involves_first=involves_first,
                steps_applied=tuple(steps_applied),
                pending=pending,
                resolved_order=tuple(tuple(g) for g in subgroups),
                reason=reason,
            )
        )
        position += len(block)
    return order, ranks, ties, tie_of, separations


def _apply_improvements(ctx, step, subgroups, values, improvements, reasons):
    leaf_rule = next(
        c.quantitative
        for c in ctx.scheme.leaves()
        if c.quantitative and c.quantitative.variable == step.variable
    )
    problems = []
    new: list[list[str]] = []
    for g in subgroups:
        if len(g) == 1:
            new.append(g)
            continue
        improved: dict[str, Fraction] = {}
        for i in g:
            original = values[i][step.variable]
            offered = improvements.get(i)
            if offered is None:
                improved[i] = original
                reasons.append(
                    _(
                        "L'offerta %(id)s non ha presentato offerta migliorativa: resta valido "
                        "%(v)s."
                    )
                    % {"id": i, "v": show(original, leaf_rule.decimals or 0)}
                )
                continue
            value = Fraction(Decimal(str(offered)))
            worse = value < original if leaf_rule.better == "HIGHER" else value > original
            if worse:
                problems.append(
                    _(
                        "Offerta %(id)s: l'offerta migliorativa %(v)s è peggiorativa rispetto "
                        "all'originale %(o)s."
                    )
                    % {"id": i, "v": offered, "o": show(original, leaf_rule.decimals or 0)}
                )
            improved[i] = value
            reasons.append(
                _("Offerta migliorativa di %(id)s: %(v)s.")
                % {"id": i, "v": show(value, leaf_rule.decimals or 0)}
            )
        sign = -1 if leaf_rule.better == "HIGHER" else 1
        ordered = sorted(g, key=lambda i: (sign * improved[i], i))
        chunk: list[str] = []
        for i in ordered:
            if chunk and improved[chunk[0]] != improved[i]:
                new.append(chunk)
                chunk = []
            chunk.append(i)
        new.append(chunk)
        reasons.append(
            _("Ordine dopo le offerte migliorative: %(order)s.")
            % {
                "order": "; ".join(
                    f"{_ids_str(c)} ({show(improved[c[0]], leaf_rule.decimals or 0)})"
                    for c in new
                    if c[0] in improved
                )
            }
        )
    if problems:
        raise OfferInputError(problems)
    return new


# ---------------------------------------------------------------------------------------------
# Amounts and anomaly
# ---------------------------------------------------------------------------------------------
def _amounts(vals, amounts: LotAmounts | None, improved):
    discount = vals.get("discount_pct")
    if discount is None:
        return None, None, None
    contract = Fraction(Decimal(str(improved))) if improved is not None else discount
    contract_dec = fraction_to_decimal(contract, 2)
    if amounts is None:
        return contract_dec, None, None
    offered = fraction_to_decimal(Fraction(amounts.works_amount) * (ONE - contract / 100), 2)
    return contract_dec, offered, offered + amounts.safety_costs


def _sqrt(x: Fraction) -> Fraction:
    if x <= 0:
        return ZERO
    return Fraction(_CTX.sqrt(_CTX.divide(Decimal(x.numerator), Decimal(x.denominator))))


def _mean_sd(xs: list[Fraction]) -> tuple[Fraction, Fraction]:
    mean = sum(xs, ZERO) / len(xs)
    var = sum(((x - mean) ** 2 for x in xs), ZERO) / len(xs)
    return mean, _sqrt(var)


def _euro(x: Decimal) -> str:
    s = f"{x:,.2f}"
    return "€ " + s.replace(",", "X").replace(".", ",").replace("X", ".")


def _anomaly(ctx, order, by_id, values, technical, economic, amounts) -> list[AnomalyCheck]:
    scheme = ctx.scheme
    rule = scheme.anomaly
    k = Fraction(rule.sd_factor)
    found: dict[str, list[AnomalyIndicator]] = {i: [] for i in order}
    if not order:
        return []
    for ind in rule.indicators:
        if (
            ind == "LABOUR_COSTS_BELOW_ESTIMATE"
            and amounts
            and amounts.labour_cost_estimate is not None
        ):
            est = amounts.labour_cost_estimate
            for i in order:
                lc = by_id[i].labour_costs
                if lc is not None and lc < est:
                    diff = est - lc
                    pct = fraction_to_decimal(Fraction(diff) / Fraction(est) * 100, 2)
                    found[i].append(
                        AnomalyIndicator(
                            ind,
                            _(
                                "Costi della manodopera dichiarati (%(lc)s) inferiori alla stima "
                                "della "
                                "stazione appaltante (%(est)s): −%(d)s (−%(p)s %%)."
                            )
                            % {
                                "lc": _euro(lc),
                                "est": _euro(est),
                                "d": _euro(diff),
                                "p": str(pct).replace(".", ","),
                            },
                        )
                    )
        elif ind == "ZERO_SAFETY_COSTS":
            for i in order:
                sc = by_id[i].company_safety_costs
                if sc is not None and sc == 0:
                    found[i].append(
                        AnomalyIndicator(
                            ind, _("Oneri aziendali per la sicurezza dichiarati pari a zero.")
                        )
                    )
        elif ind in ("DISCOUNT_ABOVE_MEAN_PLUS_SD", "DURATION_BELOW_MEAN_MINUS_SD"):
            variable = (
                rule.discount_variable if ind.startswith("DISCOUNT") else rule.duration_variable
            )
            xs = {i: values[i][variable] for i in order if variable in values[i]}
            if len(xs) < 2:
                continue
            mean, sd = _mean_sd(list(xs.values()))
            for i, x in xs.items():
                if ind.startswith("DISCOUNT") and x > mean + k * sd:
                    found[i].append(
                        AnomalyIndicator(
                            ind,
                            _(
                                "Ribasso %(x)s %% superiore alla media (%(m)s %%) di oltre %(k)s "
                                "deviazioni standard (%(sd)s)."
                            )
                            % {
                                "x": show(x, 2),
                                "m": show(mean, 2),
                                "k": rule.sd_factor,
                                "sd": show(sd, 2),
                            },
                        )
                    )
                if ind.startswith("DURATION") and x < mean - k * sd:
                    found[i].append(
                        AnomalyIndicator(
                            ind,
                            _(
                                "Durata di %(x)s giorni inferiore alla media (%(m)s) di oltre "
                                "%(k)s "
                                "deviazioni standard (%(sd)s)."
                            )
                            % {
                                "x": show(x, 0),
                                "m": show(mean, 2),
                                "k": rule.sd_factor,
                                "sd": show(sd, 2),
                            },
                        )
                    )
        elif ind == "FOUR_FIFTHS":
            t_lim = scheme.technical_max * Decimal(4) / Decimal(5)
            e_lim = scheme.economic_max * Decimal(4) / Decimal(5)
            for i in order:
                if technical[i] >= t_lim and economic[i] >= e_lim:
                    found[i].append(
                        AnomalyIndicator(
                            ind,
                            _(
                                "Punteggi tecnico (%(t)s) ed economico (%(e)s) entrambi pari o "
                                "superiori "
                                "ai quattro quinti dei massimi."
                            )
                            % {"t": technical[i], "e": economic[i]},
                        )
                    )
    checks = [AnomalyCheck(i, tuple(found[i])) for i in order]
    flagged = [c.id for c in checks if c.appears_abnormal]
    if flagged:
        ctx.trail.append(
            _(
                "Indicatori di possibile anomalia (non vincolanti, art. 110 D.Lgs. 36/2023): "
                "%(ids)s. "
                "La valutazione spetta al RUP, a partire dalla prima migliore offerta."
            )
            % {"ids": _ids_str(flagged)}
        )
    else:
        ctx.trail.append(_("Nessun indicatore di possibile anomalia."))
    return checks
