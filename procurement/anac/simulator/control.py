"""Run-time control of the simulator (faults, timings) for tests, demos and benchmarks.

GET  /anac-sim/_control/config  -> the current SimulatorConfig as JSON
POST /anac-sim/_control/config  -> JSON with any of its fields; returns the new config
FVOE (the economic operator's side, scripts per operator): /anac-sim/_control/fvoe/...,
see fvoe_views.
PCP (scripted errors per operation, appalto or cost centre): /anac-sim/_control/pcp/errors and
/anac-sim/_control/pcp/reset, see pcp_views.
Only mounted with the simulator (never in production).
"""

from __future__ import annotations

import json

from django.forms.models import model_to_dict
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from .fvoe_views import control_urlpatterns as fvoe_control_urlpatterns
from .models import SimulatorConfig
from .pcp_views import control_urlpatterns as pcp_control_urlpatterns

FIELDS = [
    "latency_ms",
    "rate_429",
    "retry_after_s",
    "rate_5xx",
    "ko_rate",
    "wt_seconds",
    "never_resolves",
    "seed",
]


@csrf_exempt
def config_view(request):
    config = SimulatorConfig.current()
    if request.method == "POST":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"detail": "JSON non valido"}, status=400)
        unknown = set(data) - set(FIELDS)
        if unknown:
            return JsonResponse({"detail": f"campi sconosciuti: {sorted(unknown)}"}, status=400)
        for key, value in data.items():
            setattr(config, key, value)
        config.save()
    return JsonResponse(model_to_dict(config, fields=FIELDS))


urlpatterns = [
    path("config", config_view, name="anac-sim-config"),
    *fvoe_control_urlpatterns,
    *pcp_control_urlpatterns,
]
