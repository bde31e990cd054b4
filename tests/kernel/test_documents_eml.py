"""E-mail messages saved as .eml (a PEC message as the user keeps it): recognised from their
content as message/rfc822, accepted only by the uses that list that type (not globally)."""

from __future__ import annotations

from pathlib import Path

import pytest

from procurement.documents.detection import detect_content_type
from procurement.documents.services import DocumentError, document_upload, document_version_content
from procurement.documents.uses import EML, PDF, PKCS7, DocumentUse, register_use
from tests.factories.documents import upload

pytestmark = pytest.mark.django_db

#: A PEC transport envelope (daticert.xml and postacert.eml inside), as saved by a mail client:
#: its first header is one puremagic does not know (Delivered-To).
PEC_EML = (Path(__file__).parent / "data" / "istanza-annullamento-pec.eml").read_bytes()

REQUEST_BY_PEC = register_use(
    DocumentUse(
        code="test_request_by_pec",
        label="Istanza ricevuta via PEC",
        content_types=frozenset({PDF, PKCS7, EML}),
        max_size=5 * 1024 * 1024,
    )
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload_as(trio, data, *, use, name="istanza.eml"):
    return document_upload(
        user=trio.owner,
        organisation=trio.organisation,
        use=use,
        title="Istanza di annullamento",
        uploaded_file=upload(name, data, "message/rfc822"),
    )


@pytest.mark.parametrize(
    "first_header",
    [
        b"",
        b"Return-Path: <oopp.lombardia@pec.example.it>",
        b"Received: from pec.example.it\r\n\tby mx.example.it",
        b"X-Trasporto: posta-certificata",
        b"MIME-Version: 1.0",
    ],
)
def test_an_eml_is_recognised_whatever_its_first_header(first_header):
    data = (first_header + b"\r\n" if first_header else b"") + PEC_EML
    assert detect_content_type(data) == EML
    assert detect_content_type(data.replace(b"\r\n", b"\n")) == EML  # saved with Unix newlines


@pytest.mark.parametrize(
    "text",
    [
        b"Oggetto: verbale\r\nData: 05/03/2024\r\n\r\nTesto del verbale.\r\n",  # no From/Date
        b"Date: 05/03/2024\r\nFrom: Ufficio\r\nNota senza due punti\r\n\r\ncorpo\r\n",
        b"\r\nDate: 05/03/2024\r\nFrom: Ufficio\r\n\r\ncorpo\r\n",  # no header block first
        b"Date: 05/03/2024\r\nFrom: Ufficio\r\n",  # headers never end
    ],
)
def test_plain_text_with_colons_is_not_an_eml(text):
    assert detect_content_type(text) == "text/plain"


def test_a_use_that_lists_eml_stores_the_pec_message_unchanged(trio):
    version = upload_as(trio, PEC_EML, use="test_request_by_pec")
    assert version.content_type == EML
    assert version.original_name == "istanza.eml"
    assert document_version_content(version=version) == PEC_EML
    assert version.signature_status == "none"


def test_a_use_that_does_not_list_eml_refuses_it_in_italian(trio):
    with pytest.raises(DocumentError) as refused:
        upload_as(trio, PEC_EML, use="generic")
    assert refused.value.code == "type"
    assert "il contenuto del file risulta «messaggio e-mail/PEC (.eml)»" in refused.value.message
