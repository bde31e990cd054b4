"""Simulated FVOE operations (e-service "FVOE"), shaped after specs/fvoe-openapi.json and ANAC's
worked example (npa/docs/scenari-di-esempio/gestione_fascicolo.md), plus the control API and page
that play the economic operator (approve, deny, revoke, annul) and script operators by tax code.

Lifecycle of an authorisation (statoAutorizzazione): 01 Richiesta → 02 Autorizzata | 04 Negata |
05 Scaduta (no answer within SimFvoeSettings.pending_expiry_seconds, one month by default) |
06 Annullata; 02 → 03 Revocata | 05 (dataFine passed) | 06. The answer comes from the operator's
script (approve/deny after N seconds, never, manual) or from the control API / page.
Document requests move 001 → 002 → 003 → 004 (a new document in the file) or 005, one step every
SimFvoeSettings.docreq_step_seconds. Nothing runs in the background: each request applies what is
due at its time, so time-machine drives everything.

Control API (JSON, under /anac-sim/_control/fvoe/, never in production):
    GET|POST settings                 SimFvoeSettings fields
    GET|POST scripts                  {codiceFiscale, behaviour, after_seconds, reason,
                                       negative_types, document_types}
    GET      access?idAppalto=&codiceFiscale=      authorisations
    POST     access/<azione>          azione: autorizza | nega | revoca | annulla;
                                      body {idAutorizzazione} or {idAppalto, codiceFiscale}, motivo
    POST     documents                {codiceFiscale, tipo, oggetto?, stato?, fault?}: adds a
                                      document (fault: "size", or an errori code like "FVX21")
    POST     reset                    forgets every FVOE request, document, script and setting
    settings also take maintenance_from / maintenance_until (ISO date-times: every FVOE
    operation answers 503 with Retry-After meanwhile, as ANAC's gateway during a maintenance
    window) and fault_operation / fault_kind / fault_count (the next fault_count calls of that
    POST lose their answer: "lost_response" registers the request then answers 504,
    "lost_request" answers 504 and registers nothing — AS-FVOE-09, D-FVOE-22).
    GET      (page)                   HTML page with the requests and the operator's buttons
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from functools import wraps

from django.db import transaction
from django.db.models import F
from django.forms.models import model_to_dict
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from ..specs import description, tipologica
from .endpoint import SimCall, endpoint, ok, problem
from .models import (
    SimFvoeAccessRequest,
    SimFvoeAuthorization,
    SimFvoeDocument,
    SimFvoeDocumentRequest,
    SimFvoeDocumentRequestItem,
    SimFvoeOperatorScript,
    SimFvoeSettings,
)
from .models.fvoe import (
    ANSWERED,
    AUTHORISED,
    CANCELLED,
    DENIED,
    LIVE_STATES,
    NEGATIVE,
    REQUESTED,
    REVOKED,
)
from .pcp_views import Refused, refusals

ESERVICE = "FVOE"
MAX_PER_PAGE = 100
FAR_END = datetime(2099, 12, 31, tzinfo=UTC)
TAX_CODE = re.compile(r"^(\d{11}|[A-Z0-9]{16})$")
# Types requestable from certifying bodies (spec fvoe.md Appendix C, from [EC]); the value is
# the `type` of datiRichiesta the type requires (None: no data).
REQUESTABLE_TYPES = {
    "00033": None,
    "00004": "DatiSA00004",
    "00021": None,
    "00034": None,
    "00005": "DatiSA00020",
    "00038": None,
    "00039": None,
    "00035": "DatiSA00036",
    "00041": "DatiSA00036",
    "00036": "DatiSA00047",
    "00037": "DatiSA00048",
    "00001": "DatiSA00050",
    "00899": "DatiSA00899",
    "00042": None,
    "00007": None,
    "00008": None,
    "00010": None,
    "00011": None,
    "00099": "DatiSA00099",
}
CONTROL_ACTIONS = {
    "autorizza": ({REQUESTED}, AUTHORISED),
    "nega": ({REQUESTED}, DENIED),
    "revoca": ({AUTHORISED}, REVOKED),
    "annulla": ({REQUESTED, AUTHORISED}, CANCELLED),
}


# --- representation -------------------------------------------------------------------------


def _tip(id_tipologica: str, codice: str) -> dict:
    return {"idTipologica": id_tipologica, "codice": codice}


def _ts(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _base(title: str = "OK", detail: str = "Operazione Effettuata") -> dict:
    return {"status": 200, "title": title, "detail": detail, "type": "about:blank"}


def _autorizzazione(auth: SimFvoeAuthorization) -> dict:
    request = auth.request
    richiesta = {
        "idRichiesta": str(request.id_richiesta),
        "dataInizioAutorizzazione": _ts(request.data_inizio),
        "operatoriEconomici": [{"codiceFiscale": auth.operator_tax_code}],
        "appalto": {"idAppalto": str(auth.id_appalto)},
    }
    if request.data_fine:
        richiesta["dataFineAutorizzazione"] = _ts(request.data_fine)
    body = {
        "idAutorizzazione": str(auth.id_autorizzazione),
        "dataInizio": _ts(request.data_inizio),
        "dataFine": _ts(request.data_fine or FAR_END),
        "operatoreEconomico": {"codiceFiscale": auth.operator_tax_code},
        "appalto": {"idAppalto": str(auth.id_appalto)},
        "stato": _tip("statoAutorizzazione", auth.stato),
        "motivo": auth.motivo,
        "richiestaAccesso": richiesta,
    }
    if auth.autorizzante:
        body["autorizzante"] = {"codiceFiscale": auth.autorizzante}
    if auth.stato == AUTHORISED and auth.chiave_accesso:
        body["chiaveAccesso"] = str(auth.chiave_accesso)
    return body


def _documento(doc: SimFvoeDocument, auth: SimFvoeAuthorization | None) -> dict:
    body = {
        "idDocumento": str(doc.id_documento),
        "tipo": _tip("tipoDocumento", doc.tipo),
        "stato": _tip("statoDocumento", doc.stato),
        "oggetto": doc.oggetto,
        "dataInserimento": _ts(doc.inserted),
        "dataEmissione": _ts(doc.issued),
        "numeroProtocollo": doc.numero_protocollo,
        "dataProtocollo": _ts(doc.issued),
        "utenteCreazione": doc.created_by or doc.operator_tax_code,
        "dataCreazione": _ts(doc.inserted),
    }
    if doc.valid_until:
        body["dataFineValidita"] = _ts(doc.valid_until)
    if auth is not None:
        body["fascicoli"] = [
            {
                "tipoFascicolo": _tip("tipoFascicolo", "FVC"),
                "idFascicolo": str(auth.id_autorizzazione),
                "codiceFascicolo": f"{doc.operator_tax_code}|{auth.id_appalto}",
            }
        ]
    return body


# --- state ----------------------------------------------------------------------------------


def _uuid(value, code: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise Refused(400, (code, f"{description('errori', code)}: {what}")) from None


def _when(value, what: str) -> datetime:
    parsed = parse_datetime(str(value or ""))
    if parsed is None:
        raise Refused(400, ("FVX46", f"Dati non validi: {what}"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _script(tax_code: str) -> SimFvoeOperatorScript | None:
    return SimFvoeOperatorScript.objects.filter(tax_code=tax_code).first()


def _schedule_answer(auth: SimFvoeAuthorization, script, settings, now) -> None:
    behaviour = script.behaviour if script else settings.default_behaviour
    after = script.after_seconds if script else settings.default_after_seconds
    outcome = {
        SimFvoeOperatorScript.APPROVE: AUTHORISED,
        SimFvoeOperatorScript.DENY: DENIED,
    }.get(behaviour)
    if outcome:
        auth.scripted_stato = outcome
        auth.scripted_at = now + timedelta(seconds=after)
        auth.motivo = (script.reason if script else "") or (
            "Richiesta negata dall'operatore economico" if outcome == DENIED else ""
        )


def settle_authorizations(queryset, now=None) -> list[SimFvoeAuthorization]:
    now = now or timezone.now()
    rows = list(queryset.select_related("request"))
    for auth in rows:
        auth.settle(now)
    return rows


def _authorised_by_key(key, now) -> SimFvoeAuthorization:
    chiave = _uuid(key, "FVX43", "chiaveAccesso")
    auth = SimFvoeAuthorization.objects.select_related("request").filter(chiave_accesso=chiave)
    auth = auth.first()
    if auth is None:
        raise Refused(404, ("FVX02", "Fascicolo non presente per la chiave di accesso indicata"))
    auth.settle(now)
    if auth.stato != AUTHORISED:
        raise Refused(
            400,
            ("FVC03", f"Accesso al fascicolo non autorizzato (stato {auth.stato})"),
        )
    return auth


def ensure_documents(tax_code: str, now=None) -> None:
    """The operator's file gets its documents the first time it is looked at."""
    if SimFvoeDocument.objects.filter(operator_tax_code=tax_code).exists():
        return
    script = _script(tax_code)
    settings = SimFvoeSettings.current()
    types = settings.default_document_types
    if script is not None and script.document_types is not None:
        types = script.document_types
    now = now or timezone.now()
    for n, tipo in enumerate(types, start=1):
        SimFvoeDocument.objects.create(
            operator_tax_code=tax_code,
            tipo=tipo,
            oggetto=f"{description('tipoDocumento', tipo) or tipo} - {tax_code}",
            inserted=now - timedelta(days=30 - n),
            issued=now - timedelta(days=30 - n),
            valid_until=now + timedelta(days=120),
            numero_protocollo=f"SIM-{now:%Y}-{_digits(tax_code + tipo)}",
            created_by="ANAC-SIM",
        )


def _digits(text: str) -> str:
    return f"{int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) % 10**8:08d}"


def settle_document_requests(queryset, now=None) -> None:
    """Document requests that reached 004 put their document in the operator's file (once)."""
    now = now or timezone.now()
    for docreq in queryset.select_related("authorization"):
        if docreq.stato_at(now) != ANSWERED:
            continue
        done_at = docreq.created + timedelta(seconds=3 * max(docreq.step_seconds, 1))
        for item in docreq.items.filter(produced_document__isnull=True):
            ensure_documents(docreq.authorization.operator_tax_code, now)
            SimFvoeDocument.objects.create(
                operator_tax_code=docreq.authorization.operator_tax_code,
                tipo=docreq.tipo,
                oggetto=(
                    f"{description('tipoDocumento', docreq.tipo) or docreq.tipo} - "
                    f"{item.subject_tax_code} (richiesta {docreq.id_richiesta})"
                ),
                inserted=done_at,
                issued=done_at,
                valid_until=done_at + timedelta(days=120),
                numero_protocollo=f"EC-{str(docreq.id_richiesta)[:8]}-{item.pk}",
                created_by="ENTE-CERT-SIM",
                request_item=item,
            )


def document_pdf(doc: SimFvoeDocument) -> bytes:
    """A real PDF of the document, rendered once by WeasyPrint and kept."""
    if doc.content:
        return bytes(doc.content)
    from django.utils.html import escape
    from weasyprint import HTML

    label = description("tipoDocumento", doc.tipo) or doc.tipo
    rows = [
        ("Tipo documento", f"{doc.tipo} - {label}"),
        ("Operatore economico", doc.operator_tax_code),
        ("Oggetto", doc.oggetto),
        ("Numero protocollo", doc.numero_protocollo),
        ("Data emissione", f"{doc.issued:%d/%m/%Y}"),
        ("Valido fino al", f"{doc.valid_until:%d/%m/%Y}" if doc.valid_until else "-"),
        ("Identificativo", str(doc.id_documento)),
    ]
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    html = (
        "<html lang='it'><head><meta charset='utf-8'>"
        f"<title>{escape(label)}</title><style>body{{font-family:sans-serif;font-size:11pt}}"
        "th{text-align:left;padding-right:1em}</style></head><body>"
        f"<h1>{escape(label)}</h1><table>{cells}</table>"
        "<p><em>Documento generato dal simulatore ANAC (Fascicolo Virtuale dell'Operatore "
        "Economico): privo di valore legale.</em></p></body></html>"
    )
    content = HTML(string=html).write_pdf()
    SimFvoeDocument.objects.filter(pk=doc.pk).update(content=content)
    return content


# --- the gateway in front of the operations: maintenance windows and lost answers ----------


def _take_fault(operation: str) -> str:
    """Consume one programmed fault for `operation`; its kind, or ""."""
    settings = SimFvoeSettings.current()
    if settings.fault_operation != operation or not settings.fault_count:
        return ""
    taken = SimFvoeSettings.objects.filter(
        pk=settings.pk, fault_operation=operation, fault_count__gt=0
    ).update(fault_count=F("fault_count") - 1)
    return settings.fault_kind if taken else ""


def gateway(view):
    """Outside @endpoint: what ANAC's gateway answers before (or instead of) the service."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        now = timezone.now()
        settings = SimFvoeSettings.current()
        if settings.in_maintenance(now):
            until = timezone.localtime(settings.maintenance_until)
            seconds = max(1, int((settings.maintenance_until - now).total_seconds()))
            return problem(
                503,
                "Service Unavailable",
                f"Servizi FVOE in manutenzione fino al {until:%d/%m/%Y %H:%M}",
                headers={"Retry-After": str(seconds)},
            )
        fault = _take_fault(view.anac_operation) if request.method == "POST" else ""
        if fault == "lost_request":
            return problem(504, "Gateway Timeout", "Nessuna risposta dal servizio")
        response = view(request, *args, **kwargs)
        if fault == "lost_response" and response.status_code == 200:
            return problem(504, "Gateway Timeout", "Nessuna risposta dal servizio")
        return response

    return wrapper


# --- operations -----------------------------------------------------------------------------


@gateway
@endpoint(ESERVICE, "richiesta-accesso-fvoe", methods=("POST",))
@refusals
def richiesta_accesso_fvoe(request, call: SimCall) -> HttpResponse:
    body = call.body if isinstance(call.body, dict) else {}
    now = timezone.now()
    id_appalto = _uuid((body.get("appalto") or {}).get("idAppalto"), "AUT02", "idAppalto")
    start = _when(body.get("dataInizioAutorizzazione"), "dataInizioAutorizzazione")
    end = None
    if body.get("dataFineAutorizzazione"):
        end = _when(body.get("dataFineAutorizzazione"), "dataFineAutorizzazione")
    today = timezone.localdate(now)
    if timezone.localdate(start) < today or (end is not None and end <= start):
        raise Refused(400, "FVX11")
    codes = [
        str((oe or {}).get("codiceFiscale") or "") for oe in body.get("operatoriEconomici") or []
    ]
    if not codes:
        raise Refused(400, ("FVX46", "Dati non validi: operatoriEconomici"))
    for code in codes:
        if not TAX_CODE.match(code):
            raise Refused(400, ("FVX47", f"Codice Fiscale Impresa non valido: {code}"))
        script = _script(code)
        if script and script.behaviour == SimFvoeOperatorScript.NOT_IN_SCHEDE:
            raise Refused(400, ("SCH01", f"Soggetto Non Presente Nelle Schede Inviate: {code}"))
    if len(set(codes)) != len(codes):
        raise Refused(400, ("FVX46", "Dati non validi: codice fiscale ripetuto"))
    settings = SimFvoeSettings.current()
    requester = body.get("richiedente") or {}
    with transaction.atomic():
        existing = SimFvoeAuthorization.objects.select_for_update().filter(
            id_appalto=id_appalto, operator_tax_code__in=codes
        )
        for auth in settle_authorizations(existing, now):
            if auth.stato in LIVE_STATES:
                raise Refused(
                    400,
                    (
                        "FVX46",
                        f"Dati non validi: richiesta di accesso già presente per "
                        f"{auth.operator_tax_code} (stato {auth.stato})",
                    ),
                )
        access = SimFvoeAccessRequest.objects.create(
            id_appalto=id_appalto,
            data_inizio=start,
            data_fine=end,
            requester_tax_code=str(requester.get("codiceFiscale") or ""),
            requester_ausa=str(requester.get("codiceAusa") or ""),
            user_tax_code=str(call.claims.get("userCodiceFiscale") or ""),
            created=now,
        )
        for code in codes:
            auth = SimFvoeAuthorization(
                request=access,
                id_appalto=id_appalto,
                operator_tax_code=code,
                created=now,
                changed=now,
            )
            _schedule_answer(auth, _script(code), settings, now)
            auth.save()
    return ok(
        {
            "status": 200,
            "title": "Operazione Effettuata",
            "detail": "Richiesta acquisita",
            "type": "about:blank",
            "idRichiesta": str(access.id_richiesta),
        }
    )


@gateway
@endpoint(ESERVICE, "verifica-richiesta-accesso-fvoe")
@refusals
def verifica_richiesta_accesso_fvoe(request, call: SimCall) -> HttpResponse:
    code = request.GET.get("codiceFiscale", "")
    id_appalto = _uuid(request.GET.get("idAppalto"), "AUT02", "idAppalto")
    latest = SimFvoeAuthorization.objects.filter(id_appalto=id_appalto, operator_tax_code=code)
    auth = latest.select_related("request").first()
    if auth is None:
        raise Refused(404, "FVC04")
    auth.settle(timezone.now())
    return ok({**_base("Operazione Effettuata"), "autorizzazione": _autorizzazione(auth)})


@gateway
@endpoint(ESERVICE, "ricerca-documenti-fvoe")
@refusals
def ricerca_documenti_fvoe(request, call: SimCall) -> HttpResponse:
    now = timezone.now()
    auth = _authorised_by_key(request.GET.get("chiaveAccesso"), now)
    try:
        page = max(1, int(request.GET.get("page") or 1))
        per_page = min(MAX_PER_PAGE, max(1, int(request.GET.get("perPage") or 20)))
    except ValueError:
        raise Refused(400, ("FVX05", "Filtro non formattato correttamente: page/perPage")) from None
    ensure_documents(auth.operator_tax_code, now)
    settle_document_requests(
        SimFvoeDocumentRequest.objects.filter(
            authorization__operator_tax_code=auth.operator_tax_code
        ),
        now,
    )
    docs = SimFvoeDocument.objects.filter(
        operator_tax_code=auth.operator_tax_code, inserted__lte=now
    )
    if request.GET.get("tipo"):
        docs = docs.filter(tipo=request.GET["tipo"])
    if request.GET.get("stato"):
        docs = docs.filter(stato=request.GET["stato"])
    total = docs.count()
    if total == 0:
        raise Refused(404, "FVX03")
    pages = (total + per_page - 1) // per_page
    rows = list(docs[(page - 1) * per_page : page * per_page])
    return ok(
        {
            **_base("Operazione Effettuata"),
            "totRows": total,
            "totPages": pages,
            "currentPage": page,
            "elementPage": len(rows),
            "result": [_documento(doc, auth) for doc in rows],
        }
    )


@gateway
@endpoint(ESERVICE, "recupera-documento-fvoe")
@refusals
def recupera_documento_fvoe(request, call: SimCall) -> HttpResponse:
    now = timezone.now()
    id_documento = _uuid(request.GET.get("idDocumento"), "FVX41", "idDocumento")
    doc = SimFvoeDocument.objects.filter(id_documento=id_documento, inserted__lte=now).first()
    if doc is None:
        raise Refused(404, "FVX01")
    candidates = SimFvoeAuthorization.objects.filter(operator_tax_code=doc.operator_tax_code)
    live = [a for a in settle_authorizations(candidates, now) if a.stato == AUTHORISED]
    if not live:
        raise Refused(400, ("FVC03", "Accesso al fascicolo dell'operatore non autorizzato"))
    if doc.fault and doc.fault != "size":
        raise Refused(400, doc.fault)
    content = document_pdf(doc)
    declared = len(content) + (1 if doc.fault == "size" else 0)
    return ok(
        {
            **_base("Operazione Effettuata"),
            "documento": _documento(doc, live[0]),
            "contenutoDocumento": {
                "nomefile": doc.file_name,
                "estensione": "PDF",
                "dimensione": declared,
                "contenuto": base64.b64encode(content).decode("ascii"),
            },
        }
    )


def _subjects(tipo: str, dati: dict | None, operator: str) -> list[str]:
    """Who the request is about: each person of datiSoggetti (00004), else the operator."""
    if tipo == "00004" and isinstance(dati, dict):
        people = []
        for row in dati.get("datiSoggetti") or []:
            nominativo = (row or {}).get("DatiNominativo") or {}
            if nominativo.get("CF"):
                people.append(str(nominativo["CF"]))
        if people:
            return people
    return [operator]


@gateway
@endpoint(ESERVICE, "richiedi-documenti", methods=("POST",))
@refusals
def richiedi_documenti(request, call: SimCall) -> HttpResponse:
    body = call.body if isinstance(call.body, dict) else {}
    now = timezone.now()
    auth = _authorised_by_key(body.get("chiaveAccesso"), now)
    tipo = str((body.get("tipoDocumento") or {}).get("codice") or "")
    if tipo not in tipologica("tipoDocumento"):
        raise Refused(400, "FVX56")
    if tipo not in REQUESTABLE_TYPES:
        raise Refused(400, "FVX66")
    dati = body.get("datiRichiesta")
    model = REQUESTABLE_TYPES[tipo]
    if model and not isinstance(dati, dict):
        raise Refused(400, "FVX57")
    if model and dati.get("type") != model:
        raise Refused(400, ("FVX65", f"Codice Dati Richiesta non supportati: atteso {model}"))
    subjects = _subjects(tipo, dati, auth.operator_tax_code)
    settings = SimFvoeSettings.current()
    script = _script(auth.operator_tax_code)
    with transaction.atomic():
        pending = SimFvoeDocumentRequest.objects.select_for_update().filter(
            authorization__operator_tax_code=auth.operator_tax_code, tipo=tipo
        )
        for other in pending:
            if other.stato_at(now) not in {ANSWERED, NEGATIVE} and set(
                other.items.values_list("subject_tax_code", flat=True)
            ) & set(subjects):
                raise Refused(400, "FVC05")
        docreq = SimFvoeDocumentRequest.objects.create(
            authorization=auth,
            tipo=tipo,
            dati_richiesta=dati,
            created=now,
            step_seconds=settings.docreq_step_seconds,
            outcome=NEGATIVE if script and tipo in (script.negative_types or []) else ANSWERED,
        )
        for subject in subjects:
            SimFvoeDocumentRequestItem.objects.create(request=docreq, subject_tax_code=subject)
    return ok(
        {
            **_base("Richiesta acquisita", "Richiesta acquisita"),
            "idRichiesta": str(docreq.id_richiesta),
        }
    )


@gateway
@endpoint(ESERVICE, "verifica-stato-richiesta-documento")
@refusals
def verifica_stato_richiesta_documento(request, call: SimCall) -> HttpResponse:
    now = timezone.now()
    id_richiesta = _uuid(request.GET.get("idRichiesta"), "FVX46", "idRichiesta")
    docreqs = SimFvoeDocumentRequest.objects.filter(id_richiesta=id_richiesta)
    docreq = docreqs.select_related("authorization").first()
    if docreq is None:
        raise Refused(404, "FVC02")
    settle_document_requests(docreqs, now)
    stato = docreq.stato_at(now)
    auth = docreq.authorization
    result = []
    for item in docreq.items.all():
        row = {
            "chiaveAccesso": str(auth.chiave_accesso),
            "operatoreEconomico": {"codiceFiscale": auth.operator_tax_code},
            "soggetto": {"codiceFiscale": item.subject_tax_code},
            "tipoDocumento": _tip("tipoDocumento", docreq.tipo),
            "idRichiesta": str(docreq.id_richiesta),
            "stato": _tip("statoRichiestaDocumento", stato),
        }
        produced = SimFvoeDocument.objects.filter(request_item=item).first()
        if stato == ANSWERED and produced is not None:
            row["idDocumento"] = str(produced.id_documento)
        result.append(row)
    return ok({**_base("Operazione Effettuata"), "result": result})


@gateway
@endpoint(ESERVICE, "recupera-storico-documento-fvoe")
@refusals
def recupera_storico_documento_fvoe(request, call: SimCall) -> HttpResponse:
    """The history of a document: inserted, associated to the file, updated, deleted."""
    now = timezone.now()
    id_documento = _uuid(request.GET.get("idDocumento"), "FVX41", "idDocumento")
    doc = SimFvoeDocument.objects.filter(id_documento=id_documento, inserted__lte=now).first()
    if doc is None:
        raise Refused(404, "FVX01")
    candidates = SimFvoeAuthorization.objects.filter(operator_tax_code=doc.operator_tax_code)
    if not [a for a in settle_authorizations(candidates, now) if a.stato == AUTHORISED]:
        raise Refused(400, ("FVC03", "Accesso al fascicolo dell'operatore non autorizzato"))
    actions = [("01", doc.inserted), ("04", doc.inserted)]
    if doc.stato == "2":
        actions.append(("02", max(doc.issued, doc.inserted)))
    elif doc.stato == "3":
        actions.append(("03", max(doc.issued, doc.inserted)))
    documenti = [
        {
            "idDocumento": str(doc.id_documento),
            "azione": _tip("tipoAzioneDocumento", code),
            "utenteCreazione": doc.created_by or "ANAC-SIM",
            "dataCreazione": _ts(when),
        }
        for code, when in actions
    ]
    return ok({**_base("Operazione Effettuata"), "documenti": documenti})


# --- control: the operator's side and the scripts -------------------------------------------


class ControlError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def operator_answer(
    azione: str,
    *,
    id_autorizzazione=None,
    id_appalto=None,
    tax_code: str = "",
    motivo: str = "",
    now=None,
) -> SimFvoeAuthorization:
    """The operator approves (autorizza), denies (nega), revokes (revoca) or annuls (annulla)."""
    if azione not in CONTROL_ACTIONS:
        raise ControlError(400, f"azione sconosciuta: {azione}")
    allowed_from, target = CONTROL_ACTIONS[azione]
    now = now or timezone.now()
    with transaction.atomic():
        rows = SimFvoeAuthorization.objects.select_for_update().select_related("request")
        if id_autorizzazione:
            rows = rows.filter(id_autorizzazione=id_autorizzazione)
        else:
            rows = rows.filter(id_appalto=id_appalto, operator_tax_code=tax_code)
        auth = rows.order_by("-created", "-pk").first()
        if auth is None:
            raise ControlError(404, "autorizzazione non trovata")
        auth.settle(now)
        if auth.stato not in allowed_from:
            raise ControlError(409, f"azione {azione} non ammessa nello stato {auth.stato}")
        auth.set_state(target, now, reason=motivo)
        auth.save()
    return auth


def script_operator(
    tax_code: str,
    behaviour: str,
    *,
    after_seconds: int = 0,
    reason: str = "",
    negative_types=(),
    document_types=None,
) -> SimFvoeOperatorScript:
    """Fixes how an operator answers from now on (tests, demo)."""
    if behaviour not in SimFvoeOperatorScript.BEHAVIOURS:
        raise ControlError(400, f"comportamento sconosciuto: {behaviour}")
    script, _created = SimFvoeOperatorScript.objects.update_or_create(
        tax_code=tax_code,
        defaults={
            "behaviour": behaviour,
            "after_seconds": after_seconds,
            "reason": reason,
            "negative_types": list(negative_types),
            "document_types": None if document_types is None else list(document_types),
        },
    )
    return script


def add_document(
    tax_code: str, tipo: str, *, oggetto: str = "", stato: str = "1", fault: str = "", now=None
) -> SimFvoeDocument:
    """Puts a document in the operator's file (after the default ones)."""
    now = now or timezone.now()
    ensure_documents(tax_code, now)
    return SimFvoeDocument.objects.create(
        operator_tax_code=tax_code,
        tipo=tipo,
        stato=stato,
        oggetto=oggetto or f"{description('tipoDocumento', tipo) or tipo} - {tax_code}",
        inserted=now,
        issued=now,
        valid_until=now + timedelta(days=120),
        numero_protocollo=f"SIM-{uuid.uuid4().hex[:10]}",
        created_by="ANAC-SIM",
        fault=fault,
    )


def _auth_json(auth: SimFvoeAuthorization) -> dict:
    return {
        "idAutorizzazione": str(auth.id_autorizzazione),
        "idRichiesta": str(auth.request.id_richiesta),
        "idAppalto": str(auth.id_appalto),
        "codiceFiscale": auth.operator_tax_code,
        "stato": auth.stato,
        "descrizioneStato": description("statoAutorizzazione", auth.stato),
        "motivo": auth.motivo,
        "creata": _ts(auth.created),
        "modificata": _ts(auth.changed),
        "scadenza": _ts(auth.expires_at),
        "rispostaProgrammata": auth.scripted_stato,
        "rispostaProgrammataIl": _ts(auth.scripted_at) if auth.scripted_at else None,
    }


def _json(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ControlError(400, "JSON non valido") from None
    if not isinstance(data, dict):
        raise ControlError(400, "atteso un oggetto JSON")
    return data


def _control(view):
    @csrf_exempt
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ControlError as exc:
            return JsonResponse({"detail": exc.detail}, status=exc.status)

    wrapped.__name__ = view.__name__
    return wrapped


SETTINGS_FIELDS = [
    "pending_expiry_seconds",
    "default_behaviour",
    "default_after_seconds",
    "docreq_step_seconds",
    "default_document_types",
    "maintenance_from",
    "maintenance_until",
    "fault_operation",
    "fault_kind",
    "fault_count",
]
DATETIME_SETTINGS = {"maintenance_from", "maintenance_until"}
FAULT_KINDS = {"", "lost_response", "lost_request"}


@_control
def control_settings(request):
    settings = SimFvoeSettings.current()
    if request.method == "POST":
        data = _json(request)
        unknown = set(data) - set(SETTINGS_FIELDS)
        if unknown:
            raise ControlError(400, f"campi sconosciuti: {sorted(unknown)}")
        for key, value in data.items():
            if key in DATETIME_SETTINGS and value:
                parsed = parse_datetime(str(value))
                if parsed is None or parsed.tzinfo is None:
                    raise ControlError(400, f"{key}: data e ora ISO con fuso orario")
                value = parsed
            if key == "fault_kind" and value not in FAULT_KINDS:
                raise ControlError(400, f"fault_kind sconosciuto: {value}")
            setattr(settings, key, value or (None if key in DATETIME_SETTINGS else value))
        settings.save()
    body = model_to_dict(settings, fields=SETTINGS_FIELDS)
    for key in DATETIME_SETTINGS:
        body[key] = _ts(body[key]) if body[key] else None
    return JsonResponse(body)


@_control
def control_scripts(request):
    if request.method == "POST":
        data = _json(request)
        if not data.get("codiceFiscale"):
            raise ControlError(400, "codiceFiscale obbligatorio")
        script_operator(
            str(data["codiceFiscale"]),
            str(data.get("behaviour") or SimFvoeOperatorScript.MANUAL),
            after_seconds=int(data.get("after_seconds") or 0),
            reason=str(data.get("reason") or ""),
            negative_types=data.get("negative_types") or [],
            document_types=data.get("document_types"),
        )
    rows = SimFvoeOperatorScript.objects.order_by("tax_code")
    fields = ["behaviour", "after_seconds", "reason", "negative_types", "document_types"]
    return JsonResponse(
        {"scripts": [{"codiceFiscale": s.tax_code, **model_to_dict(s, fields)} for s in rows]}
    )


@_control
def control_access(request):
    now = timezone.now()
    rows = SimFvoeAuthorization.objects.all()
    if request.GET.get("idAppalto"):
        rows = rows.filter(id_appalto=_control_uuid(request.GET["idAppalto"]))
    if request.GET.get("codiceFiscale"):
        rows = rows.filter(operator_tax_code=request.GET["codiceFiscale"])
    return JsonResponse(
        {"autorizzazioni": [_auth_json(a) for a in settle_authorizations(rows[:200], now)]}
    )


def _control_uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ControlError(400, f"UUID non valido: {value}") from None


@_control
def control_access_action(request, azione: str):
    if request.method != "POST":
        raise ControlError(405, "usare POST")
    data = _json(request)
    auth = operator_answer(
        azione,
        id_autorizzazione=_control_uuid(data["idAutorizzazione"])
        if data.get("idAutorizzazione")
        else None,
        id_appalto=_control_uuid(data.get("idAppalto")) if data.get("idAppalto") else None,
        tax_code=str(data.get("codiceFiscale") or ""),
        motivo=str(data.get("motivo") or ""),
    )
    return JsonResponse(_auth_json(auth))


@_control
def control_documents(request):
    if request.method != "POST":
        raise ControlError(405, "usare POST")
    data = _json(request)
    if not data.get("codiceFiscale") or not data.get("tipo"):
        raise ControlError(400, "codiceFiscale e tipo obbligatori")
    doc = add_document(
        str(data["codiceFiscale"]),
        str(data["tipo"]),
        oggetto=str(data.get("oggetto") or ""),
        stato=str(data.get("stato") or "1"),
        fault=str(data.get("fault") or ""),
    )
    return JsonResponse({"idDocumento": str(doc.id_documento)}, status=201)


@_control
def control_reset(request):
    if request.method != "POST":
        raise ControlError(405, "usare POST")
    SimFvoeAccessRequest.objects.all().delete()
    SimFvoeDocument.objects.all().delete()
    SimFvoeOperatorScript.objects.all().delete()
    SimFvoeSettings.objects.all().delete()  # back to the defaults
    return JsonResponse({"detail": "stato FVOE del simulatore azzerato"})


@csrf_exempt
def control_page(request):
    """The operator's side in a browser: pending and past requests, with their buttons."""
    message = ""
    if request.method == "POST" and request.POST.get("codiceFiscale"):
        try:
            script_operator(
                request.POST["codiceFiscale"].strip().upper(),
                request.POST.get("behaviour", SimFvoeOperatorScript.MANUAL),
                after_seconds=int(request.POST.get("after_seconds") or 0),
                reason=request.POST.get("reason", ""),
            )
        except (ControlError, ValueError) as exc:
            message = getattr(exc, "detail", str(exc))
        else:
            return HttpResponseRedirect(reverse("anac-sim-fvoe-page") + "?ok=script")
    elif request.method == "POST":
        try:
            auth = operator_answer(
                request.POST.get("azione", ""),
                id_autorizzazione=_control_uuid(request.POST.get("idAutorizzazione", "")),
                motivo=request.POST.get("motivo", ""),
            )
        except ControlError as exc:
            message = exc.detail
        else:
            return HttpResponseRedirect(reverse("anac-sim-fvoe-page") + f"?ok={auth.pk}")
    now = timezone.now()
    rows = settle_authorizations(SimFvoeAuthorization.objects.all()[:200], now)
    items = [
        {
            **_auth_json(a),
            "azioni": [k for k, (states, _t) in CONTROL_ACTIONS.items() if a.stato in states],
        }
        for a in rows
    ]
    return render(
        request,
        "anac_simulator/fvoe.html",
        {
            "items": items,
            "message": message,
            "scripts": SimFvoeOperatorScript.objects.order_by("tax_code"),
            "behaviours": SimFvoeOperatorScript.BEHAVIOURS,
        },
    )


control_urlpatterns = [
    path("fvoe/", control_page, name="anac-sim-fvoe-page"),
    path("fvoe/settings", control_settings, name="anac-sim-fvoe-settings"),
    path("fvoe/scripts", control_scripts, name="anac-sim-fvoe-scripts"),
    path("fvoe/access", control_access, name="anac-sim-fvoe-access"),
    path("fvoe/access/<str:azione>", control_access_action, name="anac-sim-fvoe-access-action"),
    path("fvoe/documents", control_documents, name="anac-sim-fvoe-documents"),
    path("fvoe/reset", control_reset, name="anac-sim-fvoe-reset"),
]
