"""API base: problem-style error bodies (RFC 9457) in Italian and the /api/me/ endpoint.

Every error of the API has the same shape, `application/problem+json`:
`{"type", "title", "status", "detail"}` and, for invalid input, `errors` keyed by field.
DRF's own messages are not all translated (or translated well), so the common ones are
replaced here by ours; a message an app wrote on purpose (e.g. the role a user lacks) is kept.
Paths under /api/ that match no view, and crashes there, get the same shape through the
`handler404` and `handler500` of procurement/urls.py.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView, exception_handler

from procurement.accounts.access import active_memberships
from procurement.accounts.strongauth import current_loa

PROBLEM_CONTENT_TYPE = "application/problem+json"
API_PREFIX = "/api/"

# With "about:blank" the title is the status phrase, which RFC 9457 lets us localise.
_TITLES = {
    400: gettext_lazy("Richiesta non valida"),
    401: gettext_lazy("Autenticazione richiesta"),
    403: gettext_lazy("Operazione non consentita"),
    404: gettext_lazy("Risorsa non trovata"),
    405: gettext_lazy("Metodo non consentito"),
    406: gettext_lazy("Formato non disponibile"),
    409: gettext_lazy("Conflitto"),
    415: gettext_lazy("Tipo di contenuto non supportato"),
    429: gettext_lazy("Troppe richieste"),
    500: gettext_lazy("Errore interno"),
    503: gettext_lazy("Servizio non disponibile"),
}


def problem(*, status: int, detail: str, errors=None) -> dict:
    """The body of an error response (RFC 9457), in Italian."""
    body = {
        "type": "about:blank",
        "title": str(_TITLES.get(status, gettext_lazy("Errore"))),
        "status": status,
        "detail": str(detail),
    }
    if errors is not None:
        body["errors"] = errors
    return body


def _is_default(exc: exceptions.APIException) -> bool:
    return str(exc.detail) == str(exc.default_detail)


def _detail(exc: exceptions.APIException, request) -> str:
    method = getattr(request, "method", "")
    if isinstance(exc, exceptions.NotAuthenticated):
        return _(
            "Autenticazione richiesta: accedi alla piattaforma oppure invia l'intestazione "
            "«Authorization: Token <chiave>»."
        )
    if isinstance(exc, exceptions.AuthenticationFailed):
        return _("Credenziali non valide: controlla il token o accedi di nuovo.")
    if isinstance(exc, exceptions.PermissionDenied):
        # SessionAuthentication refuses an unsafe request without the CSRF token, in English.
        if str(exc.detail).startswith("CSRF Failed"):
            return _(
                "Verifica CSRF non riuscita: ricarica la pagina e riprova, "
                "oppure usa l'autenticazione con token."
            )
        if _is_default(exc):
            return _("Non hai i permessi per questa operazione.")
    if isinstance(exc, exceptions.NotFound) and _is_default(exc):
        return _("La risorsa richiesta non esiste o non è visibile con il tuo profilo.")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return _("Il metodo %(method)s non è consentito su questa risorsa.") % {"method": method}
    if isinstance(exc, exceptions.NotAcceptable):
        return _("Il formato di risposta richiesto non è disponibile.")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return _("Il tipo di contenuto «%(media_type)s» non è supportato.") % {
            "media_type": getattr(request, "content_type", "")
        }
    if isinstance(exc, exceptions.ParseError):
        return _("Il corpo della richiesta non è leggibile (JSON non valido?).")
    if isinstance(exc, exceptions.Throttled):
        if exc.wait is not None:
            return _("Troppe richieste: riprova tra %(seconds)d secondi.") % {
                "seconds": int(exc.wait + 0.999)
            }
        return _("Troppe richieste: riprova più tardi.")
    return str(exc.detail)


def problem_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: DRF's response, with a problem+json body in Italian."""
    if isinstance(exc, Http404):
        # Django's own messages ("No X matches the given query.") are English and say too much.
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None
    request = context.get("request")
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data
        if not isinstance(errors, dict):
            errors = {api_settings.NON_FIELD_ERRORS_KEY: errors}
        body = problem(
            status=response.status_code,
            detail=_("Alcuni dati non sono validi."),
            errors=errors,
        )
    else:
        body = problem(status=response.status_code, detail=_detail(exc, request))
    response.data = body
    renderer = getattr(request, "accepted_renderer", None)
    # Before content negotiation (or with JSON chosen) the body is JSON; the browsable API
    # keeps its HTML page and media type.
    if renderer is None or renderer.format == "json":
        response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _problem_response(status: int, detail: str) -> JsonResponse:
    return JsonResponse(
        problem(status=status, detail=detail),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


def page_not_found(request, exception):
    """handler404: a problem body under /api/, Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return _problem_response(404, _("Non esiste alcuna risorsa a questo indirizzo."))
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: a problem body under /api/, Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return _problem_response(500, _("Si è verificato un errore imprevisto. Riprova più tardi."))
    return defaults.server_error(request)


# The docstring is the description shown in the API docs, hence Italian.
class ProblemSerializer(serializers.Serializer):
    """Errore nel formato RFC 9457 (application/problem+json); `errors` elenca i dati non
    validi per campo."""

    type = serializers.CharField(default="about:blank")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


PROBLEM_RESPONSES = {
    (status, PROBLEM_CONTENT_TYPE): ProblemSerializer for status in (401, 403, 404)
}


class MembershipSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    organisation_code = serializers.CharField(source="organisation.code")
    organisation_name = serializers.CharField(source="organisation.name")
    cost_centre = serializers.CharField(source="cost_centre.name", default=None)
    role = serializers.CharField()
    role_label = serializers.CharField(source="get_role_display")


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")
    email = serializers.EmailField()
    tax_code = serializers.CharField(allow_null=True)
    memberships = serializers.SerializerMethodField()
    loa = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "Livello di garanzia dell'accesso in corso: 1 password, 2 SPID L2/CIE, 3 SPID L3/CIE "
            "L3; nullo con l'autenticazione a token."
        )
    )

    @extend_schema_field(MembershipSerializer(many=True))
    def get_memberships(self, user) -> list[dict]:
        return MembershipSerializer(active_memberships(user), many=True).data

    def get_loa(self, user) -> int | None:
        return self.context.get("loa")


class MeView(APIView):
    @extend_schema(
        operation_id="me",
        tags=["account"],
        summary=gettext_lazy("L'utente autenticato"),
        description=gettext_lazy(
            "Utente, abilitazioni attive e livello di garanzia (LoA) dell'accesso in corso."
        ),
        responses={200: MeSerializer, **PROBLEM_RESPONSES},
    )
    def get(self, request):
        serializer = MeSerializer(request.user, context={"loa": current_loa(request)})
        return Response(serializer.data)
