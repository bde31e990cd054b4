"""PTIM booking under concurrency, and the contract search page on a large table (issue 6).

    DATABASE_URL=postgres://.../anything .venv/bin/python bench/ptim_booking.py \
        [-n 200] [-t 8] [--search-contracts 50000]

Runs on a throwaway test database (Django's test database machinery, as the tests do):

1. one framework agreement with 6 operators and ceilings large enough for every booking; `-t`
   threads each with its own connection book `-n` interventions in total through
   `services.book_operator` (the same service as the pages: AQ row lock, operator selection,
   progressive counter, receipt row, audit event, five e-mails); prints throughput, p50/p95/max
   latency, and checks that every residual equals threshold/ceiling minus the sum of the
   booked amounts and that `residual_differences()` finds nothing;
2. optionally inserts `--search-contracts` contracts and times the "Ricerca contratti" page
   (first page and a text filter) through the Django test client, with its query count.

Asserts nothing about time; exits non-zero only if a residual is wrong.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
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


def build_fixture(D):
    import datetime

    from procurement.accounts.models import Role
    from ptim.models import (
        AgreementOperator,
        ChapterCeiling,
        Directorate,
        EconomicOperator,
        FrameworkAgreement,
        InterventionCategory,
        Lot,
        OrganisationProfile,
        ReferencePeriod,
        SpendingChapter,
        TerritorialArea,
        UserType,
    )
    from ptim.reference import seed_reference
    from tests.factories.kernel import OrganisationFactory, member

    seed_reference()
    period = ReferencePeriod.objects.get(label="2023/2025")
    area = TerritorialArea.objects.create(code="bench", name="Ambito di prova")
    sa = OrganisationFactory(name="Provveditorato di prova")
    dt = OrganisationFactory(name="DT di prova")
    profile = OrganisationProfile.objects.create(
        organisation=sa, user_type=UserType.PROVVEDITORATO, institutional_email="uff@example.it"
    )
    profile.territorial_areas.set([area])
    directorate = Directorate.objects.create(
        name="DT di prova", institutional_email="dt@example.it", organisation=dt
    )
    today = datetime.date.today()
    aq = FrameworkAgreement.objects.create(
        identifier="AQ-BENCH",
        name="Accordo Quadro di prova",
        period=period,
        territorial_area=area,
        directorate=directorate,
        referent_name="Referente",
        referent_email="ref@example.it",
        price_list="Prezzario",
        valid_from=today - datetime.timedelta(days=30),
        valid_until=today + datetime.timedelta(days=365),
        base_amount=D("100000000.00"),
    )
    aq.lots.set([Lot.objects.get(period=period, number=1)])
    mu = SpendingChapter.objects.get(code="MU")
    ChapterCeiling.objects.create(agreement=aq, chapter=mu, amount=D("90000000.00"))
    for i in range(6):
        op = EconomicOperator.objects.create(name=f"Operatore {i}", tax_code=f"9900000000{i}")
        AgreementOperator.objects.create(
            agreement=aq,
            operator=op,
            score=D(90 - i),
            ranking_position=i + 1,
            discount_pct=D("10.0000"),
            base_threshold=D("3000000.00"),
        )
    user = member(sa, Role.RUP, username="bench.rup")
    return aq, mu, user, InterventionCategory.objects.first(), period, area


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="bookings in total")
    parser.add_argument("-t", type=int, default=8, help="concurrent clients (threads)")
    parser.add_argument("--search-contracts", type=int, default=0)
    args = parser.parse_args()

    import django

    django.setup()
    from decimal import Decimal as D

    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases
    from django.utils import timezone

    if connection.vendor != "postgresql":
        sys.exit("Serve PostgreSQL: impostare DATABASE_URL.")
    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old = setup_databases(verbosity=0, interactive=False)
    try:
        from ptim import services
        from ptim.amounts import agreement_residual, chapter_residual, operator_residual
        from ptim.models import Contract

        aq, mu, user, category, period, area = build_fixture(D)
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        counter = iter(range(args.n))
        counter_lock = threading.Lock()

        def data(i):
            works = D(50000 + (i % 50) * 1000)
            return {
                "period": period.pk,
                "territorial_area": area.pk,
                "required_clearance": "",
                "works_amount": works,
                "safety_costs": D("2000.00"),
                "og1_amount": works + D("2000.00"),
                "og2_amount": D(0),
                "og11_amount": D(0),
                "rup_first_name": "Mario",
                "rup_last_name": "Rossi",
                "rup_role": "RUP",
                "rup_phone": "06",
                "rup_email": "rup@example.it",
                "office_name": "Ufficio",
                "office_email": "uff@example.it",
                "description": "Intervento",
                "intervention_category": category.pk,
                "spending_chapter": mu.pk,
                "intervention_identifier": f"MU-B-{i:05d}",
                "plan_year": 2024,
                "intervention_type": "",
                "measured_basis_confirmed": True,
            }

        def client():
            while True:
                with counter_lock:
                    i = next(counter, None)
                if i is None:
                    break
                t0 = time.perf_counter()
                try:
                    services.book_operator(user=user, data=data(i), now=timezone.now())
                except Exception as exc:  # reported, not hidden
                    with lock:
                        failures.append(repr(exc))
                    continue
                with lock:
                    latencies.append((time.perf_counter() - t0) * 1000)
            connection.close()

        threads = [threading.Thread(target=client) for _ in range(args.t)]
        start = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - start

        print(f"PTIM booking: {args.n} bookings, {args.t} concurrent clients, one agreement")
        print(f"  booked {len(latencies)}, failed {len(failures)}")
        if latencies:
            print(f"  throughput   {len(latencies) / elapsed:8.1f} bookings/s ({elapsed:.2f} s)")
            print(
                f"  latency      p50 {pct(latencies, 0.5):7.1f} ms   "
                f"p95 {pct(latencies, 0.95):7.1f}"
                f" ms   max {max(latencies):7.1f} ms   mean {statistics.fmean(latencies):7.1f} ms"
            )
        for f in failures[:5]:
            print("  failure:", f)

        total = sum(c.total_amount for c in Contract.objects.filter(agreement=aq))
        ok = agreement_residual(aq) == aq.total_ceiling - total
        ok &= chapter_residual(aq, mu) == D("90000000.00") - total
        for m in aq.operators.all():
            used = sum(c.total_amount for c in Contract.objects.filter(membership=m))
            ok &= operator_residual(m) == m.threshold - used and operator_residual(m) >= 0
        roots = sorted(Contract.objects.values_list("progressive_root", flat=True))
        ok &= roots == list(range(1, len(roots) + 1))
        diffs = services.residual_differences()
        ok &= not diffs
        print(f"  residuals exact, progressives without gaps: {'SÌ' if ok else 'NO'}")

        if args.search_contracts:
            search_benchmark(args.search_contracts, aq, mu, user, category, D)
        if not ok:
            sys.exit(1)
    finally:
        teardown_databases(old, verbosity=0)


def search_benchmark(n, aq, mu, user, category, D):

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from ptim.models import Contract

    start_root = 100000
    t0 = time.perf_counter()
    # One template row, copied n times by PostgreSQL (generate_series): fast and realistic.
    template = Contract.objects.filter(agreement=aq).order_by("pk").first()
    columns = [
        f.column
        for f in Contract._meta.concrete_fields
        if f.column
        not in (
            "id",
            "progressive_root",
            "progressive",
            "description",
            "active_mu_identifier",
            "state",
            "consumed_amount",
            "predecessor_id",
        )
    ]
    cols = ", ".join(columns)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO ptim_contract (progressive_root, progressive, description, state, "
            f"consumed_amount, {cols}) "
            f"SELECT {start_root} + g, ({start_root} + g)::text, 'Intervento storico ' || g, "
            f"'ANNULLED', 0, {cols} FROM ptim_contract, generate_series(0, %s) AS g "
            f"WHERE id = %s",
            [n - 1, template.pk],
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(
        f"Ricerca contratti: {Contract.objects.count()} contratti "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    client = Client()
    client.force_login(user)
    for label, params in (
        ("prima pagina", {}),
        ("filtro progressivo", {"q": str(start_root + n // 2)}),
        ("filtro testo", {"q": "storico 4999"}),
        ("filtro stato", {"state": "BOOKED"}),
        ("progressivo radice", {"progressive": str(start_root + n // 2)}),
        (
            "filtri D-49",
            {
                "lot": "1",
                "territorial_area": str(aq.territorial_area_id),
                "booked_from": "2024-01-01",
                "rup": "Bianchi",
            },
        ),
    ):
        times, queries = [], 0
        for _ in range(10):
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                response = client.get("/ptim/contratti/", params, secure=True)
                times.append((time.perf_counter() - t) * 1000)
            queries = len(ctx.captured_queries)
            assert response.status_code == 200, response.status_code
        print(
            f"  {label:<20} p50 {pct(times, 0.5):7.1f} ms   p95 {pct(times, 0.95):7.1f} ms   "
            f"{queries} query"
        )
    # CSV export of every visible contract (streamed).
    t = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/ptim/contratti/esporta.csv", secure=True)
        size = sum(len(chunk) for chunk in response.streaming_content)
    print(
        f"  {'esportazione CSV':<20} {(time.perf_counter() - t) * 1000:7.1f} ms   "
        f"{size / 1e6:.1f} MB   {len(ctx.captured_queries)} query"
    )


if __name__ == "__main__":
    main()
