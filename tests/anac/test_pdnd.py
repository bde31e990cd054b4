"""PDND authentication: the platform's client code against the simulator's PDND and gateway.

The token endpoint is reached over real HTTP (live_server); the gateway's checks are called
directly with a request carrying the headers the client code built.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import httpx
import jwt
import pytest
import time_machine
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.utils import timezone

from procurement.anac import keys, pdnd
from procurement.anac.identity import NIL_FLOW_ID, Actor
from procurement.anac.simulator.models import UsedJti
from procurement.anac.simulator.security import GatewayError, authenticate_call
from procurement.anac.specs import SPECS_DIR

ESERVICE = "ComunicaAppalto"
RUP = Actor(tax_code="RSSMRA80A01H501U", sa_ausa="0000123456", sa_tax_code="00123456789")


@pytest.fixture
def anac(live_server, settings):
    """Settings pointing at the live simulator; yields an httpx client for it."""
    settings.ANAC_BASE_URL = live_server.url + "/anac-sim"
    settings.PDND_TOKEN_URL = live_server.url + "/anac-sim/pdnd/token.oauth2"
    settings.ANAC_ESERVICE_URLS = {}
    settings.PDND_PURPOSE_IDS = {}
    with httpx.Client(timeout=10) as http:
        yield http


def tracking_jws(eservice: str = ESERVICE, actor: Actor = RUP, **kwargs) -> str:
    token, _claims = pdnd.build_tracking_jws(
        actor=actor,
        audience=pdnd.eservice_audience(eservice),
        business_flow_id=NIL_FLOW_ID,
        trace_id=str(uuid.uuid4()),
        span_id=str(uuid.uuid4()),
        **kwargs,
    )
    return token


def sign_tracking(claims: dict) -> str:
    """A tracking JWS with hand-made claims, signed with the platform key like the real one."""
    return jwt.encode(
        claims,
        keys.platform_private_key(),
        algorithm="RS256",
        headers={"kid": django_settings.PDND_KID, "typ": "JWT"},
    )


def valid_claims(eservice: str = ESERVICE) -> dict:
    return jwt.decode(tracking_jws(eservice), options={"verify_signature": False})


def anac_url(eservice: str) -> str:
    return django_settings.ANAC_BASE_URL + "/" + django_settings.ANAC_ESERVICE_PATHS[eservice]


def call(evidence: str, voucher: str, eservice: str = ESERVICE) -> dict:
    request = RequestFactory().post(
        f"/anac-sim/{eservice}/v1/crea-appalto",
        data=b"{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {voucher}",
        HTTP_AGID_JWT_TRACKINGEVIDENCE=evidence,
    )
    return authenticate_call(request, eservice=eservice)


def refused(evidence: str, voucher: str, eservice: str = ESERVICE) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        call(evidence, voucher, eservice)
    assert info.value.body["status"] == info.value.status
    assert info.value.content_type == "application/problem+json"
    return info.value


# --- the happy path ------------------------------------------------------------------------------


def test_a_call_with_a_fresh_jws_and_its_voucher_is_authenticated(anac):
    evidence = tracking_jws()
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=evidence)

    claims = call(evidence, voucher)

    assert claims["userCodiceFiscale"] == "RSSMRA80A01H501U"
    assert claims["aud"] == anac_url(ESERVICE)
    assert claims["SACodiceFiscale"] == "00123456789"
    voucher_claims = jwt.decode(voucher, options={"verify_signature": False})
    assert voucher_claims["aud"] == anac_url(ESERVICE)
    assert voucher_claims["digest"] == {"alg": "SHA256", "value": pdnd.jws_digest(evidence)}
    assert voucher_claims["exp"] - voucher_claims["iat"] == 600
    assert UsedJti.objects.filter(jti=claims["jti"], kind=UsedJti.TRACKING_EVIDENCE).exists()


def test_the_tracking_jws_has_exactly_the_claims_of_the_spec(settings):
    settings.ANAC_REG_CODICE_PIATTAFORMA = "0000042"
    token, claims = pdnd.build_tracking_jws(
        actor=Actor(tax_code="RSSMRA80A01H501U", sa_ausa="0000123456"),
        audience="https://example.test/ComunicaAppalto/v1",
        business_flow_id=NIL_FLOW_ID,
        trace_id="t",
        span_id="s",
    )
    spec = yaml.safe_load((SPECS_DIR / "jws.yaml").read_text(encoding="utf-8"))
    body = spec["components"]["schemas"]["body"]
    assert set(body["required"]) == set(pdnd.TRACKING_REQUIRED_CLAIMS)
    # SACodiceFiscale is optional and omitted when the SA has none.
    assert set(claims) == set(body["required"])
    assert set(claims) <= set(body["properties"])
    assert claims["exp"] - claims["iat"] == 5
    assert claims["regCodicePiattaforma"] == "0000042"
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": settings.PDND_KID, "typ": "JWT"}
    decoded = jwt.decode(
        token,
        keys.platform_public_key(),
        algorithms=["RS256"],
        audience="https://example.test/ComunicaAppalto/v1",
    )
    assert decoded == claims
    _second, again = pdnd.build_tracking_jws(
        actor=RUP, audience="a", business_flow_id=NIL_FLOW_ID, trace_id="t", span_id="s"
    )
    assert again["jti"] != claims["jti"]


def test_eservice_urls_come_from_the_base_url_or_the_override(settings):
    settings.ANAC_BASE_URL = "https://gw.example/modi/rest/"
    settings.ANAC_ESERVICE_URLS = {"FVOE": "https://fvoe.example/FVC/v2/"}
    assert pdnd.eservice_url("ComunicaAppalto") == "https://gw.example/modi/rest/ComunicaAppalto/v1"
    assert pdnd.eservice_audience("FVOE") == "https://fvoe.example/FVC/v2"
    with pytest.raises(ImproperlyConfigured):
        pdnd.eservice_url("Sconosciuto")


# --- replays --------------------------------------------------------------------------------------


def test_a_client_assertion_cannot_be_used_twice(anac):
    assertion = pdnd.client_assertion(
        audience_eservice=ESERVICE, purpose_id="purpose-ComunicaAppalto", tracking_jws="x.y.z"
    )
    form = {
        "client_id": django_settings.PDND_CLIENT_ID,
        "client_assertion": assertion,
        "client_assertion_type": pdnd.CLIENT_ASSERTION_TYPE,
        "grant_type": "client_credentials",
    }
    first = anac.post(django_settings.PDND_TOKEN_URL, data=form)
    second = anac.post(django_settings.PDND_TOKEN_URL, data=form)

    assert first.status_code == 200, first.text
    assert first.json()["token_type"] == "Bearer"
    assert second.status_code == 401
    body = second.json()
    assert body["status"] == 401
    assert body["errors"][0]["code"] == "015-0004"
    assert second.headers["content-type"] == "application/problem+json"


def test_a_tracking_jws_cannot_be_used_twice(anac):
    evidence = tracking_jws()
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=evidence)
    call(evidence, voucher)

    error = refused(evidence, voucher)

    assert error.status == 403
    assert "già utilizzato" in error.body["detail"]


# --- digest, expiry, lifetime, audience, claims -----------------------------------------------


def test_a_voucher_bound_to_another_jws_is_refused(anac):
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=tracking_jws())

    error = refused(tracking_jws(), voucher)

    assert error.status == 403
    assert "digest" in error.body["detail"]


def test_an_expired_tracking_jws_is_refused(anac):
    evidence = tracking_jws()
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=evidence)

    with time_machine.travel(timezone.now() + timedelta(seconds=8), tick=False):
        error = refused(evidence, voucher)

    assert error.status == 403
    assert "scaduto" in error.body["detail"]


def test_a_tracking_jws_within_the_leeway_is_accepted(anac):
    evidence = tracking_jws()
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=evidence)

    with time_machine.travel(timezone.now() + timedelta(seconds=6), tick=False):
        assert call(evidence, voucher)["jti"]


def test_a_tracking_jws_living_more_than_ten_seconds_is_refused(anac):
    claims = valid_claims()
    claims.update(jti=str(uuid.uuid4()), exp=claims["iat"] + 11)
    evidence = sign_tracking(claims)
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=evidence)

    error = refused(evidence, voucher)

    assert error.status == 403
    assert "durata" in error.body["detail"]


def test_a_tracking_jws_for_another_eservice_is_refused(anac):
    evidence = tracking_jws(eservice="FVOE")
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=evidence)

    error = refused(evidence, voucher)

    assert error.status == 403
    assert "audience" in error.body["detail"]


def test_a_voucher_for_another_eservice_is_refused(anac):
    evidence = tracking_jws()
    voucher = pdnd.VoucherClient(anac).obtain(eservice="FVOE", tracking_jws=evidence)

    error = refused(evidence, voucher)

    assert error.status == 401


@pytest.mark.parametrize("claim", ["SAcodiceAUSA", "businessFlowID", "userLoa", "nbf"])
def test_a_tracking_jws_without_a_required_claim_is_refused(anac, claim):
    claims = valid_claims()
    del claims[claim]
    evidence = sign_tracking(claims)
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=evidence)

    error = refused(evidence, voucher)

    assert error.status == 403
    assert claim in error.body["detail"]


def test_a_tracking_jws_with_a_loa_below_3_is_refused(anac):
    claims = valid_claims()
    claims["userLoa"] = "2"
    evidence = sign_tracking(claims)
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=evidence)

    assert refused(evidence, voucher).status == 403


def test_a_tracking_jws_signed_with_another_key_is_refused(anac):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    evidence = jwt.encode(
        valid_claims(), other, algorithm="RS256", headers={"kid": django_settings.PDND_KID}
    )
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=evidence)

    assert refused(evidence, voucher).status == 403


def test_malformed_or_missing_headers_are_refused(anac):
    evidence = tracking_jws()
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=evidence)

    assert refused(evidence, "not-a-jwt").status == 401
    assert refused("not-a-jws", voucher).status == 400
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {voucher}")
    with pytest.raises(GatewayError) as info:
        authenticate_call(request, eservice=ESERVICE)
    assert info.value.status == 400
    with pytest.raises(GatewayError) as info:
        authenticate_call(RequestFactory().get("/"), eservice=ESERVICE)
    assert info.value.status == 401


def test_a_user_with_loa_2_cannot_even_be_an_actor():
    with pytest.raises(ValueError, match="userLoa"):
        Actor(tax_code="RSSMRA80A01H501U", loa="2")


# --- the token endpoint --------------------------------------------------------------------------


def test_the_token_endpoint_accepts_only_post(anac):
    response = anac.get(django_settings.PDND_TOKEN_URL)
    assert response.status_code == 405


def test_the_token_endpoint_refuses_an_incomplete_form(anac):
    response = anac.post(django_settings.PDND_TOKEN_URL, data={"grant_type": "client_credentials"})
    assert response.status_code == 400
    body = response.json()
    assert {"type", "status", "title", "errors"} <= set(body)
    assert body["errors"][0]["code"] == "015-0001"


def test_an_assertion_signed_with_an_unregistered_key_is_refused(anac, settings):
    registered = pdnd.client_assertion(
        audience_eservice=ESERVICE, purpose_id="purpose-ComunicaAppalto", tracking_jws="x.y.z"
    )
    claims = jwt.decode(registered, options={"verify_signature": False})
    claims["jti"] = str(uuid.uuid4())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": settings.PDND_KID})

    response = anac.post(
        settings.PDND_TOKEN_URL,
        data={
            "client_id": settings.PDND_CLIENT_ID,
            "client_assertion": forged,
            "client_assertion_type": pdnd.CLIENT_ASSERTION_TYPE,
            "grant_type": "client_credentials",
        },
    )

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "015-0002"


def test_an_unknown_purpose_gets_no_voucher(anac, settings):
    assertion = pdnd.client_assertion(
        audience_eservice=ESERVICE, purpose_id="purpose-Sconosciuto", tracking_jws="x.y.z"
    )
    response = anac.post(
        settings.PDND_TOKEN_URL,
        data={
            "client_assertion": assertion,
            "client_assertion_type": pdnd.CLIENT_ASSERTION_TYPE,
            "grant_type": "client_credentials",
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "015-0005"


def test_a_configured_purpose_is_used_and_recognised(anac, settings):
    settings.PDND_PURPOSE_IDS = {ESERVICE: "b2c3d4e5-0000-4000-8000-000000000001"}
    evidence = tracking_jws()
    voucher = pdnd.VoucherClient(anac).obtain(eservice=ESERVICE, tracking_jws=evidence)
    claims = jwt.decode(voucher, options={"verify_signature": False})
    assert claims["purposeId"] == "b2c3d4e5-0000-4000-8000-000000000001"
    assert call(evidence, voucher)["jti"]


def test_the_voucher_client_turns_problems_into_pdnd_errors(settings):
    settings.PDND_TOKEN_URL = "https://pdnd.example/token.oauth2"
    answers = iter(
        [
            httpx.Response(
                401,
                json={
                    "type": "about:blank",
                    "status": 401,
                    "title": "Unauthorized",
                    "detail": "Client non registrato",
                    "errors": [{"code": "015-0003", "detail": "Client non registrato"}],
                },
            ),
            httpx.Response(429, headers={"Retry-After": "7"}, json={"status": 429}),
        ]
    )
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    client = pdnd.VoucherClient(httpx.Client(transport=httpx.MockTransport(handler)))
    with pytest.raises(pdnd.PdndError) as info:
        client.obtain(eservice=ESERVICE, tracking_jws="a.b.c")
    assert (info.value.status, info.value.codes) == (401, ("015-0003",))
    assert info.value.detail == "Client non registrato"
    with pytest.raises(pdnd.PdndError) as info:
        client.obtain(eservice=ESERVICE, tracking_jws="a.b.c")
    assert (info.value.status, info.value.retry_after) == (429, 7)

    form = dict(httpx.QueryParams(seen[0].content.decode()))
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == pdnd.CLIENT_ASSERTION_TYPE
    assertion = jwt.decode(
        form["client_assertion"],
        keys.platform_public_key(),
        algorithms=["RS256"],
        audience=settings.PDND_CLIENT_ASSERTION_AUD,
    )
    assert assertion["iss"] == assertion["sub"] == settings.PDND_CLIENT_ID
    assert assertion["purposeId"] == "purpose-ComunicaAppalto"
    assert assertion["digest"] == {"alg": "SHA256", "value": pdnd.jws_digest("a.b.c")}
    assert jwt.get_unverified_header(form["client_assertion"])["kid"] == settings.PDND_KID


# --- keys ----------------------------------------------------------------------------------------


def test_the_dev_key_is_generated_once_even_by_concurrent_callers(settings, tmp_path):
    settings.PDND_PRIVATE_KEY = ""
    settings.ANAC_DEV_KEY_DIR = tmp_path
    results = []
    barrier = threading.Barrier(4)

    def load():
        barrier.wait()
        # Bypass the per-process cache: each thread plays a separate process.
        results.append(keys._dev_key.__wrapped__(str(tmp_path), "platform-key.pem", "p.pub.pem"))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    numbers = {key.private_numbers().d for key in results}
    assert len(numbers) == 1
    assert (tmp_path / "platform-key.pem").stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.pub.pem", "platform-key.pem"]


def test_without_a_key_production_is_misconfigured(settings, tmp_path):
    settings.PDND_PRIVATE_KEY = ""
    settings.ANAC_DEV_KEY_DIR = tmp_path
    settings.DEBUG = False
    settings.ANAC_SIMULATOR = False
    with pytest.raises(ImproperlyConfigured):
        keys.platform_private_key()
    assert not (tmp_path / "platform-key.pem").exists()


def test_a_configured_key_is_used_instead_of_the_dev_key(settings, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.PDND_PRIVATE_KEY = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    settings.ANAC_DEV_KEY_DIR = tmp_path
    assert keys.platform_public_key().public_numbers() == key.public_key().public_numbers()
    settings.PDND_PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----"
    with pytest.raises(ImproperlyConfigured):
        keys.platform_private_key()
