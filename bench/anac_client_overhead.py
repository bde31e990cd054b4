"""ANAC client overhead per call, against the simulator over real HTTP (issue 3 "Must show").

    DATABASE_URL=postgres://.../anything .venv/bin/python bench/anac_client_overhead.py [-n 300]

Starts the project in-process on a throwaway test database (Django's test database machinery
and LiveServerThread, as the tests do), creates one appalto at the simulator, then times the
same read (`GET ServiziComuni/stato-appalto?idAppalto=…`) two ways:

1. raw httpx: tracking JWS and PDND voucher prepared beforehand (outside the timed region), so
   only the HTTP exchange with the simulator is measured;
2. `AnacClient.call`: what production code pays per call — new tracking JWS (RS256), a PDND
   voucher bound to it by the digest (one token request), the call, parsing, and the
   AnacTransmission row.

Prints p50/p95/mean of both, the overhead (difference), and the cost of the parts (JWS signing,
voucher request, transmission insert). Request/response conformance validation is off, as in
production. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row(label: str, values: list[float]) -> str:
    return (
        f"{label:<44} p50 {pct(values, 0.50):7.2f} ms   p95 {pct(values, 0.95):7.2f} ms   "
        f"mean {statistics.fmean(values):7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="calls per variant")
    args = parser.parse_args()

    import django

    django.setup()
    import httpx
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

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

        from procurement.anac import pdnd
        from procurement.anac.identity import NIL_FLOW_ID, Actor
        from procurement.anac.models import AnacTransmission
        from procurement.anac.transport import AnacClient, CallContext
        from tests.anac.test_simulator_pcp import ad4

        actor = Actor(tax_code="RSSMRA80A01H501U", loa="3", idp_type="SPID", sa_ausa="0000123456")
        client = AnacClient()
        ctx = CallContext(actor=actor, business_flow_id=NIL_FLOW_ID, trigger="scheduler")
        created = client.call(
            "ComunicaAppalto",
            "crea-appalto",
            ctx=ctx,
            json={"scheda": ad4(f"BENCH-{uuid.uuid4()}")},
        )
        id_appalto = created.body["idAppalto"]
        ctx.business_flow_id = id_appalto
        params = {"idAppalto": id_appalto}
        url = pdnd.eservice_url("ServiziComuni") + "/stato-appalto"
        audience = pdnd.eservice_audience("ServiziComuni")

        for _ in range(20):  # warm-up of both paths
            client.call("ServiziComuni", "stato-appalto", ctx=ctx, params=params)

        jws_ms, voucher_ms, raw_ms = [], [], []
        batch = 10  # a tracking JWS lives 5 s: prepare a few, then time them at once
        with httpx.Client(timeout=30) as http:
            while len(raw_ms) < args.n:
                prepared = []
                for _ in range(batch):
                    t0 = time.perf_counter()
                    jws, _claims = pdnd.build_tracking_jws(
                        actor=actor,
                        audience=audience,
                        business_flow_id=id_appalto,
                        trace_id=str(uuid.uuid4()),
                        span_id=ctx.span_id,
                    )
                    t1 = time.perf_counter()
                    voucher = client.vouchers.obtain(eservice="ServiziComuni", tracking_jws=jws)
                    t2 = time.perf_counter()
                    jws_ms.append((t1 - t0) * 1000)
                    voucher_ms.append((t2 - t1) * 1000)
                    prepared.append((jws, voucher))
                for jws, voucher in prepared:
                    headers = {
                        "Authorization": f"Bearer {voucher}",
                        "Agid-JWT-TrackingEvidence": jws,
                    }
                    t0 = time.perf_counter()
                    response = http.get(url, params=params, headers=headers)
                    response.json()
                    raw_ms.append((time.perf_counter() - t0) * 1000)
                    if response.status_code != 200:
                        raise SystemExit(f"simulator refused the raw call: {response.text}")

        client_ms = []
        for _ in range(args.n):
            t0 = time.perf_counter()
            client.call("ServiziComuni", "stato-appalto", ctx=ctx, params=params)
            client_ms.append((time.perf_counter() - t0) * 1000)

        insert_ms = []
        sample = AnacTransmission.objects.latest("id")
        for _ in range(min(args.n, 200)):
            sample.pk = None
            sample.jti = str(uuid.uuid4())
            t0 = time.perf_counter()
            sample.save()
            insert_ms.append((time.perf_counter() - t0) * 1000)
        client.close()

        overhead = [c - r for c, r in zip(sorted(client_ms), sorted(raw_ms), strict=False)]
        print(
            f"ANAC client overhead, {args.n} calls per variant, GET stato-appalto on the simulator"
        )
        print(row("raw httpx (JWS + voucher prepared)", raw_ms))
        print(row("AnacClient.call (everything per call)", client_ms))
        print(row("overhead (client - raw, by rank)", overhead))
        print(row("  of which: tracking JWS (RS256)", jws_ms))
        print(row("  of which: PDND voucher (token.oauth2)", voucher_ms))
        print(row("  of which: AnacTransmission insert", insert_ms))
        print(
            f"overhead p50 = {pct(client_ms, 0.5) - pct(raw_ms, 0.5):.2f} ms per call "
            f"({pct(client_ms, 0.5) / pct(raw_ms, 0.5):.1f}x the raw exchange)"
        )
    finally:
        server.terminate()
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
