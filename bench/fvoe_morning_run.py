"""The 07:00 FVOE verification run at scale, against the simulator over real HTTP (issue 5).

    DATABASE_URL=postgres://.../anything .venv/bin/python bench/fvoe_morning_run.py \
        [-n 10000] [--latency-ms 100] [--concurrency 50] [--rate 0] [--rate-429 0.002]

Starts the project in-process on a throwaway test database (Django's test database machinery
and LiveServerThread, as the tests do), creates one appalto with `n` operators whose access
requests are pending at the simulator (rows written in bulk on both sides: the setup is not what
is measured), sets the simulator's latency and 429 rate, then runs one slot of the scheduled
verification (`fvoe.jobs.verify_slot`, the code the 07:00 beat runs) and prints: wall time,
the ideal (n × latency / concurrency), calls/s, the 429s received and honoured (Retry-After), and
the duplicate calls in the slot (must be zero). Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procurement.settings")
os.environ.setdefault("DEBUG", "1")
os.environ["ANAC_SIMULATOR"] = "1"
os.environ["ANAC_VALIDATE_REQUESTS"] = "0"
os.environ["ANAC_SIMULATOR_VALIDATE_RESPONSES"] = "0"


def operator_code(i: int) -> str:
    from stdnum import luhn

    body = f"{60000000 + i:010d}"
    return body + luhn.calc_check_digit(body)


def seed(n: int):
    """An appalto, its RUP with a recent SPID login, and n pending authorisations (both sides)."""
    from datetime import timedelta

    from django.utils import timezone

    from fvoe.models import (
        AccessRequestStatus,
        AuthorizationStatus,
        FvoeAccessRequest,
        FvoeAppaltoOperator,
        FvoeAuthorization,
        OperatorSource,
    )
    from procurement.accounts.models import (
        IdpType,
        Membership,
        Organisation,
        OrganisationKind,
        Role,
        StrongAuthSession,
        User,
    )
    from procurement.anac.simulator.models import SimFvoeAccessRequest, SimFvoeAuthorization
    from procurement.pcp.models import PcpAppalto

    now = timezone.now()
    org = Organisation.objects.create(
        code="bench-sa",
        name="Comune di Prova (benchmark)",
        kind=OrganisationKind.CONTRACTING_AUTHORITY,
        tax_code="01234567897",
        ausa_code="0000123456",
    )
    rup = User.objects.create(
        username="bench.rup", first_name="Elisa", last_name="Neri", tax_code="NRELSN82T50D612R"
    )
    Membership.objects.create(user=rup, organisation=org, role=Role.RUP)
    Membership.objects.create(user=rup, organisation=org, role=Role.FVOE)
    StrongAuthSession.objects.create(
        user=rup,
        provider="dev",
        idp_type=IdpType.SPID,
        loa=2,
        anac_loa="3",
        authenticated_at=now - timedelta(hours=12),
        expires_at=now - timedelta(hours=4),
    )
    id_appalto = uuid.uuid4()
    appalto = PcpAppalto.objects.create(
        organisation=org,
        id_appalto=id_appalto,
        subject="Benchmark FVOE",
        rup=rup,
        sa_tax_code=org.tax_code,
        sa_ausa_code=org.ausa_code,
        rp_tax_code=rup.tax_code,
    )
    codes = [operator_code(i) for i in range(n)]
    sim_request = SimFvoeAccessRequest.objects.create(
        id_appalto=id_appalto, data_inizio=now, user_tax_code=rup.tax_code, created=now
    )
    SimFvoeAuthorization.objects.bulk_create(
        [
            SimFvoeAuthorization(
                request=sim_request,
                id_appalto=id_appalto,
                operator_tax_code=code,
                created=now,
                changed=now,
            )
            for code in codes
        ],
        batch_size=2000,
    )
    request = FvoeAccessRequest.objects.create(
        appalto=appalto,
        requested_by=rup,
        acting_rup=rup,
        start_at=now,
        created_at=now,
        submitted_at=now,
        id_richiesta=str(sim_request.id_richiesta),
    )
    FvoeAccessRequest.objects.filter(pk=request.pk).update(status=AccessRequestStatus.ACKED)
    operators = FvoeAppaltoOperator.objects.bulk_create(
        [
            FvoeAppaltoOperator(
                appalto=appalto, tax_code=code, name=f"Operatore {i}", source=OperatorSource.OFFER
            )
            for i, code in enumerate(codes)
        ],
        batch_size=2000,
    )
    FvoeAuthorization.objects.bulk_create(
        [
            FvoeAuthorization(
                appalto=appalto,
                operator=operator,
                operator_tax_code=operator.tax_code,
                request=request,
                status=AuthorizationStatus.REQUESTED,
                anac_status_code="01",
                requested_at=now,
            )
            for operator in operators
        ],
        batch_size=2000,
    )
    return appalto


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="pending access requests")
    parser.add_argument("--latency-ms", type=int, default=100, help="simulator latency per call")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent calls")
    parser.add_argument("--rate", type=float, default=0, help="calls/s limit (0: none)")
    parser.add_argument("--rate-429", type=float, default=0.002, help="share of 429 answers")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After of the 429s (s)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.db.models import Count
    from django.test.testcases import LiveServerThread
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases
    from django.utils import timezone

    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    server = LiveServerThread("localhost", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    try:
        base = f"http://localhost:{server.port}/anac-sim"
        settings.ANAC_BASE_URL = base
        settings.PDND_TOKEN_URL = base + "/pdnd/token.oauth2"
        settings.ANAC_ESERVICE_URLS = {}
        settings.ANAC_VALIDATE_REQUESTS = False

        from fvoe.jobs import verify_slot
        from fvoe.models import FvoeAuthorization
        from procurement.anac.models import AnacTransmission, TransmissionOutcome
        from procurement.anac.simulator.models import SimulatorConfig
        from procurement.core.models import JobRun

        t0 = time.perf_counter()
        seed(args.n)
        setup_s = time.perf_counter() - t0
        config = SimulatorConfig.current()
        config.latency_ms = args.latency_ms
        config.rate_429 = args.rate_429
        config.retry_after_s = args.retry_after
        config.seed = 5
        config.save()

        slept: list[float] = []

        def sleep(seconds: float) -> None:
            if seconds >= 0.5:
                slept.append(seconds)
            time.sleep(seconds)

        now = timezone.now()
        started = time.perf_counter()
        summary = verify_slot(
            now=now,
            slot=now,
            concurrency=args.concurrency,
            rate_per_second=args.rate,
            sleep=sleep,
        )
        wall = time.perf_counter() - started

        verify = AnacTransmission.objects.filter(operation="verifica-richiesta-accesso-fvoe")
        ok = verify.filter(outcome=TransmissionOutcome.OK).count()
        limited = verify.filter(outcome=TransmissionOutcome.RATE_LIMITED).count()
        duplicates = (
            verify.filter(outcome=TransmissionOutcome.OK)
            .values("object_label")
            .annotate(c=Count("id"))
            .filter(c__gt=1)
            .count()
        )
        in_slot = FvoeAuthorization.objects.filter(last_check_slot=summary.key).count()
        run = JobRun.objects.get(key=summary.key)
        ideal = args.n * args.latency_ms / 1000 / args.concurrency
        print(
            f"FVOE morning run: {args.n} pending requests, simulator latency {args.latency_ms} ms, "
            f"concurrency {args.concurrency}, rate limit {args.rate or 'none'}/s, "
            f"429 share {args.rate_429}"
        )
        print(f"setup (bulk rows, not measured)      {setup_s:8.1f} s")
        print(f"wall time of the slot                {wall:8.1f} s")
        print(f"ideal (n x latency / concurrency)    {ideal:8.1f} s   ({wall / ideal:.2f}x ideal)")
        print(f"verification calls OK                {ok:8d}   ({ok / wall:.1f} calls/s)")
        print(f"429 received (Retry-After honoured)  {limited:8d}   pauses slept: {len(slept)}")
        print(f"authorisations verified in the slot  {in_slot:8d} / {args.n}")
        print(f"duplicate calls in the slot          {duplicates:8d}")
        print(
            f"JobRun {run.key}: total {run.total}, done {run.done}, failed {run.failed}, "
            f"summary rate_limited={run.summary.get('rate_limited')} "
            f"not_verified={run.summary.get('not_verified')}"
        )
    finally:
        server.terminate()
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
