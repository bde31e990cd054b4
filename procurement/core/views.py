from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .health import run_health_checks
from .selectors import home_panels


@login_required
def home(request):
    panels = home_panels(user=request.user, membership=request.membership)
    return render(request, "core/home.html", {"panels": panels})


@never_cache
def health(request):
    report = run_health_checks()
    status = 200 if report["status"] == "ok" else 503
    return JsonResponse(report, status=status)
