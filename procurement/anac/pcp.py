"""Typed PCP operations (ComunicaAppalto, ServiziComuni, ComunicaPostPubblicazione, PubblicaAvviso).

One method per operation of ANAC's OpenAPI document, on top of ``AnacClient.call`` (which signs,
logs and raises the errors of ``procurement.anac.errors``)::

    pcp = PcpClient(client)               # client: an AnacClient
    created = pcp.crea_appalto(ctx, scheda)           # -> CreatedAppalto(id_appalto, ...)
    pcp.conferma_appalto(ctx, id_appalto)             # -> Ack
    esiti = pcp.esito_operazione(ctx, id_appalto=..., tipo_operazione="AP_CONF")  # [Esito]
    cigs = pcp.recupera_cig(ctx, id_appalto)          # every page, [CigItem]

Results are small frozen dataclasses; the raw body stays available as ``.raw`` where useful.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.dateparse import parse_datetime

from .errors import AnacErrorItem, error_items
from .transport import AnacClient, AnacResponse, CallContext

APPALTO = "ComunicaAppalto"
COMUNI = "ServiziComuni"
SCHEDE = "ComunicaPostPubblicazione"
AVVISI = "PubblicaAvviso"
PER_PAGE = 20
ULTIMO_ESITO = "ULTIMO_ESITO"
TUTTI_ESITI = "TUTTI_ESITI"


def _code(value) -> str:
    """The `codice` of a tipologica object ({idTipologica, codice}) or a plain string."""
    if isinstance(value, dict):
        return str(value.get("codice") or "")
    return str(value or "")


def _when(value) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Ack:
    """`Richiesta acquisita`: an asynchronous operation was accepted."""

    status: int
    title: str
    detail: str


@dataclass(frozen=True)
class CreatedAppalto:
    id_appalto: str
    detail: str = ""


@dataclass(frozen=True)
class Esito:
    """One item of esito-operazione's listaEsiti (EsitoOperazioneType)."""

    codice: str  # OK | KO | WT
    dettaglio: str  # AP_CONF | AP_IN_CONF | AP_N_CONF | SC_CONF | ...
    data_controllo: datetime | None
    id_appalto: str = ""
    id_scheda: str = ""
    codice_scheda: str = ""
    id_avviso: str = ""
    tipo_operazione: str = ""
    errori: tuple[AnacErrorItem, ...] = ()

    @classmethod
    def parse(cls, item: dict) -> Esito:
        return cls(
            codice=_code(item.get("esito")),
            dettaglio=_code(item.get("dettaglio")),
            data_controllo=_when(item.get("dataControllo")),
            id_appalto=str(item.get("idAppalto") or ""),
            id_scheda=str(item.get("idScheda") or ""),
            codice_scheda=str(item.get("codiceScheda") or ""),
            id_avviso=str(item.get("idAvviso") or ""),
            tipo_operazione=_code(item.get("tipoOperazione")),
            errori=tuple(error_items(item)),
        )


@dataclass(frozen=True)
class CigItem:
    cig: str
    lot_identifier: str


@dataclass(frozen=True)
class AppaltoSummary:
    """AppaltoType of ricerca-appalto."""

    id_appalto: str
    codice_appalto: str
    stato: str
    lotti: tuple[tuple[str, str, str], ...] = ()  # (cig, lotIdentifier, stato)


@dataclass(frozen=True)
class SchedaSummary:
    """SchedaType of ricerca-scheda / consulta-scheda."""

    id_scheda: str
    codice: str
    stato: str
    created: datetime | None = None
    body: dict = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, item: dict) -> SchedaSummary:
        return cls(
            id_scheda=str(item.get("_idScheda") or ""),
            codice=_code(item.get("codice")),
            stato=_code(item.get("_stato")),
            created=_when(item.get("_dataCreazione")),
            body=item.get("body") or {},
        )


@dataclass(frozen=True)
class Stato:
    """esitoStato of stato-appalto / statoAvviso of stato-avviso."""

    stato: str
    data_controllo: datetime | None
    id_appalto: str = ""
    cig: str = ""
    id_avviso: str = ""


class PcpClient:
    """The PCP operations. Every method takes the CallContext of the user action first."""

    def __init__(self, client: AnacClient):
        self.client = client

    def _post(self, eservice: str, operation: str, ctx: CallContext, body: dict) -> AnacResponse:
        return self.client.call(eservice, operation, ctx=ctx, json=body)

    def _get(self, eservice: str, operation: str, ctx: CallContext, params: dict) -> AnacResponse:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return self.client.call(eservice, operation, ctx=ctx, params=clean, method="GET")

    @staticmethod
    def _ack(response: AnacResponse) -> Ack:
        body = response.body if isinstance(response.body, dict) else {}
        return Ack(
            status=int(body.get("status") or response.status),
            title=str(body.get("title") or ""),
            detail=str(body.get("detail") or ""),
        )

    # --- ComunicaAppalto ------------------------------------------------------------------

    def crea_appalto(self, ctx: CallContext, scheda: dict) -> CreatedAppalto:
        response = self._post(APPALTO, "crea-appalto", ctx, {"scheda": scheda})
        return CreatedAppalto(str(response.body["idAppalto"]), str(response.body.get("detail")))

    def modifica_appalto(self, ctx: CallContext, id_appalto: str, scheda: dict) -> CreatedAppalto:
        body = {"idAppalto": str(id_appalto), "scheda": scheda}
        response = self._post(APPALTO, "modifica-appalto", ctx, body)
        return CreatedAppalto(
            str(response.body.get("idAppalto") or id_appalto), str(response.body.get("detail"))
        )

    def cancella_appalto(self, ctx: CallContext, id_appalto: str, motivo: str) -> Ack:
        body = {"idAppalto": str(id_appalto), "motivo": motivo[:200]}
        return self._ack(self._post(APPALTO, "cancella-appalto", ctx, body))

    def conferma_appalto(self, ctx: CallContext, id_appalto: str) -> Ack:
        return self._ack(
            self._post(APPALTO, "conferma-appalto", ctx, {"idAppalto": str(id_appalto)})
        )

    def recupera_cig(self, ctx: CallContext, id_appalto: str) -> list[CigItem]:
        """Every page of recupera-cig (20 per page)."""
        items: list[CigItem] = []
        page = 1
        while True:
            params = {"idAppalto": str(id_appalto), "page": page, "perPage": PER_PAGE}
            body = self._get(APPALTO, "recupera-cig", ctx, params).body
            for row in body.get("result") or []:
                items.append(CigItem(str(row.get("cig") or ""), str(row.get("lotIdentifier"))))
            total_pages = int(body.get("totPages") or 0)
            if page >= total_pages or not body.get("result"):
                return items
            page += 1

    def ricerca_appalto(
        self, ctx: CallContext, *, codice_appalto: str = "", cig: str = "", stato: str = ""
    ) -> list[AppaltoSummary]:
        params = {"codiceAppalto": codice_appalto, "cig": cig, "stato": stato}
        body = self._get(APPALTO, "ricerca-appalto", ctx, params).body
        return [
            AppaltoSummary(
                id_appalto=str(row.get("idAppalto") or ""),
                codice_appalto=str(row.get("codiceAppalto") or ""),
                stato=_code(row.get("stato")),
                lotti=tuple(
                    (
                        str(lot.get("cig") or ""),
                        str(lot.get("lotIdentifier") or ""),
                        _code(lot.get("stato")),
                    )
                    for lot in row.get("lotti") or []
                ),
            )
            for row in body.get("result") or []
        ]

    def consulta_appalto(self, ctx: CallContext, *, id_appalto: str = "", cig: str = "") -> dict:
        params = {"idAppalto": str(id_appalto or ""), "cig": cig}
        return self._get(APPALTO, "consulta-appalto", ctx, params).body.get("appalto") or {}

    # --- ServiziComuni --------------------------------------------------------------------

    def esito_operazione(
        self,
        ctx: CallContext,
        *,
        id_appalto: str,
        tipo_operazione: str,
        tipo_ricerca: str = ULTIMO_ESITO,
        esito: str = "",
    ) -> list[Esito]:
        params = {
            "idAppalto": str(id_appalto),
            "tipoOperazione": tipo_operazione,
            "tipoRicerca": tipo_ricerca,
            "esito": esito,
        }
        body = self._get(COMUNI, "esito-operazione", ctx, params).body
        return [Esito.parse(item) for item in body.get("listaEsiti") or []]

    def stato_appalto(
        self, ctx: CallContext, *, id_appalto: str = "", cig: str = "", id_contratto: str = ""
    ) -> Stato:
        params = {"idAppalto": str(id_appalto or ""), "cig": cig, "idContratto": id_contratto}
        stato = self._get(COMUNI, "stato-appalto", ctx, params).body.get("esitoStato") or {}
        return Stato(
            stato=_code(stato.get("stato")),
            data_controllo=_when(stato.get("dataControllo")),
            id_appalto=str(stato.get("idAppalto") or ""),
            cig=str(stato.get("cig") or ""),
        )

    def rollback_scheda(self, ctx: CallContext, id_scheda: str, motivazione: str) -> Ack:
        body = {
            "idScheda": str(id_scheda),
            "motivazione": {
                "idTipologica": "motivoAnnullamentoComunicazione",
                "codice": motivazione,
            },
        }
        return self._ack(self._post(COMUNI, "rollback-scheda", ctx, body))

    # --- ComunicaPostPubblicazione --------------------------------------------------------

    def crea_scheda(self, ctx: CallContext, id_appalto: str, scheda: dict) -> str:
        body = {"idAppalto": str(id_appalto), "scheda": scheda}
        return str(self._post(SCHEDE, "crea-scheda", ctx, body).body["idScheda"])

    def conferma_scheda(self, ctx: CallContext, id_appalto: str, id_scheda: str) -> Ack:
        body = {"idAppalto": str(id_appalto), "idScheda": str(id_scheda)}
        return self._ack(self._post(SCHEDE, "conferma-scheda", ctx, body))

    def cancella_scheda(
        self, ctx: CallContext, id_appalto: str, id_scheda: str, motivo: str = ""
    ) -> Ack:
        body = {"idAppalto": str(id_appalto), "idScheda": str(id_scheda)}
        if motivo:
            body["motivo"] = motivo[:200]
        return self._ack(self._post(SCHEDE, "cancella-scheda", ctx, body))

    def consulta_scheda(self, ctx: CallContext, id_scheda: str) -> SchedaSummary:
        body = self._get(SCHEDE, "consulta-scheda", ctx, {"idScheda": str(id_scheda)}).body
        return SchedaSummary.parse(body.get("scheda") or {})

    def ricerca_scheda(
        self, ctx: CallContext, *, id_appalto: str = "", cig: str = "", codice_scheda: str = ""
    ) -> list[SchedaSummary]:
        params = {"idAppalto": str(id_appalto or ""), "cig": cig, "codiceScheda": codice_scheda}
        body = self._get(SCHEDE, "ricerca-scheda", ctx, params).body
        return [SchedaSummary.parse(row) for row in body.get("result") or []]

    # --- PubblicaAvviso -------------------------------------------------------------------

    def pubblica_avviso(self, ctx: CallContext, id_appalto: str, id_avviso: str) -> Ack:
        body = {"idAppalto": str(id_appalto), "idAvviso": str(id_avviso)}
        return self._ack(self._post(AVVISI, "pubblica-avviso", ctx, body))

    def stato_avviso(self, ctx: CallContext, id_avviso: str) -> Stato:
        body = self._get(AVVISI, "stato-avviso", ctx, {"idAvviso": str(id_avviso)}).body
        stato = body.get("statoAvviso") or {}
        return Stato(
            stato=_code(stato.get("stato")),
            data_controllo=_when(stato.get("dataControllo")),
            id_appalto=str(stato.get("idAppalto") or ""),
            id_avviso=str(stato.get("idAvviso") or ""),
        )
