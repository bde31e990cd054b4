"""Input data of the spec's acceptance scenarios (gare.md §11), as the engine receives them."""

from decimal import Decimal as D

from gare.evaluation import OfferInput

DISCRETIONARY = ("A1", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5")

# AS-01: K1, K2, K3 per criterion per offer.
AS01_COEFFICIENTS = {
    "A1": {
        "O1": "0.7 0.8 0.7",
        "O2": "0.8 0.8 0.9",
        "O3": "0.6 0.5 0.6",
        "O4": "0.9 0.8 0.8",
        "O5": "0.5 0.6 0.6",
    },
    "A3": {
        "O1": "0.6 0.7 0.7",
        "O2": "0.7 0.7 0.8",
        "O3": "0.8 0.8 0.7",
        "O4": "0.6 0.6 0.5",
        "O5": "0.7 0.6 0.6",
    },
    "B1": {
        "O1": "0.8 0.7 0.8",
        "O2": "0.6 0.6 0.6",
        "O3": "0.5 0.6 0.5",
        "O4": "0.9 0.9 0.8",
        "O5": "0.4 0.5 0.5",
    },
    "B2": {
        "O1": "0.5 0.5 0.6",
        "O2": "0.7 0.6 0.7",
        "O3": "0.6 0.7 0.6",
        "O4": "0.7 0.8 0.7",
        "O5": "0.3 0.4 0.4",
    },
    "C1": {
        "O1": "1.0 1.0 1.0",
        "O2": "0.8 0.9 0.9",
        "O3": "0.6 0.6 0.7",
        "O4": "0.7 0.8 0.7",
        "O5": "0.5 0.5 0.4",
    },
    "C2": {
        "O1": "0.7 0.6 0.7",
        "O2": "0.9 0.8 0.9",
        "O3": "0.7 0.7 0.8",
        "O4": "0.8 0.8 0.8",
        "O5": "0.6 0.5 0.6",
    },
    "C3": {
        "O1": "0.6 0.6 0.6",
        "O2": "0.5 0.6 0.5",
        "O3": "0.7 0.8 0.8",
        "O4": "0.6 0.7 0.7",
        "O5": "0.0 0.1 0.0",
    },
    "C4": {
        "O1": "0.8 0.7 0.7",
        "O2": "0.7 0.7 0.7",
        "O3": "0.6 0.7 0.6",
        "O4": "0.9 0.9 1.0",
        "O5": "0.7 0.8 0.8",
    },
    "C5": {
        "O1": "0.4 0.5 0.5",
        "O2": "0.6 0.6 0.7",
        "O3": "0.5 0.5 0.5",
        "O4": "0.6 0.5 0.6",
        "O5": "0.6 0.7 0.6",
    },
}
# works listed in All. 2 (A2), D1, D2 tools ticked, D3
AS01_TABULAR = {
    "O1": {"A2": 3, "D1": False, "D2": 3, "D3": True},
    "O2": {"A2": 2, "D1": True, "D2": 5, "D3": True},
    "O3": {"A2": 3, "D1": True, "D2": 2, "D3": False},
    "O4": {"A2": 1, "D1": True, "D2": 4, "D3": True},
    "O5": {"A2": 4, "D1": False, "D2": 3, "D3": True},
}
AS01_ECONOMIC = {
    "O1": ("14.25", 430),
    "O2": ("11.80", 405),
    "O3": ("16.40", 420),
    "O4": ("9.55", 440),
    "O5": ("18.72", 395),
}


def offer(oid, coefficients, tabular, discount, days, **extra) -> OfferInput:
    return OfferInput(
        id=oid,
        coefficients={
            k: tuple(D(x) for x in v.split()) if isinstance(v, str) else v
            for k, v in coefficients.items()
        },
        tabular=tabular,
        values={"discount_pct": D(discount), "duration_days": D(days)},
        **extra,
    )


def as01_offers(ids=("O1", "O2", "O3", "O4", "O5"), **extra_by_id) -> list[OfferInput]:
    return [
        offer(
            oid,
            {k: AS01_COEFFICIENTS[k][oid] for k in DISCRETIONARY},
            AS01_TABULAR[oid],
            *AS01_ECONOMIC[oid],
            **extra_by_id.get(oid, {}),
        )
        for oid in ids
    ]


def uniform(oid, coefficient, tabular, discount, days, **extra) -> OfferInput:
    """Every commissioner gives ``coefficient`` on every discretionary criterion."""
    coeff = (
        coefficient if isinstance(coefficient, dict) else dict.fromkeys(DISCRETIONARY, coefficient)
    )
    return offer(
        oid, {k: " ".join([coeff[k]] * 3) for k in DISCRETIONARY}, tabular, discount, days, **extra
    )
