"""Benchmark runner: sequential requests to a server on loopback, latencies as a table.

Run by scripts/bench.sh (`make bench`), which starts a throwaway PostgreSQL and gunicorn with
BENCH_ENABLED=1. The first two rows are the framework floor (procurement/core/bench_views.py):
the cheapest request through the whole middleware stack, and the cheapest locked update
(transaction + SELECT ... FOR UPDATE of one row + save). The `x floor` column divides each
row's p50 by the floor's, so later figures read as ratios to what Django, gunicorn and
PostgreSQL cost anyway on this machine. Nothing here asserts a time: figures are for reading.

    python bench/run.py --base-url http://127.0.0.1:8123 [-n 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import os
import platform
import socket
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
MAX_REQUESTS = 20_000  # per case: a benchmark run stays short and never floods anything


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    setup: Callable[[], None] | None = None


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    requests_per_s: float


def _django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procurement.settings")
    import django

    django.setup()


def _floor_row() -> None:
    """The existing kernel row the locked update changes (a JobRun slot of its own)."""
    from django.utils import timezone

    from procurement.core.bench_views import BENCH_JOB_KEY
    from procurement.core.models import JobRun

    JobRun.objects.update_or_create(
        key=BENCH_JOB_KEY,
        defaults={"job": "bench", "trigger": "bench", "started_at": timezone.now(), "done": 0},
    )


CASES = [
    Case("floor: GET noop", "GET", "/bench/noop/"),
    Case("floor: POST locked update", "POST", "/bench/locked-update/", setup=_floor_row),
]


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def require_loopback(base_url: str) -> None:
    host = urlsplit(base_url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise SystemExit(f"cannot resolve {host!r}: {exc}") from exc
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"refusing {base_url}: benchmarks run against loopback only")


def wait_until_up(client: httpx.Client, path: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if client.get(path).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"server not answering 200 on {path} after {timeout_s:.0f} s")
        time.sleep(0.2)


def run_case(client: httpx.Client, case: Case, *, requests: int, warmup: int) -> Result:
    def once() -> None:
        response = client.request(case.method, case.path)
        if response.status_code != 200:
            raise SystemExit(
                f"{case.name}: {case.method} {case.path} answered {response.status_code}: "
                f"{response.text[:300]}"
            )

    for _ in range(warmup):
        once()
    latencies = []
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        once()
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Result(
        name=case.name,
        requests=requests,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        mean_ms=statistics.fmean(latencies),
        requests_per_s=requests / elapsed,
    )


def table(results: list[Result]) -> str:
    floor = results[0].p50_ms
    header = ("case", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms", "req/s", "x floor")
    rows = [
        (
            r.name,
            str(r.requests),
            f"{r.p50_ms:.2f}",
            f"{r.p95_ms:.2f}",
            f"{r.p99_ms:.2f}",
            f"{r.mean_ms:.2f}",
            f"{r.requests_per_s:.0f}",
            f"{r.p50_ms / floor:.2f}",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def requests_count(value: str) -> int:
    count = int(value)
    if not 1 <= count <= MAX_REQUESTS:
        raise argparse.ArgumentTypeError(f"between 1 and {MAX_REQUESTS}")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="server on loopback")
    parser.add_argument(
        "-n",
        "--requests",
        type=requests_count,
        default=int(os.environ.get("BENCH_REQUESTS", "1000")),
        help="timed requests per case (default 1000, env BENCH_REQUESTS)",
    )
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests per case")
    parser.add_argument("--wait", type=float, default=30, help="seconds to wait for the server")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-setup", action="store_true", help="skip the database fixtures")
    args = parser.parse_args(argv)

    require_loopback(args.base_url)
    if not args.no_setup:
        _django_setup()
        for case in CASES:
            if case.setup is not None:
                case.setup()

    with httpx.Client(base_url=args.base_url, timeout=10.0) as client:
        wait_until_up(client, CASES[0].path, args.wait)
        results = [
            run_case(client, case, requests=args.requests, warmup=args.warmup) for case in CASES
        ]

    print(
        f"{len(CASES)} cases, {args.requests} sequential requests each after {args.warmup} "
        f"warm-up, one client, {args.base_url}"
    )
    print(f"python {platform.python_version()}, httpx {httpx.__version__}, {platform.platform()}")
    print()
    print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
