"""Evaluation engine of the tenders app (spec ``gare.md`` §6, Appendix A).

Pure Python: no models, no database, no floats.  Inputs are ``Decimal`` (or ints/strings that
convert exactly); computation uses exact rationals (``fractions.Fraction``); values are rounded
only where the scheme says so (§6.5, D-13).  Every user-facing message is Italian and goes through
gettext (``django.utils.translation.gettext`` when Django settings are configured).

Public API
==========

Scheme (frozen dataclasses, ``to_dict()`` / ``from_dict()`` JSON-safe: Decimals as strings)::

    from gare.evaluation import EvaluationScheme, SchemeError, reference_scheme

    scheme = reference_scheme()          # Bellinzago Novarese, CIG BC276A8439 (Appendix A)
    data = scheme.to_dict()              # -> store in a JSONField
    scheme = EvaluationScheme.from_dict(data)   # also accepts the Appendix A YAML shape
    scheme.validate()                    # raises SchemeError listing EVERY problem
                                         # (err.problems: tuple[str]; str(err): one Italian
                                         # message); call it at publication

    EvaluationScheme(
        code, title,
        technical_max: Decimal, economic_max: Decimal,   # 80 + 20 (must sum to total_max=100)
        criteria: tuple[Criterion, ...],                 # top-level nodes (groups or leaves)
        judgement_scale: tuple[JudgementLevel, ...],     # (value Decimal, label str), 0.0..1.0
        commissioners: int | None,                       # 3 in the RC; None = any number >= 1
        reparametrisation: Reparametrisation,            # CRITERION, no second level (D-14)
        rounding: Rounding,                              # points 2 dp HALF_UP, coeff. EXACT
        threshold: Threshold | None,                     # minimum technical score (RC: none)
        tie_break_chain: tuple[TieBreak, ...],           # TOTAL, TECHNICAL, IMPROVEMENT, DRAW
        tie_resolution_scope: "FIRST_PLACE" | "ALL",     # D-19: improvement/draw for rank 1
        anomaly: AnomalyRule,                            # non-binding indicators (D-26)
        amounts: LotAmounts | None,                      # works, safety costs, labour estimate
    )
    Criterion(code, title, max_points: Decimal, kind, side="TECHNICAL", children=(),
              method=None, tabular=None, quantitative=None, rounding=None, guidance_ref="")
        kind: "GROUP" | "DISCRETIONARY" | "TABULAR" | "QUANTITATIVE"; side: "TECHNICAL" |
        "ECONOMIC" (inherited from the top-level node); a group must sum its children.
        method (discretionary): "AVERAGE_OF_COMMISSIONER_COEFFICIENTS" | "COMMISSION_CONSENSUS"
    TabularRule(type: "BOOLEAN" | "COUNT_BANDS" | "OPTION_TABLE", yes_points, no_points,
                bands: tuple[Band(min, max | None, points)], count_cap, closed_list: tuple[str],
                closed_list_size, options: tuple[Option(value, label, points)])
    QuantitativeRule(variable ("discount_pct", "duration_days", any name),
                better: "HIGHER" | "LOWER",
                formula: "RATIO_TO_BEST" | "BEST_OVER_VALUE" | "LINEAR_INTERPOLATION"
                         | "BILINEAR" | "POWER" | "STEP_TABLE",
                params: dict[str, str],  # BILINEAR {"x": "0.85"}; POWER {"alpha": "0.5"};
                                         # LINEAR_INTERPOLATION {"worst": "0"} (optional)
                steps: tuple[Band],      # STEP_TABLE: points of the last step with min <= value
                min, max, max_exclusive, integer, decimals,
                excess_decimals: "TRUNCATE" | "HALF_UP" | "REJECT",
                zero_best: "ALL_ZERO" | "ALL_MAX")
    Reparametrisation(first: "NONE" | "CRITERION", second: "NONE" | "GROUP" | "TECHNICAL_TOTAL",
                      applies_to=("DISCRETIONARY",))
    Rounding(points=RoundingRule(2, "HALF_UP"),
             coefficients=None (EXACT) | RoundingRule,   # rounds the definitive coefficient
             display_coefficients_dp=4)                  # Criterion.rounding overrides points
    RoundingRule(decimals: int, mode: "HALF_UP" | "DOWN" | "HALF_EVEN")
    Threshold(min_technical: Decimal,
              stage: "AFTER_REPARAMETRISATION" | "BEFORE_REPARAMETRISATION")
    TieBreak(kind: "TOTAL_DESC" | "TECHNICAL_DESC" | "ECONOMIC_DESC" | "CRITERION_DESC"
                   | "IMPROVEMENT_OFFER" | "DRAW", criterion=None, variable=None, days=None)
    AnomalyRule(indicators=("LABOUR_COSTS_BELOW_ESTIMATE", "ZERO_SAFETY_COSTS",
                            "DISCOUNT_ABOVE_MEAN_PLUS_SD", "DURATION_BELOW_MEAN_MINUS_SD"),
                sd_factor=Decimal("1"))  # "FOUR_FIFTHS" (old art. 97 c.3) optional, not RC
    LotAmounts(works_amount, safety_costs, labour_cost_estimate=None)

Offers and evaluation::

    from gare.evaluation import OfferInput, evaluate

    offers = [
        OfferInput(
            id="O1",                                     # any str (e.g. the participant pk)
            coefficients={"A1": (Decimal("0.7"), Decimal("0.8"), Decimal("0.7")), ...},
            tabular={"A2": 3, "D1": False, "D2": 3, "D3": True},  # count | list | bool | option
            values={"discount_pct": Decimal("14.25"), "duration_days": Decimal("430")},
            labour_costs=Decimal("..."), company_safety_costs=Decimal("..."),  # optional
        ),
        ...
    ]
    result = evaluate(scheme, offers,          # only the ADMITTED offers (D-21: call again
                      improvements=None,       #   with the new admitted set = new run)
                      # {offer id: improved discount Decimal | None}; not None = the
                      # improvement step was held (missing id / None = no reply, D-18)
                      draw_order=None,         # [offer ids] order fixed by the public draw
                      amounts=None,            # LotAmounts, default scheme.amounts
                      phase="FULL")            # "TECHNICAL": technical scores only, before
                                               # the economic envelopes are opened (R-GARE-109)

    ``OfferInput.from_dict({"id", "coefficients", "tabular", "discount", "days", ...})`` reads
    the ``gare_score`` JSON shape (strings for amounts; "discount"/"days" are aliases).
    Bad input (coefficient not on the scale, wrong number of commissioners, missing criterion
    or answer, duplicate id, improvement below the original discount) raises ``OfferInputError``
    (subclass of ``EvaluationError``) listing all problems in Italian.  Out-of-bounds values
    (discount < 0, discount >= 100, days > 458, non-integer days) do NOT raise: the offer is
    reported in ``result.inadmissible`` with its reason and is not scored (§6.4); a discount
    with a third decimal is truncated (D-11) and the trail says so.

Result (``EvaluationResult``, immutable, ``to_dict()`` JSON-safe)::

    result.offers            tuple[OfferResult] in final order (rank, then tie-break order)
    result.ranking           [ids] in that order; result.top(5): ids with rank <= 5 (ties incl.)
    result.by_id[id]         OfferResult (also for technical-only / below-threshold offers)
    result.technical_only    OfferResults of phase "TECHNICAL", or of offers below threshold
    result.inadmissible      tuple[Inadmissible(id, reasons)]  (.reason: one string)
    result.below_threshold   tuple[ids]: technical scored, not admitted to the economic phase
    result.ties              tuple[TieGroup(ids, rank, involves_first, steps_applied,
                             pending: "IMPROVEMENT_OFFER" | "DRAW" | None,
                             resolved_order: tuple[tuple[ids]], reason: str)]
    result.separations       tuple[Separation(ahead, behind, step, reason)]: equal totals
                             decided by a later step (e.g. higher technical score, AS-02a)
    result.criteria          dict code -> CriterionSummary(best, best_ids, reparametrised, note)
    result.anomaly           tuple[AnomalyCheck(id, indicators: tuple[AnomalyIndicator(code,
                             message)], .appears_abnormal)] in rank order; no automatic
                             exclusion (D-26, [§23]); result.anomaly_review_order: flagged ids
    result.trail             tuple[str]: Italian lines for the minutes (verbale)
    result.to_score_json()   the ``gare_score`` output: {"offers": [{"id", "points": {code:
                             "x.xx", ..., "PRICE", "TIME"}, "technical", "economic", "total",
                             "rank"}], "ties": [[ids]], "inadmissible": [{"id", "reason"}],
                             "below_threshold": [ids]}

    OfferResult: id, rank (shared by unresolved ties), criteria: dict code -> CriterionScore,
      groups: dict group code -> Decimal, technical, technical_before_reparametrisation,
      economic, total (Decimal 2 dp; None in phase TECHNICAL), values (Fractions),
      contract_discount (improved one if any, D-18), offered_works_amount, contract_value,
      tie_group (index into result.ties or None), explanation: tuple[str] (Italian)
    CriterionScore: code, kind, raw (commissioners' coefficients / counted answer / value),
      provisional (Fraction), definitive (Fraction), points_exact (Fraction), points (Decimal)

    ``evaluate_json(payload: dict) -> dict`` is the whole ``gare_score FILE`` contract:
    ``{"scheme": "bellinzago-2026" | {...}, "offers": [...], "improvements"?, "draw_order"?,
    "phase"?}`` -> ``to_score_json()``.

Helpers: ``FORMULA_INFO[formula]`` (Italian expression, inputs, best value, zero-denominator
behaviour, for the configuration page), ``round_decimal(x, RoundingRule)``,
``fraction_to_decimal(x, dp, mode)``, ``SCHEME_CODES = {"bellinzago-2026": reference_scheme}``.
"""

from gare.evaluation.engine import (
    AnomalyCheck,
    AnomalyIndicator,
    CriterionScore,
    CriterionSummary,
    EvaluationResult,
    Inadmissible,
    OfferInput,
    OfferResult,
    Separation,
    TieGroup,
    evaluate,
    evaluate_json,
)
from gare.evaluation.errors import EvaluationError, OfferInputError, SchemeError
from gare.evaluation.reference import SCHEME_CODES, reference_scheme
from gare.evaluation.rounding import fraction_to_decimal, round_decimal
from gare.evaluation.scheme import (
    FORMULA_INFO,
    AnomalyRule,
    Band,
    Criterion,
    EvaluationScheme,
    JudgementLevel,
    LotAmounts,
    Option,
    QuantitativeRule,
    Reparametrisation,
    Rounding,
    RoundingRule,
    TabularRule,
    Threshold,
    TieBreak,
)

__all__ = [
    "FORMULA_INFO",
    "SCHEME_CODES",
    "AnomalyCheck",
    "AnomalyIndicator",
    "AnomalyRule",
    "Band",
    "Criterion",
    "CriterionScore",
    "CriterionSummary",
    "EvaluationError",
    "EvaluationResult",
    "EvaluationScheme",
    "Inadmissible",
    "JudgementLevel",
    "LotAmounts",
    "OfferInput",
    "OfferInputError",
    "OfferResult",
    "Option",
    "QuantitativeRule",
    "Reparametrisation",
    "Rounding",
    "RoundingRule",
    "SchemeError",
    "Separation",
    "TabularRule",
    "Threshold",
    "TieBreak",
    "TieGroup",
    "evaluate",
    "evaluate_json",
    "fraction_to_decimal",
    "reference_scheme",
    "round_decimal",
]
