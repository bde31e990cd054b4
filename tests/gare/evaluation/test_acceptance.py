"""Acceptance scenarios of gare.md §11 about scores, ranking, ties and anomaly (engine level).

Every expected value is the one printed in the spec; nothing is recomputed here.
"""

from decimal import Decimal as D
from fractions import Fraction as F

import pytest

from gare.evaluation import LotAmounts, OfferInput, OfferInputError, evaluate, reference_scheme
from gare.evaluation.rounding import fraction_to_decimal
from tests.gare.evaluation.data import AS01_TABULAR, DISCRETIONARY, as01_offers, uniform

RC = reference_scheme()


def points(result, oid):
    return {code: cs.points for code, cs in result.by_id[oid].criteria.items()}


# --------------------------------------------------------------------------------------------
# AS-01
# --------------------------------------------------------------------------------------------
AS01_POINTS = {
    # A1, A2, A3, B1, B2, C1, C2, C3, C4, C5, D1, D2, D3
    "O1": (
        "5.28",
        "8.00",
        "5.22",
        "3.54",
        "2.91",
        "6.00",
        "9.23",
        "4.70",
        "9.43",
        "4.42",
        "0.00",
        "2.00",
        "3.00",
    ),
    "O2": (
        "6.00",
        "5.00",
        "5.74",
        "2.77",
        "3.64",
        "5.20",
        "12.00",
        "4.17",
        "9.00",
        "6.00",
        "3.00",
        "4.00",
        "3.00",
    ),
    "O3": (
        "4.08",
        "8.00",
        "6.00",
        "2.46",
        "3.45",
        "3.80",
        "10.15",
        "6.00",
        "8.14",
        "4.74",
        "3.00",
        "0.00",
        "0.00",
    ),
    "O4": (
        "6.00",
        "1.00",
        "4.43",
        "4.00",
        "4.00",
        "4.40",
        "11.08",
        "5.22",
        "12.00",
        "5.37",
        "3.00",
        "4.00",
        "3.00",
    ),
    "O5": (
        "4.08",
        "8.00",
        "4.96",
        "2.15",
        "2.00",
        "2.80",
        "7.85",
        "0.26",
        "9.86",
        "6.00",
        "0.00",
        "2.00",
        "3.00",
    ),
}
CODES = ("A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "D1", "D2", "D3")


@pytest.fixture(scope="module")
def as01():
    return evaluate(RC, as01_offers())


def test_AS_01_criterion_points_match_the_spec_tables(as01):
    for oid, expected in AS01_POINTS.items():
        got = points(as01, oid)
        assert tuple(got[c] for c in CODES) == tuple(D(x) for x in expected), oid


def test_AS_01_provisional_and_definitive_coefficients_are_exact(as01):
    o1 = as01.by_id["O1"].criteria
    assert o1["A1"].raw == (D("0.7"), D("0.8"), D("0.7"))
    assert o1["A1"].provisional == F(11, 15)
    assert o1["A1"].definitive == F(11, 15) / F(5, 6)
    assert fraction_to_decimal(o1["A1"].definitive, 4) == D("0.8800")
    assert as01.by_id["O1"].criteria["A3"].points_exact == F(2, 3) / F(23, 30) * 6  # 5.217391…


def test_AS_01_check_1_shared_maximum_gives_both_full_points(as01):
    assert as01.criteria["A1"].best == F(5, 6)
    assert as01.criteria["A1"].best_ids == ("O2", "O4")
    assert points(as01, "O2")["A1"] == points(as01, "O4")["A1"] == D("6.00")
    assert (
        as01.by_id["O2"].criteria["A1"].definitive
        == as01.by_id["O4"].criteria["A1"].definitive
        == 1
    )


def test_AS_01_check_2_no_rescaling_when_an_offer_already_has_one(as01):
    c1 = {oid: as01.by_id[oid].criteria["C1"] for oid in AS01_POINTS}
    assert all(cs.definitive == cs.provisional for cs in c1.values())
    assert c1["O2"].provisional == F(13, 15)
    assert c1["O2"].points == D("5.20")
    assert as01.criteria["C1"].reparametrised is False


def test_AS_01_check_3_near_zero_values_are_kept(as01):
    c3 = as01.by_id["O5"].criteria["C3"]
    assert c3.provisional == F(1, 30)
    assert c3.definitive == F(1, 23)
    assert fraction_to_decimal(c3.points_exact, 6) == D("0.260870")
    assert c3.points == D("0.26")


def test_AS_01_check_4_similar_works_are_capped_at_three(as01):
    assert as01.by_id["O5"].criteria["A2"].raw == 3  # 4 listed, 3 counted
    assert points(as01, "O5")["A2"] == D("8.00")
    assert points(as01, "O4")["A2"] == D("1.00")
    assert any("4 indicati, 3 considerati" in line for line in as01.by_id["O5"].explanation)


def test_AS_01_check_5_work_life_tools_bands(as01):
    assert points(as01, "O3")["D2"] == D("0.00")
    assert points(as01, "O1")["D2"] == points(as01, "O5")["D2"] == D("2.00")
    assert points(as01, "O2")["D2"] == points(as01, "O4")["D2"] == D("4.00")


def test_AS_01_check_6_technical_scores(as01):
    expected = {"O1": "63.73", "O2": "69.52", "O3": "59.82", "O4": "67.50", "O5": "52.96"}
    assert {o.id: o.technical for o in as01.offers} == {k: D(v) for k, v in expected.items()}


def test_AS_01_check_7_8_economic_points(as01):
    expected = {
        "O1": ("11.42", "4.59", "16.01"),
        "O2": ("9.46", "4.88", "14.34"),
        "O3": ("13.14", "4.70", "17.84"),
        "O4": ("7.65", "4.49", "12.14"),
        "O5": ("15.00", "5.00", "20.00"),
    }
    for oid, (price, time, econ) in expected.items():
        o = as01.by_id[oid]
        assert (o.criteria["E1"].points, o.criteria["E2"].points, o.economic) == (
            D(price),
            D(time),
            D(econ),
        )
    o4 = as01.by_id["O4"]
    assert fraction_to_decimal(o4.criteria["E1"].points_exact, 6) == D("7.652244")
    assert fraction_to_decimal(o4.criteria["E2"].points_exact, 6) == D("4.488636")


def test_AS_01_check_9_totals_ranking_and_award_amounts(as01):
    assert [(o.rank, o.id, o.total) for o in as01.offers] == [
        (1, "O2", D("83.86")),
        (2, "O1", D("79.74")),
        (3, "O4", D("79.64")),
        (4, "O3", D("77.66")),
        (5, "O5", D("72.96")),
    ]
    assert as01.ties == ()
    o2 = as01.by_id["O2"]
    assert o2.offered_works_amount == D("1428797.75")
    assert o2.contract_value == D("1467090.79")
    amounts = {o.id: (o.offered_works_amount, o.contract_value) for o in as01.offers}
    assert amounts["O1"] == (D("1389108.93"), D("1427401.97"))
    assert amounts["O3"] == (D("1354279.96"), D("1392573.00"))
    assert amounts["O4"] == (D("1465246.67"), D("1503539.71"))
    assert amounts["O5"] == (D("1316697.07"), D("1354990.11"))


def test_AS_01_check_10_technical_phase_scores_without_economic_values():
    """Technical scores are computed (and can be published) before any envelope C is opened."""
    offers = [
        OfferInput(id=o.id, coefficients=o.coefficients, tabular=o.tabular) for o in as01_offers()
    ]
    result = evaluate(RC, offers, phase="TECHNICAL")
    assert result.offers == ()
    assert {o.id: o.technical for o in result.technical_only} == {
        "O1": D("63.73"),
        "O2": D("69.52"),
        "O3": D("59.82"),
        "O4": D("67.50"),
        "O5": D("52.96"),
    }
    assert all(o.economic is None and o.rank is None for o in result.technical_only)
    assert "E1" not in result.by_id["O1"].criteria
    with pytest.raises(OfferInputError, match="manca il valore"):
        evaluate(RC, offers)  # the full run needs the economic values


def test_AS_01_score_json_output_shape(as01):
    out = as01.to_score_json()
    first = out["offers"][0]
    assert first["id"] == "O2" and first["rank"] == 1
    assert first["points"]["A1"] == "6.00"
    assert first["points"]["PRICE"] == "9.46" and first["points"]["TIME"] == "4.88"
    assert (first["technical"], first["economic"], first["total"]) == ("69.52", "14.34", "83.86")
    assert out["ties"] == []


# --------------------------------------------------------------------------------------------
# AS-02
# --------------------------------------------------------------------------------------------
def _as02a():
    # A1,  A3,   B1,   B2,   C1,   C2,   C3,   C4,   C5 (AS-02a table)
    p_values = ("0.8", "0.7", "0.6", "0.6", "0.7", "0.8", "0.6", "0.7", "0.5")
    r_values = ("0.6", "0.8", "0.7", "0.5", "0.6", "0.6", "0.8", "0.6", "0.7")
    p_coeff = dict(zip(DISCRETIONARY, p_values, strict=True))
    r_coeff = dict(zip(DISCRETIONARY, r_values, strict=True))
    return [
        uniform("P", p_coeff, {"A2": 3, "D1": True, "D2": 4, "D3": True}, "16.00", 400),
        uniform("Q", p_coeff, {"A2": 3, "D1": False, "D2": 4, "D3": True}, "20.00", 400),
        uniform("R", r_coeff, {"A2": 2, "D1": True, "D2": 3, "D3": False}, "10.00", 380),
    ]


def test_AS_02a_equal_total_higher_technical_ranks_first():
    result = evaluate(RC, _as02a())
    by = result.by_id
    assert points(result, "R") == {
        **points(result, "R"),
        "A1": D("4.50"),
        "B2": D("3.33"),
        "C1": D("5.14"),
        "C4": D("10.29"),
        "C5": D("6.00"),
    }
    assert points(result, "P")["B1"] == D("3.43") and points(result, "P")["C5"] == D("4.29")
    assert (by["P"].technical, by["Q"].technical, by["R"].technical) == (
        D("75.47"),
        D("72.47"),
        D("64.26"),
    )
    assert (by["P"].economic, by["Q"].economic, by["R"].economic) == (
        D("16.75"),
        D("19.75"),
        D("12.50"),
    )
    assert by["P"].total == by["Q"].total == D("92.22")
    assert by["R"].total == D("76.76")
    assert [(o.id, o.rank) for o in result.offers] == [("P", 1), ("Q", 2), ("R", 3)]
    assert result.ties == ()  # no improvement offer: the technical scores differ
    (sep,) = result.separations
    assert (sep.ahead, sep.behind, sep.step) == ("P", "Q", "TECHNICAL_DESC")
    assert "maggior punteggio tecnico" in sep.reason and sep.reason in result.trail


def _as02b():
    # A and B: 1.0 everywhere (62 points) + 3 similar works (8) = 70.00; M: 62.00.
    a_coeff = dict.fromkeys(DISCRETIONARY, "1.0")
    return [
        uniform("M", a_coeff, {"A2": 0, "D1": False, "D2": 0, "D3": False}, "20.00", 420),
        uniform("A", a_coeff, {"A2": 3, "D1": False, "D2": 0, "D3": False}, "16.00", 380),
        uniform("B", a_coeff, {"A2": 3, "D1": False, "D2": 0, "D3": False}, "16.33", 400),
    ]


def test_AS_02b_equal_total_and_technical_is_a_full_tie_despite_different_price_and_time():
    offers = _as02b()
    result = evaluate(RC, offers)
    by = result.by_id
    # Technical: A, B = 62 + 8 = 70.00; M = 62.00 (its total stays below 87.00, as required).
    assert by["A"].technical == by["B"].technical == D("70.00")
    assert (by["M"].criteria["E1"].points, by["M"].criteria["E2"].points) == (D("15.00"), D("4.52"))
    assert (by["A"].criteria["E1"].points, by["A"].criteria["E2"].points) == (D("12.00"), D("5.00"))
    assert fraction_to_decimal(by["B"].criteria["E1"].points_exact, 6) == D("12.247500")
    assert (by["B"].criteria["E1"].points, by["B"].criteria["E2"].points) == (D("12.25"), D("4.75"))
    assert by["A"].economic == by["B"].economic == D("17.00")
    assert by["A"].total == by["B"].total == D("87.00")
    assert by["M"].total < D("87.00")
    (tie,) = result.ties
    assert tie.ids == ("A", "B") and tie.rank == 1 and tie.involves_first
    assert tie.pending == "IMPROVEMENT_OFFER"
    assert by["A"].rank == by["B"].rank == 1
    assert "offerta migliorativa" in tie.reason and "5 giorni" in tie.reason
    assert result.to_score_json()["ties"] == [["A", "B"]]


# --------------------------------------------------------------------------------------------
# AS-03
# --------------------------------------------------------------------------------------------
def _as03():
    return [
        uniform(oid, "0.8", {"A2": 3, "D1": True, "D2": 4, "D3": True}, "15.00", 400)
        for oid in ("U", "V", "W")
    ] + [uniform("X", "0.6", {"A2": 2, "D1": False, "D2": 3, "D3": True}, "12.00", 420)]


def test_AS_03_three_way_tie_scores():
    result = evaluate(RC, _as03())
    by = result.by_id
    for oid in "UVW":
        assert (by[oid].technical, by[oid].economic, by[oid].total) == (
            D("80.00"),
            D("20.00"),
            D("100.00"),
        )
    assert points(result, "X")["A1"] == D("4.50") and points(result, "X")["C2"] == D("9.00")
    assert by["X"].technical == D("56.50")
    assert by["X"].criteria["E2"].points == D("4.76")
    assert by["X"].total == D("73.26")
    (tie,) = result.ties
    assert tie.ids == ("U", "V", "W") and tie.pending == "IMPROVEMENT_OFFER"
    assert [by[i].rank for i in "UVWX"] == [1, 1, 1, 4]


def test_AS_03_improvement_offers_then_draw():
    offers = _as03()
    improvements = {"U": D("15.80"), "V": D("15.80")}  # W does not answer → keeps 15.00
    after_improvement = evaluate(RC, offers, improvements=improvements)
    (tie,) = after_improvement.ties
    assert tie.resolved_order == (("U", "V"), ("W",))
    assert tie.pending == "DRAW"
    assert [(o.id, o.rank) for o in after_improvement.offers] == [
        ("U", 1),
        ("V", 1),
        ("W", 3),
        ("X", 4),
    ]
    # Scores are not recomputed by the improvement offer.
    assert all(after_improvement.by_id[i].total == D("100.00") for i in "UVW")
    assert "W non ha presentato offerta migliorativa" in tie.reason.replace("L'offerta ", "")

    final = evaluate(RC, offers, improvements=improvements, draw_order=["V", "U"])
    (tie,) = final.ties
    assert tie.pending is None and tie.steps_applied == ("IMPROVEMENT_OFFER", "DRAW")
    assert [(o.id, o.rank) for o in final.offers] == [("V", 1), ("U", 2), ("W", 3), ("X", 4)]
    v = final.by_id["V"]
    assert v.contract_discount == D("15.80")
    assert v.offered_works_amount == D("1363999.67")
    assert v.contract_value == D("1402292.71")
    assert final.by_id["W"].contract_discount == D("15.00")


def test_AS_03_all_answer_the_same_so_the_draw_fixes_positions_1_2_and_3():
    improvements = {"U": D("15.80"), "V": D("15.80"), "W": D("15.80")}
    pending = evaluate(RC, _as03(), improvements=improvements)
    assert pending.ties[0].pending == "DRAW"
    final = evaluate(RC, _as03(), improvements=improvements, draw_order=["W", "U", "V"])
    assert [(o.id, o.rank) for o in final.offers] == [("W", 1), ("U", 2), ("V", 3), ("X", 4)]


def test_AS_03_an_improvement_below_the_original_discount_is_rejected():
    with pytest.raises(OfferInputError, match="peggiorativa"):
        evaluate(RC, _as03(), improvements={"U": D("14.90")})


# --------------------------------------------------------------------------------------------
# AS-04
# --------------------------------------------------------------------------------------------
TAB = {"A2": 3, "D1": True, "D2": 4, "D3": True}


def test_AS_04_1_highest_discount_zero_gives_zero_price_points_to_all():
    result = evaluate(
        RC, [uniform("E1", "0.8", TAB, "0.00", 440), uniform("E2", "0.8", TAB, "0.00", 400)]
    )
    e1, e2 = result.by_id["E1"], result.by_id["E2"]
    assert e1.criteria["E1"].points == e2.criteria["E1"].points == D("0.00")
    assert (e1.criteria["E2"].points, e2.criteria["E2"].points) == (D("4.55"), D("5.00"))
    assert (e1.economic, e2.economic) == (D("4.55"), D("5.00"))


def test_AS_04_2_price_increase_is_inadmissible_and_not_part_of_the_best_values():
    offers = [
        uniform("OK", "0.8", TAB, "10.00", 400),
        uniform("E3", "0.8", TAB, "-1.50", 300),
    ]
    result = evaluate(RC, offers)
    (bad,) = result.inadmissible
    assert bad.id == "E3" and "inferiore al minimo ammesso" in bad.reason
    assert [o.id for o in result.offers] == ["OK"]
    assert result.by_id["OK"].criteria["E2"].points == D("5.00")  # 300 days of E3 do not count
    assert result.to_score_json()["inadmissible"][0]["id"] == "E3"


def test_AS_04_3_amounts_with_the_prevailing_discount():
    result = evaluate(RC, [uniform("O", "0.8", TAB, "12.53", 401)])
    o = result.by_id["O"]
    assert o.offered_works_amount == D("1416972.10")
    assert o.contract_value == D("1455265.14")


def test_AS_04_4_floating_point_trap_4_605_rounds_to_4_61():
    result = evaluate(
        RC, [uniform("A", "0.8", TAB, "6.14", 400), uniform("B", "0.8", TAB, "20.00", 400)]
    )
    a = result.by_id["A"].criteria["E1"]
    assert a.points_exact == F("4.605")
    assert a.points == D("4.61")
    assert round(6.14 / 20 * 15, 2) == 4.6  # what a float implementation would publish


def test_AS_04_5_third_decimal_of_the_discount_is_disregarded():
    result = evaluate(RC, [uniform("A", "0.8", TAB, "12.357", 400)])
    a = result.by_id["A"]
    assert a.values["discount_pct"] == F("12.35")
    assert a.contract_discount == D("12.35")
    assert any("12,357" in line and "12,35" in line for line in result.trail)


def test_AS_04_6_duration_equal_to_the_base_is_accepted():
    result = evaluate(
        RC, [uniform("A", "0.8", TAB, "10.00", 458), uniform("B", "0.8", TAB, "10.00", 395)]
    )
    assert result.inadmissible == ()
    a = result.by_id["A"].criteria["E2"]
    assert fraction_to_decimal(a.points_exact, 6) == D("4.312227")
    assert a.points == D("4.31")


def test_AS_04_7_duration_above_the_base_is_inadmissible():
    result = evaluate(
        RC, [uniform("A", "0.8", TAB, "10.00", 470), uniform("B", "0.8", TAB, "10.00", 400)]
    )
    (bad,) = result.inadmissible
    assert bad.id == "A" and "supera il massimo ammesso 458" in bad.reason
    assert result.ranking == ["B"]


@pytest.mark.parametrize(
    ("discount", "message"),
    [("-0.50", "inferiore al minimo"), ("100.00", "deve essere inferiore a 100,00")],
)
def test_AS_04_8_out_of_range_discounts_are_refused(discount, message):
    result = evaluate(RC, [uniform("A", "0.8", TAB, discount, 400)])
    assert result.inadmissible[0].id == "A" and message in result.inadmissible[0].reason


def test_AS_04_8_non_integer_days_are_refused():
    result = evaluate(RC, [uniform("A", "0.8", TAB, "10.00", "400.5")])
    assert "intero" in result.inadmissible[0].reason


def test_AS_04_9_half_up_rounding_vectors():
    offers = [
        uniform("A", "0.8", TAB, "16.33", 400),
        uniform("B", "0.8", TAB, "12.33", 400),
        uniform("C", "0.8", TAB, "13.33", 400),
        uniform("MAX", "0.8", TAB, "20.00", 400),
    ]
    result = evaluate(RC, offers)
    got = {i: result.by_id[i].criteria["E1"] for i in "ABC"}
    assert [got[i].points_exact for i in "ABC"] == [F("12.2475"), F("9.2475"), F("9.9975")]
    assert [got[i].points for i in "ABC"] == [D("12.25"), D("9.25"), D("10.00")]


# --------------------------------------------------------------------------------------------
# AS-05
# --------------------------------------------------------------------------------------------
def test_AS_05_single_valid_offer_and_a_criterion_scored_zero_by_everybody():
    coeff = {k: "0.6" for k in DISCRETIONARY} | {"C3": "0.0", "A1": "0.3", "C4": "0.9"}
    result = evaluate(
        RC, [uniform("S", coeff, {"A2": 2, "D1": False, "D2": 3, "D3": True}, "7.30", 450)]
    )
    s = result.by_id["S"]
    assert all(s.criteria[k].points == RC.leaf(k).max_points for k in DISCRETIONARY if k != "C3")
    assert sum((s.criteria[k].points for k in DISCRETIONARY if k != "C3"), D(0)) == D("56.00")
    assert s.criteria["C3"].points == D("0.00") and s.criteria["C3"].definitive == 0
    assert sum((s.criteria[k].points for k in ("A2", "D1", "D2", "D3")), D(0)) == D("10.00")
    assert (s.technical, s.criteria["E1"].points, s.criteria["E2"].points) == (
        D("66.00"),
        D("15.00"),
        D("5.00"),
    )
    assert s.total == D("86.00") and s.rank == 1
    assert (s.offered_works_amount, s.contract_value) == (D("1501695.60"), D("1539988.64"))
    assert any("tutti i coefficienti provvisori sono 0" in line for line in result.trail)


def test_AS_05_all_zero_criterion_with_several_offers_raises_no_error():
    coeff = {k: "0.7" for k in DISCRETIONARY} | {"B2": "0.0"}
    offers = [uniform(i, coeff, TAB, "10.00", 400) for i in ("A", "B", "C")]
    result = evaluate(RC, offers)
    assert {result.by_id[i].criteria["B2"].points for i in "ABC"} == {D("0.00")}


# --------------------------------------------------------------------------------------------
# AS-09
# --------------------------------------------------------------------------------------------
def test_AS_09_exclusion_of_the_first_ranked_and_recomputation():
    v1 = evaluate(RC, as01_offers())
    v2 = evaluate(RC, as01_offers(ids=("O1", "O3", "O4", "O5")))
    assert v2.criteria["C2"].best == F(4, 5) and v2.criteria["C2"].best_ids == ("O4",)
    assert {i: v2.by_id[i].criteria["C2"].points for i in ("O1", "O3", "O4", "O5")} == {
        "O1": D("10.00"),
        "O3": D("11.00"),
        "O4": D("12.00"),
        "O5": D("8.50"),
    }
    # Only C2 changes: A1 and C5 keep their maxima, price and time do not change.
    for i in ("O1", "O3", "O4", "O5"):
        for code in (*CODES, "E1", "E2"):
            if code != "C2":
                assert v2.by_id[i].criteria[code].points == v1.by_id[i].criteria[code].points, (
                    i,
                    code,
                )
    assert [(o.rank, o.id, o.technical, o.economic, o.total) for o in v2.offers] == [
        (1, "O4", D("68.42"), D("12.14"), D("80.56")),
        (2, "O1", D("64.50"), D("16.01"), D("80.51")),
        (3, "O3", D("60.67"), D("17.84"), D("78.51")),
        (4, "O5", D("53.61"), D("20.00"), D("73.61")),
    ]
    # Without recomputation O1 would have stayed ahead of O4.
    assert v1.by_id["O1"].total > v1.by_id["O4"].total


# --------------------------------------------------------------------------------------------
# AS-10 (anomaly indicators)
# --------------------------------------------------------------------------------------------
def test_AS_10_labour_costs_below_the_estimate_are_flagged_not_excluded():
    offers = as01_offers(
        O2={"labour_costs": D("552300.00"), "company_safety_costs": D("15000.00")},
        O1={"labour_costs": D("600000.00"), "company_safety_costs": D("0")},
    )
    result = evaluate(RC, offers)
    checks = {c.id: c for c in result.anomaly}
    o2 = {i.code: i.message for i in checks["O2"].indicators}
    assert "LABOUR_COSTS_BELOW_ESTIMATE" in o2
    assert "€ 552.300,00" in o2["LABOUR_COSTS_BELOW_ESTIMATE"]
    assert "€ 598.695,55" in o2["LABOUR_COSTS_BELOW_ESTIMATE"]
    assert "−€ 46.395,55" in o2["LABOUR_COSTS_BELOW_ESTIMATE"]
    assert "−7,75 %" in o2["LABOUR_COSTS_BELOW_ESTIMATE"]
    assert [i.code for i in checks["O1"].indicators] == ["ZERO_SAFETY_COSTS"]
    # No automatic exclusion: the ranking is unchanged and the review starts from the first.
    assert result.ranking == ["O2", "O1", "O4", "O3", "O5"]
    assert result.anomaly_review_order[:2] == ["O2", "O1"]
    assert [c.id for c in result.anomaly] == result.ranking


def test_AS_10_no_labour_estimate_no_labour_indicator():
    amounts = LotAmounts(works_amount=D("1619952.10"), safety_costs=D("38293.04"))
    result = evaluate(RC, as01_offers(O2={"labour_costs": D("1.00")}), amounts=amounts)
    assert "LABOUR_COSTS_BELOW_ESTIMATE" not in {
        i.code for c in result.anomaly for i in c.indicators
    }


def test_AS_10_discount_far_above_the_mean_is_an_indicator():
    result = evaluate(RC, as01_offers())
    o5 = {i.code for i in result.anomaly[-1].indicators}
    assert result.anomaly[-1].id == "O5"
    assert "DISCOUNT_ABOVE_MEAN_PLUS_SD" in o5  # 18.72 % vs mean 14.14 % ± 3.22
    assert not any(
        i.code == "DISCOUNT_ABOVE_MEAN_PLUS_SD"
        for c in result.anomaly
        if c.id != "O5"
        for i in c.indicators
    )


# --------------------------------------------------------------------------------------------
# AS-13 (coefficient values)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["0.75", "1.1", "-0.1"])
def test_AS_13_coefficients_outside_the_judgement_scale_are_rejected(bad):
    offers = as01_offers()
    coeffs = dict(offers[0].coefficients) | {"C4": (D(bad), D("0.7"), D("0.7"))}
    offers[0] = type(offers[0])(
        id="O1", coefficients=coeffs, tabular=AS01_TABULAR["O1"], values=offers[0].values
    )
    with pytest.raises(OfferInputError) as err:
        evaluate(RC, offers)
    assert f"il coefficiente {bad} non è un valore della scala dei giudizi" in str(err.value)


def test_AS_13_every_commissioner_must_score_every_pair():
    offers = as01_offers()
    coeffs = dict(offers[1].coefficients)
    coeffs["C4"] = coeffs["C4"][:2]
    del coeffs["A1"]
    offers[1] = type(offers[1])(
        id="O2", coefficients=coeffs, tabular=AS01_TABULAR["O2"], values=offers[1].values
    )
    with pytest.raises(OfferInputError) as err:
        evaluate(RC, offers)
    assert err.value.problems == (
        "Offerta O2: mancano i coefficienti del criterio A1.",
        "Offerta O2, criterio C4: attesi 3 coefficienti, ricevuti 2.",
    )


# --------------------------------------------------------------------------------------------
# AS-12 (who is in the top five)
# --------------------------------------------------------------------------------------------
def test_AS_12_top_five_of_the_as01_ranking():
    result = evaluate(RC, as01_offers())
    assert result.top(5) == ["O2", "O1", "O4", "O3", "O5"]
    assert result.top(2) == ["O2", "O1"]


def test_AS_12_a_tie_across_the_fifth_place_includes_all_tied_offers():
    offers = [uniform(f"T{i}", "0.8", TAB, f"{20 - i}.00", 400) for i in range(4)] + [
        uniform(i, "0.5", TAB, "10.00", 400) for i in ("X1", "X2")
    ]
    result = evaluate(RC, offers)
    assert [o.rank for o in result.offers] == [1, 2, 3, 4, 5, 5]
    assert result.top(5) == ["T0", "T1", "T2", "T3", "X1", "X2"]
