"""PDND token endpoint and the gateway's checks of each call (voucher, tracking JWS).

- token_oauth2(request) -> HttpResponse: POST form client_id, client_assertion,
  client_assertion_type, grant_type=client_credentials -> {access_token, token_type, expires_in}
  (specs/pdnd-authorization-server.yml); errors as PDND's Problem (status, title, detail,
  errors[{code, detail}]).
- authenticate_call(request, *, eservice) -> dict: verifies `Authorization: Bearer <voucher>`
  (signature, expiry, audience = the e-service) and `Agid-JWT-TrackingEvidence` (signature with
  the platform key, iat/nbf/exp, lifetime <= 10 s, jti never seen before, aud, required claims,
  and the voucher's digest = SHA-256 of this JWS). Returns the JWS claims; raises GatewayError.

The simulated PDND knows one client: settings.PDND_CLIENT_ID with key id settings.PDND_KID and
the platform's public key (procurement.anac.keys). Vouchers are signed with the simulator's key.
"""

from __future__ import annotations

import hmac
import re
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from ..keys import platform_public_key, simulator_private_key, simulator_public_key
from ..pdnd import (
    ALGORITHM,
    CLIENT_ASSERTION_TYPE,
    TRACKING_MAX_LIFETIME,
    TRACKING_REQUIRED_CLAIMS,
    eservice_audience,
    jws_digest,
)
from .models import UsedJti

PROBLEM = "application/problem+json"
LEEWAY = 2  # seconds of clock skew tolerated on exp/nbf/iat
VOUCHER_LIFETIME = 600
VOUCHER_ISSUER = "anac-sim/pdnd"
VOUCHER_KID = "anac-sim-pdnd"

# Codes of the simulated PDND's Problem errors (PDND's format: NNN-NNNN).
ERR_INVALID_REQUEST = "015-0001"
ERR_INVALID_ASSERTION = "015-0002"
ERR_UNKNOWN_CLIENT = "015-0003"
ERR_REPLAYED_ASSERTION = "015-0004"
ERR_UNKNOWN_PURPOSE = "015-0005"
ERR_METHOD = "015-0006"

_HEX_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_ENUMS = {
    "userRole": {"RP", "DRP"},
    "userLoa": {"3", "4"},
    "userIdpType": {"SPID", "CIE", "CNS", "EIDAS", "CUSTOM"},
}
_NUMERIC_CLAIMS = {"iat", "nbf", "exp"}


class GatewayError(Exception):
    def __init__(self, status: int, body: dict, content_type: str = PROBLEM):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.content_type = content_type

    def response(self) -> HttpResponse:
        return JsonResponse(self.body, status=self.status, content_type=self.content_type)


_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 405: "Method Not Allowed"}


def _gateway_error(status: int, detail: str) -> GatewayError:
    body = {"type": "about:blank", "status": status, "title": _TITLES[status], "detail": detail}
    return GatewayError(status, body)


def _remember_jti(jti: str, *, kind: str, exp: int) -> bool:
    """Record a jti as used; False if it was already used (a replay)."""
    now = timezone.now()
    UsedJti.objects.filter(expires_at__lt=now).delete()
    expires_at = datetime.fromtimestamp(int(exp), tz=UTC) + timedelta(seconds=LEEWAY)
    try:
        with transaction.atomic():
            UsedJti.objects.create(jti=jti, kind=kind, expires_at=max(expires_at, now))
    except IntegrityError:
        return False
    return True


# --- token endpoint (simulated PDND) ------------------------------------------------------------


def _pdnd_problem(status: int, code: str, detail: str) -> JsonResponse:
    body = {
        "type": "about:blank",
        "status": status,
        "title": _TITLES.get(status, "Error"),
        "detail": detail,
        "correlationId": str(uuid.uuid4()),
        "errors": [{"code": code, "detail": detail}],
    }
    response = JsonResponse(body, status=status, content_type=PROBLEM)
    response["Cache-Control"] = "no-cache, no-store"
    return response


def _eservice_of_purpose(purpose: str) -> str | None:
    for eservice, configured in settings.PDND_PURPOSE_IDS.items():
        if configured == purpose:
            return eservice
    if purpose.startswith("purpose-"):
        eservice = purpose.removeprefix("purpose-")
        if eservice in settings.ANAC_ESERVICE_PATHS:
            return eservice
    return None


@csrf_exempt
def token_oauth2(request) -> HttpResponse:
    if request.method != "POST":
        response = _pdnd_problem(405, ERR_METHOD, f"Metodo {request.method} non ammesso")
        response["Allow"] = "POST"
        return response
    form = request.POST
    for field in ("client_assertion", "client_assertion_type", "grant_type"):
        if not form.get(field):
            return _pdnd_problem(
                400, ERR_INVALID_REQUEST, f"Parametro obbligatorio mancante: {field}"
            )
    if form["grant_type"] != "client_credentials":
        return _pdnd_problem(400, ERR_INVALID_REQUEST, "grant_type deve essere client_credentials")
    if form["client_assertion_type"] != CLIENT_ASSERTION_TYPE:
        return _pdnd_problem(400, ERR_INVALID_REQUEST, "client_assertion_type non ammesso")
    assertion = form["client_assertion"]
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        return _pdnd_problem(400, ERR_INVALID_REQUEST, "client_assertion non è un JWS valido")
    client_id = settings.PDND_CLIENT_ID
    if form.get("client_id") and form["client_id"] != client_id:
        return _pdnd_problem(401, ERR_UNKNOWN_CLIENT, "Client non registrato")
    if header.get("alg") != ALGORITHM or header.get("kid") != settings.PDND_KID:
        return _pdnd_problem(401, ERR_INVALID_ASSERTION, "Chiave (kid) o algoritmo non ammessi")
    try:
        claims = jwt.decode(
            assertion,
            platform_public_key(),
            algorithms=[ALGORITHM],
            audience=settings.PDND_CLIENT_ASSERTION_AUD,
            issuer=client_id,
            leeway=LEEWAY,
            options={"require": ["iss", "sub", "aud", "exp", "iat", "jti", "purposeId"]},
        )
    except jwt.ExpiredSignatureError:
        return _pdnd_problem(401, ERR_INVALID_ASSERTION, "client_assertion scaduta")
    except jwt.InvalidAudienceError:
        return _pdnd_problem(401, ERR_INVALID_ASSERTION, "Audience della client_assertion errata")
    except jwt.PyJWTError as exc:
        return _pdnd_problem(401, ERR_INVALID_ASSERTION, f"client_assertion non valida: {exc}")
    if claims["sub"] != client_id:
        return _pdnd_problem(401, ERR_UNKNOWN_CLIENT, "sub della client_assertion errato")
    digest = claims.get("digest")
    if digest is not None and not (
        isinstance(digest, dict)
        and digest.get("alg") == "SHA256"
        and _HEX_SHA256.fullmatch(str(digest.get("value", "")))
    ):
        return _pdnd_problem(400, ERR_INVALID_REQUEST, "digest non valido (alg SHA256, value)")
    eservice = _eservice_of_purpose(str(claims["purposeId"]))
    if eservice is None:
        return _pdnd_problem(400, ERR_UNKNOWN_PURPOSE, "Finalità (purposeId) sconosciuta")
    if not _remember_jti(str(claims["jti"]), kind=UsedJti.CLIENT_ASSERTION, exp=claims["exp"]):
        return _pdnd_problem(401, ERR_REPLAYED_ASSERTION, "client_assertion già utilizzata (jti)")

    issued = int(timezone.now().timestamp())
    voucher_claims = {
        "iss": VOUCHER_ISSUER,
        "sub": client_id,
        "aud": eservice_audience(eservice),
        "client_id": client_id,
        "purposeId": claims["purposeId"],
        "jti": str(uuid.uuid4()),
        "iat": issued,
        "nbf": issued,
        "exp": issued + VOUCHER_LIFETIME,
    }
    if digest is not None:
        voucher_claims["digest"] = {"alg": "SHA256", "value": str(digest["value"]).lower()}
    voucher = jwt.encode(
        voucher_claims,
        simulator_private_key(),
        algorithm=ALGORITHM,
        headers={"kid": VOUCHER_KID, "typ": "at+jwt"},
    )
    response = JsonResponse(
        {"access_token": voucher, "token_type": "Bearer", "expires_in": VOUCHER_LIFETIME}
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Rate-Limit-Limit"] = "1000"
    response["X-Rate-Limit-Remaining"] = "999"
    response["X-Rate-Limit-Interval"] = "60000"
    return response


# --- the gateway's checks (simulated ANAC API gateway) ------------------------------------------


def _verify_voucher(request, audience: str) -> dict:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _gateway_error(401, "Voucher PDND mancante (Authorization: Bearer)")
    try:
        return jwt.decode(
            token,
            simulator_public_key(),
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=VOUCHER_ISSUER,
            leeway=LEEWAY,
            options={"require": ["iss", "aud", "exp", "iat", "jti", "purposeId"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _gateway_error(401, "Voucher PDND scaduto") from exc
    except jwt.InvalidAudienceError as exc:
        raise _gateway_error(401, "Voucher PDND non valido per questo e-service") from exc
    except jwt.PyJWTError as exc:
        raise _gateway_error(401, f"Voucher PDND non valido: {exc}") from exc


def _verify_tracking_evidence(evidence: str, audience: str) -> dict:
    try:
        header = jwt.get_unverified_header(evidence)
    except jwt.PyJWTError as exc:
        raise _gateway_error(
            400, "Agid-JWT-TrackingEvidence non è un JWS in serializzazione compatta"
        ) from exc
    if header.get("alg") != ALGORITHM or header.get("kid") != settings.PDND_KID:
        raise _gateway_error(403, "JWS di tracciamento: chiave (kid) o algoritmo non ammessi")
    try:
        claims = jwt.decode(
            evidence,
            platform_public_key(),
            algorithms=[ALGORITHM],
            audience=audience,
            leeway=LEEWAY,
            options={"require": ["iat", "nbf", "exp", "jti", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _gateway_error(403, "JWS di tracciamento scaduto") from exc
    except jwt.ImmatureSignatureError as exc:
        raise _gateway_error(403, "JWS di tracciamento non ancora valido (iat/nbf)") from exc
    except jwt.InvalidAudienceError as exc:
        raise _gateway_error(403, "JWS di tracciamento: audience errata") from exc
    except jwt.PyJWTError as exc:
        raise _gateway_error(403, f"JWS di tracciamento non valido: {exc}") from exc
    missing = [name for name in TRACKING_REQUIRED_CLAIMS if claims.get(name) is None]
    if missing:
        raise _gateway_error(403, f"JWS di tracciamento: claim mancanti: {', '.join(missing)}")
    for name in TRACKING_REQUIRED_CLAIMS:
        expected = (int, float) if name in _NUMERIC_CLAIMS else str
        if not isinstance(claims[name], expected) or isinstance(claims[name], bool):
            raise _gateway_error(403, f"JWS di tracciamento: claim {name} di tipo errato")
    if claims.get("SACodiceFiscale") is not None and not isinstance(claims["SACodiceFiscale"], str):
        raise _gateway_error(403, "JWS di tracciamento: claim SACodiceFiscale di tipo errato")
    for name, allowed in _ENUMS.items():
        if claims[name] not in allowed:
            raise _gateway_error(403, f"JWS di tracciamento: valore di {name} non ammesso")
    if claims["exp"] - claims["iat"] > TRACKING_MAX_LIFETIME:
        raise _gateway_error(
            403, f"JWS di tracciamento: durata superiore a {TRACKING_MAX_LIFETIME} secondi"
        )
    try:
        uuid.UUID(claims["jti"])
    except ValueError as exc:
        raise _gateway_error(403, "JWS di tracciamento: jti non è un UUID") from exc
    return claims


def authenticate_call(request, *, eservice: str) -> dict:
    audience = eservice_audience(eservice)
    voucher = _verify_voucher(request, audience)
    evidence = request.headers.get("Agid-JWT-TrackingEvidence", "").strip()
    if not evidence:
        raise _gateway_error(400, "Header Agid-JWT-TrackingEvidence mancante")
    claims = _verify_tracking_evidence(evidence, audience)
    digest = voucher.get("digest")
    if not isinstance(digest, dict) or digest.get("alg") != "SHA256":
        raise _gateway_error(403, "Il voucher non contiene il digest del JWS di tracciamento")
    if not hmac.compare_digest(str(digest.get("value", "")).lower(), jws_digest(evidence)):
        raise _gateway_error(
            403, "Il digest del voucher non corrisponde al JWS Agid-JWT-TrackingEvidence"
        )
    if not _remember_jti(claims["jti"], kind=UsedJti.TRACKING_EVIDENCE, exp=claims["exp"]):
        raise _gateway_error(403, "JWS di tracciamento già utilizzato (jti)")
    return claims
