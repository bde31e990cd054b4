"""Options of the configurable model (§6.8) beyond the reference tender, hand-computed."""

import dataclasses
from decimal import Decimal as D
from fractions import Fraction as F

import pytest

from gare.evaluation import (
    Band,
    Criterion,
    EvaluationScheme,
    JudgementLevel,
    OfferInput,
    OfferInputError,
    Option,
    QuantitativeRule,
    Reparametrisation,
    Rounding,
    RoundingRule,
    SchemeError,
    TabularRule,
    Threshold,
    TieBreak,
    evaluate,
    evaluate_json,
    reference_scheme,
)
from tests.gare.evaluation.data import AS01_COEFFICIENTS, AS01_ECONOMIC, AS01_TABULAR, DISCRETIONARY

SCALE = tuple(JudgementLevel(D(v) / 10, f"livello {v}") for v in range(11))


def small_scheme(price_rule=None, **changes) -> EvaluationScheme:
    """Technical 70 (K1 30 + K2 30 discretionary, T1 10 tabular option table) + price 30."""
    price_rule = price_rule or QuantitativeRule(
        variable="discount_pct",
        better="HIGHER",
        formula="RATIO_TO_BEST",
        min=D(0),
        max_exclusive=D(100),
        decimals=2,
    )
    criteria = (
        Criterion(
            code="K",
            title="Qualità",
            max_points=D(60),
            kind="GROUP",
            children=(
                Criterion(
                    code="K1",
                    title="Relazione",
                    max_points=D(30),
                    kind="DISCRETIONARY",
                    method="AVERAGE_OF_COMMISSIONER_COEFFICIENTS",
                ),
                Criterion(
                    code="K2",
                    title="Metodologia",
                    max_points=D(30),
                    kind="DISCRETIONARY",
                    method="AVERAGE_OF_COMMISSIONER_COEFFICIENTS",
                ),
            ),
        ),
        Criterion(
            code="T1",
            title="Certificazione",
            max_points=D(10),
            kind="TABULAR",
            tabular=TabularRule(
                type="OPTION_TABLE",
                options=(
                    Option("NONE", "Nessuna", D(0)),
                    Option("ISO", "ISO 9001", D(4)),
                    Option("ISO+EMAS", "ISO 9001 + EMAS", D(10)),
                ),
            ),
        ),
        Criterion(
            code="P",
            title="Prezzo",
            max_points=D(30),
            kind="QUANTITATIVE",
            side="ECONOMIC",
            quantitative=price_rule,
        ),
    )
    base = EvaluationScheme(
        code="test",
        title="Schema di prova",
        technical_max=D(70),
        economic_max=D(30),
        criteria=criteria,
        judgement_scale=SCALE,
        commissioners=3,
        tie_break_chain=(TieBreak("TOTAL_DESC"), TieBreak("TECHNICAL_DESC"), TieBreak("DRAW")),
        amounts=None,
    )
    return dataclasses.replace(base, **changes)


def o(oid, k1, k2, t1, discount):
    return OfferInput(
        id=oid,
        coefficients={"K1": tuple(D(x) for x in k1.split()), "K2": tuple(D(x) for x in k2.split())},
        tabular={"T1": t1},
        values={"discount_pct": D(discount)},
    )


OFFERS = [
    o("X", "0.6 0.6 0.6", "0.4 0.5 0.6", "ISO", "10.00"),
    o("Y", "0.3 0.3 0.3", "0.5 0.5 0.5", "ISO+EMAS", "20.00"),
    o("Z", "0.5 0.6 0.7", "0.2 0.2 0.2", "NONE", "30.00"),
]


def test_small_scheme_is_valid_and_option_table_scores():
    scheme = small_scheme()
    scheme.validate()
    result = evaluate(scheme, OFFERS)
    # K1: P = 0.6, 0.3, 0.6 → best 0.6 → 30, 15, 30; K2: 0.5, 0.5, 0.2 → 30, 30, 12
    assert {
        i: (result.by_id[i].criteria["K1"].points, result.by_id[i].criteria["K2"].points)
        for i in "XYZ"
    } == {
        "X": (D("30.00"), D("30.00")),
        "Y": (D("15.00"), D("30.00")),
        "Z": (D("30.00"), D("12.00")),
    }
    assert [result.by_id[i].criteria["T1"].points for i in "XYZ"] == [D(4), D(10), D(0)]
    # Price 10/30, 20/30, 30/30 × 30 → 10, 20, 30
    assert [result.by_id[i].total for i in "XYZ"] == [D("74.00"), D("75.00"), D("72.00")]
    assert result.ranking == ["Y", "X", "Z"]
    assert result.by_id["X"].groups == {"K": D("60.00")}


def test_no_reparametrisation_uses_the_provisional_coefficient():
    scheme = small_scheme(reparametrisation=Reparametrisation(first="NONE"))
    result = evaluate(scheme, OFFERS)
    assert result.by_id["Y"].criteria["K1"].points == D("9.00")  # 0.3 × 30
    assert result.by_id["X"].criteria["K2"].points == D("15.00")  # 0.5 × 30


def test_second_reparametrisation_on_groups():
    scheme = small_scheme(reparametrisation=Reparametrisation(first="CRITERION", second="GROUP"))
    result = evaluate(scheme, OFFERS)
    # K sums: X 60, Y 45, Z 42 → ×60/60: 60, 45, 42 (X is already best); T1 unchanged
    assert [result.by_id[i].groups["K"] for i in "XYZ"] == [D("60.00"), D("45.00"), D("42.00")]
    scheme2 = small_scheme(reparametrisation=Reparametrisation(first="NONE", second="GROUP"))
    r2 = evaluate(scheme2, OFFERS)
    # raw K: X 18+15=33, Y 9+15=24, Z 18+6=24 → X 60, Y 24/33×60=43.636…→43.64
    assert [r2.by_id[i].groups["K"] for i in "XYZ"] == [D("60.00"), D("43.64"), D("43.64")]
    assert r2.by_id["Y"].technical == D("53.64")


def test_second_reparametrisation_on_the_technical_total():
    scheme = small_scheme(
        reparametrisation=Reparametrisation(first="NONE", second="TECHNICAL_TOTAL")
    )
    result = evaluate(scheme, OFFERS)
    # raw technical: X 33+4=37, Y 24+10=34, Z 24+0=24 → X 70, Y 34/37×70 = 64.324…, Z 45.405…
    assert [result.by_id[i].technical for i in "XYZ"] == [D("70.00"), D("64.32"), D("45.41")]
    assert [result.by_id[i].technical_before_reparametrisation for i in "XYZ"] == [
        D("37.00"),
        D("34.00"),
        D("24.00"),
    ]


def test_technical_threshold_excludes_from_the_economic_phase_and_from_best_values():
    scheme = small_scheme(threshold=Threshold(min_technical=D("50")))
    result = evaluate(scheme, OFFERS)
    # technical: X 64, Y 55, Z 42 → Z is below 50 and its 30 % discount does not count
    assert result.below_threshold == ("Z",)
    assert result.ranking == ["Y", "X"]  # Y 55 + 30 = 85, X 64 + 15 = 79
    assert result.by_id["Y"].criteria["P"].points == D("30.00")
    assert result.by_id["Z"].economic is None and result.by_id["Z"].rank is None
    assert any("soglia di sbarramento" in line for line in result.trail)


def test_threshold_before_reparametrisation_uses_raw_technical_score():
    scheme = small_scheme(
        threshold=Threshold(min_technical=D("30"), stage="BEFORE_REPARAMETRISATION")
    )
    result = evaluate(scheme, OFFERS)
    assert result.below_threshold == ("Z",)  # raw 24 < 30, although 42 after re-parametrisation


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("HALF_UP", D("6.67")), ("DOWN", D("6.66")), ("HALF_EVEN", D("6.67"))],
)
def test_rounding_modes(mode, expected):
    scheme = small_scheme(rounding=Rounding(points=RoundingRule(2, mode)))
    offers = [
        o("A", "0.5 0.5 0.5", "0.5 0.5 0.5", "NONE", "1.00"),
        o("B", "0.5 0.5 0.5", "0.5 0.5 0.5", "NONE", "4.50"),
    ]
    result = evaluate(scheme, offers)
    assert result.by_id["A"].criteria["P"].points == expected  # 1/4.5 × 30 = 6.666…


def test_half_even_differs_from_half_up_on_an_exact_half():
    scheme = small_scheme(rounding=Rounding(points=RoundingRule(1, "HALF_EVEN")))
    offers = [
        o("A", "0.5 0.5 0.5", "0.5 0.5 0.5", "NONE", "1.00"),
        o("B", "0.5 0.5 0.5", "0.5 0.5 0.5", "NONE", "16.00"),
    ]
    # 1/16 × 30 = 1.875 → 1 dp: HALF_EVEN 1.9 (7 is odd → up); 0.5×… check a .x5 case:
    result = evaluate(scheme, offers)
    assert result.by_id["A"].criteria["P"].points_exact == F(15, 8)
    assert result.by_id["A"].criteria["P"].points == D("1.9")
    offers = [
        o("A", "0.5 0.5 0.5", "0.5 0.5 0.5", "NONE", "1.00"),
        o("B", "0.5 0.5 0.5", "0.5 0.5 0.5", "NONE", "12.00"),
    ]
    result = evaluate(scheme, offers)  # 30/12 = 2.5 exactly → 1 dp no tie; use 0 dp below
    scheme0 = small_scheme(rounding=Rounding(points=RoundingRule(0, "HALF_EVEN")))
    r0 = evaluate(scheme0, offers)
    assert r0.by_id["A"].criteria["P"].points == D("2")
    r_up = evaluate(small_scheme(rounding=Rounding(points=RoundingRule(0, "HALF_UP"))), offers)
    assert r_up.by_id["A"].criteria["P"].points == D("3")


def test_coefficients_rounded_to_two_decimals_change_o4_as_d13_warns():
    """D-13: rounding definitive coefficients to 2 dp would give O4 67.42 instead of 67.50."""
    rc = reference_scheme()
    scheme = dataclasses.replace(
        rc, rounding=dataclasses.replace(rc.rounding, coefficients=RoundingRule(2, "HALF_UP"))
    )
    offers = [
        OfferInput(
            id=i,
            coefficients={
                k: tuple(D(x) for x in AS01_COEFFICIENTS[k][i].split()) for k in DISCRETIONARY
            },
            tabular=AS01_TABULAR[i],
            values={
                "discount_pct": D(AS01_ECONOMIC[i][0]),
                "duration_days": D(AS01_ECONOMIC[i][1]),
            },
        )
        for i in AS01_TABULAR
    ]
    assert evaluate(scheme, offers).by_id["O4"].technical == D("67.42")
    assert evaluate(rc, offers).by_id["O4"].technical == D("67.50")


def price(formula, **kw):
    return QuantitativeRule(
        variable="discount_pct",
        better="HIGHER",
        formula=formula,
        min=D(0),
        max_exclusive=D(100),
        decimals=2,
        **kw,
    )


def prices(scheme, discounts):
    offers = [o(f"O{n}", "0.5 0.5 0.5", "0.5 0.5 0.5", "NONE", d) for n, d in enumerate(discounts)]
    result = evaluate(scheme, offers)
    return [result.by_id[f"O{n}"].criteria["P"] for n in range(len(discounts))]


def test_bilinear_formula():
    scheme = small_scheme(price_rule=price("BILINEAR", params={"x": "0.85"}))
    scheme.validate()
    got = prices(scheme, ["10.00", "20.00", "30.00"])
    # mean 20: 10 → 0.85×10/20 = 0.425 → 12.75; 20 → 0.85 → 25.50; 30 → 1 → 30
    assert [g.points for g in got] == [D("12.75"), D("25.50"), D("30.00")]


def test_linear_interpolation_with_and_without_fixed_worst():
    got = prices(
        small_scheme(price_rule=price("LINEAR_INTERPOLATION")), ["10.00", "15.00", "30.00"]
    )
    assert [g.points for g in got] == [D("0.00"), D("7.50"), D("30.00")]
    got = prices(
        small_scheme(price_rule=price("LINEAR_INTERPOLATION", params={"worst": "0"})),
        ["10.00", "15.00", "30.00"],
    )
    assert [g.points for g in got] == [D("10.00"), D("15.00"), D("30.00")]


def test_power_formula():
    got = prices(
        small_scheme(price_rule=price("POWER", params={"alpha": "0.5"})), ["7.50", "30.00"]
    )
    # sqrt(0.25) × 30 = 15
    assert [g.points for g in got] == [D("15.00"), D("30.00")]


def test_step_table_formula():
    rule = price(
        "STEP_TABLE",
        steps=(Band(D(0), None, D(0)), Band(D(10), None, D(20)), Band(D(20), None, D(30))),
    )
    scheme = small_scheme(price_rule=rule)
    scheme.validate()
    assert [g.points for g in prices(scheme, ["5.00", "10.00", "25.00"])] == [
        D("0.00"),
        D("20.00"),
        D("30.00"),
    ]


def test_zero_best_all_max_policy():
    got = prices(
        small_scheme(price_rule=price("RATIO_TO_BEST", zero_best="ALL_MAX")), ["0.00", "0.00"]
    )
    assert [g.points for g in got] == [D("30.00"), D("30.00")]


def test_commission_consensus_takes_one_coefficient_per_pair():
    scheme = small_scheme()
    k1 = dataclasses.replace(scheme.criteria[0].children[0], method="COMMISSION_CONSENSUS")
    group = dataclasses.replace(scheme.criteria[0], children=(k1, scheme.criteria[0].children[1]))
    scheme = dataclasses.replace(scheme, criteria=(group, *scheme.criteria[1:]))
    offers = [
        o("A", "0.4", "0.5 0.5 0.5", "NONE", "10.00"),
        o("B", "0.8", "0.5 0.5 0.5", "NONE", "10.00"),
    ]
    result = evaluate(scheme, offers)
    assert result.by_id["A"].criteria["K1"].points == D("15.00")
    with pytest.raises(OfferInputError, match="attesi 1 coefficienti"):
        evaluate(scheme, [o("A", "0.4 0.5 0.5", "0.5 0.5 0.5", "NONE", "10.00")])


def test_criterion_desc_tie_break_before_the_draw():
    scheme = small_scheme(
        tie_break_chain=(
            TieBreak("TOTAL_DESC"),
            TieBreak("TECHNICAL_DESC"),
            TieBreak("CRITERION_DESC", criterion="K1"),
            TieBreak("DRAW"),
        )
    )
    offers = [
        o("A", "0.5 0.5 0.5", "1.0 1.0 1.0", "NONE", "10.00"),  # K1 15 K2 30
        o("B", "1.0 1.0 1.0", "0.5 0.5 0.5", "NONE", "10.00"),  # K1 30 K2 15
    ]
    result = evaluate(scheme, offers)
    assert result.ranking == ["B", "A"] and result.ties == ()
    assert result.separations[0].step == "CRITERION_DESC"


def test_ties_not_on_first_place_stay_ex_aequo_unless_scope_all():
    offers = [
        o("A", "1.0 1.0 1.0", "1.0 1.0 1.0", "ISO+EMAS", "30.00"),
        o("B", "0.5 0.5 0.5", "0.5 0.5 0.5", "NONE", "10.00"),
        o("C", "0.5 0.5 0.5", "0.5 0.5 0.5", "NONE", "10.00"),
    ]
    result = evaluate(small_scheme(), offers)
    (tie,) = result.ties
    assert tie.ids == ("B", "C") and not tie.involves_first and tie.pending is None
    assert [(x.id, x.rank) for x in result.offers] == [("A", 1), ("B", 2), ("C", 2)]
    assert "ex aequo" in tie.reason
    scoped = evaluate(small_scheme(tie_resolution_scope="ALL"), offers)
    assert scoped.ties[0].pending == "DRAW"
    drawn = evaluate(small_scheme(tie_resolution_scope="ALL"), offers, draw_order=["C", "B"])
    assert [(x.id, x.rank) for x in drawn.offers] == [("A", 1), ("C", 2), ("B", 3)]


def test_input_errors_list_every_problem():
    offers = [
        OfferInput(id="A", coefficients={"K1": (D("0.5"),) * 3}, tabular={"T1": "GOLD"}, values={}),
        OfferInput(id="A", coefficients={}, tabular={}, values={"discount_pct": D("1")}),
    ]
    with pytest.raises(OfferInputError) as err:
        evaluate(small_scheme(), offers)
    problems = err.value.problems
    assert "Offerta A: mancano i coefficienti del criterio K2." in problems
    assert "Offerta A, criterio T1: l'opzione «GOLD» non è tra quelle previste." in problems
    assert "Offerta A: manca il valore «ribasso %» del criterio P." in problems
    assert "Offerta A ripetuta." in problems
    assert str(err.value).startswith("I dati delle offerte non sono completi")


def test_invalid_scheme_is_refused_by_evaluate():
    with pytest.raises(SchemeError):
        evaluate(small_scheme(technical_max=D(60)), OFFERS)


def test_floats_are_refused():
    with pytest.raises(OfferInputError, match="virgola mobile"):
        OfferInput.from_dict({"id": "A", "discount": 12.5})


def test_d2_closed_list_counts_distinct_listed_items_only():
    rc = reference_scheme()
    base = {k: ["0.5"] * 3 for k in DISCRETIONARY}
    payload = {
        "scheme": "bellinzago-2026",
        "offers": [
            {
                "id": "A",
                "coefficients": base,
                "tabular": {"A2": [1, 2], "D1": "sì", "D2": [1, 1, 2, 99], "D3": True},
                "discount": "10.00",
                "days": 400,
            },
            {
                "id": "B",
                "coefficients": base,
                "tabular": {"A2": 2, "D1": False, "D2": [1, 2, 3, 4], "D3": False},
                "discount": "10.00",
                "days": 400,
            },
        ],
    }
    out = {x["id"]: x for x in evaluate_json(payload)["offers"]}
    assert out["A"]["points"]["D2"] == "0.00"  # items 1, 2 only (duplicate and 99 ignored)
    assert out["B"]["points"]["D2"] == "4.00"
    assert out["A"]["points"]["D1"] == "3.00"
    assert out["A"]["points"]["A2"] == "5.00"
    assert rc.leaf("D2").tabular.closed_list_size == 13
    payload["offers"][1]["tabular"]["D2"] = 14
    with pytest.raises(OfferInputError, match="l'elenco chiuso ne prevede 13"):
        evaluate_json(payload)


def test_evaluate_json_contract_of_gare_score():
    payload = {
        "scheme": "bellinzago-2026",
        "offers": [
            {
                "id": oid,
                "coefficients": {k: AS01_COEFFICIENTS[k][oid].split() for k in DISCRETIONARY},
                "tabular": AS01_TABULAR[oid],
                "discount": AS01_ECONOMIC[oid][0],
                "days": AS01_ECONOMIC[oid][1],
            }
            for oid in AS01_TABULAR
        ]
        + [
            {
                "id": "BAD",
                "coefficients": {k: ["0.5"] * 3 for k in DISCRETIONARY},
                "tabular": AS01_TABULAR["O1"],
                "discount": "-1.00",
                "days": 400,
            }
        ],
    }
    out = evaluate_json(payload)
    assert [(x["id"], x["rank"], x["total"]) for x in out["offers"]] == [
        ("O2", 1, "83.86"),
        ("O1", 2, "79.74"),
        ("O4", 3, "79.64"),
        ("O3", 4, "77.66"),
        ("O5", 5, "72.96"),
    ]
    assert out["inadmissible"][0]["id"] == "BAD"
    with pytest.raises(SchemeError, match="Schema sconosciuto"):
        evaluate_json({"scheme": "nope", "offers": []})
    full = evaluate_json({**payload, "scheme": reference_scheme().to_dict()})
    assert full == out


def test_offers_below_the_threshold_need_no_economic_values():
    """Their envelope C stays sealed: the engine must not ask for its values."""
    scheme = small_scheme(threshold=Threshold(min_technical=D("50")))
    z = dataclasses.replace(OFFERS[2], values={})
    result = evaluate(scheme, [OFFERS[0], OFFERS[1], z])
    assert result.below_threshold == ("Z",) and result.ranking == ["Y", "X"]
    y = dataclasses.replace(OFFERS[1], values={})
    with pytest.raises(
        OfferInputError, match="Offerta Y: manca il valore «ribasso %» del criterio P"
    ):
        evaluate(scheme, [OFFERS[0], y, z])


def test_improvements_and_draw_must_name_evaluated_offers():
    with pytest.raises(OfferInputError) as err:
        evaluate(
            small_scheme(),
            OFFERS,
            improvements={"NOPE": D("1.00"), "X": D("10.001")},
            draw_order=["X", "X", "GHOST"],
        )
    assert err.value.problems == (
        "Offerta migliorativa di un'offerta non valutata: NOPE.",
        "Offerta X: l'offerta migliorativa deve avere al massimo 2 decimali.",
        "L'ordine del sorteggio contiene offerte ripetute.",
        "L'ordine del sorteggio indica un'offerta non valutata: GHOST.",
    )


def test_result_to_dict_is_json_and_plain_numbers():
    import json

    result = evaluate(
        reference_scheme(),
        [
            OfferInput(
                id=i,
                coefficients={
                    k: tuple(D(x) for x in AS01_COEFFICIENTS[k][i].split()) for k in DISCRETIONARY
                },
                tabular=AS01_TABULAR[i],
                values={
                    "discount_pct": D(AS01_ECONOMIC[i][0]),
                    "duration_days": D(AS01_ECONOMIC[i][1]),
                },
            )
            for i in AS01_TABULAR
        ],
    )
    data = json.loads(json.dumps(result.to_dict()))
    o1 = next(o for o in data["offers"] if o["id"] == "O1")
    assert o1["values"] == {"discount_pct": "14.25", "duration_days": "430"}
    assert o1["criteria"]["A1"]["provisional"] == "11/15"
    assert o1["criteria"]["A1"]["provisional_display"] == "0.7333"
    assert o1["criteria"]["A1"]["definitive_display"] == "0.8800"
    assert o1["criteria"]["A1"]["raw"] == ["0.7", "0.8", "0.7"]
    assert o1["total"] == "79.74" and o1["rank"] == 2
    assert data["criteria"]["A1"]["best"] == "5/6"


def test_configured_schemes_round_trip_through_json():
    import json

    variants = [
        small_scheme(threshold=Threshold(min_technical=D("40"), stage="BEFORE_REPARAMETRISATION")),
        small_scheme(
            price_rule=price(
                "STEP_TABLE", steps=(Band(D(0), None, D(0)), Band(D(10), None, D(30)))
            ),
            reparametrisation=Reparametrisation(first="NONE", second="TECHNICAL_TOTAL"),
            rounding=Rounding(
                points=RoundingRule(3, "DOWN"), coefficients=RoundingRule(2, "HALF_EVEN")
            ),
        ),
        small_scheme(
            price_rule=price("BILINEAR", params={"x": "0.90"}), tie_resolution_scope="ALL"
        ),
    ]
    for scheme in variants:
        scheme.validate()
        assert EvaluationScheme.from_dict(json.loads(json.dumps(scheme.to_dict()))) == scheme


def test_no_offers_gives_an_empty_result():
    result = evaluate(reference_scheme(), [])
    assert result.offers == () and result.ties == () and result.anomaly == ()
