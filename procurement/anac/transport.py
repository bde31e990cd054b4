"""The one HTTP client of ANAC's e-services.

    client = AnacClient()                       # an httpx.Client inside, timeouts from settings
    ctx = CallContext(actor=Actor(...), business_flow_id=id_appalto or NIL_FLOW_ID,
                      span_id=<uuid of the user action>, trigger="user")
    response = client.call("ComunicaAppalto", "crea-appalto", ctx=ctx, json={...})

Per attempt: a new tracking JWS (new jti, new traceID; the spanID of the user action is kept),
a PDND voucher bound to it by the digest, the headers `Authorization: Bearer` and
`Agid-JWT-TrackingEvidence`, and one AnacTransmission row. Errors (procurement.anac.errors):
AnacRejected (4xx with errori[]: KO to show), AnacNotFound, AnacRateLimited (429, .retry_after),
AnacUnavailable (5xx or connection errors after the retries allowed for a safe GET),
AnacUnknownOutcome (timeout, reset or 5xx on a POST: reconcile before resending), PdndError.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.utils import timezone

from . import pdnd
from .errors import (
    AnacNotFound,
    AnacRateLimited,
    AnacRejected,
    AnacUnavailable,
    AnacUnknownOutcome,
    error_items,
)
from .identity import Actor
from .models import AnacTransmission, TransmissionOutcome

logger = logging.getLogger(__name__)

SAFE_RETRY_DELAYS = (0.2, 0.5, 1.0)  # within one call, for GETs only
DEFAULT_RETRY_AFTER = 60


@dataclass
class CallContext:
    actor: Actor
    business_flow_id: str
    span_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trigger: str = "user"  # user, scheduler, reload, reconcile, retry
    appalto_id: int | None = None  # local PcpAppalto pk, for the transmission log
    object_label: str = ""  # e.g. "ordinativo 12", "richiesta FVOE 7"
    operation_id: int | None = None  # the AnacOperation (outbox row) this call belongs to


@dataclass
class AnacResponse:
    status: int
    body: dict | bytes | None
    headers: dict
    trace_id: str
    jti: str


REDACTED_KEYS = frozenset({"chiaveAccesso"})  # FVOE access key: never in the log
BINARY_KEYS = frozenset({"contenuto"})  # FVOE document content: only its size and SHA-256


def redact(node):
    """A body as the transmission log keeps it: no access keys, no document binaries."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in REDACTED_KEYS and value:
                out[key] = "***"
            elif key in BINARY_KEYS and isinstance(value, str):
                out[key] = {
                    "base64_chars": len(value),
                    "sha256": hashlib.sha256(value.encode()).hexdigest(),
                }
            else:
                out[key] = redact(value)
        return out
    if isinstance(node, list):
        return [redact(value) for value in node]
    return node


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.ANAC_TIMEOUT_CONNECT,
        read=settings.ANAC_TIMEOUT_READ,
        write=settings.ANAC_TIMEOUT_READ,
        pool=5.0,
    )


def _retry_after(response: httpx.Response) -> int:
    try:
        return max(0, int(response.headers.get("Retry-After", "")))
    except ValueError:
        return DEFAULT_RETRY_AFTER


def _json_or_none(response: httpx.Response):
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        return None
    try:
        return response.json()
    except ValueError:
        return None


class AnacClient:
    def __init__(self, *, http: httpx.Client | None = None, sleep=time.sleep):
        self.http = http or httpx.Client(timeout=_timeout())
        self.vouchers = pdnd.VoucherClient(self.http)
        self.sleep = sleep

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(
        self,
        eservice: str,
        operation: str,
        *,
        ctx: CallContext,
        json: dict | None = None,
        params: dict | None = None,
        method: str | None = None,
    ) -> AnacResponse:
        method = method or ("POST" if json is not None else "GET")
        if getattr(settings, "ANAC_VALIDATE_REQUESTS", settings.TESTING):
            from .conformance import validate_request

            validate_request(eservice, method, operation, params=params, body=json)
        delays = list(SAFE_RETRY_DELAYS) if method == "GET" else []
        while True:
            try:
                return self._attempt(eservice, operation, method, ctx, json, params)
            except AnacUnavailable:
                if not delays:
                    raise
                self.sleep(delays.pop(0))

    def _attempt(self, eservice, operation, method, ctx, body, params) -> AnacResponse:
        trace_id = str(uuid.uuid4())
        jws, claims = pdnd.build_tracking_jws(
            actor=ctx.actor,
            audience=pdnd.eservice_audience(eservice),
            business_flow_id=ctx.business_flow_id,
            trace_id=trace_id,
            span_id=ctx.span_id,
        )
        log = {
            "sent_at": timezone.now(),
            "eservice": eservice,
            "operation": operation,
            "method": method,
            "trigger": ctx.trigger,
            "actor_tax_code": ctx.actor.tax_code,
            "actor_role": ctx.actor.role,
            "actor_loa": ctx.actor.loa,
            "actor_idp": ctx.actor.idp_type,
            "appalto_id": ctx.appalto_id,
            "anac_operation_id": ctx.operation_id,
            "object_label": ctx.object_label[:120],
            "trace_id": trace_id,
            "span_id": ctx.span_id,
            "jti": claims["jti"],
            "id_appalto": str(
                (body or {}).get("idAppalto") or (params or {}).get("idAppalto") or ""
            ),
            "id_scheda": str((body or {}).get("idScheda") or (params or {}).get("idScheda") or ""),
            "request_body": redact(body if body is not None else (params or None)),
        }
        started = time.perf_counter()

        def record(outcome, **extra):
            log["duration_ms"] = int((time.perf_counter() - started) * 1000)
            AnacTransmission.objects.create(**log, outcome=outcome, **extra)

        try:
            voucher = self.vouchers.obtain(eservice=eservice, tracking_jws=jws)
        except pdnd.PdndError as exc:
            outcome = (
                TransmissionOutcome.RATE_LIMITED
                if exc.status == 429
                else TransmissionOutcome.AUTH_ERROR
            )
            record(
                outcome, http_status=exc.status, detail=str(exc)[:2000], retry_after=exc.retry_after
            )
            if exc.status == 429:
                raise AnacRateLimited(str(exc), retry_after=exc.retry_after or 1) from exc
            raise
        url = f"{pdnd.eservice_url(eservice)}/{operation}"
        headers = {
            "Authorization": f"Bearer {voucher}",
            "Agid-JWT-TrackingEvidence": jws,
            "Accept": "application/json, application/problem+json",
        }
        try:
            response = self.http.request(method, url, params=params, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            record(TransmissionOutcome.TIMEOUT, detail=repr(exc)[:2000])
            if method == "POST":
                raise AnacUnknownOutcome(f"{operation}: nessuna risposta ({exc!r})") from exc
            raise AnacUnavailable(f"{operation}: timeout") from exc
        except httpx.TransportError as exc:
            record(TransmissionOutcome.HTTP_ERROR, detail=repr(exc)[:2000])
            if method == "POST":
                raise AnacUnknownOutcome(f"{operation}: connessione interrotta") from exc
            raise AnacUnavailable(f"{operation}: servizio non raggiungibile ({exc!r})") from exc

        status = response.status_code
        payload = _json_or_none(response)
        errors = error_items(payload)
        error_rows = [
            {"codice": e.codice, "descrizione": e.descrizione, "dettaglio": e.dettaglio}
            for e in errors
        ]
        result = AnacResponse(
            status=status,
            body=payload if payload is not None else response.content,
            headers=dict(response.headers),
            trace_id=trace_id,
            jti=claims["jti"],
        )
        logged_body = redact(payload) if isinstance(payload, dict) else None
        if 200 <= status < 300:
            record(_outcome_of_success(payload), http_status=status, response_body=logged_body)
            return result
        if status == 429:
            retry_after = _retry_after(response)
            record(
                TransmissionOutcome.RATE_LIMITED,
                http_status=status,
                retry_after=retry_after,
                response_body=logged_body,
            )
            raise AnacRateLimited(
                f"{operation}: limite di richieste", retry_after=retry_after, body=payload
            )
        if status >= 500:
            record(
                TransmissionOutcome.HTTP_ERROR,
                http_status=status,
                response_body=logged_body,
                errors=error_rows,
            )
            if method == "POST":
                raise AnacUnknownOutcome(
                    f"{operation}: errore {status}", status=status, body=payload
                )
            raise AnacUnavailable(f"{operation}: errore {status}", status=status, body=payload)
        record(
            TransmissionOutcome.KO, http_status=status, response_body=logged_body, errors=error_rows
        )
        message = "; ".join(str(e) for e in errors) or f"{operation}: errore {status}"
        cls = AnacNotFound if status == 404 else AnacRejected
        raise cls(message, status=status, body=payload, errors=errors)


def _outcome_of_success(payload) -> str:
    """WT when an esito-operazione answer says the outcome is still pending, else OK."""
    if isinstance(payload, dict):
        for item in payload.get("listaEsiti") or []:
            code = ((item or {}).get("esito") or {}).get("codice")
            if code == "WT":
                return TransmissionOutcome.WAITING
            if code == "KO":
                return TransmissionOutcome.KO
    return TransmissionOutcome.OK
