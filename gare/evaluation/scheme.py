"""The evaluation scheme: frozen dataclasses, JSON round-trip and validation (spec §3.3.7, §6.8).

``validate()`` collects every problem and raises one ``SchemeError``: a scheme that passes can be
evaluated deterministically for any admissible set of offers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from gare.evaluation._i18n import _
from gare.evaluation.errors import SchemeError
from gare.evaluation.rounding import ROUNDING_MODES

KINDS = ("GROUP", "DISCRETIONARY", "TABULAR", "QUANTITATIVE")
SIDES = ("TECHNICAL", "ECONOMIC")
METHODS = ("AVERAGE_OF_COMMISSIONER_COEFFICIENTS", "COMMISSION_CONSENSUS")
TABULAR_TYPES = ("BOOLEAN", "COUNT_BANDS", "OPTION_TABLE")
FORMULAS = (
    "RATIO_TO_BEST",
    "BEST_OVER_VALUE",
    "LINEAR_INTERPOLATION",
    "BILINEAR",
    "POWER",
    "STEP_TABLE",
)
BETTER = ("HIGHER", "LOWER")

# What every formula declares (§6.8): expression, inputs and bounds, best value, zero denominator,
# rounding.  Italian, for the configuration page and the minutes.
FORMULA_INFO = {
    "RATIO_TO_BEST": {
        "expression": "P = Pmax × V / Vmax",
        "better": "HIGHER",
        "inputs": "valore offerto V ≥ 0 (limiti e decimali del criterio)",
        "best": "il valore più alto tra le offerte ammesse riceve il punteggio massimo",
        "zero": "se Vmax = 0: tutti 0 (ALL_ZERO) o tutti il massimo (ALL_MAX)",
    },
    "BEST_OVER_VALUE": {
        "expression": "P = Pmax × Vmin / V",
        "better": "LOWER",
        "inputs": "valore offerto V > 0 (limite minimo positivo obbligatorio)",
        "best": "il valore più basso tra le offerte ammesse riceve il punteggio massimo",
        "zero": "impossibile: il limite minimo è positivo",
    },
    "LINEAR_INTERPOLATION": {
        "expression": "P = Pmax × (V − Vpeggiore) / (Vmigliore − Vpeggiore), tra 0 e Pmax",
        "better": "HIGHER o LOWER",
        "inputs": "valore offerto V; Vpeggiore = parametro «worst» o la peggiore offerta",
        "best": "la migliore offerta riceve il punteggio massimo",
        "zero": "se Vmigliore = Vpeggiore: tutti 0 (ALL_ZERO) o tutti il massimo (ALL_MAX)",
    },
    "BILINEAR": {
        "expression": (
            "C = X × R / Rmedio se R ≤ Rmedio; C = X + (1 − X) × (R − Rmedio) / (Rmax − Rmedio) "
            "altrimenti; P = Pmax × C"
        ),
        "better": "HIGHER",
        "inputs": "ribasso R ≥ 0; parametro X tra 0 e 1 (es. 0,80, 0,85, 0,90)",
        "best": "il ribasso massimo riceve il punteggio massimo",
        "zero": "se Rmax = 0: tutti 0 (ALL_ZERO) o tutti il massimo (ALL_MAX)",
    },
    "POWER": {
        "expression": "P = Pmax × (R / Rmax)^α",
        "better": "HIGHER",
        "inputs": "ribasso R ≥ 0; esponente α > 0 (calcolo decimale a 50 cifre)",
        "best": "il ribasso massimo riceve il punteggio massimo",
        "zero": "se Rmax = 0: tutti 0 (ALL_ZERO) o tutti il massimo (ALL_MAX)",
    },
    "STEP_TABLE": {
        "expression": "P = punti dello scaglione con inizio più alto non superiore a V",
        "better": "HIGHER o LOWER",
        "inputs": "valore offerto V ≥ limite minimo; scaglioni che coprono il limite minimo",
        "best": "dipende dagli scaglioni",
        "zero": "nessuna divisione",
    },
}
EXCESS_DECIMALS = ("TRUNCATE", "HALF_UP", "REJECT")
ZERO_BEST = ("ALL_ZERO", "ALL_MAX")
REPARAM_FIRST = ("NONE", "CRITERION")
REPARAM_SECOND = ("NONE", "GROUP", "TECHNICAL_TOTAL")
THRESHOLD_STAGES = ("AFTER_REPARAMETRISATION", "BEFORE_REPARAMETRISATION")
TIE_BREAKS = (
    "TOTAL_DESC",
    "TECHNICAL_DESC",
    "ECONOMIC_DESC",
    "CRITERION_DESC",
    "IMPROVEMENT_OFFER",
    "DRAW",
)
TIE_SCOPES = ("FIRST_PLACE", "ALL")
ANOMALY_INDICATORS = (
    "LABOUR_COSTS_BELOW_ESTIMATE",
    "ZERO_SAFETY_COSTS",
    "DISCOUNT_ABOVE_MEAN_PLUS_SD",
    "DURATION_BELOW_MEAN_MINUS_SD",
    "FOUR_FIFTHS",
)


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise TypeError("float non ammesso: usare Decimal o stringhe")
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value).strip().replace(",", "."))


def _plain(value: Any) -> Any:
    """JSON-safe representation: Decimals as strings, tuples as lists, dataclasses as dicts."""
    if isinstance(value, Decimal):
        return str(value)
    if is_dataclass(value):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Serialisable:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class RoundingRule(_Serialisable):
    decimals: int = 2
    mode: str = "HALF_UP"

    @classmethod
    def from_dict(cls, data: Any) -> RoundingRule:
        if isinstance(data, list | tuple):  # Appendix A shape: [2, HALF_UP]
            return cls(decimals=int(data[0]), mode=str(data[1]))
        return cls(decimals=int(data.get("decimals", 2)), mode=str(data.get("mode", "HALF_UP")))


@dataclass(frozen=True)
class Rounding(_Serialisable):
    points: RoundingRule = field(default_factory=RoundingRule)
    coefficients: RoundingRule | None = None  # None = EXACT (D-13)
    display_coefficients_dp: int = 4

    @classmethod
    def from_dict(cls, data: dict | None) -> Rounding:
        data = data or {}
        points = data.get("points") or data.get("criterion_points")
        coeff = data.get("coefficients")
        if data.get("intermediate") not in (None, "EXACT") and coeff is None:
            coeff = [int(data["intermediate"]), "HALF_UP"]
        return cls(
            points=RoundingRule.from_dict(points) if points is not None else RoundingRule(),
            coefficients=RoundingRule.from_dict(coeff) if coeff not in (None, "EXACT") else None,
            display_coefficients_dp=int(data.get("display_coefficients_dp", 4)),
        )


@dataclass(frozen=True)
class JudgementLevel(_Serialisable):
    value: Decimal
    label: str

    @classmethod
    def from_dict(cls, data: Any) -> JudgementLevel:
        if isinstance(data, list | tuple):
            return cls(value=_dec(data[0]), label=str(data[1]))
        return cls(value=_dec(data["value"]), label=str(data.get("label", "")))


@dataclass(frozen=True)
class Band(_Serialisable):
    """Closed range ``min ≤ n ≤ max`` (``max`` None = no upper end) giving ``points``."""

    min: Decimal
    max: Decimal | None
    points: Decimal

    @classmethod
    def from_dict(cls, data: dict) -> Band:
        points = _dec(data["points"])
        if "eq" in data:
            v = _dec(data["eq"])
            return cls(min=v, max=v, points=points)
        if "lt" in data:  # integer counts: n < k  ⇔  0 ≤ n ≤ k − 1
            return cls(min=Decimal(0), max=_dec(data["lt"]) - 1, points=points)
        if "gt" in data:
            return cls(min=_dec(data["gt"]) + 1, max=None, points=points)
        return cls(min=_dec(data.get("min", 0)), max=_dec(data.get("max")), points=points)

    def contains(self, n: Fraction) -> bool:
        return n >= Fraction(self.min) and (self.max is None or n <= Fraction(self.max))


@dataclass(frozen=True)
class Option(_Serialisable):
    value: str
    label: str
    points: Decimal

    @classmethod
    def from_dict(cls, data: dict) -> Option:
        return cls(
            value=str(data["value"]),
            label=str(data.get("label", data["value"])),
            points=_dec(data["points"]),
        )


@dataclass(frozen=True)
class TabularRule(_Serialisable):
    type: str
    yes_points: Decimal | None = None
    no_points: Decimal | None = None
    bands: tuple[Band, ...] = ()
    count_cap: int | None = None
    closed_list: tuple[str, ...] = ()
    closed_list_size: int | None = None
    options: tuple[Option, ...] = ()

    @classmethod
    def from_dict(cls, data: dict) -> TabularRule:
        return cls(
            type=str(data.get("type", "")),
            yes_points=_dec(data.get("yes_points", data.get("yes"))),
            no_points=_dec(data.get("no_points", data.get("no"))),
            bands=tuple(Band.from_dict(b) for b in data.get("bands", ())),
            count_cap=int(data["count_cap"]) if data.get("count_cap") is not None else None,
            closed_list=tuple(str(x) for x in data.get("closed_list", ())),
            closed_list_size=(
                int(data["closed_list_size"]) if data.get("closed_list_size") is not None else None
            ),
            options=tuple(Option.from_dict(o) for o in data.get("options", ())),
        )

    def max_count(self) -> int | None:
        """Largest count that can occur (None = unbounded)."""
        caps = [
            c
            for c in (
                self.count_cap,
                len(self.closed_list) or None,
                self.closed_list_size,
            )
            if c is not None
        ]
        return min(caps) if caps else None

    def possible_points(self) -> list[Decimal]:
        if self.type == "BOOLEAN":
            return [p for p in (self.yes_points, self.no_points) if p is not None]
        if self.type == "COUNT_BANDS":
            return [b.points for b in self.bands]
        return [o.points for o in self.options]


@dataclass(frozen=True)
class QuantitativeRule(_Serialisable):
    variable: str
    better: str
    formula: str
    params: dict[str, str] = field(default_factory=dict)
    steps: tuple[Band, ...] = ()
    min: Decimal | None = None
    max: Decimal | None = None
    max_exclusive: Decimal | None = None
    integer: bool = False
    decimals: int | None = None
    excess_decimals: str = "TRUNCATE"
    zero_best: str = "ALL_ZERO"

    @classmethod
    def from_dict(cls, data: dict) -> QuantitativeRule:
        bounds = data.get("bounds", {})

        def pick(key: str) -> Any:
            return data.get(key, bounds.get(key))

        return cls(
            variable=str(data.get("variable", "")),
            better=str(data.get("better", "")),
            formula=str(data.get("formula", "")),
            params={str(k): str(v) for k, v in (data.get("params") or {}).items()},
            steps=tuple(Band.from_dict(b) for b in data.get("steps", ())),
            min=_dec(pick("min")),
            max=_dec(pick("max")),
            max_exclusive=_dec(pick("max_exclusive")),
            integer=bool(pick("integer") or False),
            decimals=int(pick("decimals")) if pick("decimals") is not None else None,
            excess_decimals=str(pick("excess_decimals") or "TRUNCATE"),
            zero_best=str(data.get("zero_best", "ALL_ZERO")),
        )


@dataclass(frozen=True)
class Criterion(_Serialisable):
    code: str
    title: str
    max_points: Decimal
    kind: str
    side: str = "TECHNICAL"
    children: tuple[Criterion, ...] = ()
    method: str | None = None
    tabular: TabularRule | None = None
    quantitative: QuantitativeRule | None = None
    rounding: RoundingRule | None = None
    guidance_ref: str = ""

    @classmethod
    def from_dict(cls, data: dict, side: str | None = None) -> Criterion:
        side = str(data.get("side") or side or "TECHNICAL")
        children = tuple(Criterion.from_dict(c, side) for c in data.get("children", ()))
        kind = str(data.get("kind") or ("GROUP" if children else ""))
        rule = data.get("rule")
        tabular = data.get("tabular") or (rule if kind == "TABULAR" else None)
        quantitative = data.get("quantitative") or (rule if kind == "QUANTITATIVE" else None)
        method = data.get("method")
        if kind == "DISCRETIONARY" and not method:
            method = "AVERAGE_OF_COMMISSIONER_COEFFICIENTS"
        return cls(
            code=str(data.get("code", "")),
            title=str(data.get("title", "")),
            max_points=_dec(data.get("max_points", data.get("max"))),
            kind=kind,
            side=side,
            children=children,
            method=method,
            tabular=TabularRule.from_dict(tabular) if tabular else None,
            quantitative=QuantitativeRule.from_dict(quantitative) if quantitative else None,
            rounding=RoundingRule.from_dict(data["rounding"]) if data.get("rounding") else None,
            guidance_ref=str(data.get("guidance_ref", "")),
        )

    def leaves(self) -> list[Criterion]:
        if self.kind == "GROUP":
            return [leaf for c in self.children for leaf in c.leaves()]
        return [self]


@dataclass(frozen=True)
class Reparametrisation(_Serialisable):
    first: str = "CRITERION"
    second: str = "NONE"
    applies_to: tuple[str, ...] = ("DISCRETIONARY",)

    @classmethod
    def from_dict(cls, data: dict | None, second: str | None = None) -> Reparametrisation:
        data = data or {}
        first = str(data.get("first", data.get("level", "CRITERION")))
        return cls(
            first=first,
            second=str(data.get("second", second or "NONE")),
            applies_to=tuple(data.get("applies_to", ("DISCRETIONARY",))),
        )


@dataclass(frozen=True)
class Threshold(_Serialisable):
    min_technical: Decimal
    stage: str = "AFTER_REPARAMETRISATION"

    @classmethod
    def from_dict(cls, data: Any) -> Threshold | None:
        if data in (None, ""):
            return None
        if not isinstance(data, dict):
            return cls(min_technical=_dec(data))
        return cls(
            min_technical=_dec(data.get("min_technical")),
            stage=str(data.get("stage", "AFTER_REPARAMETRISATION")),
        )


@dataclass(frozen=True)
class TieBreak(_Serialisable):
    kind: str
    criterion: str | None = None
    variable: str | None = None
    days: int | None = None

    @classmethod
    def from_dict(cls, data: Any) -> TieBreak:
        if isinstance(data, str):
            return cls(kind=data)
        if "kind" in data:
            return cls(
                kind=str(data["kind"]),
                criterion=data.get("criterion"),
                variable=data.get("variable"),
                days=int(data["days"]) if data.get("days") is not None else None,
            )
        # Appendix A shape: {IMPROVEMENT_OFFER: {variable: discount_pct, days: 5}}
        ((kind, params),) = data.items()
        params = params or {}
        if not isinstance(params, dict):
            params = {"criterion": params}
        return cls(
            kind=str(kind),
            criterion=params.get("criterion"),
            variable=params.get("variable"),
            days=int(params["days"]) if params.get("days") is not None else None,
        )


@dataclass(frozen=True)
class AnomalyRule(_Serialisable):
    indicators: tuple[str, ...] = (
        "LABOUR_COSTS_BELOW_ESTIMATE",
        "ZERO_SAFETY_COSTS",
        "DISCOUNT_ABOVE_MEAN_PLUS_SD",
        "DURATION_BELOW_MEAN_MINUS_SD",
    )
    sd_factor: Decimal = Decimal("1")
    discount_variable: str = "discount_pct"
    duration_variable: str = "duration_days"

    @classmethod
    def from_dict(cls, data: dict | None) -> AnomalyRule:
        if not data:
            return cls()
        default = cls()
        return cls(
            indicators=tuple(data.get("indicators", default.indicators)),
            sd_factor=_dec(data.get("sd_factor", "1")),
            discount_variable=str(data.get("discount_variable", default.discount_variable)),
            duration_variable=str(data.get("duration_variable", default.duration_variable)),
        )


@dataclass(frozen=True)
class LotAmounts(_Serialisable):
    works_amount: Decimal
    safety_costs: Decimal
    labour_cost_estimate: Decimal | None = None

    @classmethod
    def from_dict(cls, data: dict | None) -> LotAmounts | None:
        if not data:
            return None
        return cls(
            works_amount=_dec(data["works_amount"]),
            safety_costs=_dec(data.get("safety_costs", "0")),
            labour_cost_estimate=_dec(data.get("labour_cost_estimate")),
        )


@dataclass(frozen=True)
class EvaluationScheme(_Serialisable):
    code: str
    title: str
    technical_max: Decimal
    economic_max: Decimal
    criteria: tuple[Criterion, ...]
    judgement_scale: tuple[JudgementLevel, ...]
    commissioners: int | None = 3
    reparametrisation: Reparametrisation = field(default_factory=Reparametrisation)
    rounding: Rounding = field(default_factory=Rounding)
    threshold: Threshold | None = None
    tie_break_chain: tuple[TieBreak, ...] = (
        TieBreak("TOTAL_DESC"),
        TieBreak("TECHNICAL_DESC"),
        TieBreak("IMPROVEMENT_OFFER", variable="discount_pct", days=5),
        TieBreak("DRAW"),
    )
    tie_resolution_scope: str = "FIRST_PLACE"
    anomaly: AnomalyRule = field(default_factory=AnomalyRule)
    amounts: LotAmounts | None = None
    total_max: Decimal = Decimal("100")

    # -- serialisation -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict) -> EvaluationScheme:
        """Build from ``to_dict()`` output or from the Appendix A ``scoring_scheme`` shape."""
        if not isinstance(data, dict):
            raise SchemeError([_("Lo schema deve essere un oggetto JSON.")])
        try:
            return cls(
                code=str(data.get("code", "")),
                title=str(data.get("title", "")),
                technical_max=_dec(data.get("technical_max")),
                economic_max=_dec(data.get("economic_max")),
                criteria=tuple(Criterion.from_dict(c) for c in data.get("criteria", ())),
                judgement_scale=tuple(
                    JudgementLevel.from_dict(j) for j in data.get("judgement_scale", ())
                ),
                commissioners=(
                    int(data["commissioners"]) if data.get("commissioners") is not None else None
                ),
                reparametrisation=Reparametrisation.from_dict(
                    data.get("reparametrisation"), data.get("second_reparametrisation")
                ),
                rounding=Rounding.from_dict(data.get("rounding")),
                threshold=Threshold.from_dict(
                    data.get("threshold", data.get("technical_threshold"))
                ),
                tie_break_chain=tuple(
                    TieBreak.from_dict(t)
                    for t in data.get(
                        "tie_break_chain",
                        [t.to_dict() for t in cls.__dataclass_fields__["tie_break_chain"].default],
                    )
                ),
                tie_resolution_scope=str(data.get("tie_resolution_scope", "FIRST_PLACE")),
                anomaly=AnomalyRule.from_dict(data.get("anomaly")),
                amounts=LotAmounts.from_dict(data.get("amounts")),
                total_max=_dec(data.get("total_max", "100")),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
            raise SchemeError(
                [_("Struttura dello schema non leggibile: %(err)s") % {"err": exc}]
            ) from exc

    # -- navigation ----------------------------------------------------------------------------
    def leaves(self) -> list[Criterion]:
        return [leaf for c in self.criteria for leaf in c.leaves()]

    def leaf(self, code: str) -> Criterion:
        for leaf in self.leaves():
            if leaf.code == code:
                return leaf
        raise KeyError(code)

    def quantitative_variables(self) -> set[str]:
        return {c.quantitative.variable for c in self.leaves() if c.quantitative}

    def scale_values(self) -> set[Decimal]:
        return {j.value for j in self.judgement_scale}

    # -- validation ----------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise ``SchemeError`` listing every reason why the scheme cannot be evaluated."""
        problems: list[str] = []
        p = problems.append
        zero = Decimal(0)
        for name, value in (
            ("technical_max", self.technical_max),
            ("economic_max", self.economic_max),
        ):
            if value is None or value < zero:
                p(
                    _("Il punteggio massimo %(name)s deve essere un numero non negativo.")
                    % {"name": name}
                )
        if (
            self.technical_max is not None
            and self.economic_max is not None
            and self.technical_max + self.economic_max != self.total_max
        ):
            p(
                _("La somma dei punteggi tecnico (%(t)s) ed economico (%(e)s) deve essere %(tot)s.")
                % {"t": self.technical_max, "e": self.economic_max, "tot": self.total_max}
            )
        if not self.criteria:
            p(_("Lo schema non contiene criteri."))
        seen: set[str] = set()
        for node in self.criteria:
            self._validate_node(node, problems, seen, top=True)
        for side, expected, label in (
            ("TECHNICAL", self.technical_max, _("tecnici")),
            ("ECONOMIC", self.economic_max, _("economici")),
        ):
            total = sum(
                (
                    c.max_points
                    for c in self.criteria
                    if c.side == side and c.max_points is not None
                ),
                zero,
            )
            if expected is not None and total != expected:
                p(
                    _("I criteri %(label)s sommano %(sum)s punti invece di %(max)s.")
                    % {"label": label, "sum": total, "max": expected}
                )
        leaves = self.leaves()
        if any(c.kind == "DISCRETIONARY" for c in leaves):
            self._validate_scale(problems)
        if self.commissioners is not None and self.commissioners < 1:
            p(_("Il numero dei commissari deve essere almeno 1."))
        rep = self.reparametrisation
        if rep.first not in REPARAM_FIRST:
            p(_("Riparametrazione di primo livello sconosciuta: %(v)s.") % {"v": rep.first})
        if rep.second not in REPARAM_SECOND:
            p(_("Riparametrazione di secondo livello sconosciuta: %(v)s.") % {"v": rep.second})
        for kind in rep.applies_to:
            if kind not in ("DISCRETIONARY", "TABULAR", "QUANTITATIVE"):
                p(_("La riparametrazione non può applicarsi al tipo %(v)s.") % {"v": kind})
        if rep.second == "GROUP" and not any(
            c.kind == "GROUP" and c.side == "TECHNICAL" for c in self.criteria
        ):
            p(_("La riparametrazione per gruppo richiede almeno un gruppo di criteri tecnici."))
        for label, rule in (
            ("punti", self.rounding.points),
            ("coefficienti", self.rounding.coefficients),
        ):
            if rule is not None:
                self._validate_rounding(rule, label, problems)
        if self.threshold is not None:
            t = self.threshold
            if (
                t.min_technical is None
                or t.min_technical < zero
                or (self.technical_max is not None and t.min_technical > self.technical_max)
            ):
                p(
                    _(
                        "La soglia di sbarramento tecnica deve essere compresa tra 0 e il "
                        "punteggio tecnico massimo."
                    )
                )
            if t.stage not in THRESHOLD_STAGES:
                p(_("Momento di applicazione della soglia sconosciuto: %(v)s.") % {"v": t.stage})
        self._validate_ties(problems, seen)
        for ind in self.anomaly.indicators:
            if ind not in ANOMALY_INDICATORS:
                p(_("Indicatore di anomalia sconosciuto: %(v)s.") % {"v": ind})
        if self.anomaly.sd_factor is None or self.anomaly.sd_factor < zero:
            p(_("Il fattore della deviazione standard per l'anomalia deve essere non negativo."))
        if problems:
            raise SchemeError(problems)

    def _validate_scale(self, problems: list[str]) -> None:
        p = problems.append
        values = [j.value for j in self.judgement_scale]
        if not values:
            p(_("Manca la scala dei giudizi per i criteri discrezionali."))
            return
        if any(v is None or v < 0 or v > 1 for v in values):
            p(_("I coefficienti della scala dei giudizi devono essere compresi tra 0 e 1."))
        elif values != sorted(set(values)):
            p(_("I coefficienti della scala dei giudizi devono essere distinti e crescenti."))
        if any(not j.label.strip() for j in self.judgement_scale):
            p(
                _(
                    "Ogni livello della scala dei giudizi deve avere un giudizio (criterio "
                    "motivazionale)."
                )
            )

    def _validate_rounding(self, rule: RoundingRule, label: str, problems: list[str]) -> None:
        if rule.mode not in ROUNDING_MODES:
            problems.append(_("Modalità di arrotondamento sconosciuta: %(v)s.") % {"v": rule.mode})
        if not 0 <= rule.decimals <= 6:
            problems.append(
                _("I decimali di arrotondamento (%(label)s) devono essere tra 0 e 6.")
                % {"label": label}
            )

    def _validate_ties(self, problems: list[str], codes: set[str]) -> None:
        p = problems.append
        chain = self.tie_break_chain
        kinds = [t.kind for t in chain]
        for t in chain:
            if t.kind not in TIE_BREAKS:
                p(_("Criterio di spareggio sconosciuto: %(v)s.") % {"v": t.kind})
            if t.kind == "CRITERION_DESC" and t.criterion not in codes:
                p(
                    _("Lo spareggio per criterio indica un criterio inesistente: %(v)s.")
                    % {"v": t.criterion}
                )
            if t.kind == "IMPROVEMENT_OFFER":
                if t.variable not in self.quantitative_variables():
                    p(
                        _(
                            "L'offerta migliorativa deve riguardare una variabile economica "
                            "dello schema (%(v)s)."
                        )
                        % {"v": t.variable}
                    )
                if t.days is None or t.days < 1:
                    p(_("L'offerta migliorativa richiede un termine in giorni (almeno 1)."))
        if not kinds or kinds[0] != "TOTAL_DESC":
            p(_("La catena di spareggio deve iniziare dal punteggio complessivo (TOTAL_DESC)."))
        if not kinds or kinds[-1] != "DRAW":
            p(
                _(
                    "La catena di spareggio può terminare in parità: deve concludersi con il "
                    "sorteggio (DRAW)."
                )
            )
        if kinds.count("DRAW") > 1 or ("DRAW" in kinds and kinds.index("DRAW") != len(kinds) - 1):
            p(_("Il sorteggio deve comparire una sola volta, come ultimo passo dello spareggio."))
        if len(set(kinds) - {"CRITERION_DESC"}) != len([k for k in kinds if k != "CRITERION_DESC"]):
            p(_("La catena di spareggio contiene passi ripetuti."))
        if self.tie_resolution_scope not in TIE_SCOPES:
            p(
                _("Ambito di risoluzione delle parità sconosciuto: %(v)s.")
                % {"v": self.tie_resolution_scope}
            )

    def _validate_node(
        self, node: Criterion, problems: list[str], seen: set[str], *, top: bool
    ) -> None:
        p = problems.append
        code = node.code or "?"
        if not node.code:
            p(_("Un criterio non ha codice."))
        elif node.code in seen:
            p(_("Codice di criterio ripetuto: %(c)s.") % {"c": node.code})
        seen.add(node.code)
        if node.kind not in KINDS:
            p(_("Criterio %(c)s: tipo sconosciuto (%(v)s).") % {"c": code, "v": node.kind})
            return
        if node.side not in SIDES:
            p(_("Criterio %(c)s: lato sconosciuto (%(v)s).") % {"c": code, "v": node.side})
        if node.max_points is None or node.max_points < 0:
            p(_("Criterio %(c)s: punteggio massimo mancante o negativo.") % {"c": code})
            return
        if node.rounding is not None:
            self._validate_rounding(node.rounding, code, problems)
        if node.kind == "GROUP":
            if not node.children:
                p(_("Il gruppo %(c)s non contiene criteri.") % {"c": code})
            total = sum(
                (c.max_points for c in node.children if c.max_points is not None), Decimal(0)
            )
            if node.children and total != node.max_points:
                p(
                    _("Il gruppo %(c)s vale %(m)s punti ma i suoi criteri sommano %(s)s.")
                    % {"c": code, "m": node.max_points, "s": total}
                )
            for child in node.children:
                if child.side != node.side:
                    p(
                        _("Il criterio %(c)s non è dello stesso lato del suo gruppo.")
                        % {"c": child.code}
                    )
                self._validate_node(child, problems, seen, top=False)
            return
        if node.children:
            p(_("Il criterio %(c)s non è un gruppo ma ha sotto-criteri.") % {"c": code})
        if node.kind == "DISCRETIONARY":
            if node.method not in METHODS:
                p(
                    _("Criterio %(c)s: metodo discrezionale sconosciuto (%(v)s).")
                    % {"c": code, "v": node.method}
                )
        elif node.kind == "TABULAR":
            self._validate_tabular(node, problems)
        elif node.kind == "QUANTITATIVE":
            self._validate_quantitative(node, problems)

    def _validate_tabular(self, node: Criterion, problems: list[str]) -> None:
        p = problems.append
        code, rule = node.code, node.tabular
        if rule is None:
            p(_("Criterio tabellare %(c)s senza regola di attribuzione.") % {"c": code})
            return
        if rule.type not in TABULAR_TYPES:
            p(
                _("Criterio %(c)s: regola tabellare sconosciuta (%(v)s).")
                % {"c": code, "v": rule.type}
            )
            return
        points = rule.possible_points()
        if rule.type == "BOOLEAN" and (rule.yes_points is None or rule.no_points is None):
            p(_("Criterio %(c)s: indicare i punti per «sì» e per «no».") % {"c": code})
        if rule.type == "OPTION_TABLE":
            values = [o.value for o in rule.options]
            if not values:
                p(_("Criterio %(c)s: nessuna opzione definita.") % {"c": code})
            if len(values) != len(set(values)):
                p(_("Criterio %(c)s: opzioni ripetute.") % {"c": code})
        if rule.type == "COUNT_BANDS":
            self._validate_bands(code, rule.bands, rule.max_count(), problems, integer=True)
        if any(x is None or x < 0 or x > node.max_points for x in points):
            p(
                _("Criterio %(c)s: i punti delle opzioni devono essere tra 0 e %(m)s.")
                % {"c": code, "m": node.max_points}
            )
        elif points and max(points) != node.max_points:
            p(
                _("Criterio %(c)s: nessuna opzione raggiunge il massimo di %(m)s punti.")
                % {"c": code, "m": node.max_points}
            )

    def _validate_bands(
        self,
        code: str,
        bands: tuple[Band, ...],
        upper: int | None,
        problems: list[str],
        *,
        integer: bool,
    ) -> None:
        """Bands over counts 0..upper must cover every value exactly once."""
        p = problems.append
        if not bands:
            p(_("Criterio %(c)s: nessuna fascia definita.") % {"c": code})
            return
        ordered = sorted(bands, key=lambda b: b.min)
        if ordered[0].min > 0:
            p(_("Criterio %(c)s: le fasce non coprono il valore 0.") % {"c": code})
        for a, b in itertools.pairwise(ordered):
            if a.max is None or a.max >= b.min:
                p(_("Criterio %(c)s: fasce sovrapposte.") % {"c": code})
                return
            gap = b.min - a.max
            if (integer and gap != 1) or (not integer and gap > 0):
                p(_("Criterio %(c)s: le fasce lasciano scoperti alcuni valori.") % {"c": code})
                return
        last = ordered[-1]
        if last.max is not None and (upper is None or last.max < upper):
            p(_("Criterio %(c)s: le fasce non coprono i valori più alti.") % {"c": code})

    def _validate_quantitative(self, node: Criterion, problems: list[str]) -> None:
        p = problems.append
        code, rule = node.code, node.quantitative
        if rule is None:
            p(_("Criterio quantitativo %(c)s senza formula.") % {"c": code})
            return
        if not rule.variable:
            p(_("Criterio %(c)s: manca la variabile offerta.") % {"c": code})
        if rule.formula not in FORMULAS:
            p(_("Criterio %(c)s: formula sconosciuta (%(v)s).") % {"c": code, "v": rule.formula})
        if rule.better not in BETTER:
            p(
                _("Criterio %(c)s: indicare se è migliore il valore più alto o più basso.")
                % {"c": code}
            )
        if rule.excess_decimals not in EXCESS_DECIMALS:
            p(_("Criterio %(c)s: trattamento dei decimali in eccesso sconosciuto.") % {"c": code})
        if rule.zero_best not in ZERO_BEST:
            p(_("Criterio %(c)s: trattamento del denominatore nullo sconosciuto.") % {"c": code})
        if rule.min is not None and rule.max is not None and rule.min > rule.max:
            p(_("Criterio %(c)s: limite minimo superiore al massimo.") % {"c": code})
        if rule.formula in ("RATIO_TO_BEST", "BILINEAR", "POWER") and rule.better != "HIGHER":
            p(
                _("Criterio %(c)s: la formula %(f)s richiede «migliore il più alto».")
                % {"c": code, "f": rule.formula}
            )
        if rule.formula in ("RATIO_TO_BEST", "BILINEAR", "POWER") and (
            rule.min is None or rule.min < 0
        ):
            p(
                _("Criterio %(c)s: la formula %(f)s richiede un limite minimo non negativo.")
                % {"c": code, "f": rule.formula}
            )
        if rule.formula == "BEST_OVER_VALUE":
            if rule.better != "LOWER":
                p(
                    _(
                        "Criterio %(c)s: la formula BEST_OVER_VALUE richiede «migliore il più "
                        "basso»."
                    )
                    % {"c": code}
                )
            if rule.min is None or rule.min <= 0:
                p(
                    _(
                        "Criterio %(c)s: la formula BEST_OVER_VALUE richiede un limite minimo "
                        "positivo (divisione per zero)."
                    )
                    % {"c": code}
                )
        if rule.formula == "BILINEAR":
            x = _param(rule, "x")
            if x is None or not Decimal(0) < x < Decimal(1):
                p(
                    _("Criterio %(c)s: la formula bilineare richiede il parametro X tra 0 e 1.")
                    % {"c": code}
                )
        if rule.formula == "POWER":
            alpha = _param(rule, "alpha")
            if alpha is None or alpha <= 0:
                p(
                    _("Criterio %(c)s: la formula a potenza richiede l'esponente alfa positivo.")
                    % {"c": code}
                )
        if (
            rule.formula == "LINEAR_INTERPOLATION"
            and "worst" in rule.params
            and _param(rule, "worst") is None
        ):
            p(_("Criterio %(c)s: valore peggiore dell'interpolazione non numerico.") % {"c": code})
        if rule.formula == "STEP_TABLE":
            mins = [b.min for b in rule.steps]
            if not mins:
                p(_("Criterio %(c)s: nessuno scaglione definito.") % {"c": code})
            elif len(mins) != len(set(mins)):
                p(_("Criterio %(c)s: scaglioni con lo stesso valore iniziale.") % {"c": code})
            elif rule.min is None or min(mins) > rule.min:
                p(
                    _("Criterio %(c)s: gli scaglioni non coprono il valore minimo ammesso.")
                    % {"c": code}
                )
            pts = [b.points for b in rule.steps]
            if any(x < 0 or x > node.max_points for x in pts):
                p(
                    _("Criterio %(c)s: i punti degli scaglioni devono essere tra 0 e %(m)s.")
                    % {"c": code, "m": node.max_points}
                )


def _param(rule: QuantitativeRule, name: str) -> Decimal | None:
    try:
        return _dec(rule.params.get(name))
    except (InvalidOperation, TypeError):
        return None
