"""Property tests (hypothesis) of the engine on the reference scheme."""

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from gare.evaluation import OfferInput, evaluate, reference_scheme
from gare.evaluation.rounding import fraction_to_decimal
from tests.gare.evaluation.data import DISCRETIONARY

RC = reference_scheme()
SCALE = [Decimal(v) / 10 for v in range(11)]

coefficient = st.sampled_from(SCALE)
discount = st.integers(min_value=0, max_value=9999).map(lambda n: Decimal(n).scaleb(-2))
days = st.integers(min_value=1, max_value=458).map(Decimal)


@st.composite
def an_offer(draw, oid: str) -> OfferInput:
    return OfferInput(
        id=oid,
        coefficients={
            k: tuple(draw(st.lists(coefficient, min_size=3, max_size=3))) for k in DISCRETIONARY
        },
        tabular={
            "A2": draw(st.integers(0, 6)),
            "D1": draw(st.booleans()),
            "D2": draw(st.integers(0, 13)),
            "D3": draw(st.booleans()),
        },
        values={"discount_pct": draw(discount), "duration_days": draw(days)},
    )


@st.composite
def offers(draw, min_size=1, max_size=7):
    n = draw(st.integers(min_size, max_size))
    return [draw(an_offer(f"O{i:02d}")) for i in range(n)]


@settings(max_examples=40, deadline=None)
@given(offers(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_the_order_of_the_offers(offer_list, rnd):
    shuffled = list(offer_list)
    rnd.shuffle(shuffled)
    assert evaluate(RC, offer_list).to_dict() == evaluate(RC, shuffled).to_dict()


@settings(max_examples=40, deadline=None)
@given(offers())
def test_scores_stay_within_zero_and_their_maximum(offer_list):
    result = evaluate(RC, offer_list)
    for o in result.offers:
        for code, cs in o.criteria.items():
            assert Decimal(0) <= cs.points <= RC.leaf(code).max_points
            assert cs.points == cs.points.quantize(Decimal("0.01"))
        assert Decimal(0) <= o.technical <= RC.technical_max
        assert Decimal(0) <= o.economic <= RC.economic_max
        assert o.total == o.technical + o.economic
        assert o.technical == sum(
            (cs.points for c, cs in o.criteria.items() if RC.leaf(c).side == "TECHNICAL"),
            Decimal(0),
        )


@settings(max_examples=40, deadline=None)
@given(offers())
def test_reparametrisation_gives_the_best_offer_the_maximum(offer_list):
    result = evaluate(RC, offer_list)
    for code in DISCRETIONARY:
        summary = result.criteria[code]
        best_points = {result.by_id[i].criteria[code].points for i in summary.best_ids}
        if summary.best > 0:
            assert best_points == {RC.leaf(code).max_points}
        else:
            assert {o.criteria[code].points for o in result.offers} == {Decimal("0.00")}
    # Price and time: the best value always gets the maximum (unless every discount is 0).
    top_discount = max(o.values["discount_pct"] for o in result.offers)
    for o in result.offers:
        if o.values["discount_pct"] == top_discount and top_discount > 0:
            assert o.criteria["E1"].points == Decimal("15.00")
        if o.values["duration_days"] == min(x.values["duration_days"] for x in result.offers):
            assert o.criteria["E2"].points == Decimal("5.00")


@settings(max_examples=40, deadline=None)
@given(offers(min_size=2), discount, days)
def test_economic_formulas_are_monotonic(offer_list, better_discount, shorter_days):
    """Improving one's own discount or time never lowers one's own economic points."""
    target = offer_list[0]
    before = evaluate(RC, offer_list).by_id[target.id]
    new_discount = max(target.values["discount_pct"], better_discount)
    new_days = min(target.values["duration_days"], shorter_days)
    improved = dataclasses.replace(
        target, values={"discount_pct": new_discount, "duration_days": new_days}
    )
    after = evaluate(RC, [improved, *offer_list[1:]]).by_id[target.id]
    assert after.criteria["E1"].points >= before.criteria["E1"].points
    assert after.criteria["E2"].points >= before.criteria["E2"].points
    assert after.economic >= before.economic


@settings(max_examples=40, deadline=None)
@given(offers(min_size=2))
def test_ranking_follows_total_then_technical(offer_list):
    result = evaluate(RC, offer_list)
    keys = [(o.total, o.technical) for o in result.offers]
    assert keys == sorted(keys, reverse=True)
    for a, b in zip(result.offers, result.offers[1:], strict=False):
        assert (a.rank == b.rank) == ((a.total, a.technical) == (b.total, b.technical))
    assert result.offers[0].rank == 1


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**9), 10**9), st.integers(1, 10**6))
def test_exact_rounding_matches_decimal_half_up_on_representable_values(num, den):
    x = Fraction(num, den)
    got = fraction_to_decimal(x, 2)
    # The exact value lies within half a cent of the result, with ties going away from zero.
    assert abs(Fraction(got) - x) <= Fraction(1, 200)
    if x.denominator in (1, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100, 1000, 10000):
        exact = Decimal(x.numerator) / Decimal(x.denominator)
        assert got == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


FORMULA_RULES = {
    "RATIO_TO_BEST": {},
    "LINEAR_INTERPOLATION": {},
    "BILINEAR": {"params": {"x": "0.85"}},
    "POWER": {"params": {"alpha": "0.5"}},
}


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(FORMULA_RULES)), st.lists(discount, min_size=1, max_size=8))
def test_every_price_formula_is_bounded_and_monotonic(formula, discounts):
    from tests.gare.evaluation.test_configurable import o, price, small_scheme

    scheme = small_scheme(price_rule=price(formula, **FORMULA_RULES[formula]))
    offers = [o(f"O{n}", "0.5 0.5 0.5", "0.5 0.5 0.5", "NONE", d) for n, d in enumerate(discounts)]
    result = evaluate(scheme, offers)
    pairs = sorted(
        (result.by_id[x.id].values["discount_pct"], result.by_id[x.id].criteria["P"].points)
        for x in offers
    )
    assert all(Decimal(0) <= p <= Decimal(30) for _, p in pairs)
    assert [p for _, p in pairs] == sorted(p for _, p in pairs)
    best = pairs[-1][1]
    all_equal = len(set(discounts)) == 1
    if max(discounts) == 0:
        assert best == Decimal("0.00")  # zero_best = ALL_ZERO
    elif formula == "LINEAR_INTERPOLATION" and all_equal:
        assert best == Decimal("0.00")  # best = worst: degenerate, ALL_ZERO
    elif formula == "BILINEAR" and all_equal:
        assert best == Decimal("25.50")  # R = R_mean → X × 30 (ANAC formula as written)
    else:
        assert best == Decimal("30.00")
