"""Typed client of ANAC's FVOE e-service (Fascicolo Virtuale dell'Operatore Economico).

One method per operation of specs/fvoe-openapi.json used by the platform, all through
`transport.AnacClient.call("FVOE", ...)` (PDND voucher, tracking JWS, AnacTransmission row):

    fvoe = FvoeClient()                                   # or FvoeClient(anac_client)
    ctx = CallContext(actor=rup_actor, business_flow_id=id_appalto, trigger="user",
                      object_label="richiesta FVOE 7")

    ack = fvoe.request_access(ctx=ctx, id_appalto=id_appalto,
                              operator_tax_codes=["01234567897"], start=now, end=None)
    ack.id_richiesta                                      # POST richiesta-accesso-fvoe

    auth = fvoe.verify_access(ctx=ctx, operator_tax_code="01234567897", id_appalto=id_appalto)
    auth.state                                            # AuthorisationState.AUTHORISED ("02")
    auth.access_key                                       # chiaveAccesso ("" unless authorised)

    page = fvoe.search_documents(ctx=ctx, access_key=auth.access_key, page=1, per_page=20)
    for doc in fvoe.iter_documents(ctx=ctx, access_key=auth.access_key): ...
    content = fvoe.retrieve_document(ctx=ctx, id_documento=doc.id_documento)
    content.content, content.file_name, content.content_type, content.sha256

    req = fvoe.request_documents(ctx=ctx, access_key=auth.access_key, type_code="00008")
    status = fvoe.document_request_status(ctx=ctx, id_richiesta=req.id_richiesta)
    [item.state for item in status.items]                 # DocumentRequestState "001".."005"

Operations (GET unless noted): `richiesta-accesso-fvoe` (POST) → request_access;
`verifica-richiesta-accesso-fvoe` → verify_access; `ricerca-documenti-fvoe` → search_documents /
iter_documents; `recupera-documento-fvoe` → retrieve_document; `richiedi-documenti` (POST) →
request_documents; `verifica-stato-richiesta-documento` → document_request_status.

Codes are those of ANAC's code lists (specs/tipologiche): statoAutorizzazione 01–06,
statoRichiestaDocumento 001–005, statoDocumento 1–3, tipoDocumento (e.g. 00008 DURC). A code
outside the list gives `state=None` with the raw `state_code` kept (spec fvoe.md D-FVOE-20: the
caller leaves its state unchanged and alerts operators).

Readings of the official documents (spec fvoe.md §6.2):
* richiesta-accesso-fvoe sends `appalto` only: the model marks `appalto` and `piano` both
  required but describes them as alternatives, and ANAC's worked example sends only `appalto`.
* `contenutoDocumento` is read with both spellings (`nomefile`/`nomeFile`,
  `dimensione`/`size`); `contenuto` is base64.
* verifica-stato-richiesta-documento: `result[]` items are read flat (StatoRichiestaDocumentoType)
  or wrapped in `statoRichiestaDocumento` (the YAML example).
* ricerca-documenti-fvoe answering FVX03 "Documenti non presenti" (400/404) is an empty list.

Errors are those of procurement.anac.errors (Italian descriptions from errori.json):
AnacRejected / AnacNotFound (e.g. 404 FVC04 "Richiesta accesso non trovata" on verify_access),
AnacRateLimited (.retry_after), AnacUnavailable (GET: retry later), AnacUnknownOutcome (POST timed
out or broke: reconcile before resending). A 200 answer without what the operation promises
(no `idRichiesta`, no `autorizzazione`, undecodable content) raises AnacUnknownOutcome for a POST
and AnacUnavailable for a GET, with an Italian message. `is_transient(error)` tells whether the
same call may succeed later (429, 5xx, FVX "Errore Servizio esterno ... Non Disponibile").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import mimetypes
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import models
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import AnacError, AnacRateLimited, AnacRejected, AnacUnavailable, AnacUnknownOutcome
from .specs import description
from .transport import AnacClient, CallContext

ESERVICE = "FVOE"
DEFAULT_PER_PAGE = 20
NO_DOCUMENTS_CODES = {"FVX03"}  # "Documenti non presenti": an empty file, not an error
FAR_END = datetime(2099, 12, 31, tzinfo=UTC)  # ANAC's implicit dataFineAutorizzazione
# "Errore Servizio esterno ... Non Disponibile" (errori.json): ANAC's own back ends are down,
# the same call may succeed later (spec fvoe.md §6.4).
TRANSIENT_CODES = frozenset(
    {f"FVX{n}" for n in (*range(14, 24), 30, 31, 32, 33, 36, 37, 44, 45, 52, 61, 63, 67)}
)


def is_transient(error: AnacError) -> bool:
    """Whether retrying the same call later can succeed: 429, 5xx/connection, or an FVX code
    saying one of ANAC's back ends is unavailable. AnacUnknownOutcome needs reconciliation
    first and is not transient here."""
    if isinstance(error, AnacRateLimited | AnacUnavailable):
        return True
    if isinstance(error, AnacRejected):
        return bool(error.errors) and all(e.codice in TRANSIENT_CODES for e in error.errors)
    return False


class AuthorisationState(models.TextChoices):
    """statoAutorizzazione (tipologiche/statoAutorizzazione.json)."""

    REQUESTED = "01", gettext_lazy("Richiesta")
    AUTHORISED = "02", gettext_lazy("Autorizzata")
    REVOKED = "03", gettext_lazy("Revocata")
    DENIED = "04", gettext_lazy("Negata")
    EXPIRED = "05", gettext_lazy("Scaduta")
    CANCELLED = "06", gettext_lazy("Annullata")


FINAL_AUTHORISATION_STATES = frozenset(
    {
        AuthorisationState.REVOKED,
        AuthorisationState.DENIED,
        AuthorisationState.EXPIRED,
        AuthorisationState.CANCELLED,
    }
)


class DocumentRequestState(models.TextChoices):
    """statoRichiestaDocumento (tipologiche/statoRichiestaDocumento.json)."""

    WAITING = "001", gettext_lazy("In Attesa")
    RECEIVED = "002", gettext_lazy("Richiesta Ricevuta")
    FORWARDED = "003", gettext_lazy("Richiesta Inoltrata")
    ANSWERED = "004", gettext_lazy("Risposta Inoltrata")
    NEGATIVE = "005", gettext_lazy("Esito Negativo Inoltrato")


FINAL_DOCUMENT_REQUEST_STATES = frozenset(
    {DocumentRequestState.ANSWERED, DocumentRequestState.NEGATIVE}
)


class SourceDocumentState(models.TextChoices):
    """statoDocumento (tipologiche/statoDocumento.json)."""

    CREATED = "1", gettext_lazy("Creato")
    UPDATED = "2", gettext_lazy("Aggiornato")
    DELETED = "3", gettext_lazy("Eliminato")


def document_type_label(code: str) -> str:
    """Italian description of a tipoDocumento code ("00008" → "Durc in corso di Validita")."""
    return description("tipoDocumento", code)


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessRequestAck:
    """Answer to richiesta-accesso-fvoe: one idRichiesta for all the operators of the request."""

    id_richiesta: str
    detail: str = ""
    trace_id: str = ""


@dataclass(frozen=True)
class Authorisation:
    """AutorizzazioneAccessoType: the operator's answer for one (appalto, operator) pair."""

    state: AuthorisationState | None  # None: code not in statoAutorizzazione
    state_code: str  # as received, e.g. "02"
    state_label: str  # Italian description
    operator_tax_code: str
    id_appalto: str
    id_autorizzazione: str = ""
    id_richiesta: str = ""  # richiestaAccesso.idRichiesta: which request this answer is for
    valid_from: datetime | None = None  # dataInizio
    valid_to: datetime | None = None  # dataFine
    reason: str = ""  # motivo (of the approval or of the refusal)
    authorizer_tax_code: str = ""  # autorizzante.codiceFiscale
    # chiaveAccesso: present when authorised. A secret: never logged, shown or exported.
    access_key: str = field(default="", repr=False)
    trace_id: str = ""

    @property
    def is_authorised(self) -> bool:
        return self.state == AuthorisationState.AUTHORISED

    @property
    def is_pending(self) -> bool:
        return self.state == AuthorisationState.REQUESTED

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_AUTHORISATION_STATES


@dataclass(frozen=True)
class HistoryEntry:
    """One element of recupera-storico-documento-fvoe (azione: tipologica tipoAzioneDocumento)."""

    id_documento: str
    action_code: str
    action_label: str
    user: str = ""  # utenteCreazione
    at: datetime | None = None  # dataCreazione


@dataclass(frozen=True)
class FascicoloRef:
    """FascicoloType as listed with a document: which file(s) hold it."""

    type_code: str = ""  # tipoFascicolo, e.g. FVC, FVOE
    id_fascicolo: str = ""
    code: str = ""  # codiceFascicolo


@dataclass(frozen=True)
class DocumentInfo:
    """DocumentoType: a document of the operator's file (metadata only)."""

    id_documento: str
    type_code: str  # tipoDocumento, e.g. "00008"
    type_label: str  # from tipologiche/tipoDocumento.json ("" if unknown)
    state: SourceDocumentState | None
    state_code: str
    subject: str = ""  # oggetto
    inserted_at: datetime | None = None  # dataInserimento
    issued_at: datetime | None = None  # dataEmissione
    valid_until: datetime | None = None  # dataFineValidita
    protocol_number: str = ""  # numeroProtocollo
    protocol_date: datetime | None = None  # dataProtocollo
    created_by: str = ""  # utenteCreazione
    created_at: datetime | None = None  # dataCreazione
    additional_data: str = ""  # datiAggiuntivi (JSON text defined by the source)
    fascicoli: tuple[FascicoloRef, ...] = ()

    @property
    def is_deleted(self) -> bool:
        return self.state == SourceDocumentState.DELETED

    @property
    def metadata_sha256(self) -> str:
        """Fingerprint of the fields whose change makes a new version (spec fvoe.md §3.3)."""
        parts = [
            self.state_code,
            _iso(self.inserted_at),
            _iso(self.issued_at),
            _iso(self.valid_until),
            self.protocol_number,
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class DocumentPage:
    """DocumentiListaResponse: one page of the listing."""

    documents: tuple[DocumentInfo, ...]
    total_rows: int
    total_pages: int
    current_page: int
    per_page: int

    @property
    def has_next(self) -> bool:
        return self.current_page < self.total_pages


@dataclass(frozen=True)
class DocumentContent:
    """RecuperaDocumentoResponse: the metadata and the decoded binary of one document."""

    document: DocumentInfo
    file_name: str
    extension: str  # as declared, e.g. "PDF"
    declared_size: int | None  # dimensione / size
    content: bytes = field(repr=False)
    content_type: str = "application/octet-stream"

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def size_matches(self) -> bool:
        """False when ANAC declared a size the decoded content does not have."""
        return self.declared_size is None or self.declared_size == len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class DocumentRequestAck:
    """Answer to richiedi-documenti."""

    id_richiesta: str
    trace_id: str = ""


@dataclass(frozen=True)
class DocumentRequestItem:
    """StatoRichiestaDocumentoType: one subject of a document request and its state."""

    id_richiesta: str
    state: DocumentRequestState | None
    state_code: str  # "001".."005" as received
    state_label: str
    type_code: str
    type_label: str
    operator_tax_code: str = ""
    subject_tax_code: str = ""  # soggetto.codiceFiscale
    id_documento: str = ""  # set with 004 Risposta Inoltrata
    access_key: str = field(default="", repr=False)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_DOCUMENT_REQUEST_STATES

    @property
    def is_available(self) -> bool:
        return self.state == DocumentRequestState.ANSWERED and bool(self.id_documento)


@dataclass(frozen=True)
class DocumentRequestStatus:
    """StatoRichiestaDocumentoResponse: the items of one document request."""

    id_richiesta: str
    items: tuple[DocumentRequestItem, ...]

    @property
    def is_final(self) -> bool:
        return bool(self.items) and all(item.is_final for item in self.items)


# --- client -----------------------------------------------------------------------------------


class FvoeClient:
    """The FVOE operations over one AnacClient (created, and closed with this one, if omitted)."""

    def __init__(self, client: AnacClient | None = None):
        self._owned = client is None
        self.client = client or AnacClient()

    def close(self) -> None:
        if self._owned:
            self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # richiesta-accesso-fvoe (POST, asynchronous)
    def request_access(
        self,
        *,
        ctx: CallContext,
        id_appalto: str,
        operator_tax_codes: Sequence[str],
        start: datetime,
        end: datetime | None = None,
        requester_tax_code: str = "",
        requester_ausa: str = "",
    ) -> AccessRequestAck:
        """Asks the operators for access to their files for the appalto; one idRichiesta."""
        if not operator_tax_codes:
            raise ValueError("operator_tax_codes: at least one operator")
        body: dict = {
            "dataInizioAutorizzazione": _iso(start),
            "operatoriEconomici": [{"codiceFiscale": code} for code in operator_tax_codes],
            "appalto": {"idAppalto": str(id_appalto)},
        }
        if end is not None:
            body["dataFineAutorizzazione"] = _iso(end)
        requester = {}
        if requester_tax_code:
            requester["codiceFiscale"] = requester_tax_code
        if requester_ausa:
            requester["codiceAusa"] = requester_ausa
        if requester:
            body["richiedente"] = requester
        response = self.client.call(ESERVICE, "richiesta-accesso-fvoe", ctx=ctx, json=body)
        payload = _dict(response.body)
        id_richiesta = str(payload.get("idRichiesta") or "")
        if not id_richiesta:
            raise AnacUnknownOutcome(
                _("Risposta di ANAC senza identificativo della richiesta di accesso."),
                status=response.status,
                body=response.body,
            )
        return AccessRequestAck(
            id_richiesta=id_richiesta,
            detail=str(payload.get("detail") or ""),
            trace_id=response.trace_id,
        )

    # verifica-richiesta-accesso-fvoe (GET)
    def verify_access(
        self, *, ctx: CallContext, operator_tax_code: str, id_appalto: str
    ) -> Authorisation:
        """The current state of the operator's authorisation for the appalto."""
        params = {"codiceFiscale": operator_tax_code, "idAppalto": str(id_appalto)}
        response = self.client.call(
            ESERVICE, "verifica-richiesta-accesso-fvoe", ctx=ctx, params=params
        )
        raw = _dict(response.body).get("autorizzazione")
        if not isinstance(raw, dict) or not _code(raw.get("stato")):
            raise AnacUnavailable(
                _("Risposta di ANAC senza stato dell'autorizzazione."),
                status=response.status,
                body=response.body,
            )
        return _authorisation(raw, operator_tax_code, str(id_appalto), response.trace_id)

    # ricerca-documenti-fvoe (GET, paginated)
    def search_documents(
        self,
        *,
        ctx: CallContext,
        access_key: str,
        page: int = 1,
        per_page: int = DEFAULT_PER_PAGE,
        filters: dict | None = None,
    ) -> DocumentPage:
        """One page of the documents of the file opened by `access_key` (chiaveAccesso).

        `filters` are further query parameters of the operation (e.g. {"tipo": "00008"}).
        """
        params = {"chiaveAccesso": access_key, "page": page, "perPage": per_page}
        params.update(filters or {})
        try:
            response = self.client.call(ESERVICE, "ricerca-documenti-fvoe", ctx=ctx, params=params)
        except AnacRejected as exc:
            if {e.codice for e in exc.errors} & NO_DOCUMENTS_CODES:
                return DocumentPage((), 0, 0, page, per_page)
            raise
        payload = _dict(response.body)
        documents = tuple(
            _document(item) for item in payload.get("result") or [] if isinstance(item, dict)
        )
        return DocumentPage(
            documents=documents,
            total_rows=_int(payload.get("totRows"), len(documents)),
            total_pages=_int(payload.get("totPages"), 1 if documents else 0),
            current_page=_int(payload.get("currentPage"), page),
            per_page=_int(payload.get("elementPage"), per_page),
        )

    def iter_documents(
        self, *, ctx: CallContext, access_key: str, per_page: int = DEFAULT_PER_PAGE
    ) -> Iterator[DocumentInfo]:
        """Every document of the file, page after page until currentPage = totPages."""
        page = 1
        while True:
            result = self.search_documents(
                ctx=ctx, access_key=access_key, page=page, per_page=per_page
            )
            yield from result.documents
            if not result.has_next or not result.documents:
                return
            page = result.current_page + 1

    # recupera-documento-fvoe (GET)
    def retrieve_document(self, *, ctx: CallContext, id_documento: str) -> DocumentContent:
        """Metadata and binary content of one document."""
        response = self.client.call(
            ESERVICE, "recupera-documento-fvoe", ctx=ctx, params={"idDocumento": id_documento}
        )
        payload = _dict(response.body)
        raw_doc = payload.get("documento") if isinstance(payload.get("documento"), dict) else {}
        raw_content = payload.get("contenutoDocumento")
        if not isinstance(raw_content, dict):  # the YAML example nests it in documento
            raw_content = raw_doc.get("contenutoDocumento")
        if not isinstance(raw_content, dict) or not raw_content.get("contenuto"):
            raise AnacUnavailable(
                _("Il documento %(id)s restituito da ANAC non ha contenuto.")
                % {"id": id_documento},
                status=response.status,
                body=None,
            )
        try:
            content = base64.b64decode(str(raw_content["contenuto"]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise AnacUnavailable(
                _("Il contenuto del documento %(id)s non è decodificabile (base64).")
                % {"id": id_documento},
                status=response.status,
            ) from exc
        document = _document({"idDocumento": id_documento, **raw_doc})
        file_name = str(raw_content.get("nomefile") or raw_content.get("nomeFile") or "")
        extension = str(raw_content.get("estensione") or "")
        if not file_name:
            file_name = f"{id_documento}.{extension.lower() or 'bin'}"
        size = raw_content.get("dimensione", raw_content.get("size"))
        return DocumentContent(
            document=document,
            file_name=file_name,
            extension=extension,
            declared_size=_int(size, None),
            content=content,
            content_type=_content_type(content, file_name, extension),
        )

    # richiedi-documenti (POST, asynchronous)
    def request_documents(
        self,
        *,
        ctx: CallContext,
        access_key: str,
        type_code: str,
        request_data: dict | None = None,
    ) -> DocumentRequestAck:
        """Asks the certifying body (through ANAC) for a new document of type `type_code`.

        `request_data` is the `datiRichiesta` object of the type's model, with its `type`
        discriminator (e.g. {"type": "DatiSA00899", "tipoDocumentoOE": ..., ...}).
        """
        body: dict = {
            "chiaveAccesso": access_key,
            "tipoDocumento": {"idTipologica": "tipoDocumento", "codice": type_code},
        }
        if request_data:
            body["datiRichiesta"] = request_data
        response = self.client.call(ESERVICE, "richiedi-documenti", ctx=ctx, json=body)
        id_richiesta = str(_dict(response.body).get("idRichiesta") or "")
        if not id_richiesta:
            raise AnacUnknownOutcome(
                _("Risposta di ANAC senza identificativo della richiesta di documento."),
                status=response.status,
                body=response.body,
            )
        return DocumentRequestAck(id_richiesta=id_richiesta, trace_id=response.trace_id)

    # verifica-stato-richiesta-documento (GET)
    def document_request_status(
        self, *, ctx: CallContext, id_richiesta: str
    ) -> DocumentRequestStatus:
        """The state of each subject of a document request (001 → 004 or 005)."""
        response = self.client.call(
            ESERVICE,
            "verifica-stato-richiesta-documento",
            ctx=ctx,
            params={"idRichiesta": str(id_richiesta)},
        )
        items = []
        for raw in _dict(response.body).get("result") or []:
            if isinstance(raw, dict) and isinstance(raw.get("statoRichiestaDocumento"), dict):
                raw = raw["statoRichiestaDocumento"]
            if isinstance(raw, dict):
                items.append(_request_item(raw, str(id_richiesta)))
        return DocumentRequestStatus(id_richiesta=str(id_richiesta), items=tuple(items))

    # recupera-storico-documento-fvoe (GET): displayed, never stored (R-FVOE-055)
    def document_history(self, *, ctx: CallContext, id_documento: str) -> tuple[HistoryEntry, ...]:
        """What happened to a document at ANAC (azione, user and time), oldest first."""
        response = self.client.call(
            ESERVICE,
            "recupera-storico-documento-fvoe",
            ctx=ctx,
            params={"idDocumento": str(id_documento)},
        )
        body = _dict(response.body)
        # The schema names the list `documenti`; the YAML example calls it `result`.
        raw_items = body.get("documenti")
        if raw_items is None:
            raw_items = body.get("result")
        entries = []
        for raw in raw_items or []:
            if not isinstance(raw, dict):
                continue
            code = _code(raw.get("azione"))
            entries.append(
                HistoryEntry(
                    id_documento=str(raw.get("idDocumento") or id_documento),
                    action_code=code,
                    action_label=_action_label(raw.get("azione"), code),
                    user=str(raw.get("utenteCreazione") or ""),
                    at=_datetime(raw.get("dataCreazione")),
                )
            )
        entries.sort(key=lambda e: (e.at is None, e.at or datetime.min.replace(tzinfo=UTC)))
        return tuple(entries)


# --- parsing ----------------------------------------------------------------------------------


def _dict(body) -> dict:
    return body if isinstance(body, dict) else {}


def _code(value) -> str:
    return str(value.get("codice") or "") if isinstance(value, dict) else ""


def _tax_code(value) -> str:
    return str(value.get("codiceFiscale") or "") if isinstance(value, dict) else ""


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _datetime(value) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(str(value))
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _choice(choices, code: str):
    try:
        return choices(code)
    except ValueError:
        return None


# Tipologica tipoAzioneDocumento (npa/docs/modello-dati/tipologiche/tipoAzioneDocumento.json).
DOCUMENT_ACTIONS = {
    "01": "inserito",
    "02": "aggiornato",
    "03": "cancellato",
    "04": "associato al fascicolo",
    "05": "rimosso dal fascicolo",
}


def _action_label(raw, code: str) -> str:
    if isinstance(raw, dict):
        text = raw.get("descrizione")
        if isinstance(text, dict) and (text.get("it") or text.get("en")):
            return str(text.get("it") or text.get("en"))
    return DOCUMENT_ACTIONS.get(code, code)


def _label(raw, tipologica: str, code: str) -> str:
    if isinstance(raw, dict):
        text = raw.get("descrizione")
        if isinstance(text, dict) and (text.get("it") or text.get("en")):
            return str(text.get("it") or text.get("en"))
    return description(tipologica, code)


def _authorisation(raw: dict, operator_tax_code: str, id_appalto: str, trace_id: str):
    code = _code(raw.get("stato"))
    request = raw.get("richiestaAccesso") if isinstance(raw.get("richiestaAccesso"), dict) else {}
    appalto = raw.get("appalto") if isinstance(raw.get("appalto"), dict) else {}
    return Authorisation(
        state=_choice(AuthorisationState, code),
        state_code=code,
        state_label=description("statoAutorizzazione", code)
        or _label(raw.get("stato"), "statoAutorizzazione", code),
        operator_tax_code=_tax_code(raw.get("operatoreEconomico")) or operator_tax_code,
        id_appalto=str(appalto.get("idAppalto") or id_appalto),
        id_autorizzazione=str(raw.get("idAutorizzazione") or ""),
        id_richiesta=str(request.get("idRichiesta") or ""),
        valid_from=_datetime(raw.get("dataInizio")),
        valid_to=_datetime(raw.get("dataFine")),
        reason=str(raw.get("motivo") or ""),
        authorizer_tax_code=_tax_code(raw.get("autorizzante")),
        access_key=str(raw.get("chiaveAccesso") or ""),
        trace_id=trace_id,
    )


def _document(raw: dict) -> DocumentInfo:
    type_code = _code(raw.get("tipo"))
    state_code = _code(raw.get("stato"))
    fascicoli = raw.get("fascicoli") or []
    if isinstance(fascicoli, dict):  # one YAML example gives a single object
        fascicoli = [fascicoli]
    return DocumentInfo(
        id_documento=str(raw.get("idDocumento") or ""),
        type_code=type_code,
        type_label=document_type_label(type_code) or _label(raw.get("tipo"), "tipoDocumento", ""),
        state=_choice(SourceDocumentState, state_code),
        state_code=state_code,
        subject=str(raw.get("oggetto") or ""),
        inserted_at=_datetime(raw.get("dataInserimento")),
        issued_at=_datetime(raw.get("dataEmissione")),
        valid_until=_datetime(raw.get("dataFineValidita")),
        protocol_number=str(raw.get("numeroProtocollo") or ""),
        protocol_date=_datetime(raw.get("dataProtocollo")),
        created_by=str(raw.get("utenteCreazione") or ""),
        created_at=_datetime(raw.get("dataCreazione")),
        additional_data=_text(raw.get("datiAggiuntivi")),
        fascicoli=tuple(
            FascicoloRef(
                type_code=_code(item.get("tipoFascicolo")),
                id_fascicolo=str(item.get("idFascicolo") or ""),
                code=str(item.get("codiceFascicolo") or ""),
            )
            for item in fascicoli
            if isinstance(item, dict)
        ),
    )


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _request_item(raw: dict, id_richiesta: str) -> DocumentRequestItem:
    code = _code(raw.get("stato"))
    type_code = _code(raw.get("tipoDocumento"))
    return DocumentRequestItem(
        id_richiesta=str(raw.get("idRichiesta") or id_richiesta),
        state=_choice(DocumentRequestState, code),
        state_code=code,
        state_label=description("statoRichiestaDocumento", code)
        or _label(raw.get("stato"), "statoRichiestaDocumento", code),
        type_code=type_code,
        type_label=document_type_label(type_code),
        operator_tax_code=_tax_code(raw.get("operatoreEconomico")),
        subject_tax_code=_tax_code(raw.get("soggetto")),
        id_documento=str(raw.get("idDocumento") or ""),
        access_key=str(raw.get("chiaveAccesso") or ""),
    )


def _content_type(content: bytes, file_name: str, extension: str) -> str:
    """From the bytes first (a PDF is a PDF whatever its name), then from the name."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"PK\x03\x04"):
        guessed = mimetypes.guess_type(file_name)[0]
        return guessed or "application/zip"
    if content[:2] == b"\x30\x82":  # DER: CAdES (.p7m) envelope
        return "application/pkcs7-mime"
    guessed = mimetypes.guess_type(file_name)[0]
    if not guessed and extension:
        guessed = mimetypes.guess_type(f"x.{extension.lower()}")[0]
    return guessed or "application/octet-stream"
