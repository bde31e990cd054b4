"""Texts and documents on the pages: A-07 on the receipt (R-PTIM-046), A-17 on a contract
annulled for lapse (R-PTIM-058), the waiver file in "Gestione Rifiuti" and on the contract
page (R-PTIM-099, R-PTIM-121)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ptim import services
from ptim.models import Receipt, Refusal
from tests.factories.kernel import OrganisationFactory, aware, member

from .conftest import PDF, pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def march_2024():
    import time_machine

    with time_machine.travel(aware(2024, 3, 20, 9, 30), tick=True):
        yield


def test_receipt_carries_a07(f0):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    receipt = Receipt.objects.get(contract=c)
    assert receipt.context["a07"] == (
        "Si ricorda, inoltre che, entro i predetti 10 gg., l’operatore deve prendere visione "
        "della documentazione tecnica di progetto ed effettuare il relativo sopralluogo."
    )


def test_expired_booking_page_shows_a17(f0, client_for):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    assert services.expire_bookings(now=aware(2024, 3, 15, 0, 5)) == 1
    page = client_for(f0.p1).get(reverse("ptim:contract-detail", args=[c.pk])).content.decode()
    assert "RIFIUTO INGIUSTIFICATO" in page and "d) procedere alla prenotazione" in page


def test_waiver_file_downloadable_by_the_dt_not_by_strangers(f0, client_for):
    c = f0.book("I-4", "C7754", at=aware(2024, 3, 18, 9, 0))
    services.register_waiver(
        user=f0.p1,
        contract_id=c.pk,
        document=pdf("rinuncia_gamma.pdf"),
        expected_membership_id=f0.ops["D"].pk,
        now=aware(2024, 3, 19, 10),
    )
    refusal = Refusal.objects.get(contract=c)
    url = reverse("ptim:contract-document", args=[c.pk, refusal.waiver_document_id])
    page = client_for(f0.t1).get(reverse("ptim:refusals", args=[f0.ops["C"].pk])).content.decode()
    assert url in page
    r = client_for(f0.t1).get(url)
    assert r.status_code == 200 and b"".join(r.streaming_content) == PDF
    contract_page = client_for(f0.p1).get(reverse("ptim:contract-detail", args=[c.pk]))
    assert url in contract_page.content.decode()
    stranger = member(OrganisationFactory())
    assert client_for(stranger).get(url).status_code == 404
    other = reverse("ptim:contract-document", args=[c.pk, refusal.waiver_document_id + 999])
    assert client_for(f0.t1).get(other).status_code == 404


def test_refusal_page_lists_the_operators_busy_contracts_d44(f0, client_for):
    c325 = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    services.accept_contract(user=f0.p1, contract_id=c325.pk, document=pdf(), now=aware(2024, 3, 5))
    c326 = f0.book("I-6", at=aware(2024, 3, 18, 9, 0))  # A again
    c327 = f0.book("I-5", at=aware(2024, 3, 18, 9, 5))  # A, not accepted: not "busy"
    assert c326.membership == c327.membership == f0.ops["A"]
    services.register_waiver(
        user=f0.p1,
        contract_id=c326.pk,
        document=pdf(),
        expected_membership_id=f0.ops["B"].pk,
        now=aware(2024, 3, 19, 10),
    )
    page = client_for(f0.t1).get(reverse("ptim:refusals", args=[f0.ops["A"].pk])).content.decode()
    busy = page[page.index('data-testid="busy"') :]
    assert "325 – Provveditorato" in busy and "Accettato" in busy
    assert "327 –" not in busy
