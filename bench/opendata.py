"""Open-data benchmark: export 100,000 OCDS releases, and the public list with 100,000 awards.

    make bench-opendata     (a throwaway PostgreSQL; or: DATABASE_URL=... bench/opendata.py)

Loads N synthetic procedures (one release each, tender + award, valid against the 1.1.5 schema:
one is validated, the others share its shape) with bulk inserts, then measures
1. `manage.py ocds_export` in a child process: wall time and peak RSS (getrusage of the child);
2. the public page "Aggiudicazioni e affidamenti" through Django's test client: p50/p95 latency and
   SQL queries per request, for page 1, a filtered page, and a deep page.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procurement.settings")


def load(n: int) -> None:
    from procurement.opendata.models import OcdsRelease, PublicProcedure
    from procurement.opendata.ocds import release_errors
    from tests.opendata.builders import BUYER, award_release, tender_release

    if OcdsRelease.objects.filter(source="bench").count() >= n:
        return
    OcdsRelease.objects.filter(source="bench").delete()
    PublicProcedure.objects.filter(source="bench").delete()
    t0 = datetime(2025, 1, 1, 9, tzinfo=ZoneInfo("Europe/Rome"))
    batch_r, batch_p = [], []
    for i in range(n):
        cig = f"Z{i:07d}BB"
        when = t0 + timedelta(minutes=7 * i)
        release = tender_release(
            cig=cig,
            title=f"Fornitura n. {i}",
            value=Decimal(100000 + i),
            published=when,
            deadline=when + timedelta(days=30),
        )
        award = award_release(
            cig=cig, value=Decimal(90000 + i) + Decimal("0.25"), awarded=when + timedelta(days=40)
        )
        release["tag"] = ["tender", "award"]
        release["awards"] = award["awards"]
        release["parties"] += award["parties"][1:]
        release |= {"id": f"{release['ocid']}-bench", "language": "it", "initiationType": "tender"}
        if i == 0:
            assert release_errors(release) == [], release_errors(release)
        batch_r.append(
            OcdsRelease(
                ocid=release["ocid"],
                release_id=release["id"],
                date=when,
                tags=release["tag"],
                data=release,
                source="bench",
            )
        )
        batch_p.append(
            PublicProcedure(
                ocid=release["ocid"],
                source="bench",
                title=f"Fornitura n. {i}",
                buyer_name=BUYER[0],
                buyer_tax_code=BUYER[1],
                cig=cig,
                procurement_method="open",
                tender_status="active",
                tender_value=Decimal(100000 + i),
                award_value=Decimal(90000 + i) + Decimal("0.25"),
                suppliers="Edil Lavori S.r.l.",
                is_notice=True,
                is_award=True,
                tender_published_at=when,
                award_date=when + timedelta(days=40),
                last_release_at=when,
                compiled=release,
            )
        )
        if len(batch_r) == 5000:
            OcdsRelease.objects.bulk_create(batch_r)
            PublicProcedure.objects.bulk_create(batch_p)
            batch_r, batch_p = [], []
    OcdsRelease.objects.bulk_create(batch_r)
    PublicProcedure.objects.bulk_create(batch_p)


def export(out: Path) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "ocds_export", str(out)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak_kib, before) / 1024, done.stdout.strip()


def page_figures(path: str, repeat: int) -> tuple[float, float, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.get(path)  # warm up
    times, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
        queries = len(ctx.captured_queries)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    start = time.perf_counter()
    load(args.n)
    print(f"loaded {args.n} releases/awards in {time.perf_counter() - start:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        wall, peak_mib, line = export(Path(tmp))
        size = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20
        index = json.loads((Path(tmp) / "index.json").read_text())
    print(
        f"ocds_export: {index['releases']} releases + {index['records']} records, "
        f"{len(index['files'])} files, {size:.0f} MiB, {wall:.1f} s wall, "
        f"peak RSS {peak_mib:.0f} MiB"
    )
    print(f"  ({line})")
    print(f"{'public page':<48} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, path in [
        ("Aggiudicazioni e affidamenti, page 1", "/trasparenza/affidamenti/"),
        (
            "filtered by authority + amount range",
            "/trasparenza/affidamenti/?amministrazione=Bellinzago&importo_min=95000&importo_max=99000",
        ),
        ("filtered by CIG", "/trasparenza/affidamenti/?cig=Z0054321BB"),
        ("deep page (pagina=3000)", "/trasparenza/affidamenti/?pagina=3000"),
        ("OCDS API, 100 releases", "/api/ocds/releases?limit=100"),
    ]:
        p50, p95, queries = page_figures(path, args.repeat)
        print(f"{label:<48} {p50:>8.1f} {p95:>8.1f} {queries:>8}")


if __name__ == "__main__":
    main()
