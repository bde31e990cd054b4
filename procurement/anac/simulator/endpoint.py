"""The decorator every simulated ANAC operation goes through, as on ANAC's API gateway.

    @endpoint("ComunicaAppalto", "crea-appalto", methods=("POST",))
    def crea_appalto(request, call: SimCall) -> HttpResponse: ...

In order: method check (405), the PDND voucher and tracking JWS (security.authenticate_call:
gateway error shapes on failure), then the configured faults (latency, 429 with Retry-After,
5xx), then the view. `call.claims` are the tracking JWS claims, `call.body` the parsed JSON body.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import SimulatorConfig

PROBLEM = "application/problem+json"
# Responses of the simulator that do not match ANAC's OpenAPI documents (checked in tests:
# tests/anac/conftest.py fails any test that leaves an entry here).
CONFORMANCE_FAILURES: list[str] = []


@dataclass
class SimCall:
    eservice: str
    operation: str
    claims: dict
    body: dict | None
    config: SimulatorConfig


def problem(
    status: int,
    title: str,
    detail: str = "",
    errori: list[dict] | None = None,
    headers: dict | None = None,
) -> HttpResponse:
    """An ErrorResponse (BaseResponse + errori[]) as application/problem+json."""
    body = {"status": status, "title": title, "detail": detail, "type": "about:blank"}
    if errori is not None:
        body["errori"] = [{"idTipologica": "errori", **e} for e in errori]
    response = JsonResponse(body, status=status, content_type=PROBLEM)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def ok(body: dict, status: int = 200) -> JsonResponse:
    """A success body (BaseResponse fields first) with the rate-limit headers of the spec."""
    response = JsonResponse(body, status=status)
    response["X-RateLimit-Limit"] = "1000"
    response["X-RateLimit-Remaining"] = "999"
    response["X-RateLimit-Reset"] = "60"
    return response


_random = random.Random()  # noqa: S311 (fault injection, not security)


def _roll(rate: float) -> bool:
    return rate > 0 and _random.random() < rate


def _check_response(request, call: SimCall, response) -> None:
    from ..conformance import ConformanceError, validate_response

    try:
        validate_response(
            call.eservice,
            request.method,
            call.operation,
            status=response.status_code,
            content_type=response.get("Content-Type", ""),
            body=response.content,
            headers=dict(response.items()),
            params=request.GET.dict(),
            request_body=call.body,
        )
    except ConformanceError as exc:
        CONFORMANCE_FAILURES.append(str(exc))


def endpoint(eservice: str, operation: str, *, methods: tuple[str, ...] = ("GET",)):
    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            from .security import GatewayError, authenticate_call

            if request.method not in methods:
                return problem(405, "Method Not Allowed", f"{request.method} non ammesso")
            try:
                claims = authenticate_call(request, eservice=eservice)
            except GatewayError as exc:
                return exc.response()
            config = SimulatorConfig.current()
            if config.seed is not None and getattr(_random, "_seed", None) != config.seed:
                _random.seed(config.seed)  # once per seed value, not at every request
                _random._seed = config.seed
            if config.latency_ms:
                time.sleep(config.latency_ms / 1000)
            if _roll(config.rate_429):
                return problem(
                    429,
                    "Too Many Requests",
                    "Limite di richieste superato",
                    headers={"Retry-After": str(config.retry_after_s)},
                )
            if _roll(config.rate_5xx):
                return problem(
                    503, "Service Unavailable", "Servizio temporaneamente non disponibile"
                )
            body = None
            if request.method == "POST":
                try:
                    body = json.loads(request.body or b"{}")
                except ValueError:
                    return problem(400, "Bad Request", "Corpo della richiesta non valido (JSON)")
            call = SimCall(
                eservice=eservice, operation=operation, claims=claims, body=body, config=config
            )
            response = view(request, call, *args, **kwargs)
            if settings.ANAC_SIMULATOR_VALIDATE_RESPONSES:
                _check_response(request, call, response)
            return response

        wrapper.anac_eservice = eservice
        wrapper.anac_operation = operation
        return wrapper

    return decorate
