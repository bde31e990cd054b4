"""Negozio Elettronico: contract list and order list with many orders, and the summary-sheet PDF.

    DATABASE_URL=postgres://.../anything .venv/bin/python bench/adesioni_lists.py \
        [--orders 20000] [--repeat 20] [--pdf 5]

Runs on a throwaway test database (Django's test machinery, as the tests do):

1. the RC contract (Appendix A) with one approved adhesion and `--orders` supply orders spread
   over all states, inserted in bulk;
2. times, through the Django test client, the pages "Elenco contratti", the contract's "Elenco
   ordinativi" (first page, a state filter, the last page) as the buyer and as the banditore,
   printing p50/p95 latency and the query count of each page;
3. renders the "Scheda di sintesi ordinativo di fornitura" `--pdf` times with WeasyPrint.

Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def build(n_orders: int):
    from decimal import Decimal

    from django.utils import timezone

    from adesioni.demo import rc_contract
    from adesioni.models import (
        Adhesion,
        AdhesionStatus,
        CigRequest,
        OrderLine,
        OrderStatus,
        SupplyOrder,
    )
    from procurement.accounts.models import Membership, Organisation, OrganisationKind, Role, User

    def user(username, org, role, tax_code):
        u = User.objects.create_user(username, password="bench-password-1", tax_code=tax_code)
        Membership.objects.create(user=u, organisation=org, role=role)
        return u

    issuer = Organisation.objects.create(
        code="rt",
        name="Regione Toscana",
        kind=OrganisationKind.CENTRAL_PURCHASING_BODY,
        tax_code="01386030488",
    )
    supplier = Organisation.objects.create(
        code="tim",
        name="Telecom Italia",
        kind=OrganisationKind.ECONOMIC_OPERATOR,
        tax_code="00488410010",
    )
    adherent = Organisation.objects.create(
        code="fi",
        name="Comune di Firenze",
        kind=OrganisationKind.CONTRACTING_AUTHORITY,
        tax_code="01307110484",
        ausa_code="0000155361",
    )
    mario = user("mario", issuer, Role.AQ_RUP, "VRDGPP75C15F205S")
    buyer = user("buyer", adherent, Role.BUYER, "RSSMRA80A01H501U")
    rup = user("rup", adherent, Role.RUP, "NRIFNC82T10F952A")
    contract = rc_contract(issuer=issuer, issuer_rup=mario, supplier=supplier)
    now = timezone.now()
    adhesion = Adhesion.objects.create(
        contract=contract,
        organisation=adherent,
        code="A000001/2026",
        code_year=2026,
        code_seq=1,
        hypothesis="A",
        amount=Decimal("100000000"),
        status=AdhesionStatus.APPROVED,
        created_by=buyer,
        created_at=now,
        approved_at=now,
    )
    states = [s for s in OrderStatus.values if s != OrderStatus.DELETED]
    batch = []
    for i in range(n_orders):
        state = states[i % len(states)]
        sent = state in ("SENT", "APPROVED", "REFUSED", "ANNULLED")
        batch.append(
            SupplyOrder(
                contract=contract,
                organisation=adherent,
                adhesion=adhesion,
                number=f"O{i + 1:06d}/2026",
                number_year=2026,
                number_seq=i + 1,
                hypothesis="A",
                status=state,
                rup=rup,
                lines_total=Decimal("8056.32"),
                derived_cig="" if state in ("DRAFT", "CIG_CONFIRMATION_PENDING") else "B7A41C2BB3",
                sent_at=now if sent else None,
                approved_at=now if state in ("APPROVED", "ANNULLED") else None,
                created_by=buyer,
                created_at=now,
            )
        )
    SupplyOrder.objects.bulk_create(batch, batch_size=2000)
    sample = SupplyOrder.objects.filter(status=OrderStatus.APPROVED).order_by("number_seq").first()
    CigRequest.objects.create(
        order=sample,
        oggetto_appalto="Proroga SCT",
        oggetto_lotto="Servizi SCT",
        oggetto_contratto="services",
        lot_amount=Decimal("8056.32"),
        data_adesione=now.date(),
        data_aggiudicazione=now.date(),
        cpv_prevalente="72000000",
        cod_nuts="ITI14",
        cod_istat="048017",
        ccnl="005",
        cost_centre_code="SIT",
    )
    for pos, (d, p, q) in enumerate(
        [
            ("VM standard", "157.35", "24"),
            ("Backup", "41.96", "12"),
            ("Housing rack", "314.70", "12"),
        ],
        1,
    ):
        OrderLine.objects.create(
            order=sample,
            position=pos,
            description=d,
            unit_price=Decimal(p),
            quantity=Decimal(q),
            line_total=(Decimal(p) * Decimal(q)).quantize(Decimal("0.01")),
        )
    return contract, buyer, mario, sample


def time_page(client, url, repeat):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, secure=True)  # warm up
    latencies = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url, secure=True)
            latencies.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(latencies), pct(latencies, 0.95), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pdf", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases
    from django.utils import timezone

    if connection.vendor != "postgresql":
        sys.exit("Serve PostgreSQL: impostare DATABASE_URL.")
    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old = setup_databases(verbosity=0, interactive=False)
    try:
        start = time.perf_counter()
        contract, buyer, mario, sample = build(args.orders)
        print(f"fixture: {args.orders} ordinativi in {time.perf_counter() - start:.1f} s")
        base = f"/adesioni/contratti/{contract.pk}/"
        pages = [
            ("Elenco contratti", "/adesioni/contratti/"),
            ("Elenco contratti, filtro CIG", "/adesioni/contratti/?cig=7154"),
            ("Elenco ordinativi, pagina 1", base + "?tab=ordinativi"),
            ("Elenco ordinativi, stato Approvato", base + "?tab=ordinativi&stato=APPROVED"),
            (
                "Elenco ordinativi, ultima pagina",
                base + f"?tab=ordinativi&page={args.orders // 50}",
            ),
            ("Ordinativo (passo 1)", f"/adesioni/ordini/{sample.pk}/"),
        ]
        for who, user in (("aderente", buyer), ("banditore", mario)):
            client = Client()
            client.force_login(user)
            for label, url in pages:
                p50, p95, n = time_page(client, url, args.repeat)
                print(f"{who:10s} {label:38s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  query {n}")
        from adesioni.pdf import SummarySheetRenderer

        sample.derived_cig = "B7A41C2BB3"
        timings = []
        for _ in range(args.pdf):
            start = time.perf_counter()
            data = SummarySheetRenderer(sample, timezone.now()).render()
            timings.append((time.perf_counter() - start) * 1000)
        print(
            f"Scheda di sintesi (WeasyPrint): p50 {statistics.median(timings):.0f} ms, "
            f"max {max(timings):.0f} ms, {len(data)} byte"
        )
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
