"""The simulated FVOE e-service covers the operations of the official document it claims."""

from __future__ import annotations

import pytest

from procurement.anac.simulator import fvoe_urls
from procurement.anac.specs import openapi

CLIENT_OPERATIONS = {
    ("POST", "richiesta-accesso-fvoe"),
    ("GET", "verifica-richiesta-accesso-fvoe"),
    ("GET", "ricerca-documenti-fvoe"),
    ("GET", "recupera-documento-fvoe"),
    ("POST", "richiedi-documenti"),
    ("GET", "verifica-stato-richiesta-documento"),
    ("GET", "recupera-storico-documento-fvoe"),
}


def test_every_simulated_operation_is_in_the_official_document_with_its_method():
    paths = openapi("fvoe-openapi.json")["paths"]
    for method, operation in CLIENT_OPERATIONS:
        assert method.lower() in paths[f"/{operation}"], (method, operation)
    operations = {p.callback.anac_operation for p in fvoe_urls.ESERVICE_URLS["FVOE"]}
    assert operations == {operation for _m, operation in CLIENT_OPERATIONS}


@pytest.mark.django_db(transaction=True)
def test_the_operator_page_scripts_an_operator(client):
    from procurement.anac.simulator.models import SimFvoeOperatorScript

    response = client.post(
        "/anac-sim/_control/fvoe/",
        {"codiceFiscale": "11111111113", "behaviour": "deny", "after_seconds": "5"},
    )

    assert response.status_code == 302
    script = SimFvoeOperatorScript.objects.get(tax_code="11111111113")
    assert (script.behaviour, script.after_seconds) == ("deny", 5)
    page = client.get("/anac-sim/_control/fvoe/").content.decode()
    assert "11111111113" in page and "deny" in page


@pytest.mark.django_db(transaction=True)
def test_control_api_settings_scripts_documents_and_reset(anac_live):
    import httpx

    control = f"{anac_live}/_control/fvoe"

    settings = httpx.post(f"{control}/settings", json={"docreq_step_seconds": 5}).json()
    scripts = httpx.post(
        f"{control}/scripts",
        json={"codiceFiscale": "11111111113", "behaviour": "approve", "after_seconds": 30},
    ).json()
    added = httpx.post(
        f"{control}/documents", json={"codiceFiscale": "11111111113", "tipo": "00008"}
    )
    wrong = httpx.post(f"{control}/scripts", json={"codiceFiscale": "X", "behaviour": "maybe"})
    unknown = httpx.post(f"{control}/settings", json={"colour": "red"})

    assert settings["docreq_step_seconds"] == 5
    assert scripts["scripts"] == [
        {
            "codiceFiscale": "11111111113",
            "behaviour": "approve",
            "after_seconds": 30,
            "reason": "",
            "negative_types": [],
            "document_types": None,
        }
    ]
    assert added.status_code == 201 and added.json()["idDocumento"]
    assert wrong.status_code == 400 and unknown.status_code == 400

    assert httpx.post(f"{control}/reset").status_code == 200
    assert httpx.get(f"{control}/scripts").json() == {"scripts": []}
    assert httpx.get(f"{control}/settings").json()["docreq_step_seconds"] == 60
    assert httpx.get(f"{control}/access").json() == {"autorizzazioni": []}
