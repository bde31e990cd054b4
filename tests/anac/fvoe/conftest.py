"""FVOE tests: the typed client (procurement.anac.fvoe) against the simulator over real HTTP."""

from __future__ import annotations

import pytest

from procurement.anac import conformance
from procurement.anac.fvoe import FvoeClient
from procurement.anac.identity import Actor
from procurement.anac.transport import AnacClient

RUP = Actor(
    tax_code="RSSMRA80A01D612X",
    loa="3",
    idp_type="SPID",
    sa_ausa="0000123456",
    sa_tax_code="01234567897",
)
FVOE_MODEL = conformance.NPA_PREFIX + "docs/modello-dati/modello-dati-fvoe-fva.yaml"


@pytest.fixture
def fvoe(anac_live):
    with AnacClient(sleep=lambda _s: None) as client, FvoeClient(client) as fvoe:
        yield fvoe
