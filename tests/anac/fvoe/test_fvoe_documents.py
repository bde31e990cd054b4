"""Documents of an operator's FVOE: listing, retrieval of real PDFs, requests to certifying bodies
(001 → 004 available, or 005 not available), faults (429, 5xx)."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import httpx
import pytest
import time_machine
from django.utils import timezone
from pyhanko.pdf_utils.reader import PdfFileReader

from procurement.anac.errors import (
    AnacRateLimited,
    AnacRejected,
    AnacUnavailable,
    AnacUnknownOutcome,
)
from procurement.anac.fvoe import DocumentRequestState, SourceDocumentState, is_transient
from procurement.anac.models import AnacTransmission, TransmissionOutcome
from procurement.anac.simulator.fvoe_views import add_document, operator_answer, script_operator
from procurement.anac.simulator.models import SimulatorConfig
from procurement.anac.transport import CallContext

from .conftest import RUP

pytestmark = pytest.mark.django_db(transaction=True)

OE = "01234567897"


def configure(**fields):
    config = SimulatorConfig.current()
    for key, value in fields.items():
        setattr(config, key, value)
    config.save()


@pytest.fixture
def opened(fvoe):
    """An appalto whose operator OE has authorised access: (ctx, access key)."""
    id_appalto = str(uuid.uuid4())
    ctx = CallContext(actor=RUP, business_flow_id=id_appalto)
    fvoe.request_access(
        ctx=ctx, id_appalto=id_appalto, operator_tax_codes=[OE], start=timezone.now()
    )
    operator_answer("autorizza", id_appalto=id_appalto, tax_code=OE)
    auth = fvoe.verify_access(ctx=ctx, operator_tax_code=OE, id_appalto=id_appalto)
    assert auth.is_authorised
    return ctx, auth.access_key


def test_listing_gives_the_documents_with_their_ANAC_types(fvoe, opened):
    ctx, key = opened

    page = fvoe.search_documents(ctx=ctx, access_key=key)

    assert (page.total_rows, page.total_pages, page.current_page) == (3, 1, 1)
    by_type = {doc.type_code: doc for doc in page.documents}
    assert set(by_type) == {"00008", "00033", "00034"}
    assert by_type["00008"].type_label == "Durc in corso di Validita"
    assert by_type["00034"].type_label == "Visura al registro delle imprese"
    durc = by_type["00008"]
    assert durc.state == SourceDocumentState.CREATED and not durc.is_deleted
    assert durc.inserted_at and durc.valid_until and durc.protocol_number
    assert durc.fascicoli[0].type_code == "FVC"
    assert durc.fascicoli[0].code.startswith(f"{OE}|")
    assert len(durc.metadata_sha256) == 64


def test_listing_walks_every_page(fvoe, opened):
    ctx, key = opened
    add_document(OE, "00021")
    add_document(OE, "00042", stato="3")

    first = fvoe.search_documents(ctx=ctx, access_key=key, page=1, per_page=2)
    every = list(fvoe.iter_documents(ctx=ctx, access_key=key, per_page=2))

    assert (first.total_rows, first.total_pages, first.has_next) == (5, 3, True)
    assert len(every) == 5 and len({doc.id_documento for doc in every}) == 5
    deleted = [doc for doc in every if doc.is_deleted]
    assert [doc.type_code for doc in deleted] == ["00042"]
    operations = AnacTransmission.objects.values_list("operation", flat=True)
    assert list(operations).count("ricerca-documenti-fvoe") == 4  # 1 + 3 pages


def test_retrieved_documents_are_real_pdfs(fvoe, opened):
    ctx, key = opened
    [doc, *_rest] = fvoe.search_documents(ctx=ctx, access_key=key).documents

    content = fvoe.retrieve_document(ctx=ctx, id_documento=doc.id_documento)

    assert content.content_type == "application/pdf"
    assert content.file_name.endswith(".pdf") and content.extension == "PDF"
    assert content.size_matches and content.declared_size == content.size > 500
    assert content.content.startswith(b"%PDF-")
    reader = PdfFileReader(io.BytesIO(content.content), strict=True)
    assert reader.root["/Pages"]["/Count"] >= 1
    assert content.document.id_documento == doc.id_documento
    assert content.document.type_code == doc.type_code
    assert len(content.sha256) == 64
    # The same document twice is the same file.
    again = fvoe.retrieve_document(ctx=ctx, id_documento=doc.id_documento)
    assert again.sha256 == content.sha256
    # The transmission log never keeps the access key nor the file: size and SHA-256 only.
    logged = " ".join(
        str(row.request_body) + str(row.response_body) for row in AnacTransmission.objects.all()
    )
    assert key not in logged and "JVBERi0" not in logged  # base64 of "%PDF-"
    assert "'base64_chars'" in logged and "***" in logged


def test_an_empty_file_is_an_empty_list(fvoe):
    script_operator(OE, "approve", document_types=[])
    id_appalto = str(uuid.uuid4())
    ctx = CallContext(actor=RUP, business_flow_id=id_appalto)
    fvoe.request_access(
        ctx=ctx, id_appalto=id_appalto, operator_tax_codes=[OE], start=timezone.now()
    )
    key = fvoe.verify_access(ctx=ctx, operator_tax_code=OE, id_appalto=id_appalto).access_key

    page = fvoe.search_documents(ctx=ctx, access_key=key)

    assert page.documents == () and page.total_rows == 0 and not page.has_next
    assert AnacTransmission.objects.latest("id").errors[0]["codice"] == "FVX03"


def test_an_unknown_document_is_fvx01(fvoe, opened):
    ctx, _key = opened
    with pytest.raises(AnacRejected) as missing:
        fvoe.retrieve_document(ctx=ctx, id_documento=str(uuid.uuid4()))
    assert missing.value.errors[0].codice == "FVX01"
    assert missing.value.errors[0].descrizione == "Documento non presente"


def test_document_request_moves_001_to_004_and_the_document_is_retrievable(fvoe, opened):
    ctx, key = opened
    ack = fvoe.request_documents(ctx=ctx, access_key=key, type_code="00008")
    start = timezone.now()

    states = []
    for seconds in (0, 61, 121):
        with time_machine.travel(start + timedelta(seconds=seconds), tick=True):
            status = fvoe.document_request_status(ctx=ctx, id_richiesta=ack.id_richiesta)
            states.append(status.items[0].state)
            assert not status.is_final and status.items[0].id_documento == ""
    with time_machine.travel(start + timedelta(seconds=181), tick=True):
        done = fvoe.document_request_status(ctx=ctx, id_richiesta=ack.id_richiesta)
        [item] = done.items
        content = fvoe.retrieve_document(ctx=ctx, id_documento=item.id_documento)
        listed = fvoe.search_documents(ctx=ctx, access_key=key, filters={"tipo": "00008"})

    assert states == [
        DocumentRequestState.WAITING,
        DocumentRequestState.RECEIVED,
        DocumentRequestState.FORWARDED,
    ]
    assert done.is_final and item.is_available
    assert item.state == DocumentRequestState.ANSWERED and item.state_label == "Risposta Inoltrata"
    assert item.type_code == "00008" and item.operator_tax_code == OE
    assert item.subject_tax_code == OE and item.id_richiesta == ack.id_richiesta
    assert content.content.startswith(b"%PDF-") and content.document.type_code == "00008"
    assert item.id_documento in {doc.id_documento for doc in listed.documents}


def test_document_request_ends_005_when_the_body_has_nothing(fvoe, opened):
    ctx, key = opened
    script_operator(OE, "manual", negative_types=["00021"])
    ack = fvoe.request_documents(ctx=ctx, access_key=key, type_code="00021")

    with time_machine.travel(timezone.now() + timedelta(minutes=4), tick=True):
        status = fvoe.document_request_status(ctx=ctx, id_richiesta=ack.id_richiesta)

    [item] = status.items
    assert item.state == DocumentRequestState.NEGATIVE and item.is_final
    assert not item.is_available and item.id_documento == ""
    assert item.state_label == "Esito Negativo Inoltrato"


def test_document_request_with_request_data_one_item_per_subject(fvoe, opened):
    ctx, key = opened
    person = {
        "DatiNominativo": {
            "Nome": "Mario",
            "Cognome": "Rossi",
            "Sesso": "M",
            "CF": "RSSMRA80A01H501U",
            "DatiNascita": {
                "Giorno": "01",
                "Mese": "01",
                "Anno": "1980",
                "CodiceCatastoStato": "Z000",
                "CodiceCatastoComuneItaliano": "H501",
            },
        },
        "AltriDati": {"LinguaTedesca": False},
    }
    data = {"type": "DatiSA00004", "datiSoggetti": [person]}
    ack = fvoe.request_documents(ctx=ctx, access_key=key, type_code="00004", request_data=data)

    status = fvoe.document_request_status(ctx=ctx, id_richiesta=ack.id_richiesta)

    assert [item.subject_tax_code for item in status.items] == ["RSSMRA80A01H501U"]
    assert status.items[0].type_label == "Certificato integrale del casellario giudiziario"


def test_a_second_identical_pending_document_request_is_fvc05(fvoe, opened):
    ctx, key = opened
    fvoe.request_documents(ctx=ctx, access_key=key, type_code="00033")

    with pytest.raises(AnacRejected) as refused:
        fvoe.request_documents(ctx=ctx, access_key=key, type_code="00033")

    assert refused.value.errors[0].codice == "FVC05"
    assert refused.value.errors[0].descrizione.startswith("Richiesta Respinta")


def test_a_type_that_needs_request_data_without_it_is_fvx57(fvoe, opened):
    ctx, key = opened
    with pytest.raises(AnacRejected) as refused:
        fvoe.request_documents(ctx=ctx, access_key=key, type_code="00899")
    assert refused.value.errors[0].codice == "FVX57"


def test_a_429_is_honoured_with_its_retry_after(fvoe, opened, anac_live):
    ctx, key = opened
    response = httpx.post(
        f"{anac_live}/_control/config", json={"rate_429": 1.0, "retry_after_s": 9}
    )
    assert response.status_code == 200

    with pytest.raises(AnacRateLimited) as limited:
        fvoe.search_documents(ctx=ctx, access_key=key)

    assert limited.value.retry_after == 9 and not limited.value.final
    row = AnacTransmission.objects.latest("id")
    assert row.outcome == TransmissionOutcome.RATE_LIMITED and row.retry_after == 9


def test_5xx_is_unavailable_on_a_get_and_an_unknown_outcome_on_a_post(fvoe, opened):
    ctx, key = opened
    configure(rate_5xx=1.0)

    with pytest.raises(AnacUnavailable):
        fvoe.search_documents(ctx=ctx, access_key=key)
    with pytest.raises(AnacUnknownOutcome):
        fvoe.request_documents(ctx=ctx, access_key=key, type_code="00008")

    operations = list(
        AnacTransmission.objects.filter(http_status=503).values_list("operation", flat=True)
    )
    assert operations.count("ricerca-documenti-fvoe") == 4  # a GET is retried 3 times
    assert operations.count("richiedi-documenti") == 1  # a POST never blindly


def test_latency_is_applied(fvoe, opened):
    ctx, key = opened
    configure(latency_ms=300)

    fvoe.search_documents(ctx=ctx, access_key=key)

    assert AnacTransmission.objects.latest("id").duration_ms >= 300


def test_retrieval_faults_of_a_document(fvoe, opened):
    ctx, _key = opened
    down = add_document(OE, "00021", fault="FVX21")
    wrong_size = add_document(OE, "00042", fault="size")

    with pytest.raises(AnacRejected) as refused:
        fvoe.retrieve_document(ctx=ctx, id_documento=str(down.id_documento))
    content = fvoe.retrieve_document(ctx=ctx, id_documento=str(wrong_size.id_documento))

    assert refused.value.errors[0].codice == "FVX21" and is_transient(refused.value)
    assert not content.size_matches and content.content.startswith(b"%PDF-")


def test_which_errors_are_transient(fvoe, opened):
    ctx, _key = opened
    with pytest.raises(AnacRejected) as missing:
        fvoe.retrieve_document(ctx=ctx, id_documento=str(uuid.uuid4()))
    assert not is_transient(missing.value)  # FVX01: retrying changes nothing
    assert is_transient(AnacRateLimited("limite", retry_after=1))
    assert is_transient(AnacUnavailable("giù"))
    assert not is_transient(AnacUnknownOutcome("?"))
