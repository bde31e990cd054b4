"""D-34: the SA's formal request attached to a manual annulment may be the PEC message itself
(.eml), besides PDF and P7M, at most 5 MB."""

from __future__ import annotations

from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from procurement.documents.uses import EML
from ptim.models import Contract, ContractState
from tests.factories.documents import upload
from tests.factories.kernel import aware

pytestmark = [pytest.mark.django_db]

PEC_EML = (
    Path(__file__).parent.parent / "kernel" / "data" / "istanza-annullamento-pec.eml"
).read_bytes()


def test_the_dt_attaches_the_pec_message_and_the_sa_downloads_it(f0, client_for):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    with time_machine.travel(aware(2024, 3, 5, 9, 30), tick=True):
        response = client_for(f0.t1).post(
            reverse("ptim:contract-action", args=[c.pk, "annul"]),
            {
                "reason": "Errato inserimento",
                "request_document": upload("istanza.eml", PEC_EML, "message/rfc822"),
            },
        )
        assert response.status_code == 302
        c = Contract.objects.get(pk=c.pk)
        assert c.state == ContractState.ANNULLED
        assert c.annulment_request_document.current_version.content_type == EML
        url = reverse("ptim:contract-document", args=[c.pk, c.annulment_request_document_id])
        download = client_for(f0.p1).get(url)
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == PEC_EML
