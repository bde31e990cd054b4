"""API base: /api/me/ with session and token, problem bodies in Italian, schema and docs."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.test import Client
from django.urls import path
from drf_spectacular.validation import validate_schema
from rest_framework import exceptions
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from procurement import urls as project_urls
from procurement.accounts.models import Role
from procurement.core.api import problem_exception_handler

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


# --- a throwaway urlconf: the project's URLs plus API views that raise Django's exceptions ---
class _RaisesHttp404(APIView):
    def get(self, request):
        raise Http404("No Adesione matches the given query.")


class _RaisesPermissionDenied(APIView):
    def get(self, request):
        raise DjangoPermissionDenied("Operazione non consentita: serve il ruolo «RUP».")


class _Crashes(APIView):
    def get(self, request):
        raise RuntimeError("errore di prova")


class _Echo(APIView):
    def post(self, request):
        return Response(request.data)


urlpatterns = [
    *project_urls.urlpatterns,
    path("api/test/404/", _RaisesHttp404.as_view()),
    path("api/test/403/", _RaisesPermissionDenied.as_view()),
    path("api/test/echo/", _Echo.as_view()),
    path("api/test/500/", _Crashes.as_view()),
]
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.fixture
def test_urls(settings):
    settings.ROOT_URLCONF = __name__


def token_client(user) -> Client:
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def assert_problem(response, status: int, title: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"] == title
    assert body["detail"]
    return body


# --- /api/me/ -----------------------------------------------------------------------------------
def test_me_with_a_session_shows_the_user_memberships_and_the_password_loa(trio, client_for):
    response = client_for(trio.owner).get("/api/me/")

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == trio.owner.username
    assert body["tax_code"] == trio.owner.tax_code
    assert body["loa"] == 1
    assert [(m["organisation_code"], m["role"]) for m in body["memberships"]] == [
        (trio.organisation.code, Role.BUYER)
    ]
    assert body["memberships"][0]["role_label"] == "Punto ordinante"


def test_me_after_a_spid_login_shows_loa_2(trio):
    client = Client()
    login = client.post(
        "/account/accesso-forte/dev/", {"tax_code": trio.owner.tax_code, "level": 2}
    )
    assert login.status_code == 302

    assert client.get("/api/me/").json()["loa"] == 2


def test_me_with_a_token_works_without_a_session_and_has_no_loa(trio):
    response = token_client(trio.colleague).get("/api/me/")

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == trio.colleague.username
    assert body["loa"] is None
    assert [m["role"] for m in body["memberships"]] == [Role.RUP]
    assert "sessionid" not in response.cookies


def test_me_shows_only_active_memberships(trio):
    trio.owner.memberships.update(is_active=False)

    response = token_client(trio.owner).get("/api/me/")

    assert response.json()["memberships"] == []


def test_without_credentials_the_answer_is_401_with_an_italian_problem_body(db):
    response = Client().get("/api/me/")

    body = assert_problem(response, 401, "Autenticazione richiesta")
    assert "Authorization: Token" in body["detail"]
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_refused_with_401(db):
    response = Client(HTTP_AUTHORIZATION="Token 0123456789abcdef").get("/api/me/")

    body = assert_problem(response, 401, "Autenticazione richiesta")
    assert body["detail"].startswith("Credenziali non valide")


def test_a_token_of_an_inactive_user_is_refused(trio):
    client = token_client(trio.owner)
    trio.owner.is_active = False
    trio.owner.save()

    assert_problem(client.get("/api/me/"), 401, "Autenticazione richiesta")


def test_a_method_the_view_lacks_is_405_in_italian(trio):
    response = token_client(trio.owner).post("/api/me/")

    body = assert_problem(response, 405, "Metodo non consentito")
    assert body["detail"] == "Il metodo POST non è consentito su questa risorsa."


def test_a_session_post_without_csrf_token_is_403_in_italian(trio, client_for, test_urls):
    client = client_for(trio.owner)
    client.handler.enforce_csrf_checks = True

    response = client.post("/api/test/echo/", {"a": 1}, content_type="application/json")

    body = assert_problem(response, 403, "Operazione non consentita")
    assert body["detail"].startswith("Verifica CSRF non riuscita")


def test_a_token_post_needs_no_csrf_token_and_bad_json_is_400(trio, test_urls):
    client = token_client(trio.owner)
    client.handler.enforce_csrf_checks = True

    ok = client.post("/api/test/echo/", {"a": 1}, content_type="application/json")
    bad = client.post("/api/test/echo/", "{non json", content_type="application/json")

    assert ok.status_code == 200 and ok.json() == {"a": 1}
    assert_problem(bad, 400, "Richiesta non valida")


# --- 404 and 403 ------------------------------------------------------------------------------
@pytest.fixture
def production(settings):
    """Django's handler404/handler500 are used only with DEBUG=False."""
    settings.DEBUG = False


def test_an_unknown_api_path_is_a_404_problem(db, production):
    response = Client().get("/api/non-esiste/")

    body = assert_problem(response, 404, "Risorsa non trovata")
    assert body["detail"] == "Non esiste alcuna risorsa a questo indirizzo."


def test_an_unknown_page_outside_the_api_is_still_html(db, production):
    response = Client().get("/non-esiste/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Pagina non trovata" in response.content.decode()


def test_djangos_http404_in_an_api_view_becomes_an_italian_problem(trio, test_urls):
    response = token_client(trio.owner).get("/api/test/404/")

    body = assert_problem(response, 404, "Risorsa non trovata")
    # Django's English message, which names the model, is not passed on.
    assert "Adesione" not in body["detail"]
    assert body["detail"].startswith("La risorsa richiesta non esiste")


def test_djangos_permission_denied_keeps_its_italian_message(trio, test_urls):
    response = token_client(trio.owner).get("/api/test/403/")

    body = assert_problem(response, 403, "Operazione non consentita")
    assert body["detail"] == "Operazione non consentita: serve il ruolo «RUP»."


def test_a_crash_in_an_api_view_is_a_500_problem_without_internals(trio, test_urls, production):
    client = token_client(trio.owner)
    client.raise_request_exception = False

    response = client.get("/api/test/500/")

    body = assert_problem(response, 500, "Errore interno")
    assert "errore di prova" not in response.content.decode()
    assert body["detail"].startswith("Si è verificato un errore imprevisto")


# --- the handler on its own: 400 with errors, 403 default, 429 ----------------------------------
def test_a_validation_error_lists_the_errors_by_field():
    response = problem_exception_handler(
        exceptions.ValidationError({"cig": ["Il CIG non è valido."]}), {"request": None}
    )

    assert response.status_code == 400
    assert response.content_type == PROBLEM
    assert response.data == {
        "type": "about:blank",
        "title": "Richiesta non valida",
        "status": 400,
        "detail": "Alcuni dati non sono validi.",
        "errors": {"cig": ["Il CIG non è valido."]},
    }


def test_a_validation_error_without_fields_goes_under_non_field_errors():
    response = problem_exception_handler(
        exceptions.ValidationError("Importo oltre la soglia."), {"request": None}
    )

    assert response.data["errors"] == {"non_field_errors": ["Importo oltre la soglia."]}


def test_a_bare_permission_denied_gets_our_italian_default():
    response = problem_exception_handler(DjangoPermissionDenied(), {"request": None})

    assert response.status_code == 403
    assert response.data["detail"] == "Non hai i permessi per questa operazione."


def test_throttling_is_429_with_retry_after_in_italian():
    response = problem_exception_handler(exceptions.Throttled(wait=29.2), {"request": None})

    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert response.data["title"] == "Troppe richieste"
    assert response.data["detail"] == "Troppe richieste: riprova tra 30 secondi."


def test_an_exception_the_api_does_not_know_is_left_to_django():
    assert problem_exception_handler(ValueError("boom"), {"request": None}) is None


# --- schema and docs --------------------------------------------------------------------------
def test_the_schema_is_a_valid_openapi_3_document_with_me(db):
    response = Client().get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on an invalid document
    assert schema["openapi"].startswith("3.")
    me = schema["paths"]["/api/me/"]["get"]
    assert set(me["responses"]) >= {"200", "401"}
    assert PROBLEM in me["responses"]["401"]["content"]
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_the_schema_is_also_served_as_yaml(db):
    response = Client().get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/me/:" in response.content


@pytest.fixture
def static_from_finders(settings):
    """Serve static files from the apps, as `make run` does (tests run with DEBUG=False)."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(db, static_from_finders):
    client = Client()
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert len(scripts) == 3 and len(styles) == 1
    # Every script is a file (no inline script for the CSP to refuse) from this server.
    assert html.count("<script") == len(scripts)
    assert "http" not in " ".join(scripts + styles)
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert "'unsafe-inline'" not in script_src and "'self'" in script_src

    for url in [*scripts[:2], *styles]:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert url.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/")
        b"".join(asset.streaming_content)
    init = client.get(scripts[2])
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in init.content
    assert b"/api/schema/" in init.content
