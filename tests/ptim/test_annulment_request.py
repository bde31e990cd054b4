"""Manual annulment with the optional copy of the SA's formal request (D-34)."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from procurement.audit.models import AuditEvent
from ptim import services
from ptim.models import Contract, ContractState
from tests.factories.documents import upload
from tests.factories.kernel import aware

from .conftest import PDF, pdf

pytestmark = pytest.mark.django_db


def test_annulment_stores_the_request_and_page_offers_it(f0, client_for):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    with time_machine.travel(aware(2024, 3, 5, 9, 30), tick=True):
        dt = client_for(f0.t1)
        page = dt.get(reverse("ptim:contract-detail", args=[c.pk])).content.decode()
        assert 'name="request_document"' in page
        r = dt.post(
            reverse("ptim:contract-action", args=[c.pk, "annul"]),
            {"reason": "Errato inserimento", "request_document": pdf("istanza.pdf")},
        )
        assert r.status_code == 302
        c = Contract.objects.get(pk=c.pk)
        assert c.state == ContractState.ANNULLED and c.annulment_request_document_id
        event = AuditEvent.objects.filter(action="annullamento contratto").get()
        assert event.payload["request_document"] == c.annulment_request_document_id
        url = reverse("ptim:contract-document", args=[c.pk, c.annulment_request_document_id])
        sa = client_for(f0.p1)
        page = sa.get(reverse("ptim:contract-detail", args=[c.pk])).content.decode()
        assert "Istanza di annullamento della S.A." in page and url in page
        r = sa.get(url)
        assert r.status_code == 200 and b"".join(r.streaming_content) == PDF


def test_annulment_without_request_still_allowed(f0):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    c = services.annul_contract(user=f0.t1, contract_id=c.pk, reason="x", now=aware(2024, 3, 5))
    assert c.state == ContractState.ANNULLED and c.annulment_request_document_id is None


def test_bad_request_file_leaves_the_contract_untouched(f0):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    with pytest.raises(services.PtimError):
        services.annul_contract(
            user=f0.t1,
            contract_id=c.pk,
            reason="x",
            request_document=upload("istanza.txt", b"solo testo", "text/plain"),
            now=aware(2024, 3, 5),
        )
    c = Contract.objects.get(pk=c.pk)
    assert c.state == ContractState.BOOKED and c.annulment_request_document_id is None
    with pytest.raises(services.PtimError):
        services.annul_contract(
            user=f0.t1,
            contract_id=c.pk,
            reason="x",
            request_document=pdf(size=5 * 1024 * 1024 + 10),
            now=aware(2024, 3, 5),
        )
    assert Contract.objects.get(pk=c.pk).state == ContractState.BOOKED
