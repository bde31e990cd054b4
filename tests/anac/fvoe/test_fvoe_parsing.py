"""The client reads the answer shapes the official documents show besides the schemas (the YAML
examples): wrapped `statoRichiestaDocumento` items, `nomeFile`/`size`, codes outside the lists."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from procurement.anac.errors import AnacUnavailable, AnacUnknownOutcome
from procurement.anac.fvoe import DocumentRequestState, FvoeClient
from procurement.anac.identity import Actor
from procurement.anac.transport import AnacResponse, CallContext

CTX = CallContext(actor=Actor(tax_code="RSSMRA80A01D612X"), business_flow_id="x")


class StubAnac:
    def __init__(self, body):
        self.body = body
        self.calls = []

    def call(self, eservice, operation, *, ctx, json=None, params=None, method=None):
        self.calls.append((eservice, operation, json, params))
        return AnacResponse(status=200, body=self.body, headers={}, trace_id="t", jti="j")


def _item(stato, **extra):
    return {
        "chiaveAccesso": "k",
        "operatoreEconomico": {"codiceFiscale": "01234567897"},
        "soggetto": {"codiceFiscale": "RSSCRL67E41C351E"},
        "tipoDocumento": {"codice": "00008"},
        "idRichiesta": "1789c793-bdbe-4e8c-aa7e-4117145c739b",
        "stato": {"codice": stato},
        **extra,
    }


def test_document_request_items_flat_or_wrapped():
    body = {
        "result": [
            {"statoRichiestaDocumento": _item("004", idDocumento="d-1")},  # YAML example shape
            _item("003"),  # StatoRichiestaDocumentoType, as the schema says
        ]
    }
    status = FvoeClient(StubAnac(body)).document_request_status(ctx=CTX, id_richiesta="r")

    first, second = status.items
    assert first.state == DocumentRequestState.ANSWERED and first.id_documento == "d-1"
    assert first.subject_tax_code == "RSSCRL67E41C351E" and first.type_code == "00008"
    assert second.state == DocumentRequestState.FORWARDED and not second.is_final
    assert not status.is_final


def test_a_state_code_outside_the_list_is_kept_raw():
    body = {"autorizzazione": {"stato": {"codice": "09"}, "dataInizio": "2026-01-01T00:00:00Z"}}
    auth = FvoeClient(StubAnac(body)).verify_access(
        ctx=CTX, operator_tax_code="01234567897", id_appalto="a"
    )
    assert auth.state is None and auth.state_code == "09"
    assert not auth.is_authorised and not auth.is_final and not auth.is_pending


def test_content_with_the_example_spelling_nomeFile_and_size():
    pdf = b"%PDF-1.4\n%%EOF\n"
    body = {
        "documento": {"idDocumento": "d", "tipo": {"codice": "00008"}},
        "contenutoDocumento": {
            "nomeFile": "Allegato.pdf",
            "estensione": "PDF",
            "size": len(pdf),
            "contenuto": base64.b64encode(pdf).decode(),
        },
    }
    content = FvoeClient(StubAnac(body)).retrieve_document(ctx=CTX, id_documento="d")
    assert content.file_name == "Allegato.pdf" and content.declared_size == len(pdf)
    assert content.size_matches and content.content_type == "application/pdf"


def test_a_declared_size_that_does_not_match_is_flagged():
    body = {
        "contenutoDocumento": {"dimensione": 99, "contenuto": base64.b64encode(b"abc").decode()}
    }
    content = FvoeClient(StubAnac(body)).retrieve_document(ctx=CTX, id_documento="d")
    assert not content.size_matches and content.file_name == "d.bin"


def test_content_that_is_not_base64_is_unavailable_with_an_italian_message():
    body = {"contenutoDocumento": {"nomefile": "x.pdf", "contenuto": "non è base64!"}}
    with pytest.raises(AnacUnavailable, match="non è decodificabile"):
        FvoeClient(StubAnac(body)).retrieve_document(ctx=CTX, id_documento="d")


def test_an_ack_without_id_richiesta_is_an_unknown_outcome():
    stub = StubAnac({"status": 200, "title": "OK"})
    with pytest.raises(AnacUnknownOutcome, match="senza identificativo"):
        FvoeClient(stub).request_documents(ctx=CTX, access_key="k", type_code="00008")
    with pytest.raises(AnacUnknownOutcome):
        FvoeClient(stub).request_access(
            ctx=CTX,
            id_appalto="a",
            operator_tax_codes=["01234567897"],
            start=datetime(2026, 1, 1, tzinfo=UTC),
        )


def test_the_access_request_body_sends_appalto_only_and_the_requester():
    stub = StubAnac({"idRichiesta": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"})
    FvoeClient(stub).request_access(
        ctx=CTX,
        id_appalto="4f8f5660-87e8-4dbb-b325-17e216f4a519",
        operator_tax_codes=["11111111113", "80140110588"],
        start=datetime(2026, 11, 23, 12, 2, 5, tzinfo=UTC),
        end=datetime(2027, 11, 23, 12, 2, 5, tzinfo=UTC),
        requester_tax_code="01234567897",
        requester_ausa="0000123456",
    )
    [(eservice, operation, body, _params)] = stub.calls
    assert (eservice, operation) == ("FVOE", "richiesta-accesso-fvoe")
    assert body == {
        "dataInizioAutorizzazione": "2026-11-23T12:02:05Z",
        "dataFineAutorizzazione": "2027-11-23T12:02:05Z",
        "operatoriEconomici": [{"codiceFiscale": "11111111113"}, {"codiceFiscale": "80140110588"}],
        "appalto": {"idAppalto": "4f8f5660-87e8-4dbb-b325-17e216f4a519"},
        "richiedente": {"codiceFiscale": "01234567897", "codiceAusa": "0000123456"},
    }


def test_appalto_and_piano_are_read_as_alternatives():
    # The model marks both required; its description and ANAC's example make them alternatives.
    from procurement.anac import conformance

    from .conftest import FVOE_MODEL

    schema = conformance._load_vendored(FVOE_MODEL)["components"]["schemas"]
    access = schema["RichiestaAccessoType"]
    assert "appalto" not in access["required"] and "piano" not in access["required"]
    assert access["anyOf"] == [{"required": ["appalto"]}, {"required": ["piano"]}]


@pytest.mark.parametrize("key", ["documenti", "result"])
def test_document_history_as_the_schema_or_as_the_example_names_it(key):
    # ConsultaStoricoOEResponse declares `documenti`; its YAML example lists them in `result`.
    body = {
        key: [
            {
                "idDocumento": "45353@#sdF",
                "azione": {"codice": "04", "descrizione": {"it": "Aggiunto documento"}},
                "utenteCreazione": "X4578X",
                "dataCreazione": "2015-05-28T14:07:17Z",
            },
            {
                "idDocumento": "45353@#sdF",
                "azione": {"codice": "01"},
                "utenteCreazione": "X4563X",
                "dataCreazione": "2014-02-28T18:07:17Z",
            },
        ]
    }
    stub = StubAnac(body)
    first, second = FvoeClient(stub).document_history(ctx=CTX, id_documento="45353@#sdF")
    assert stub.calls[0][1:] == (
        "recupera-storico-documento-fvoe",
        None,
        {"idDocumento": "45353@#sdF"},
    )
    assert (first.action_code, first.action_label, first.user) == ("01", "inserito", "X4563X")
    assert first.at == datetime(2014, 2, 28, 18, 7, 17, tzinfo=UTC)
    assert (second.action_code, second.action_label) == ("04", "Aggiunto documento")
