"""The PCP simulator can be told which error to return (scripted errors, control API)."""

from __future__ import annotations

import json

import pytest

from procurement.anac.simulator.models.pcp import SimPcpFault
from procurement.anac.simulator.pcp_views import (
    _scripted,
    control_errors,
    control_reset,
    script_error,
)

pytestmark = pytest.mark.django_db


def test_scripted_errors_match_operation_appalto_and_cost_centre_and_are_consumed():
    script_error("conferma-appalto", "ERR69", codice_centro_costo="CDC-01", times=1)
    form = {"stazioniAppaltanti": [{"codiceCentroCosto": "CDC-01"}]}
    other = {"stazioniAppaltanti": [{"codiceCentroCosto": "CDC-02"}]}
    assert _scripted("crea-appalto", form=form) is None
    assert _scripted("conferma-appalto", form=other) is None
    fault = _scripted("conferma-appalto", codice_appalto="NE-1", form=form)
    assert fault.errori == [
        {
            "codice": "ERR69",
            "dettaglio": "il centro di costo SA presente nella lista delle stazioni appaltanti "
            "non è coerente con l'anagrafe AUSA",
        }
    ]
    assert _scripted("conferma-appalto", form=form) is None  # used once
    script_error("crea-scheda", ("ERR2", "fase"), codice_appalto="NE-9")
    assert _scripted("crea-scheda", codice_appalto="NE-1") is None
    for _ in range(3):  # no `times`: every matching call
        assert _scripted("crea-scheda", codice_appalto="NE-9").errori[0]["dettaglio"] == "fase"


def test_control_api_scripts_lists_and_resets(rf):
    body = {
        "operation": "conferma-appalto",
        "errori": ["ERR69"],
        "codiceCentroCosto": "CDC-01",
        "times": 2,
    }
    response = control_errors(
        rf.post("/anac-sim/_control/pcp/errors", json.dumps(body), "application/json")
    )
    listed = json.loads(response.content)["errors"]
    assert [(e["operation"], e["times"], e["errori"][0]["codice"]) for e in listed] == [
        ("conferma-appalto", 2, "ERR69")
    ]
    bad = control_errors(rf.post("/x", json.dumps({"operation": "x"}), "application/json"))
    assert bad.status_code == 400
    control_reset(rf.post("/anac-sim/_control/pcp/reset"))
    assert not SimPcpFault.objects.exists()
