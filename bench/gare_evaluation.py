"""Evaluation-engine benchmark: time to score and rank N offers × M commissioners (pure Python).

    .venv/bin/python bench/gare_evaluation.py                 # 50×3, 200×5, 1000×3 (issue 7)
    .venv/bin/python bench/gare_evaluation.py --offers 500 --commissioners 5 --repeat 7

Random but seeded coefficients, tabular answers, discounts and durations on the reference scheme
(13 technical criteria: 9 discretionary with one coefficient per commissioner and 4 tabular; plus
price and time).  Prints min / median / max wall time of ``evaluate`` and of
``EvaluationResult.to_dict`` (what the app stores), plus the CPU time of ``evaluate`` (the wall
time depends on the load of the machine); for the issue's case (1,000 offers × 3 commissioners)
also the whole ``manage.py gare_score`` path: JSON text in, checks, engine, JSON text out.
Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gare.evaluation import OfferInput, evaluate, reference_scheme

DISCRETIONARY = ("A1", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5")


def make_offers(n: int, commissioners: int, seed: int = 20260727) -> list[OfferInput]:
    rnd = random.Random(seed)
    scale = [Decimal(v) / 10 for v in range(11)]
    return [
        OfferInput(
            id=f"O{i:05d}",
            coefficients={
                k: tuple(rnd.choice(scale[3:]) for _ in range(commissioners)) for k in DISCRETIONARY
            },
            tabular={
                "A2": rnd.randint(0, 4),
                "D1": rnd.random() < 0.5,
                "D2": rnd.randint(0, 13),
                "D3": rnd.random() < 0.7,
            },
            values={
                "discount_pct": Decimal(rnd.randint(0, 3000)).scaleb(-2),
                "duration_days": Decimal(rnd.randint(300, 458)),
            },
            labour_costs=Decimal(rnd.randint(590000, 700000)),
            company_safety_costs=Decimal(rnd.randint(0, 20000)),
        )
        for i in range(n)
    ]


def measure(n: int, commissioners: int, repeat: int) -> None:
    scheme = dataclasses.replace(reference_scheme(), commissioners=commissioners)
    offers = make_offers(n, commissioners)
    times, cpu_times, dict_times = [], [], []
    result = None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        result = evaluate(scheme, offers)
        c1, t1 = time.process_time(), time.perf_counter()
        result.to_dict()
        t2 = time.perf_counter()
        times.append(t1 - t0)
        cpu_times.append(c1 - c0)
        dict_times.append(t2 - t1)
    coeffs = n * len(DISCRETIONARY) * commissioners
    print(
        f"{n:>5} offers × 13 criteria × {commissioners} commissioners ({coeffs:>6} coefficients, "
        f"+ price and time): "
        f"evaluate min {min(times) * 1000:8.1f} ms, "
        f"median {statistics.median(times) * 1000:8.1f} ms, max {max(times) * 1000:8.1f} ms "
        f"(CPU median {statistics.median(cpu_times) * 1000:8.1f} ms); "
        f"to_dict median {statistics.median(dict_times) * 1000:7.1f} ms; "
        f"ties {len(result.ties)}, flagged for anomaly {len(result.anomaly_review_order)}"
    )


def offer_json(offer: OfferInput) -> dict:
    return {
        "id": offer.id,
        "coefficients": {k: [str(x) for x in v] for k, v in offer.coefficients.items()},
        "tabular": offer.tabular,
        "discount": str(offer.values["discount_pct"]),
        "days": int(offer.values["duration_days"]),
    }


def measure_command(n: int, repeat: int) -> None:
    """``gare_score``: the JSON file of the issue's format through the command's code path."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procurement.settings")
    django.setup()
    from gare.management.commands.gare_score import read_payload, score

    text = json.dumps(
        {"scheme": "bellinzago-2026", "offers": [offer_json(o) for o in make_offers(n, 3)]}
    )
    times = []
    out = ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = json.dumps(score(read_payload(text)), ensure_ascii=False, indent=2)
        times.append(time.perf_counter() - t0)
    print(
        f"{n:>5} offers × 13 criteria × 3 commissioners via gare_score (JSON {len(text) / 1e6:.1f} "
        f"MB in, {len(out) / 1e6:.1f} MB out): min {min(times) * 1000:8.1f} ms, "
        f"median {statistics.median(times) * 1000:8.1f} ms, max {max(times) * 1000:8.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int)
    parser.add_argument("--commissioners", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"Python {sys.version.split()[0]}, reference scheme bellinzago-2026, "
        f"{args.repeat} runs each"
    )
    if args.offers:
        measure(args.offers, args.commissioners, args.repeat)
        return
    for n, m in ((50, 3), (200, 5), (1000, 3)):
        measure(n, m, args.repeat)
    measure_command(1000, args.repeat)


if __name__ == "__main__":
    main()
