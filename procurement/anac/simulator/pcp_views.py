"""Simulated PCP operations (ComunicaAppalto, ServiziComuni, ComunicaPostPubblicazione,
PubblicaAvviso), shaped after specs/pcp-openapi.json and the worked examples of ANAC.

Asynchronous operations (conferma-appalto, conferma-scheda) record a SimEsito that reads WT until
`resolves_at` (SimulatorConfig.wt_seconds after the request; never with never_resolves), then OK
or KO (SimulatorConfig.ko_rate). Nothing runs in the background: the first request that touches
the appalto after `resolves_at` applies the outcome (CIGs, states), so time-machine drives it.
Errors are ErrorResponse bodies with the codes of tipologiche/errori.json.

Scripted errors (SimPcpFault, `script_error(...)` in Python or the control API below) make a chosen
operation answer with chosen codes, for one appalto or one cost centre, once or always:

Control API (JSON, under /anac-sim/_control/pcp/, never in production):
    GET|POST errors     {operation, errori: ["ERR69", {"codice", "dettaglio"}...], codiceAppalto?,
                         codiceCentroCosto?, status? (400), times? (null: always)} -> the list
    POST     reset      forgets every scripted error
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from ..specs import description, tipologica
from .endpoint import SimCall, _roll, endpoint, ok, problem
from .models import SimAppalto, SimAvviso, SimCigCounter, SimEsito, SimLot, SimScheda
from .models.pcp import SimPcpFault

MAX_PER_PAGE = 20
CIG_STATES = {"CONF", "IN_ATT_PUBB", "PUBB"}  # appalto states in which lots have CIGs
# tipoOperazione -> dettaglio (esitoOperazione) while WT, when OK, when KO
DETTAGLIO = {
    "AP_CONF": ("AP_IN_CONF", "AP_CONF", "AP_N_CONF"),
    "SC_CONF": ("SC_IN_CONF", "SC_CONF", "SC_N_CONF"),
    "SC_ROLLBACK": ("SC_IN_ROLLBACK", "SC_ROLLBACK", "SC_N_ROLLBACK"),
}
ACK = {"status": 200, "title": "OK", "detail": "Richiesta acquisita", "type": "about:blank"}


class Refused(Exception):
    """An ANAC error: HTTP status and the codes of errori.json (with an optional dettaglio)."""

    def __init__(self, status: int, *codes: str | tuple[str, str]):
        super().__init__(codes)
        self.status = status
        self.codes = codes

    def response(self) -> HttpResponse:
        errori = []
        for code in self.codes:
            codice, dettaglio = code if isinstance(code, tuple) else (code, "")
            errori.append(
                {"codice": codice, "dettaglio": dettaglio or description("errori", codice)}
            )
        title = {400: "Bad Request", 404: "Not Found"}.get(self.status, "Error")
        return problem(self.status, title, errori[0]["dettaglio"] if errori else "", errori)


def refusals(view):
    """Turns a Refused raised by the view into its ErrorResponse."""

    def wrapped(request, call: SimCall):
        try:
            return view(request, call)
        except Refused as exc:
            return exc.response()

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- representation -------------------------------------------------------------------------


def _tip(id_tipologica: str, codice: str) -> dict:
    return {"idTipologica": id_tipologica, "codice": codice}


def _ts(moment) -> str:
    return moment.isoformat(timespec="milliseconds")


def _base(title: str = "OK", detail: str = "Operazione Effettuata") -> dict:
    return {"status": 200, "title": title, "detail": detail, "type": "about:blank"}


def _scheda_appalto(appalto: SimAppalto) -> dict:
    """The appalto's scheda as SchedaComunicaAppaltoType, with the fields ANAC adds."""
    stato = appalto.stato if appalto.stato in {"IN_LAV", "CANC"} else "CONF"
    return {
        "_idScheda": str(appalto.id_scheda),
        "codice": _tip("codiceScheda", appalto.codice_scheda),
        "versione": str(appalto.scheda.get("versione") or "1.0"),
        "_stato": _tip("statoScheda", stato),
        "_dataCreazione": _ts(appalto.created),
        "body": appalto.scheda.get("body") or {},
    }


def _scheda_type(scheda: SimScheda) -> dict:
    """SchedaType: the summary of a scheda, without its body."""
    return {
        "_idScheda": str(scheda.id_scheda),
        "codice": _tip("codiceScheda", scheda.codice),
        "versione": scheda.versione,
        "_stato": _tip("statoScheda", scheda.stato),
        "_dataCreazione": _ts(scheda.created),
    }


def _appalto_type(appalto: SimAppalto) -> dict:
    return {
        "idAppalto": str(appalto.id_appalto),
        "codiceAppalto": appalto.codice_appalto,
        "oggetto": appalto.oggetto,
        "dataCreazione": _ts(appalto.created),
        "stato": _tip("statoAppalto", appalto.stato),
        "lotti": [
            {
                "cig": lot.cig,
                "lotIdentifier": lot.lot_identifier,
                "stato": _tip("statoLotto", lot.stato),
            }
            for lot in appalto.lots.order_by("lot_identifier")
        ],
    }


def _esito_type(esito: SimEsito, now) -> dict:
    value = esito.esito_at(now)
    waiting, done, failed = DETTAGLIO[esito.tipo_operazione]
    item = {"idAppalto": str(esito.appalto.id_appalto)}
    if esito.scheda is not None:
        item["idScheda"] = str(esito.scheda.id_scheda)
        item["codiceScheda"] = esito.scheda.codice
    else:
        item["idScheda"] = str(esito.appalto.id_scheda)
        item["codiceScheda"] = esito.appalto.codice_scheda
    if esito.id_avviso and value == "OK":
        item["idAvviso"] = str(esito.id_avviso)
    item["esito"] = _tip("esito", value)
    item["tipoOperazione"] = _tip("tipoOperazione", esito.tipo_operazione)
    item["dettaglio"] = _tip("esitoOperazione", {"WT": waiting, "OK": done, "KO": failed}[value])
    item["dataControllo"] = _ts(esito.created if value == "WT" else esito.resolves_at)
    if value == "KO":
        item["errori"] = [{"idTipologica": "errori", **e} for e in esito.errori]
    return item


# --- parsing --------------------------------------------------------------------------------


def _uuid(value, missing_code: str) -> uuid.UUID:
    if value in (None, ""):
        raise Refused(400, missing_code)
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise Refused(400, (missing_code, f"identificativo non valido: {value}")) from exc


def _body(call: SimCall) -> dict:
    if not isinstance(call.body, dict):
        raise Refused(400, ("ERR4", "il corpo della richiesta deve essere un oggetto JSON"))
    return call.body


def _motivo(body: dict) -> str:
    motivo = body.get("motivo") or ""
    if not isinstance(motivo, str) or len(motivo) > 200:
        raise Refused(400, ("ERR4", "motivo: testo di al massimo 200 caratteri"))
    return motivo


def _check_scheda(scheda) -> dict:
    """Top-level structure of a scheda (codice, versione, body.anacForm)."""
    if not isinstance(scheda, dict):
        raise Refused(400, ("ERR4", "scheda obbligatoria"))
    codice = scheda.get("codice")
    if not isinstance(codice, dict) or not codice.get("codice"):
        raise Refused(400, "ERR30")
    if str(codice["codice"]) not in tipologica("codiceScheda"):
        raise Refused(400, "ERR3")
    if not scheda.get("versione"):
        raise Refused(400, "ERR31")
    body = scheda.get("body")
    if not isinstance(body, dict) or not body:
        raise Refused(400, "ERR36")
    if not isinstance(body.get("anacForm"), dict):
        raise Refused(400, "ERR9")
    return scheda


def _pagination(request) -> tuple[int, int]:
    try:
        page = int(request.GET.get("page", 1))
        per_page = int(request.GET.get("perPage", MAX_PER_PAGE))
    except ValueError as exc:
        raise Refused(400, ("ERR34", "page e perPage devono essere interi")) from exc
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise Refused(400, ("ERR34", f"page >= 1, perPage tra 1 e {MAX_PER_PAGE}"))
    return page, per_page


def _paginated(items: list, page: int, per_page: int, detail: str) -> dict:
    start = (page - 1) * per_page
    return {
        **_base(detail=detail),
        "totRows": len(items),
        "totPages": (len(items) + per_page - 1) // per_page,
        "currentPage": page,
        "elementPage": per_page,
        "result": items[start : start + per_page],
    }


# --- scripted errors --------------------------------------------------------------------------


def _errori(codes) -> list[dict]:
    out = []
    for code in codes:
        if isinstance(code, dict):
            codice, dettaglio = str(code.get("codice") or ""), str(code.get("dettaglio") or "")
        elif isinstance(code, list | tuple):
            codice, dettaglio = str(code[0]), str(code[1] if len(code) > 1 else "")
        else:
            codice, dettaglio = str(code), ""
        if codice:
            out.append({"codice": codice, "dettaglio": dettaglio or description("errori", codice)})
    return out


def script_error(
    operation: str,
    *codes,
    codice_appalto: str = "",
    codice_centro_costo: str = "",
    times: int | None = None,
    http_status: int = 400,
) -> SimPcpFault:
    """Make `operation` answer with `codes` (e.g. "ERR69" or ("ERR69", "dettaglio"))."""
    errori = _errori(codes)
    if not errori:
        raise ValueError("indicare almeno un codice di errore")
    return SimPcpFault.objects.create(
        operation=operation,
        codice_appalto=codice_appalto,
        codice_centro_costo=codice_centro_costo,
        errori=errori,
        http_status=http_status,
        remaining=times,
    )


def _cost_centres(form: dict) -> set[str]:
    rows = form.get("stazioniAppaltanti") if isinstance(form, dict) else None
    return {
        str(row.get("codiceCentroCosto") or "")
        for row in rows or []
        if isinstance(row, dict) and row.get("codiceCentroCosto")
    }


def _scripted(operation: str, *, codice_appalto: str = "", form: dict | None = None):
    """The first scripted error matching the call (consumed once used), or None."""
    centres = _cost_centres(form or {})
    with transaction.atomic():
        faults = SimPcpFault.objects.select_for_update().filter(operation=operation)
        for fault in faults.exclude(remaining=0):
            if fault.codice_appalto and fault.codice_appalto != codice_appalto:
                continue
            if fault.codice_centro_costo and fault.codice_centro_costo not in centres:
                continue
            if fault.remaining is not None:
                SimPcpFault.objects.filter(pk=fault.pk).update(remaining=F("remaining") - 1)
            return fault
    return None


def _refuse_if_scripted(operation: str, *, codice_appalto: str = "", form=None) -> None:
    fault = _scripted(operation, codice_appalto=codice_appalto, form=form)
    if fault is not None:
        raise Refused(fault.http_status, *[(e["codice"], e["dettaglio"]) for e in fault.errori])


# --- state ----------------------------------------------------------------------------------


def _appalto(id_appalto: uuid.UUID) -> SimAppalto:
    appalto = SimAppalto.objects.filter(id_appalto=id_appalto).first()
    if appalto is None:
        raise Refused(404, "ERR19")
    settle(appalto)
    appalto.refresh_from_db()
    return appalto


def _scheda(id_scheda: uuid.UUID) -> SimScheda:
    scheda = SimScheda.objects.select_related("appalto").filter(id_scheda=id_scheda).first()
    if scheda is None:
        raise Refused(404, "ERR20")
    settle(scheda.appalto)
    scheda.refresh_from_db()
    return scheda


def settle(appalto: SimAppalto, now=None) -> None:
    """Applies the outcomes of the appalto that are due (idempotent, safe under concurrency)."""
    now = now or timezone.now()
    due = appalto.esiti.filter(applied=False, resolves_at__lte=now).values_list("pk", flat=True)
    for pk in list(due):
        _apply(pk)


def _apply(esito_pk: int) -> None:
    with transaction.atomic():
        esito = SimEsito.objects.select_for_update().get(pk=esito_pk)
        if esito.applied:
            return
        esito.applied = True
        esito.save(update_fields=["applied"])
        if esito.outcome != "OK":
            return
        appalto = SimAppalto.objects.select_for_update().get(pk=esito.appalto_id)
        now = timezone.now()
        if esito.tipo_operazione == "AP_CONF":
            lots = appalto.lot_identifiers()
            lot_stato = "AGG" if appalto.codice_scheda.startswith("AD") else "CONF"
            SimLot.objects.bulk_create(
                SimLot(appalto=appalto, lot_identifier=lot, cig=cig, stato=lot_stato)
                for lot, cig in zip(lots, SimCigCounter.next_cigs(len(lots)), strict=True)
            )
            if esito.id_avviso:
                SimAvviso.objects.create(id_avviso=esito.id_avviso, appalto=appalto)
            appalto.stato = "CONF"
            appalto.modified = now
            appalto.save(update_fields=["stato", "modified"])
        elif esito.tipo_operazione == "SC_CONF" and esito.scheda_id:
            scheda = SimScheda.objects.select_for_update().get(pk=esito.scheda_id)
            scheda.stato = "CONF"
            scheda.modified = now
            scheda.save(update_fields=["stato", "modified"])
            if scheda.codice == "ANN":
                cig = ((scheda.body or {}).get("anacForm") or {}).get("cig")
                appalto.lots.filter(cig=cig).update(stato="ANN", modified=now)


def _pending(appalto: SimAppalto, tipo_operazione: str) -> bool:
    return appalto.esiti.filter(tipo_operazione=tipo_operazione, applied=False).exists()


def _new_esito(call: SimCall, *, appalto, tipo_operazione, scheda=None, errori=None, avviso=None):
    now = timezone.now()
    config = call.config
    if errori is None:
        fault = _scripted(
            call.operation, codice_appalto=appalto.codice_appalto, form=appalto.anac_form
        )
        if fault is not None:
            errori = [dict(e) for e in fault.errori]
    if errori is None and _roll(config.ko_rate):
        errori = [
            {"codice": "ERR41", "dettaglio": "KO simulato (SimulatorConfig.ko_rate)"},
        ]
    resolves_at = None if config.never_resolves else now + timedelta(seconds=config.wt_seconds)
    return SimEsito.objects.create(
        appalto=appalto,
        scheda=scheda,
        tipo_operazione=tipo_operazione,
        outcome="KO" if errori else "OK",
        errori=errori or [],
        id_avviso=avviso if not errori else None,
        created=now,
        resolves_at=resolves_at,
    )


# --- ComunicaAppalto ------------------------------------------------------------------------


@endpoint("ComunicaAppalto", "crea-appalto", methods=("POST",))
@refusals
def crea_appalto(request, call: SimCall) -> HttpResponse:
    scheda = _check_scheda(_body(call).get("scheda"))
    form = scheda["body"]["anacForm"]
    codice_appalto = str((form.get("appalto") or {}).get("codiceAppalto") or "")
    if not codice_appalto:
        raise Refused(400, "ERR37")
    if not form.get("stazioniAppaltanti"):
        raise Refused(400, "ERR70")
    _refuse_if_scripted("crea-appalto", codice_appalto=codice_appalto, form=form)
    if SimAppalto.objects.filter(codice_appalto=codice_appalto).exists():
        raise Refused(400, "ERR38")
    try:
        with transaction.atomic():
            appalto = SimAppalto.objects.create(
                codice_appalto=codice_appalto,
                ausa=str(call.claims.get("SAcodiceAUSA") or ""),
                user_codice_fiscale=str(call.claims.get("userCodiceFiscale") or ""),
                scheda=scheda,
            )
    except IntegrityError as exc:  # a concurrent crea-appalto with the same code
        raise Refused(400, "ERR38") from exc
    body = _base("Operazione Effettuata", "Creazione eseguita con successo")
    return ok({**body, "idAppalto": str(appalto.id_appalto)})


@endpoint("ComunicaAppalto", "modifica-appalto", methods=("POST",))
@refusals
def modifica_appalto(request, call: SimCall) -> HttpResponse:
    body = _body(call)
    id_appalto = _uuid(body.get("idAppalto"), "ERR26")
    scheda = _check_scheda(body.get("scheda"))
    appalto = _appalto(id_appalto)
    if _pending(appalto, "AP_CONF"):
        raise Refused(400, "ERR18")
    if appalto.stato != "IN_LAV":
        raise Refused(400, "ERR16")
    codice = str((scheda["body"]["anacForm"].get("appalto") or {}).get("codiceAppalto") or "")
    if codice != appalto.codice_appalto:
        raise Refused(400, "ERR73")
    _refuse_if_scripted("modifica-appalto", codice_appalto=codice, form=scheda["body"]["anacForm"])
    appalto.scheda = scheda
    appalto.modified = timezone.now()
    appalto.save(update_fields=["scheda", "modified"])
    body = _base("Operazione Effettuata", "Modifica eseguita con successo")
    return ok({**body, "idAppalto": str(appalto.id_appalto)})


@endpoint("ComunicaAppalto", "cancella-appalto", methods=("POST",))
@refusals
def cancella_appalto(request, call: SimCall) -> HttpResponse:
    body = _body(call)
    id_appalto = _uuid(body.get("idAppalto"), "ERR26")
    _motivo(body)
    appalto = _appalto(id_appalto)
    if _pending(appalto, "AP_CONF"):
        raise Refused(400, "ERR18")
    if appalto.stato not in {"IN_LAV", "CONF"}:
        raise Refused(400, "ERR16")
    _refuse_if_scripted(
        "cancella-appalto", codice_appalto=appalto.codice_appalto, form=appalto.anac_form
    )
    now = timezone.now()
    appalto.stato = "CANC"
    appalto.modified = now
    appalto.save(update_fields=["stato", "modified"])
    appalto.lots.update(stato="CANC", modified=now)
    return ok(_base("Operazione Effettuata", "Cancellazione eseguita con successo"))


@endpoint("ComunicaAppalto", "conferma-appalto", methods=("POST",))
@refusals
def conferma_appalto(request, call: SimCall) -> HttpResponse:
    id_appalto = _uuid(_body(call).get("idAppalto"), "ERR26")
    with transaction.atomic():
        appalto = _appalto(id_appalto)
        appalto = SimAppalto.objects.select_for_update().get(pk=appalto.pk)
        if _pending(appalto, "AP_CONF"):
            raise Refused(400, "ERR18")
        if appalto.stato != "IN_LAV":
            raise Refused(400, "ERR16")
        lots = appalto.lot_identifiers()
        errori = None
        if not lots or not all(lots):
            errori = [{"codice": "ERR25", "dettaglio": description("errori", "ERR25")}]
        elif max(Counter(lots).values()) > 1:
            errori = [{"codice": "ERR14", "dettaglio": description("errori", "ERR14")}]
        # Schede of indizione (P*) have a notice to publish; AD* schede do not.
        avviso = uuid.uuid4() if appalto.codice_scheda.startswith("P") else None
        _new_esito(call, appalto=appalto, tipo_operazione="AP_CONF", errori=errori, avviso=avviso)
    return ok(dict(ACK))


@endpoint("ComunicaAppalto", "recupera-cig", methods=("GET",))
@refusals
def recupera_cig(request, call: SimCall) -> HttpResponse:
    id_appalto = _uuid(request.GET.get("idAppalto"), "ERR26")
    page, per_page = _pagination(request)
    appalto = _appalto(id_appalto)
    if appalto.stato not in CIG_STATES:
        raise Refused(400, "ERR16")
    _refuse_if_scripted(
        "recupera-cig", codice_appalto=appalto.codice_appalto, form=appalto.anac_form
    )
    items = [
        {"cig": lot.cig, "lotIdentifier": lot.lot_identifier}
        for lot in appalto.lots.order_by("lot_identifier")
    ]
    return ok(_paginated(items, page, per_page, "Operazione eseguita con successo"))


@endpoint("ComunicaAppalto", "ricerca-appalto", methods=("GET",))
@refusals
def ricerca_appalto(request, call: SimCall) -> HttpResponse:
    params = request.GET
    page, per_page = _pagination(request)
    criteria = ("codiceAppalto", "cig", "lotIdentifier", "stato")
    dates = ("dataCreazioneDa", "dataCreazioneA")
    if not any(params.get(name) for name in criteria + dates):
        raise Refused(400, "ERR34")
    appalti = SimAppalto.objects.order_by("-created", "-pk")
    if params.get("codiceAppalto"):
        appalti = appalti.filter(codice_appalto=params["codiceAppalto"])
    if params.get("cig"):
        appalti = appalti.filter(lots__cig=params["cig"])
    if params.get("lotIdentifier"):
        appalti = appalti.filter(lots__lot_identifier=params["lotIdentifier"])
    for name, lookup in zip(dates, ("created__gte", "created__lte"), strict=True):
        if params.get(name):
            moment = parse_datetime(params[name])
            if moment is None:
                raise Refused(400, ("ERR34", f"{name}: data non valida"))
            appalti = appalti.filter(**{lookup: moment})
    found = []
    for appalto in appalti.distinct():
        settle(appalto)
        appalto.refresh_from_db()
        if not params.get("stato") or appalto.stato == params["stato"]:
            found.append(_appalto_type(appalto))
    return ok(_paginated(found, page, per_page, "Operazione eseguita con successo"))


@endpoint("ComunicaAppalto", "consulta-appalto", methods=("GET",))
@refusals
def consulta_appalto(request, call: SimCall) -> HttpResponse:
    cig = request.GET.get("cig")
    if request.GET.get("idAppalto") or not cig:
        appalto = _appalto(_uuid(request.GET.get("idAppalto"), "ERR26"))
    else:
        lot = SimLot.objects.select_related("appalto").filter(cig=cig).first()
        if lot is None:
            raise Refused(404, "ERR23")
        appalto = _appalto(lot.appalto.id_appalto)
    appalto_body = {"idAppalto": str(appalto.id_appalto), "scheda": _scheda_appalto(appalto)}
    return ok({**_base(), "appalto": appalto_body})


# --- ServiziComuni --------------------------------------------------------------------------


@endpoint("ServiziComuni", "esito-operazione", methods=("GET",))
@refusals
def esito_operazione(request, call: SimCall) -> HttpResponse:
    params = request.GET
    missing = [name for name in ("tipoOperazione", "tipoRicerca") if not params.get(name)]
    if missing:
        raise Refused(400, ("ERR34", f"parametri obbligatori mancanti: {', '.join(missing)}"))
    tipo, ricerca, filtro = params["tipoOperazione"], params["tipoRicerca"], params.get("esito")
    if tipo not in tipologica("tipoOperazione"):
        raise Refused(400, ("ERR63", f"tipoOperazione: {tipo}"))
    if ricerca not in tipologica("tipoRicercaOperazione"):
        raise Refused(400, ("ERR63", f"tipoRicerca: {ricerca}"))
    if filtro and filtro not in tipologica("esito"):
        raise Refused(400, ("ERR63", f"esito: {filtro}"))
    if not params.get("idAppalto") and params.get("idPianificazione"):
        raise Refused(404, "ERR21")  # plans are not simulated
    appalto = _appalto(_uuid(params.get("idAppalto"), "ERR26"))
    now = timezone.now()
    esiti = appalto.esiti.filter(tipo_operazione=tipo).select_related("appalto", "scheda")
    items = [_esito_type(esito, now) for esito in esiti if esito.tipo_operazione in DETTAGLIO]
    if filtro:
        items = [item for item in items if item["esito"]["codice"] == filtro]
    if ricerca == "ULTIMO_ESITO":
        items = items[:1]
    if not items:
        return problem(404, "Not Found", "Nessun esito per i criteri indicati")
    body = _base(detail="Esecuzione avvenuta con successo")
    return ok({**body, "listaEsiti": items})


@endpoint("ServiziComuni", "stato-appalto", methods=("GET",))
@refusals
def stato_appalto(request, call: SimCall) -> HttpResponse:
    params = request.GET
    now = _ts(timezone.now())
    if params.get("idAppalto"):
        appalto = _appalto(_uuid(params["idAppalto"], "ERR26"))
        stato = {
            "idAppalto": str(appalto.id_appalto),
            "dataControllo": now,
            "stato": _tip("statoAppalto", appalto.stato),
        }
    elif params.get("cig"):
        lot = SimLot.objects.select_related("appalto").filter(cig=params["cig"]).first()
        if lot is None:
            raise Refused(404, "ERR23")
        settle(lot.appalto)
        lot.refresh_from_db()
        stato = {"cig": lot.cig, "dataControllo": now, "stato": _tip("statoLotto", lot.stato)}
    elif params.get("idContratto"):
        raise Refused(404, "ERR39")  # contracts are not simulated
    else:
        raise Refused(400, ("ERR34", "indicare idAppalto, cig o idContratto"))
    return ok({**_base(), "esitoStato": stato})


@endpoint("ServiziComuni", "rollback-scheda", methods=("POST",))
@refusals
def rollback_scheda(request, call: SimCall) -> HttpResponse:
    body = _body(call)
    id_scheda = _uuid(body.get("idScheda"), "ERR29")
    motivazione = body.get("motivazione")
    if not isinstance(motivazione, dict) or not motivazione.get("codice"):
        raise Refused(400, "ERR33")
    with transaction.atomic():
        scheda = _scheda(id_scheda)
        scheda = SimScheda.objects.select_for_update().get(pk=scheda.pk)
        if scheda.stato == "ANN":
            raise Refused(400, "ERR148")
        if scheda.stato != "CONF":
            raise Refused(400, "ERR150")
        now = timezone.now()
        scheda.stato = "ANN"
        scheda.modified = now
        scheda.save(update_fields=["stato", "modified"])
        SimEsito.objects.create(
            appalto=scheda.appalto,
            scheda=scheda,
            tipo_operazione="SC_ROLLBACK",
            outcome="OK",
            created=now,
            resolves_at=now,
            applied=True,
        )
    return ok(dict(ACK))


# --- ComunicaPostPubblicazione --------------------------------------------------------------


@endpoint("ComunicaPostPubblicazione", "crea-scheda", methods=("POST",))
@refusals
def crea_scheda(request, call: SimCall) -> HttpResponse:
    body = _body(call)
    id_appalto = _uuid(body.get("idAppalto"), "ERR26")
    scheda = _check_scheda(body.get("scheda"))
    appalto = _appalto(id_appalto)
    if appalto.stato not in CIG_STATES:
        raise Refused(400, "ERR2")
    cig = scheda["body"]["anacForm"].get("cig")
    if cig and not appalto.lots.filter(cig=cig).exists():
        raise Refused(400, "ERR66")
    _refuse_if_scripted(
        "crea-scheda", codice_appalto=appalto.codice_appalto, form=appalto.anac_form
    )
    created = SimScheda.objects.create(
        appalto=appalto,
        codice=str(scheda["codice"]["codice"]),
        versione=str(scheda["versione"]),
        body=scheda["body"],
    )
    body = _base("Operazione Effettuata", "Creazione eseguita con successo")
    return ok({**body, "idScheda": str(created.id_scheda)})


def _scheda_of(body: dict) -> SimScheda:
    id_scheda = _uuid(body.get("idScheda"), "ERR29")
    id_appalto = _uuid(body.get("idAppalto"), "ERR26")
    scheda = _scheda(id_scheda)
    if scheda.appalto.id_appalto != id_appalto:
        raise Refused(400, "ERR57")
    return scheda


@endpoint("ComunicaPostPubblicazione", "conferma-scheda", methods=("POST",))
@refusals
def conferma_scheda(request, call: SimCall) -> HttpResponse:
    with transaction.atomic():
        scheda = _scheda_of(_body(call))
        appalto = SimAppalto.objects.select_for_update().get(pk=scheda.appalto_id)
        if _pending(appalto, "SC_CONF"):
            raise Refused(400, "ERR60")
        if scheda.stato != "IN_LAV":
            raise Refused(400, "ERR58")
        _new_esito(call, appalto=appalto, tipo_operazione="SC_CONF", scheda=scheda)
    return ok(dict(ACK))


@endpoint("ComunicaPostPubblicazione", "cancella-scheda", methods=("POST",))
@refusals
def cancella_scheda(request, call: SimCall) -> HttpResponse:
    body = _body(call)
    _motivo(body)
    with transaction.atomic():
        scheda = _scheda_of(body)
        appalto = SimAppalto.objects.select_for_update().get(pk=scheda.appalto_id)
        if appalto.esiti.filter(scheda=scheda, tipo_operazione="SC_CONF", applied=False).exists():
            raise Refused(400, "ERR60")
        if scheda.stato != "IN_LAV":
            raise Refused(400, "ERR58")
        _refuse_if_scripted(
            "cancella-scheda", codice_appalto=appalto.codice_appalto, form=appalto.anac_form
        )
        scheda.stato = "CANC"
        scheda.modified = timezone.now()
        scheda.save(update_fields=["stato", "modified"])
    return ok(_base("Operazione Effettuata", "Cancellazione eseguita con successo"))


@endpoint("ComunicaPostPubblicazione", "consulta-scheda", methods=("GET",))
@refusals
def consulta_scheda(request, call: SimCall) -> HttpResponse:
    scheda = _scheda(_uuid(request.GET.get("idScheda"), "ERR29"))
    body = {**_scheda_type(scheda), "_dataModifica": _ts(scheda.modified), "body": scheda.body}
    return ok({**_base(), "scheda": body})


@endpoint("ComunicaPostPubblicazione", "ricerca-scheda", methods=("GET",))
@refusals
def ricerca_scheda(request, call: SimCall) -> HttpResponse:
    params = request.GET
    page, per_page = _pagination(request)
    if params.get("idAppalto"):
        appalti = [_appalto(_uuid(params["idAppalto"], "ERR26"))]
    elif params.get("cig"):
        lots = SimLot.objects.select_related("appalto").filter(cig=params["cig"])
        appalti = [lot.appalto for lot in lots]
        for appalto in appalti:
            settle(appalto)
    else:
        raise Refused(400, ("ERR34", "indicare idAppalto o cig"))
    schede = SimScheda.objects.filter(appalto__in=appalti).order_by("-created", "-pk")
    if params.get("codiceScheda"):
        schede = schede.filter(codice=params["codiceScheda"])
    stato = params.get("statoScheda") or params.get("stato")
    if stato:
        schede = schede.filter(stato=stato)
    items = [_scheda_type(scheda) for scheda in schede]
    return ok(_paginated(items, page, per_page, "Operazione eseguita con successo"))


# --- PubblicaAvviso -------------------------------------------------------------------------


@endpoint("PubblicaAvviso", "pubblica-avviso", methods=("POST",))
@refusals
def pubblica_avviso(request, call: SimCall) -> HttpResponse:
    body = _body(call)
    id_avviso = _uuid(body.get("idAvviso"), "ERR28")
    id_appalto = _uuid(body.get("idAppalto"), "ERR26")
    with transaction.atomic():
        appalto = _appalto(id_appalto)
        avviso = SimAvviso.objects.select_for_update().filter(id_avviso=id_avviso).first()
        if avviso is None:
            raise Refused(404, "ERR22")
        if avviso.appalto_id != appalto.pk:
            raise Refused(400, "ERR49")
        if avviso.stato != "CREATO":
            raise Refused(400, "ERR50")
        now = timezone.now()
        avviso.stato = "IN_ATT_PUBB"
        avviso.modified = now
        avviso.save(update_fields=["stato", "modified"])
        SimAppalto.objects.filter(pk=appalto.pk).update(stato="IN_ATT_PUBB", modified=now)
    return ok(dict(ACK))


@endpoint("PubblicaAvviso", "stato-avviso", methods=("GET",))
@refusals
def stato_avviso(request, call: SimCall) -> HttpResponse:
    id_avviso = _uuid(request.GET.get("idAvviso"), "ERR28")
    avviso = SimAvviso.objects.select_related("appalto").filter(id_avviso=id_avviso).first()
    if avviso is None:
        raise Refused(404, "ERR22")
    stato = {
        "idAvviso": str(avviso.id_avviso),
        "idAppalto": str(avviso.appalto.id_appalto),
        "dataControllo": _ts(timezone.now()),
        "stato": _tip("statoAvviso", avviso.stato),
    }
    return ok({**_base(), "statoAvviso": stato})


# --- control API ----------------------------------------------------------------------------


def _fault_json(fault: SimPcpFault) -> dict:
    return {
        "id": fault.pk,
        "operation": fault.operation,
        "codiceAppalto": fault.codice_appalto,
        "codiceCentroCosto": fault.codice_centro_costo,
        "errori": fault.errori,
        "status": fault.http_status,
        "times": fault.remaining,
    }


@csrf_exempt
def control_errors(request):
    if request.method == "POST":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"detail": "JSON non valido"}, status=400)
        if not isinstance(data, dict) or not data.get("operation") or not data.get("errori"):
            return JsonResponse({"detail": "operation ed errori sono obbligatori"}, status=400)
        times = data.get("times")
        try:
            script_error(
                str(data["operation"]),
                *list(data["errori"]),
                codice_appalto=str(data.get("codiceAppalto") or ""),
                codice_centro_costo=str(data.get("codiceCentroCosto") or ""),
                times=int(times) if times is not None else None,
                http_status=int(data.get("status") or 400),
            )
        except (TypeError, ValueError) as exc:
            return JsonResponse({"detail": str(exc)}, status=400)
    return JsonResponse({"errors": [_fault_json(f) for f in SimPcpFault.objects.all()]})


@csrf_exempt
def control_reset(request):
    if request.method != "POST":
        return JsonResponse({"detail": "usare POST"}, status=405)
    SimPcpFault.objects.all().delete()
    return JsonResponse({"errors": []})


#: Mounted by control.py under /anac-sim/_control/ (as the FVOE ones).
control_urlpatterns = [
    path("pcp/errors", control_errors, name="anac-sim-pcp-errors"),
    path("pcp/reset", control_reset, name="anac-sim-pcp-reset"),
]
