"""The PTIM API (issue 6): every operation a user can do on a contract, with token auth, the
same services (and messages) as the pages, documented in the OpenAPI schema."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ptim.models import AgreementOperator, Contract, ContractState, OperatorStatus, Refusal
from tests.factories.kernel import aware

from .conftest import PDF

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def march_2024():
    import time_machine

    with time_machine.travel(aware(2024, 3, 4, 9, 30), tick=True):
        yield


def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _pdf(name="documento.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PDF, "application/pdf")


def _book(f0, client, intervention="I-1", chapter="MU"):
    data = {k: ("" if v is None else v) for k, v in f0.data(intervention, chapter).items()}
    data["required_clearance"] = data["required_clearance"] or None
    data["intervention_type"] = None
    data["plan_year"] = data["plan_year"] or None
    r = client.post(reverse("ptim:api-contract-book"), data, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def action(client, pk, name, data=None, multipart=False):
    url = reverse("ptim:api-contract-action", args=[pk, name])
    if multipart:
        return client.post(url, data or {}, format="multipart")
    return client.post(url, data or {}, format="json")


def test_full_life_cycle_through_the_api(f0):
    p1, t1 = api(f0.p1), api(f0.t1)
    c = _book(f0, p1)
    assert (c["progressive"], c["state"]) == ("325", "BOOKED")
    r = p1.get(reverse("ptim:api-contract", args=[c["id"]]))
    assert r.json()["operator"] == "Alfa Costruzioni S.r.l."

    r = action(p1, c["id"], "accept")
    assert r.status_code == 400 and "Allegare il documento richiesto." in r.content.decode()
    r = action(p1, c["id"], "accept", {"document": _pdf()}, multipart=True)
    assert r.status_code == 200 and r.json()["state"] == "ACCEPTED"
    r = action(p1, c["id"], "extend")
    assert r.json()["stipula_deadline"] == "2024-05-13"
    r = action(p1, c["id"], "extend")
    assert r.status_code == 400 and "una sola volta" in r.content.decode()
    r = action(p1, c["id"], "confirm", {"document": _pdf("contratto.pdf")}, multipart=True)
    assert r.json()["state"] == "DEFINITIVE"

    r = action(
        p1,
        c["id"],
        "variation",
        {
            "kind": "VARIANT",
            "description": "Variante",
            "works_amount": "10000.00",
            "non_discounted_amount": "500.00",
            "documents": [_pdf("autorizzazione.pdf")],
        },
        multipart=True,
    )
    assert r.status_code == 200, r.content
    variation = Contract.objects.get(pk=c["id"]).variations.get()
    url = reverse("ptim:api-variation-action", args=[variation.pk, "update"])
    assert p1.post(url, {"works_amount": "5000.00"}, format="json").status_code == 403
    r = t1.post(url, {"works_amount": "5000.00", "non_discounted_amount": "0"}, format="json")
    assert r.status_code == 200 and Decimal(r.json()["total_amount"]) == Decimal("4000.00")
    r = t1.post(
        reverse("ptim:api-variation-action", args=[variation.pk, "annul"]),
        {"note": "Variante non più necessaria"},
        format="json",
    )
    assert r.json()["annulled_at"] and r.json()["annulment_note"] == "Variante non più necessaria"

    assert action(p1, c["id"], "rescind", {"reason": "x"}).status_code == 403
    r = action(
        t1,
        c["id"],
        "rescind",
        {
            "reason": "Grave inadempimento",
            "rescission_date": "2024-03-04",
            "amount_paid": "40000.00",
            "amount_due": "5000.00",
        },
        multipart=True,
    )
    assert r.status_code == 200 and r.json()["state"] == "RESCINDED"
    assert f0.residuals()["A"] == Decimal("255000.00")  # SC-10 step 2


def test_waiver_annulment_rebooking_and_refusal_handling_through_the_api(f0):
    p1, t1, g1 = api(f0.p1), api(f0.t1), api(f0.g1)
    c = _book(f0, p1, "I-4", "C7754")  # → C
    r = action(
        p1,
        c["id"],
        "waiver",
        {"document": _pdf("rinuncia.pdf"), "expected_operator": f0.ops["D"].pk},
        multipart=True,
    )
    assert r.status_code == 200 and r.json()["operator"] == "Delta Lavori S.r.l."
    refusal = Refusal.objects.get(contract_id=c["id"])

    assert action(p1, c["id"], "annul", {"reason": "x"}).status_code == 403
    r = action(t1, c["id"], "annul", {"reason": "Istanza della S.A. del 04/03/2024"})
    assert r.json()["state"] == "ANNULLED"

    url = reverse("ptim:api-contract-rebook")
    r = p1.post(url, {"progressive": "999", "measured_basis_confirmed": True}, format="json")
    assert r.status_code == 400 and "non corrisponde a un contratto annullato" in r.content.decode()
    r = p1.post(
        url,
        {
            "progressive": "325",
            "measured_basis_confirmed": True,
            "description": "Descrizione corretta",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    assert (r.json()["progressive"], r.json()["operator"]) == ("325a", "Delta Lavori S.r.l.")
    assert Contract.objects.get(progressive="325a").description == "Descrizione corretta"

    handle = reverse("ptim:api-refusal-action", args=[refusal.pk, "handle"])
    assert (
        p1.post(handle, {"justified": False, "motivation": "x"}, format="json").status_code == 403
    )
    assert (
        g1.post(handle, {"justified": False, "motivation": "x"}, format="json").status_code == 403
    )
    r = t1.post(handle, {"motivation": "x"}, format="json")
    assert r.status_code == 400
    r = t1.post(handle, {"justified": False, "motivation": "Impegnata altrove"}, format="json")
    assert r.status_code == 200 and r.json()["justified"] is False
    r = t1.post(handle, {"justified": True, "motivation": "ripensamento"}, format="json")
    assert r.status_code == 400 and "già stato gestito" in r.content.decode()
    membership = AgreementOperator.objects.get(pk=f0.ops["C"].pk)
    assert membership.status == OperatorStatus.ACTIVE  # one "NO" only


def test_agreements_are_read_with_residuals_within_competence(f0):
    _book(f0, api(f0.p1))
    (aq,) = api(f0.t1).get(reverse("ptim:api-agreements")).json()
    assert Decimal(str(aq["residual"])) == Decimal("915000.00")
    ceilings = {c["chapter"]: Decimal(str(c["residual"])) for c in aq["ceilings"]}
    assert ceilings["MU"] == Decimal("415000.00")
    ops = {o["operator"]: Decimal(str(o["residual"])) for o in aq["operators"]}
    assert ops["Alfa Costruzioni S.r.l."] == Decimal("215000.00")
    assert APIClient().get(reverse("ptim:api-agreements")).status_code == 401


def test_every_operation_is_in_the_openapi_schema(f0):
    schema = Client().get("/api/schema/?format=json").json()
    paths = schema["paths"]
    expected = {
        "/ptim/api/accordi-quadro/": "get",
        "/ptim/api/contratti/": "post",
        "/ptim/api/contratti/riprenotazione/": "post",
        "/ptim/api/contratti/{id}/": "get",
        "/ptim/api/contratti/{id}/{action}/": "post",
        "/ptim/api/varianti/{id}/{action}/": "post",
        "/ptim/api/rifiuti/{id}/{action}/": "post",
    }
    for path, method in expected.items():
        found = [p for p in paths if p.replace("{pk}", "{id}") == path]
        assert found, path
        assert method in paths[found[0]]
    contract_action = next(
        p for p in paths if p.startswith("/ptim/api/contratti/{") and "action" in p
    )
    params = paths[contract_action]["post"]["parameters"]
    actions = next(p for p in params if p["name"] == "action")["schema"]["enum"]
    assert set(actions) == {
        "accept",
        "extend",
        "confirm",
        "waiver",
        "annul",
        "replace",
        "variation",
        "rescind",
    }
    assert Contract.objects.count() == 0 and ContractState.BOOKED
