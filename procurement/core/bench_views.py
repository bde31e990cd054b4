"""The framework floor for benchmarks: the cheapest request, and the cheapest locked update.

Mounted under /bench/ only when BENCH_ENABLED=1 (scripts/bench.sh sets it); a normal deployment
has no such URLs. Later benchmarks read as ratios to these two: whatever a real view costs above
them is ours, not Django's, gunicorn's or PostgreSQL's.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .models import JobRun, JobRunStatus

# The one kernel row the locked update changes; bench/run.py creates it before timing.
BENCH_JOB_KEY = "bench:floor"


@require_GET
def noop(request):
    """The whole middleware stack and nothing else: no query, no template."""
    return HttpResponse(b"ok", content_type="text/plain")


# The runner is a script without a session, and the URL exists only in benchmark runs.
@csrf_exempt
@require_POST
def locked_update(request):
    """One transaction: lock one existing row, change it, save it (what every service does)."""
    with transaction.atomic():
        run = JobRun.objects.select_for_update().get(key=BENCH_JOB_KEY)
        run.done += 1
        run.finished_at = timezone.now()
        run.status = JobRunStatus.SUCCEEDED
        run.save(update_fields=["done", "finished_at", "status"])
    return JsonResponse({"done": run.done})


urlpatterns = [
    path("noop/", noop, name="bench-noop"),
    path("locked-update/", locked_update, name="bench-locked-update"),
]
