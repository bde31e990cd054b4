"""Tenders: scoring run and pages for a lot with many offers (issue 7 "Must show").

    DATABASE_URL=postgres://.../anything .venv/bin/python bench/gare_ranking.py [-n 200]

Runs on a throwaway test database (Django's test database machinery, as the tests do). Builds
the reference tender with `-n` admitted participants, each with sealed envelopes B (All. 2
answers) and C (discount, days, costs) opened in session, 3 commissioners × 9 discretionary
criteria of coefficients; then times:

1. the scoring run through the service (`_run`: decrypting every B and C, the evaluation engine,
   the ScoreRun row) — what "Calcola i punteggi" costs;
2. the ranking page ("Punteggi e graduatoria") and the procedure page of the lot through the
   Django test client, with their query counts; the procedure page shows the participants 25 at
   a time (first page, last page, and filtered by status).

Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procurement.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 60)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("TESTING", "1")


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def build(n: int):
    import base64
    import datetime
    import random
    from decimal import Decimal

    from django.conf import settings
    from django.utils import timezone

    from gare import sealing
    from gare.models import (
        Coefficient,
        CommissionMember,
        Envelope,
        Lot,
        Offer,
        Participant,
    )
    from gare.services.tenders import tender_create_from_reference
    from procurement.accounts.models import Membership, Organisation, Role, User

    settings.GARE_SEALING_KEY = base64.b64encode(os.urandom(32)).decode()
    sua = Organisation.objects.create(code="sua", name="SUA", kind="sa")
    rup = User.objects.create_user("rup", password="x")
    Membership.objects.create(user=rup, organisation=sua, role=Role.RUP)
    now = timezone.now()
    tender = tender_create_from_reference(user=rup, organisation=sua, now=now)
    lot = tender.lots.get()
    Lot.objects.filter(pk=lot.pk).update(status="RANKED")
    commissioners = []
    for k in range(3):
        user = User.objects.create_user(f"k{k}", password="x")
        Membership.objects.create(user=user, organisation=sua, role=Role.COMMISSIONER)
        commissioners.append(
            CommissionMember.objects.create(
                lot=lot,
                user=user,
                is_president=(k == 0),
                appointed_at=now,
                declaration_signed_at=now,
            )
        )
    rng = random.Random(7)
    levels = [Decimal(x) / 10 for x in range(3, 11)]
    coefficients = []
    for i in range(n):
        oe = Organisation.objects.create(
            code=f"oe{i}", name=f"Impresa {i} S.r.l.", kind="oe", vat_number=f"{10000000000 + i}"
        )
        offer = Offer.objects.create(
            lot=lot,
            operator=oe,
            created_by=rup,
            created_at=now,
            status="SUBMITTED",
            version_no=1,
            submitted_at=now,
            receipt_no=f"OFF-{i}",
        )
        p = Participant.objects.create(
            lot=lot, operator=oe, display_name=oe.name, status="ADMITTED", current_offer=offer
        )
        Offer.objects.filter(pk=offer.pk).update(participant=p)
        for t in "ABC":
            env = Envelope.objects.create(offer=offer, type=t, state="OPENED", opened_at=now)
            data = None
            if t == "B":
                data = {
                    "A2": rng.randint(0, 4),
                    "D1": rng.random() < 0.5,
                    "D2": rng.randint(0, 5),
                    "D3": rng.random() < 0.5,
                }
            elif t == "C":
                data = {
                    "discount": f"{rng.uniform(5, 25):.2f}",
                    "days": rng.randint(380, 458),
                    "labour_costs": "598695.55",
                    "company_safety_costs": "20000.00",
                }
            if data:
                env.sealed_data = sealing.seal(
                    tender, json.dumps(data).encode(), context=f"data:{env.pk}"
                )
                env.save(update_fields=["sealed_data"])
        for m in commissioners:
            for code in ["A1", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5"]:
                coefficients.append(
                    Coefficient(
                        member=m,
                        participant=p,
                        criterion=code,
                        value=rng.choice(levels),
                        entered_at=now,
                    )
                )
    Coefficient.objects.bulk_create(coefficients)
    return lot, rup, now + datetime.timedelta(seconds=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="admitted offers")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import (
        CaptureQueriesContext,
        setup_databases,
        setup_test_environment,
        teardown_databases,
    )

    if connection.vendor != "postgresql":
        sys.exit("Serve PostgreSQL: impostare DATABASE_URL.")
    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old = setup_databases(verbosity=0, interactive=False)
    try:
        from gare.services import procedure as proc

        t = time.perf_counter()
        lot, rup, now = build(args.n)
        print(f"gare: {args.n} offerte ammesse preparate in {time.perf_counter() - t:.1f} s")
        times = []
        for _ in range(3):
            t = time.perf_counter()
            run = proc._run(lot, user=rup, now=now, reason="BENCH", stage="FULL")
            times.append((time.perf_counter() - t) * 1000)
        print(
            f"  calcolo (decifratura B/C + motore + ScoreRun), {len(run.result['offers'])} "
            f"offerte × 13 criteri × 3 commissari: p50 {pct(times, 0.5):7.1f} ms  "
            f"max {max(times):7.1f} ms"
        )
        client = Client()
        client.force_login(rup)
        last_page = max(1, -(-args.n // 25))
        for label, url in (
            ("pagina graduatoria", f"/gare/lotti/{lot.pk}/graduatoria/"),
            ("pagina procedura", f"/gare/lotti/{lot.pk}/"),
            (f"procedura, pag. {last_page}", f"/gare/lotti/{lot.pk}/?pagina={last_page}"),
            ("procedura, esclusi", f"/gare/lotti/{lot.pk}/?stato=EXCLUDED"),
        ):
            times, queries = [], 0
            for _ in range(10):
                with CaptureQueriesContext(connection) as ctx:
                    t = time.perf_counter()
                    response = client.get(url, secure=True)
                    times.append((time.perf_counter() - t) * 1000)
                queries = len(ctx.captured_queries)
                assert response.status_code == 200, response.status_code
            print(
                f"  {label:<20} p50 {pct(times, 0.5):7.1f} ms   p95 {pct(times, 0.95):7.1f} ms   "
                f"{queries} query"
            )
    finally:
        connection.close()
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
