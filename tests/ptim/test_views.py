"""The pages: insertion in three steps, contract page operations, permissions, search."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from ptim.models import Contract, ContractState
from tests.factories.kernel import aware

from .conftest import pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def march_2024():
    import time_machine

    with time_machine.travel(aware(2024, 3, 4, 9, 30), tick=True):
        yield


def _post_data(f0, **over):
    d = f0.data("I-1")
    d = {k: ("on" if v is True else ("" if v is None else str(v))) for k, v in d.items()}
    d["works_amount"] = "100.000,00"
    d["safety_costs"] = "5.000,00"
    d["og1_amount"] = "105000"
    d.update(over)
    return d


def test_insertion_three_steps_books_the_designated_operator(f0, client_for):
    client = client_for(f0.p1)
    url = reverse("ptim:contract-create")
    assert client.get(url).status_code == 200
    r = client.post(url, {**_post_data(f0), "step": "avanti"})
    assert r.status_code == 200 and "Alfa Costruzioni S.r.l." in r.content.decode()
    assert "85.000,00" in r.content.decode()
    r = client.post(url, {**_post_data(f0), "step": "salva"})
    assert r.status_code == 200 and "Conferma dati" in r.content.decode()
    assert not Contract.objects.exists()
    r = client.post(
        url, {**_post_data(f0), "step": "conferma", "expected_membership": f0.ops["A"].pk}
    )
    contract = Contract.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse(
        "ptim:contract-detail", args=[contract.pk]
    )
    page = client.get(r["Location"]).content.decode()
    assert "Accettazione contratto" in page and "Rinuncia impresa" in page
    assert "Annulla contratto" not in page  # SA users cannot annul


def test_insertion_shows_field_errors_and_a10(f0, client_for):
    client = client_for(f0.p1)
    url = reverse("ptim:contract-create")
    r = client.post(url, {**_post_data(f0, og11_amount=""), "step": "avanti"})
    assert r.status_code == 400 and "Campo obbligatorio." in r.content.decode()
    r = client.post(url, {**_post_data(f0, works_amount="abc"), "step": "avanti"})
    assert r.status_code == 400 and "Importo non valido" in r.content.decode()
    r = client.post(
        url,
        {
            **_post_data(
                f0, works_amount="140000", safety_costs="10000,50", og1_amount="150000,50"
            ),
            "step": "avanti",
        },
    )
    assert "non esistono Accordi Quadro vigenti per il Lotto 2" in r.content.decode()


def test_contract_page_operations_and_visibility(f0, client_for):
    from procurement.accounts.models import Role
    from tests.factories.kernel import OrganisationFactory, member

    c = f0.book("I-1", at=aware(2024, 3, 4, 9))
    detail = reverse("ptim:contract-detail", args=[c.pk])
    # the DT sees the annulment, an unrelated organisation does not see the contract
    assert "Annulla contratto" in client_for(f0.t1).get(detail).content.decode()
    outsider = member(OrganisationFactory(name="Comune di Altrove"), Role.RUP)
    assert client_for(outsider).get(detail).status_code == 404
    r = client_for(f0.p1).post(
        reverse("ptim:contract-action", args=[c.pk, "accept"]), {"document": pdf("acc.pdf")}
    )
    assert r.status_code == 302
    assert Contract.objects.get(pk=c.pk).state == ContractState.ACCEPTED
    # p1 may not annul (403 through the service → message, state unchanged)
    r = client_for(f0.p1).post(
        reverse("ptim:contract-action", args=[c.pk, "annul"]), {"reason": "x"}
    )
    assert r.status_code == 403
    search = client_for(f0.p1).get(reverse("ptim:contract-search"), {"q": c.progressive})
    assert c.progressive in search.content.decode()
    aq = client_for(f0.t1).get(reverse("ptim:agreement-detail", args=[f0.aq.pk])).content.decode()
    assert "Gamma Restauri S.r.l." in aq and "215.000,00" in aq


def test_landing_and_guide(f0, client_for):
    client = client_for(f0.p1)
    page = client.get(reverse("ptim:landing")).content.decode()
    assert "non si ritiene valido né efficace" in page and "INSERIMENTO" in page
    r = client.get(reverse("ptim:guide"))
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF-")


def test_api_books_with_a_token_and_reports_unavailability(f0):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=f0.p1).key}")
    data = {k: ("" if v is None else v) for k, v in f0.data("I-1").items()}
    data["required_clearance"] = None
    data["intervention_type"] = None
    r = client.post(reverse("ptim:api-contract-book"), data, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["progressive"] == "325" and r.json()["operator"] == "Alfa Costruzioni S.r.l."
    aqs = client.get(reverse("ptim:api-agreements")).json()
    assert Decimal(str(aqs[0]["residual"])) == Decimal("915000.00")
    r = client.post(
        reverse("ptim:api-contract-action", args=[r.json()["id"], "annul"]), {"reason": "x"}
    )
    assert r.status_code == 403
    data = {
        **data,
        "spending_chapter": f0.chapters["C7754"].pk,
        "works_amount": "190000.00",
        "og1_amount": "149000.00",
        "safety_costs": "0.00",
    }
    r = client.post(reverse("ptim:api-contract-book"), data, format="json")
    assert r.status_code == 400 and "incapienza" in r.content.decode()
