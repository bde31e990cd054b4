"""The simulated PCP: appalto, CIG, schede and avvisi operations, with their async outcomes.

Every response is checked against the official OpenAPI document (specs/pcp-openapi.json), whose
data model (modello-dati-npa.yaml, modello-dati-tipologiche.yaml) is looked up next to it or in
the shared copy of ANAC's repository; scheda bodies (schede/*.yaml) are not checked.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
import time_machine
import yaml
from django.conf import settings
from django.db import connection
from jsonschema import Draft4Validator

from procurement.anac.cig import cig_is_valid_pcp
from procurement.anac.simulator.models import SimAppalto, SimCigCounter, SimulatorConfig
from procurement.anac.specs import SPECS_DIR, openapi

CLAIMS = {
    "userCodiceFiscale": "RSSMRA80A01H501U",
    "userRole": "RP",
    "SAcodiceAUSA": "0000123456",
    "regCodicePiattaforma": "0000001",
}
START = datetime(2025, 10, 20, 9, 0, tzinfo=UTC)

# --- OpenAPI conformance ----------------------------------------------------------------------

NPA_URL = "https://raw.githubusercontent.com/anticorruzione/npa/main/docs/modello-dati/"
MODEL_DIRS = [SPECS_DIR, Path("/work/shared/anac/npa/docs/modello-dati")]


@cache
def _document(name: str) -> dict | None:
    if name.endswith(".json"):
        return openapi(name)
    for folder in MODEL_DIRS:
        if (folder / name).exists():
            return yaml.safe_load((folder / name).read_text(encoding="utf-8"))
    return None


def _resolve(node, doc_name: str, depth: int = 0):
    """Inlines $refs and flattens allOf into one object schema.

    allOf + additionalProperties: false (BaseResponse) would refuse every extension of it, so
    the members' properties are merged and the result is closed when any member is closed.
    """
    if depth > 60:
        return {}
    if isinstance(node, list):
        return [_resolve(item, doc_name, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        url, _, pointer = node["$ref"].partition("#")
        name = doc_name
        if url:
            if not url.startswith(NPA_URL) or url[len(NPA_URL) :].startswith("schede/"):
                return {}
            name = url[len(NPA_URL) :]
        document = _document(name)
        if document is None:
            pytest.skip(f"{name} of ANAC's data model is not available")
        target = document
        for part in pointer.strip("/").split("/"):
            target = target[part]
        return _resolve(target, name, depth + 1)
    out = {key: _resolve(value, doc_name, depth + 1) for key, value in node.items()}
    if any(branch == {} for branch in out.get("oneOf", [])):
        del out["oneOf"]  # one of the scheda bodies, which are not checked here
    if "allOf" in out:
        parts = [*out.pop("allOf"), out]
        properties, required = {}, set()
        closed = False
        for part in parts:
            properties.update(part.get("properties", {}))
            required.update(part.get("required", []))
            closed = closed or part.get("additionalProperties") is False
        out = {"type": "object", "properties": properties}
        if required:
            out["required"] = sorted(required)
        if closed:
            out["additionalProperties"] = False
    return out


@cache
def _response_spec(path: str, method: str, status: int) -> dict:
    operation = openapi("pcp-openapi.json")["paths"][path][method]
    return _resolve(operation["responses"][str(status)], "pcp-openapi.json")


def assert_conforms(response, path: str, method: str) -> None:
    spec = _response_spec(path, method, response.status_code)
    content_type = response["Content-Type"].split(";")[0]
    assert content_type in spec["content"], (content_type, list(spec["content"]))
    errors = sorted(
        Draft4Validator(spec["content"][content_type]["schema"]).iter_errors(response.json()),
        key=str,
    )
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


# --- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def sim(db, client, monkeypatch):
    monkeypatch.setattr(
        "procurement.anac.simulator.security.authenticate_call",
        lambda request, *, eservice: dict(CLAIMS),
    )
    return Sim(client)


class Sim:
    def __init__(self, client):
        self.client = client

    @staticmethod
    def configure(**fields):
        config = SimulatorConfig.current()
        for key, value in fields.items():
            setattr(config, key, value)
        config.save()

    def url(self, eservice: str, operation: str) -> str:
        return f"/anac-sim/{settings.ANAC_ESERVICE_PATHS[eservice]}/{operation}"

    def post(self, eservice: str, operation: str, body: dict):
        response = self.client.post(
            self.url(eservice, operation), body, content_type="application/json"
        )
        assert_conforms(response, f"/{operation}", "post")
        return response

    def get(self, eservice: str, operation: str, **params):
        response = self.client.get(self.url(eservice, operation), params)
        assert_conforms(response, f"/{operation}", "get")
        return response

    # the steps of §6.2 and §6.3
    def crea(self, codice="NE-0001", lots=("LOT-0001",), scheda="AD4") -> str:
        response = self.post(
            "ComunicaAppalto", "crea-appalto", {"scheda": ad4(codice, lots, scheda)}
        )
        assert response.status_code == 200, response.json()
        return response.json()["idAppalto"]

    def conferma(self, id_appalto: str):
        return self.post("ComunicaAppalto", "conferma-appalto", {"idAppalto": id_appalto})

    def esiti(self, id_appalto, tipo="AP_CONF", ricerca="ULTIMO_ESITO", **extra):
        return self.get(
            "ServiziComuni",
            "esito-operazione",
            idAppalto=id_appalto,
            tipoOperazione=tipo,
            tipoRicerca=ricerca,
            **extra,
        )

    def esito(self, id_appalto, tipo="AP_CONF") -> dict:
        response = self.esiti(id_appalto, tipo)
        assert response.status_code == 200, response.json()
        return response.json()["listaEsiti"][0]

    def confirmed(self, codice="NE-0001", lots=("LOT-0001",), scheda="AD4") -> str:
        id_appalto = self.crea(codice, lots, scheda)
        assert self.conferma(id_appalto).status_code == 200
        assert self.esito(id_appalto)["esito"]["codice"] == "OK"
        return id_appalto

    def cigs(self, id_appalto) -> dict[str, str]:
        response = self.get("ComunicaAppalto", "recupera-cig", idAppalto=id_appalto)
        assert response.status_code == 200, response.json()
        return {row["lotIdentifier"]: row["cig"] for row in response.json()["result"]}


def ad4(codice: str, lots=("LOT-0001",), scheda="AD4") -> dict:
    key = "lotti" if scheda.startswith("P") else "aggiudicazioni"
    return {
        "codice": {"idTipologica": "codiceScheda", "codice": scheda},
        "versione": "1.0",
        "body": {
            "anacForm": {
                "stazioniAppaltanti": [
                    {
                        "codiceFiscale": "01234567897",
                        "codiceAusa": "0000123456",
                        "codiceCentroCosto": "CDC-01",
                        "saTitolare": True,
                    }
                ],
                "appalto": {
                    "codiceAppalto": codice,
                    "cig": "7154112FF8",
                    "datiBase": {"oggetto": "Proroga adesione Sistema Cloud Toscana"},
                },
                key: [{"lotIdentifier": lot} for lot in lots],
            }
        },
    }


def ann(cig: str) -> dict:
    return {
        "codice": {"idTipologica": "codiceScheda", "codice": "ANN"},
        "versione": "1.0",
        "body": {
            "anacForm": {
                "cig": cig,
                "annullamento": {
                    "motivoAnnullamento": {"idTipologica": "motivoAnnullamento", "codice": "1"}
                },
            }
        },
    }


def codes(response) -> list[str]:
    return [e["codice"] for e in response.json().get("errori", [])]


# --- crea / modifica / cancella appalto -----------------------------------------------------


def test_crea_appalto_returns_the_id_and_keeps_the_caller(sim):
    response = sim.post("ComunicaAppalto", "crea-appalto", {"scheda": ad4("NE-0001")})
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Operazione Effettuata"
    assert body["detail"] == "Creazione eseguita con successo"
    assert response["X-RateLimit-Limit"]
    appalto = SimAppalto.objects.get(id_appalto=body["idAppalto"])
    assert (appalto.stato, appalto.ausa, appalto.user_codice_fiscale) == (
        "IN_LAV",
        "0000123456",
        "RSSMRA80A01H501U",
    )


def test_crea_appalto_refuses_a_codice_appalto_already_present(sim):
    sim.crea("NE-0001")
    response = sim.post("ComunicaAppalto", "crea-appalto", {"scheda": ad4("NE-0001")})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert codes(response) == ["ERR38"]
    assert response.json()["errori"][0]["dettaglio"] == "codiceAppalto già presente"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda body: body.pop("scheda"), "ERR4"),
        (lambda body: body["scheda"].pop("codice"), "ERR30"),
        (lambda body: body["scheda"]["codice"].update(codice="XYZ"), "ERR3"),
        (lambda body: body["scheda"].pop("versione"), "ERR31"),
        (lambda body: body["scheda"].pop("body"), "ERR36"),
        (lambda body: body["scheda"]["body"].update(anacForm=None), "ERR9"),
        (lambda body: body["scheda"]["body"]["anacForm"]["appalto"].pop("codiceAppalto"), "ERR37"),
    ],
)
def test_crea_appalto_checks_the_structure_of_the_scheda(sim, mutate, code):
    body = {"scheda": ad4("NE-0001")}
    mutate(body)
    response = sim.post("ComunicaAppalto", "crea-appalto", body)
    assert response.status_code == 400
    assert codes(response) == [code]
    assert not SimAppalto.objects.exists()


def test_it_rejects_get_on_a_post_operation(sim):
    response = sim.client.get(sim.url("ComunicaAppalto", "crea-appalto"))
    assert response.status_code == 405


def test_modifica_appalto_replaces_the_scheda_while_in_lavorazione(sim):
    id_appalto = sim.crea("NE-0001")
    scheda = ad4("NE-0001", lots=("LOT-0001", "LOT-0002"))
    body = {"idAppalto": id_appalto, "scheda": scheda}
    response = sim.post("ComunicaAppalto", "modifica-appalto", body)
    assert response.status_code == 200
    assert response.json()["idAppalto"] == id_appalto
    assert SimAppalto.objects.get().lot_identifiers() == ["LOT-0001", "LOT-0002"]

    other_code = {"idAppalto": id_appalto, "scheda": ad4("NE-0002")}
    assert codes(sim.post("ComunicaAppalto", "modifica-appalto", other_code)) == ["ERR73"]


def test_modifica_appalto_is_refused_once_confirmed(sim):
    id_appalto = sim.confirmed()
    body = {"idAppalto": id_appalto, "scheda": ad4("NE-0001")}
    response = sim.post("ComunicaAppalto", "modifica-appalto", body)
    assert response.status_code == 400
    assert codes(response) == ["ERR16"]


def test_cancella_appalto(sim):
    id_appalto = sim.crea()
    too_long = {"idAppalto": id_appalto, "motivo": "x" * 201}
    assert sim.post("ComunicaAppalto", "cancella-appalto", too_long).status_code == 400

    body = {"idAppalto": id_appalto, "motivo": "Ordine eliminato"}
    response = sim.post("ComunicaAppalto", "cancella-appalto", body)
    assert response.status_code == 200
    assert response.json()["detail"] == "Cancellazione eseguita con successo"
    assert SimAppalto.objects.get().stato == "CANC"
    assert codes(sim.post("ComunicaAppalto", "cancella-appalto", body)) == ["ERR16"]


def test_unknown_appalto_is_not_found(sim):
    body = {"idAppalto": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}
    response = sim.post("ComunicaAppalto", "conferma-appalto", body)
    assert response.status_code == 404
    assert codes(response) == ["ERR19"]


# --- conferma-appalto and esito-operazione --------------------------------------------------


def test_conferma_appalto_waits_then_assigns_one_cig_per_lot(sim):
    sim.configure(wt_seconds=30)
    with time_machine.travel(START, tick=False) as traveller:
        id_appalto = sim.crea(lots=("LOT-0001", "LOT-0002"))
        response = sim.conferma(id_appalto)
        assert response.status_code == 200
        assert response.json() == {
            "status": 200,
            "title": "OK",
            "detail": "Richiesta acquisita",
            "type": "about:blank",
        }

        waiting = sim.esito(id_appalto)
        assert waiting["esito"] == {"idTipologica": "esito", "codice": "WT"}
        assert waiting["dettaglio"] == {"idTipologica": "esitoOperazione", "codice": "AP_IN_CONF"}
        again = sim.conferma(id_appalto)
        assert again.status_code == 400
        assert codes(again) == ["ERR18"]
        assert codes(sim.get("ComunicaAppalto", "recupera-cig", idAppalto=id_appalto)) == ["ERR16"]

        traveller.shift(31)
        done = sim.esito(id_appalto)
        assert done["esito"]["codice"] == "OK"
        assert done["dettaglio"]["codice"] == "AP_CONF"
        assert done["tipoOperazione"] == {"idTipologica": "tipoOperazione", "codice": "AP_CONF"}
        assert done["idAppalto"] == id_appalto
        assert done["dataControllo"].startswith("2025-10-20T09:00:30")
        assert "errori" not in done

    cigs = sim.cigs(id_appalto)
    assert sorted(cigs) == ["LOT-0001", "LOT-0002"]
    assert all(cig_is_valid_pcp(cig) for cig in cigs.values())
    assert len(set(cigs.values())) == 2

    stato = sim.get("ServiziComuni", "stato-appalto", idAppalto=id_appalto).json()["esitoStato"]
    assert stato["stato"] == {"idTipologica": "statoAppalto", "codice": "CONF"}
    lot = sim.get("ServiziComuni", "stato-appalto", cig=cigs["LOT-0001"]).json()["esitoStato"]
    assert lot["stato"] == {"idTipologica": "statoLotto", "codice": "AGG"}


def test_conferma_appalto_can_end_ko_and_be_retried_after_modifica(sim):
    sim.configure(ko_rate=1.0)
    id_appalto = sim.crea()
    sim.conferma(id_appalto)
    failed = sim.esito(id_appalto)
    assert failed["esito"]["codice"] == "KO"
    assert failed["dettaglio"]["codice"] == "AP_N_CONF"
    assert failed["errori"][0]["idTipologica"] == "errori"
    assert failed["errori"][0]["codice"]
    assert SimAppalto.objects.get().stato == "IN_LAV"

    sim.configure(ko_rate=0.0)
    body = {"idAppalto": id_appalto, "scheda": ad4("NE-0001")}
    assert sim.post("ComunicaAppalto", "modifica-appalto", body).status_code == 200
    assert sim.conferma(id_appalto).status_code == 200

    every = sim.esiti(id_appalto, ricerca="TUTTI_ESITI").json()["listaEsiti"]
    assert [item["esito"]["codice"] for item in every] == ["OK", "KO"]
    only_ko = sim.esiti(id_appalto, ricerca="TUTTI_ESITI", esito="KO").json()["listaEsiti"]
    assert [item["esito"]["codice"] for item in only_ko] == ["KO"]
    assert sim.esito(id_appalto)["esito"]["codice"] == "OK"


def test_conferma_appalto_without_lots_ends_ko(sim):
    id_appalto = sim.crea(lots=())
    sim.conferma(id_appalto)
    failed = sim.esito(id_appalto)
    assert failed["esito"]["codice"] == "KO"
    assert [e["codice"] for e in failed["errori"]] == ["ERR25"]


def test_an_outcome_that_never_resolves_stays_wt(sim):
    sim.configure(never_resolves=True)
    with time_machine.travel(START, tick=False) as traveller:
        id_appalto = sim.crea()
        sim.conferma(id_appalto)
        traveller.shift(30 * 24 * 3600)
        assert sim.esito(id_appalto)["esito"]["codice"] == "WT"
    assert SimAppalto.objects.get().stato == "IN_LAV"


@pytest.mark.parametrize("missing", ["tipoOperazione", "tipoRicerca"])
def test_esito_operazione_requires_tipo_operazione_and_tipo_ricerca(sim, missing):
    id_appalto = sim.crea()
    sim.conferma(id_appalto)
    params = {"idAppalto": id_appalto, "tipoOperazione": "AP_CONF", "tipoRicerca": "TUTTI_ESITI"}
    params.pop(missing)
    response = sim.get("ServiziComuni", "esito-operazione", **params)
    assert response.status_code == 400


def test_esito_operazione_refuses_unknown_codes(sim):
    id_appalto = sim.crea()
    response = sim.esiti(id_appalto, ricerca="PRIMO_ESITO")
    assert response.status_code == 400
    assert codes(response) == ["ERR63"]


def test_esito_operazione_is_404_before_any_conferma(sim):
    id_appalto = sim.crea()
    assert sim.esiti(id_appalto).status_code == 404
    unknown = sim.esiti("f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
    assert unknown.status_code == 404
    assert codes(unknown) == ["ERR19"]


# --- recupera-cig, ricerca, consulta --------------------------------------------------------


def test_recupera_cig_is_paginated(sim):
    id_appalto = sim.confirmed(lots=("LOT-0001", "LOT-0002", "LOT-0003"))
    response = sim.get("ComunicaAppalto", "recupera-cig", idAppalto=id_appalto, page=2, perPage=2)
    body = response.json()
    assert (body["totRows"], body["totPages"], body["currentPage"], body["elementPage"]) == (
        3,
        2,
        2,
        2,
    )
    assert [row["lotIdentifier"] for row in body["result"]] == ["LOT-0003"]

    for params in ({"perPage": 21}, {"page": 0}, {"page": "x"}):
        refused = sim.get("ComunicaAppalto", "recupera-cig", idAppalto=id_appalto, **params)
        assert refused.status_code == 400, params
    assert sim.get("ComunicaAppalto", "recupera-cig").status_code == 400


def test_ricerca_appalto_finds_it_by_codice_appalto(sim):
    id_appalto = sim.confirmed("NE-0042")
    sim.crea("NE-0043")
    response = sim.get("ComunicaAppalto", "ricerca-appalto", codiceAppalto="NE-0042")
    result = response.json()["result"]
    assert [item["idAppalto"] for item in result] == [id_appalto]
    assert result[0]["stato"] == {"idTipologica": "statoAppalto", "codice": "CONF"}
    assert result[0]["lotti"][0]["lotIdentifier"] == "LOT-0001"

    none = sim.get("ComunicaAppalto", "ricerca-appalto", codiceAppalto="NE-9999").json()
    assert none["result"] == []
    assert none["totRows"] == 0
    assert sim.get("ComunicaAppalto", "ricerca-appalto").status_code == 400


def test_consulta_appalto_returns_the_scheda(sim):
    id_appalto = sim.confirmed()
    cig = sim.cigs(id_appalto)["LOT-0001"]
    for params in ({"idAppalto": id_appalto}, {"cig": cig}):
        appalto = sim.get("ComunicaAppalto", "consulta-appalto", **params).json()["appalto"]
        assert appalto["idAppalto"] == id_appalto
        assert appalto["scheda"]["codice"]["codice"] == "AD4"
        assert appalto["scheda"]["_stato"]["codice"] == "CONF"
        assert appalto["scheda"]["body"]["anacForm"]["appalto"]["codiceAppalto"] == "NE-0001"


# --- schede ---------------------------------------------------------------------------------


def test_scheda_ann_is_confirmed_and_cancels_the_lot(sim):
    id_appalto = sim.confirmed()
    sim.configure(wt_seconds=10)
    with time_machine.travel(START, tick=False) as traveller:
        cig = sim.cigs(id_appalto)["LOT-0001"]

        created = sim.post(
            "ComunicaPostPubblicazione",
            "crea-scheda",
            {"idAppalto": id_appalto, "scheda": ann(cig)},
        )
        assert created.status_code == 200
        id_scheda = created.json()["idScheda"]
        ids = {"idScheda": id_scheda, "idAppalto": id_appalto}
        assert sim.post("ComunicaPostPubblicazione", "conferma-scheda", ids).status_code == 200
        assert codes(sim.post("ComunicaPostPubblicazione", "conferma-scheda", ids)) == ["ERR60"]
        assert sim.esito(id_appalto, "SC_CONF")["dettaglio"]["codice"] == "SC_IN_CONF"

        traveller.shift(11)
        done = sim.esito(id_appalto, "SC_CONF")
        assert (done["esito"]["codice"], done["idScheda"], done["codiceScheda"]) == (
            "OK",
            id_scheda,
            "ANN",
        )
        scheda = sim.get("ComunicaPostPubblicazione", "consulta-scheda", idScheda=id_scheda)
        assert scheda.json()["scheda"]["_stato"] == {
            "idTipologica": "statoScheda",
            "codice": "CONF",
        }
        lot = sim.get("ServiziComuni", "stato-appalto", cig=cig).json()["esitoStato"]
        assert lot["stato"]["codice"] == "ANN"

    found = sim.get(
        "ComunicaPostPubblicazione", "ricerca-scheda", idAppalto=id_appalto, codiceScheda="ANN"
    ).json()["result"]
    assert [(item["_idScheda"], item["_stato"]["codice"]) for item in found] == [
        (id_scheda, "CONF")
    ]
    assert codes(sim.post("ComunicaPostPubblicazione", "cancella-scheda", ids)) == ["ERR58"]

    rollback = {"idScheda": id_scheda, "motivazione": {"idTipologica": "x", "codice": "1"}}
    assert sim.post("ServiziComuni", "rollback-scheda", rollback).status_code == 200
    assert codes(sim.post("ServiziComuni", "rollback-scheda", rollback)) == ["ERR148"]


def test_crea_scheda_needs_a_confirmed_appalto_and_its_own_cig(sim):
    draft = sim.crea("NE-0001")
    body = {"idAppalto": draft, "scheda": ann("K00003EC3A")}
    assert codes(sim.post("ComunicaPostPubblicazione", "crea-scheda", body)) == ["ERR2"]

    confirmed = sim.confirmed("NE-0002")
    body = {"idAppalto": confirmed, "scheda": ann("K00003EC3A")}
    assert codes(sim.post("ComunicaPostPubblicazione", "crea-scheda", body)) == ["ERR66"]


def test_cancella_scheda_in_lavorazione(sim):
    id_appalto = sim.confirmed()
    cig = sim.cigs(id_appalto)["LOT-0001"]
    body = {"idAppalto": id_appalto, "scheda": ann(cig)}
    id_scheda = sim.post("ComunicaPostPubblicazione", "crea-scheda", body).json()["idScheda"]
    ids = {"idScheda": id_scheda, "idAppalto": id_appalto, "motivo": "Inviata per errore"}
    other = {**ids, "idAppalto": sim.confirmed("NE-0002")}
    assert codes(sim.post("ComunicaPostPubblicazione", "cancella-scheda", other)) == ["ERR57"]
    response = sim.post("ComunicaPostPubblicazione", "cancella-scheda", ids)
    assert response.status_code == 200
    scheda = sim.get("ComunicaPostPubblicazione", "consulta-scheda", idScheda=id_scheda).json()
    assert scheda["scheda"]["_stato"]["codice"] == "CANC"
    missing = sim.get(
        "ComunicaPostPubblicazione",
        "consulta-scheda",
        idScheda="f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    )
    assert codes(missing) == ["ERR20"]


# --- avvisi ---------------------------------------------------------------------------------


def test_an_indizione_gets_an_avviso_to_publish(sim):
    id_appalto = sim.confirmed("NE-0001", lots=("LOT-0001", "LOT-0002"), scheda="P1_16")
    id_avviso = sim.esito(id_appalto)["idAvviso"]
    body = {"idAvviso": id_avviso, "idAppalto": id_appalto}
    assert sim.post("PubblicaAvviso", "pubblica-avviso", body).status_code == 200
    assert codes(sim.post("PubblicaAvviso", "pubblica-avviso", body)) == ["ERR50"]
    stato = sim.get("PubblicaAvviso", "stato-avviso", idAvviso=id_avviso).json()["statoAvviso"]
    assert stato["stato"] == {"idTipologica": "statoAvviso", "codice": "IN_ATT_PUBB"}
    assert stato["idAppalto"] == id_appalto
    assert len(sim.cigs(id_appalto)) == 2  # recupera-cig still answers while IN_ATT_PUBB


def test_an_ad4_has_no_avviso(sim):
    id_appalto = sim.confirmed()
    assert "idAvviso" not in sim.esito(id_appalto)
    body = {"idAvviso": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "idAppalto": id_appalto}
    assert codes(sim.post("PubblicaAvviso", "pubblica-avviso", body)) == ["ERR22"]


# --- CIG progressive --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmations_never_share_a_cig():
    results: list[list[str]] = []

    def take():
        try:
            results.append(SimCigCounter.next_cigs(5))
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [cig for batch in results for cig in batch]
    assert len(every) == 30
    assert len(set(every)) == 30
    assert all(cig_is_valid_pcp(cig) for cig in every)
