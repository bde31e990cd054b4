"""PDND authentication of the platform towards ANAC's e-services.

Per call (spec/adesioni.md §6.1, spec/fvoe.md §6.1):
1. build_tracking_jws(): the Agid-JWT-TrackingEvidence JWS with the claims of specs/jws.yaml;
2. VoucherClient.obtain(): a PDND voucher whose client assertion carries the SHA-256 digest of
   that JWS, so the voucher is bound to it;
3. the call itself, with `Authorization: Bearer <voucher>` and the JWS in
   `Agid-JWT-TrackingEvidence` (compact serialisation, not re-encoded).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import httpx
import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .identity import Actor
from .keys import platform_private_key

# Required claims of the tracking JWS (specs/jws.yaml, components.schemas.body.required).
TRACKING_REQUIRED_CLAIMS = (
    "iat",
    "nbf",
    "exp",
    "jti",
    "aud",
    "userCodiceFiscale",
    "userRole",
    "userLoa",
    "userIdpType",
    "SAcodiceAUSA",
    "regCodicePiattaforma",
    "regCodiceComponente",
    "businessFlowID",
    "traceID",
    "spanID",
)
TRACKING_MAX_LIFETIME = 10  # seconds, [JWS-RM]
TRACKING_LIFETIME = 5  # what the platform uses: room for clock skew, well under the maximum
CLIENT_ASSERTION_LIFETIME = 60  # seconds; the assertion is used at once
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHM = "RS256"


def eservice_url(eservice: str) -> str:
    """Base URL of an e-service: ANAC_ESERVICE_URLS[name], else ANAC_BASE_URL + its path."""
    url = settings.ANAC_ESERVICE_URLS.get(eservice)
    if url:
        return url.rstrip("/")
    try:
        path = settings.ANAC_ESERVICE_PATHS[eservice]
    except KeyError:
        raise ImproperlyConfigured(f"Unknown ANAC e-service {eservice!r}") from None
    return settings.ANAC_BASE_URL.rstrip("/") + "/" + path.strip("/")


def eservice_audience(eservice: str) -> str:
    """The `aud` of the tracking JWS and of the voucher: the e-service's URL, as PDND publishes."""
    return eservice_url(eservice)


def purpose_id(eservice: str) -> str:
    """The PDND purpose (finalità) of the platform's fruizione of an e-service."""
    value = settings.PDND_PURPOSE_IDS.get(eservice)
    if value:
        return value
    if settings.DEBUG or settings.ANAC_SIMULATOR:
        return f"purpose-{eservice}"
    raise ImproperlyConfigured(f"PDND_PURPOSE_IDS has no purpose for the e-service {eservice}")


def _timestamp(now: datetime | None) -> int:
    return int((now or timezone.now()).timestamp())


def _headers() -> dict:
    if not settings.PDND_KID:
        raise ImproperlyConfigured("PDND_KID must hold the key id registered on PDND")
    return {"kid": settings.PDND_KID, "typ": "JWT", "alg": ALGORITHM}


def jws_digest(compact_jws: str) -> str:
    """Hex SHA-256 of the compact JWS, as carried by the voucher's `digest.value`."""
    return hashlib.sha256(compact_jws.encode("utf-8")).hexdigest()


def build_tracking_jws(
    *,
    actor: Actor,
    audience: str,
    business_flow_id: str,
    trace_id: str,
    span_id: str,
    now: datetime | None = None,
) -> tuple[str, dict]:
    """The Agid-JWT-TrackingEvidence JWS of one HTTP request (a new one for every attempt)."""
    issued = _timestamp(now)
    claims = {
        "iat": issued,
        "nbf": issued,
        "exp": issued + TRACKING_LIFETIME,
        "jti": str(uuid.uuid4()),
        "aud": audience,
        "userCodiceFiscale": actor.tax_code,
        "userRole": actor.role,
        "userLoa": actor.loa,
        "userIdpType": actor.idp_type,
        "SAcodiceAUSA": actor.sa_ausa,
        "regCodicePiattaforma": settings.ANAC_REG_CODICE_PIATTAFORMA,
        "regCodiceComponente": settings.ANAC_REG_CODICE_COMPONENTE,
        "businessFlowID": business_flow_id,
        "traceID": trace_id,
        "spanID": span_id,
    }
    if actor.sa_tax_code:  # optional: SAs without legal personality have none
        claims["SACodiceFiscale"] = actor.sa_tax_code
    token = jwt.encode(claims, platform_private_key(), algorithm=ALGORITHM, headers=_headers())
    return token, claims


def client_assertion(
    *, audience_eservice: str, purpose_id: str, tracking_jws: str, now: datetime | None = None
) -> str:
    """The client assertion of a voucher request, bound to one tracking JWS by its digest.

    `audience_eservice` names the e-service the voucher is for; PDND derives the voucher's
    audience from the purpose, so it does not appear in the assertion (whose `aud` is PDND's).
    """
    del audience_eservice  # kept in the signature for the log and for symmetry with the callers
    if not settings.PDND_CLIENT_ID:
        raise ImproperlyConfigured("PDND_CLIENT_ID must hold the client id registered on PDND")
    issued = _timestamp(now)
    claims = {
        "iss": settings.PDND_CLIENT_ID,
        "sub": settings.PDND_CLIENT_ID,
        "aud": settings.PDND_CLIENT_ASSERTION_AUD,
        "purposeId": purpose_id,
        "jti": str(uuid.uuid4()),
        "iat": issued,
        "exp": issued + CLIENT_ASSERTION_LIFETIME,
        "digest": {"alg": "SHA256", "value": jws_digest(tracking_jws)},
    }
    return jwt.encode(claims, platform_private_key(), algorithm=ALGORITHM, headers=_headers())


class PdndError(Exception):
    """PDND refused a voucher (or could not be reached: status None).

    `codes` are the `errors[].code` of PDND's Problem body, `retry_after` the seconds of a 429.
    """

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        codes: tuple[str, ...] = (),
        retry_after: int | None = None,
    ):
        self.status = status
        self.codes = tuple(codes)
        self.detail = detail
        self.retry_after = retry_after
        prefix = f"PDND ha rifiutato la richiesta del voucher ({status})" if status else "PDND"
        super().__init__(f"{prefix}: {detail}" + (f" [{', '.join(self.codes)}]" if codes else ""))

    @property
    def code(self) -> str:
        return self.codes[0] if self.codes else ""

    @classmethod
    def from_response(cls, response: httpx.Response) -> PdndError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        errors = body.get("errors") if isinstance(body.get("errors"), list) else []
        codes = tuple(str(e["code"]) for e in errors if isinstance(e, dict) and e.get("code"))
        detail = str(body.get("detail") or body.get("title") or response.reason_phrase or "")
        retry_after = None
        if response.status_code == 429:
            retry_after = _retry_after(response)
        return cls(detail, status=response.status_code, codes=codes, retry_after=retry_after)


def _retry_after(response: httpx.Response) -> int:
    value = response.headers.get("Retry-After") or response.headers.get("X-Rate-Limit-Interval")
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return 1
    if response.headers.get("Retry-After") is None:  # X-Rate-Limit-Interval is in milliseconds
        seconds = -(-seconds // 1000)
    return max(seconds, 1)


class VoucherClient:
    """Obtains PDND vouchers through PDND's token endpoint (settings.PDND_TOKEN_URL).

    No caching, on purpose. A voucher would be reusable until it expires, but ANAC requires the
    client assertion to carry the digest of the Agid-JWT-TrackingEvidence JWS ([NPA#355], PDND
    manual "Utilizzare i voucher", step 3), the voucher copies that digest, and the gateway
    checks it against the JWS of the call. Each call has its own JWS (unique jti, lifetime
    <= 10 s), so each call needs its own voucher: the spec's reading wins over caching.
    """

    def __init__(self, http: httpx.Client):
        self.http = http

    def obtain(self, *, eservice: str, tracking_jws: str) -> str:
        assertion = client_assertion(
            audience_eservice=eservice,
            purpose_id=purpose_id(eservice),
            tracking_jws=tracking_jws,
        )
        form = {
            "client_id": settings.PDND_CLIENT_ID,
            "client_assertion": assertion,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "grant_type": "client_credentials",
        }
        try:
            response = self.http.post(settings.PDND_TOKEN_URL, data=form)
        except httpx.HTTPError as exc:
            raise PdndError(f"servizio di autenticazione non raggiungibile ({exc!r})") from exc
        if response.status_code != 200:
            raise PdndError.from_response(response)
        try:
            body = response.json()
            token = body["access_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise PdndError(
                "risposta del servizio di autenticazione non valida", status=200
            ) from exc
        if str(body.get("token_type", "Bearer")).lower() != "bearer" or not token:
            raise PdndError("voucher di tipo non previsto", status=200)
        return token
