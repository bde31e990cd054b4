"""The scheme: reference data, JSON round trip, validation at publication (§6.8, Appendix A)."""

import dataclasses
import json
from decimal import Decimal as D

import pytest

from gare.evaluation import (
    Band,
    Criterion,
    EvaluationScheme,
    QuantitativeRule,
    SchemeError,
    TabularRule,
    Threshold,
    TieBreak,
    reference_scheme,
)

RC = reference_scheme()


def replace_leaf(scheme, code, **changes):
    def walk(node):
        if node.code == code:
            return dataclasses.replace(node, **changes)
        return dataclasses.replace(node, children=tuple(walk(c) for c in node.children))

    return dataclasses.replace(scheme, criteria=tuple(walk(c) for c in scheme.criteria))


def problems_of(scheme):
    with pytest.raises(SchemeError) as err:
        scheme.validate()
    return err.value.problems


def test_reference_scheme_is_the_disciplinare():
    RC.validate()
    assert (RC.technical_max, RC.economic_max) == (D(80), D(20))
    assert [(c.code, c.max_points) for c in RC.criteria] == [
        ("A", D(20)),
        ("B", D(8)),
        ("C", D(42)),
        ("D", D(10)),
        ("E", D(20)),
    ]
    leaves = {c.code: (c.max_points, c.kind) for c in RC.leaves()}
    assert leaves == {
        "A1": (D(6), "DISCRETIONARY"),
        "A2": (D(8), "TABULAR"),
        "A3": (D(6), "DISCRETIONARY"),
        "B1": (D(4), "DISCRETIONARY"),
        "B2": (D(4), "DISCRETIONARY"),
        "C1": (D(6), "DISCRETIONARY"),
        "C2": (D(12), "DISCRETIONARY"),
        "C3": (D(6), "DISCRETIONARY"),
        "C4": (D(12), "DISCRETIONARY"),
        "C5": (D(6), "DISCRETIONARY"),
        "D1": (D(3), "TABULAR"),
        "D2": (D(4), "TABULAR"),
        "D3": (D(3), "TABULAR"),
        "E1": (D(15), "QUANTITATIVE"),
        "E2": (D(5), "QUANTITATIVE"),
    }
    assert sum(v for v, k in leaves.values() if k == "DISCRETIONARY") == 62
    assert [j.value for j in RC.judgement_scale] == [D(x) / 10 for x in range(11)]
    assert RC.judgement_scale[0].label == "Assente - completamente negativo"
    assert RC.judgement_scale[-1].label == "Eccellente"
    assert len(RC.leaf("D2").tabular.closed_list) == 13
    assert [t.kind for t in RC.tie_break_chain] == [
        "TOTAL_DESC",
        "TECHNICAL_DESC",
        "IMPROVEMENT_OFFER",
        "DRAW",
    ]
    assert RC.tie_break_chain[2].days == 5 and RC.tie_break_chain[2].variable == "discount_pct"
    assert RC.threshold is None and RC.commissioners == 3
    assert RC.amounts.works_amount == D("1619952.10") and RC.amounts.safety_costs == D("38293.04")


def test_scheme_round_trips_through_json():
    data = json.loads(json.dumps(RC.to_dict()))
    assert EvaluationScheme.from_dict(data) == RC
    assert data["criteria"][4]["children"][0]["quantitative"]["min"] == "0.00"


APPENDIX_A = {
    "technical_max": 80,
    "economic_max": 20,
    "reparametrisation": {
        "level": "CRITERION",
        "applies_to": ["DISCRETIONARY"],
        "zero_max": "ALL_ZERO",
    },
    "second_reparametrisation": "NONE",
    "technical_threshold": None,
    "rounding": {
        "criterion_points": [2, "HALF_UP"],
        "price_points": [2, "HALF_UP"],
        "time_points": [2, "HALF_UP"],
        "intermediate": "EXACT",
    },
    "tie_break_chain": [
        "TOTAL_DESC",
        "TECHNICAL_DESC",
        {"IMPROVEMENT_OFFER": {"variable": "discount_pct", "days": 5}},
        "DRAW",
    ],
    "judgement_scale": [["0.0", "Assente"], ["0.5", "Appena sufficiente"], ["1.0", "Eccellente"]],
    "criteria": [
        {
            "code": "A",
            "title": "A",
            "max": 80,
            "children": [
                {"code": "A1", "title": "x", "max": 60, "kind": "DISCRETIONARY"},
                {
                    "code": "A2",
                    "title": "Lavori affini",
                    "max": 8,
                    "kind": "TABULAR",
                    "rule": {
                        "type": "COUNT_BANDS",
                        "count_cap": 3,
                        "bands": [
                            {"eq": 0, "points": 0},
                            {"eq": 1, "points": 1},
                            {"eq": 2, "points": 5},
                            {"eq": 3, "points": 8},
                        ],
                    },
                },
                {
                    "code": "D2",
                    "title": "conciliazione",
                    "max": 4,
                    "kind": "TABULAR",
                    "rule": {
                        "type": "COUNT_BANDS",
                        "closed_list_size": 13,
                        "bands": [
                            {"lt": 3, "points": 0},
                            {"eq": 3, "points": 2},
                            {"gt": 3, "points": 4},
                        ],
                    },
                },
                {
                    "code": "D1",
                    "title": "SA 8000",
                    "max": 8,
                    "kind": "TABULAR",
                    "rule": {"type": "BOOLEAN", "yes": 8, "no": 0},
                },
            ],
        },
        {
            "code": "E",
            "title": "Offerta economica",
            "max": 20,
            "side": "ECONOMIC",
            "children": [
                {
                    "code": "E1",
                    "title": "Ribasso",
                    "max": 15,
                    "kind": "QUANTITATIVE",
                    "rule": {
                        "variable": "discount_pct",
                        "better": "HIGHER",
                        "formula": "RATIO_TO_BEST",
                        "bounds": {
                            "min": "0.00",
                            "max_exclusive": "100.00",
                            "decimals": 2,
                            "excess_decimals": "TRUNCATE",
                        },
                        "zero_best": "ALL_ZERO",
                    },
                },
                {
                    "code": "E2",
                    "title": "Tempo",
                    "max": 5,
                    "kind": "QUANTITATIVE",
                    "rule": {
                        "variable": "duration_days",
                        "better": "LOWER",
                        "formula": "BEST_OVER_VALUE",
                        "bounds": {"min": 1, "max": 458, "integer": True},
                    },
                },
            ],
        },
    ],
}


def test_appendix_a_yaml_shape_is_accepted():
    scheme = EvaluationScheme.from_dict(APPENDIX_A)
    scheme.validate()
    d2 = scheme.leaf("D2").tabular
    assert [(b.min, b.max, b.points) for b in d2.bands] == [
        (D(0), D(2), D(0)),
        (D(3), D(3), D(2)),
        (D(4), None, D(4)),
    ]
    assert scheme.leaf("E2").side == "ECONOMIC"
    assert scheme.tie_break_chain[2] == TieBreak(
        "IMPROVEMENT_OFFER", variable="discount_pct", days=5
    )


def test_weights_not_summing_are_refused_with_every_problem_listed():
    scheme = replace_leaf(RC, "C2", max_points=D(10))
    problems = problems_of(scheme)
    assert "Il gruppo C vale 42 punti ma i suoi criteri sommano 40." in problems
    bad_total = dataclasses.replace(RC, technical_max=D(70))
    assert "La somma dei punteggi tecnico (70) ed economico (20) deve essere 100." in problems_of(
        bad_total
    )
    assert "I criteri tecnici sommano 80 punti invece di 70." in problems_of(bad_total)


def test_chain_that_can_end_in_a_draw_without_sorteggio_is_refused():
    scheme = dataclasses.replace(RC, tie_break_chain=RC.tie_break_chain[:3])
    (problem,) = problems_of(scheme)
    assert "deve concludersi con il sorteggio (DRAW)" in problem
    with pytest.raises(SchemeError) as err:
        scheme.validate()
    assert str(err.value).startswith(
        "Lo schema di valutazione non è valutabile in modo deterministico:"
    )


def test_unknown_formula_kind_method_rounding_and_tie_step_are_refused():
    scheme = replace_leaf(
        RC, "E1", quantitative=dataclasses.replace(RC.leaf("E1").quantitative, formula="MAGIC")
    )
    scheme = replace_leaf(scheme, "A1", method="PAIRWISE_COMPARISON")
    scheme = dataclasses.replace(
        scheme,
        rounding=dataclasses.replace(
            RC.rounding, points=dataclasses.replace(RC.rounding.points, mode="CEILING")
        ),
        tie_break_chain=(
            TieBreak("TOTAL_DESC"),
            TieBreak("COIN_FLIP"),
            TieBreak("CRITERION_DESC", criterion="Z9"),
            TieBreak("DRAW"),
        ),
    )
    problems = problems_of(scheme)
    assert "Criterio E1: formula sconosciuta (MAGIC)." in problems
    assert "Criterio A1: metodo discrezionale sconosciuto (PAIRWISE_COMPARISON)." in problems
    assert "Modalità di arrotondamento sconosciuta: CEILING." in problems
    assert "Criterio di spareggio sconosciuto: COIN_FLIP." in problems
    assert "Lo spareggio per criterio indica un criterio inesistente: Z9." in problems


def test_tabular_bands_must_cover_every_count_exactly_once():
    gap = TabularRule(type="COUNT_BANDS", bands=(Band(D(0), D(1), D(0)), Band(D(3), None, D(4))))
    overlap = TabularRule(
        type="COUNT_BANDS", bands=(Band(D(0), D(3), D(0)), Band(D(3), None, D(4)))
    )
    short = TabularRule(type="COUNT_BANDS", count_cap=3, bands=(Band(D(0), D(2), D(4)),))
    assert "Criterio D2: le fasce lasciano scoperti alcuni valori." in problems_of(
        replace_leaf(RC, "D2", tabular=gap)
    )
    assert "Criterio D2: fasce sovrapposte." in problems_of(replace_leaf(RC, "D2", tabular=overlap))
    assert "Criterio D2: le fasce non coprono i valori più alti." in problems_of(
        replace_leaf(RC, "D2", tabular=short)
    )


def test_tabular_points_above_the_maximum_are_refused():
    rule = TabularRule(type="BOOLEAN", yes_points=D(5), no_points=D(0))
    assert "Criterio D1: i punti delle opzioni devono essere tra 0 e 3." in problems_of(
        replace_leaf(RC, "D1", tabular=rule)
    )


def test_best_over_value_needs_a_positive_lower_bound():
    rule = dataclasses.replace(RC.leaf("E2").quantitative, min=D(0))
    problems = problems_of(replace_leaf(RC, "E2", quantitative=rule))
    assert any("limite minimo positivo" in p for p in problems)


def test_improvement_offer_on_an_unknown_variable_and_bad_threshold_are_refused():
    scheme = dataclasses.replace(
        RC,
        tie_break_chain=(
            TieBreak("TOTAL_DESC"),
            TieBreak("IMPROVEMENT_OFFER", variable="price", days=0),
            TieBreak("DRAW"),
        ),
        threshold=Threshold(min_technical=D(90)),
    )
    problems = problems_of(scheme)
    assert (
        "L'offerta migliorativa deve riguardare una variabile economica dello schema (price)."
        in problems
    )
    assert "L'offerta migliorativa richiede un termine in giorni (almeno 1)." in problems
    assert any("soglia di sbarramento" in p for p in problems)


def test_judgement_scale_must_be_increasing_within_zero_and_one():
    scale = (*RC.judgement_scale[:3], dataclasses.replace(RC.judgement_scale[0], value=D("1.5")))
    assert any(
        "tra 0 e 1" in p for p in problems_of(dataclasses.replace(RC, judgement_scale=scale))
    )


def test_group_with_wrong_sum_and_duplicate_codes():
    extra = Criterion(
        code="A1", title="dup", max_points=D(0), kind="DISCRETIONARY", method="COMMISSION_CONSENSUS"
    )
    group = dataclasses.replace(RC.criteria[0], children=(*RC.criteria[0].children, extra))
    problems = problems_of(dataclasses.replace(RC, criteria=(group, *RC.criteria[1:])))
    assert "Codice di criterio ripetuto: A1." in problems


def test_unreadable_structure_is_a_scheme_error():
    with pytest.raises(SchemeError, match="non leggibile"):
        EvaluationScheme.from_dict({"technical_max": "ottanta", "criteria": []})


def test_bilinear_and_power_need_their_parameters():
    rule = QuantitativeRule(variable="discount_pct", better="HIGHER", formula="BILINEAR", min=D(0))
    assert any("parametro X" in p for p in problems_of(replace_leaf(RC, "E1", quantitative=rule)))
    rule = dataclasses.replace(rule, formula="POWER")
    assert any(
        "esponente alfa" in p for p in problems_of(replace_leaf(RC, "E1", quantitative=rule))
    )


def test_every_formula_declares_inputs_best_value_and_zero_behaviour():
    from gare.evaluation import FORMULA_INFO
    from gare.evaluation.scheme import FORMULAS

    assert set(FORMULA_INFO) == set(FORMULAS)
    for info in FORMULA_INFO.values():
        assert {"expression", "better", "inputs", "best", "zero"} <= set(info)
