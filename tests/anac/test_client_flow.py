"""The platform's ANAC client against the simulator, over real HTTP, end to end.

Every request the client sends is validated against ANAC's OpenAPI documents (settings
ANAC_VALIDATE_REQUESTS, on in tests) and every answer of the simulator too (conftest).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from procurement.anac.cig import cig_is_valid_pcp
from procurement.anac.errors import AnacRateLimited, AnacRejected
from procurement.anac.identity import NIL_FLOW_ID, Actor
from procurement.anac.models import AnacTransmission, TransmissionOutcome
from procurement.anac.simulator.models import SimulatorConfig
from procurement.anac.transport import AnacClient, CallContext
from tests.anac.test_simulator_pcp import ad4

pytestmark = pytest.mark.django_db(transaction=True)

RUP = Actor(
    tax_code="RSSMRA80A01D612X",
    loa="4",
    idp_type="CIE",
    sa_ausa="0000123456",
    sa_tax_code="01234567897",
)


def configure(**fields):
    config = SimulatorConfig.current()
    for key, value in fields.items():
        setattr(config, key, value)
    config.save()


@pytest.fixture
def client(anac_live):
    with AnacClient(sleep=lambda _s: None) as client:
        yield client


def test_crea_conferma_wt_ok_recupera_cig(client):
    configure(wt_seconds=60)
    span = str(uuid.uuid4())
    ctx = CallContext(actor=RUP, business_flow_id=NIL_FLOW_ID, span_id=span)
    codice = f"NE-{uuid.uuid4()}"

    created = client.call("ComunicaAppalto", "crea-appalto", ctx=ctx, json={"scheda": ad4(codice)})
    id_appalto = created.body["idAppalto"]
    ctx.business_flow_id = id_appalto
    ack = client.call(
        "ComunicaAppalto", "conferma-appalto", ctx=ctx, json={"idAppalto": id_appalto}
    )
    assert ack.body["detail"] == "Richiesta acquisita"

    query = {"idAppalto": id_appalto, "tipoOperazione": "AP_CONF", "tipoRicerca": "ULTIMO_ESITO"}
    first = client.call("ServiziComuni", "esito-operazione", ctx=ctx, params=query)
    assert first.body["listaEsiti"][0]["esito"]["codice"] == "WT"

    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=True):
        done = client.call("ServiziComuni", "esito-operazione", ctx=ctx, params=query)
        assert done.body["listaEsiti"][0]["esito"]["codice"] == "OK"
        cigs = client.call(
            "ComunicaAppalto",
            "recupera-cig",
            ctx=ctx,
            params={"idAppalto": id_appalto, "page": 1, "perPage": 20},
        )

    [item] = cigs.body["result"]
    assert item["lotIdentifier"] == "LOT-0001"
    assert cig_is_valid_pcp(item["cig"])

    log = list(AnacTransmission.objects.order_by("id"))
    assert [row.operation for row in log] == [
        "crea-appalto",
        "conferma-appalto",
        "esito-operazione",
        "esito-operazione",
        "recupera-cig",
    ]
    assert [row.outcome for row in log] == [
        TransmissionOutcome.OK,
        TransmissionOutcome.OK,
        TransmissionOutcome.WAITING,
        TransmissionOutcome.OK,
        TransmissionOutcome.OK,
    ]
    assert len({row.jti for row in log}) == 5 and len({row.trace_id for row in log}) == 5
    assert {row.span_id for row in log} == {span}
    assert all(row.actor_tax_code == RUP.tax_code and row.actor_loa == "4" for row in log)
    assert log[1].id_appalto == id_appalto


def test_a_duplicate_codice_appalto_is_a_ko_with_the_italian_description(client):
    ctx = CallContext(actor=RUP, business_flow_id=NIL_FLOW_ID)
    body = {"scheda": ad4(f"NE-{uuid.uuid4()}")}
    client.call("ComunicaAppalto", "crea-appalto", ctx=ctx, json=body)

    with pytest.raises(AnacRejected) as refused:
        client.call("ComunicaAppalto", "crea-appalto", ctx=ctx, json=body)

    assert [e.codice for e in refused.value.errors] == ["ERR38"]
    assert refused.value.errors[0].descrizione  # from ANAC's errori.json, in Italian
    row = AnacTransmission.objects.latest("id")
    assert row.outcome == TransmissionOutcome.KO and row.errors[0]["codice"] == "ERR38"


def test_a_429_is_reported_with_its_retry_after(client):
    configure(rate_429=1.0, retry_after_s=7)
    ctx = CallContext(actor=RUP, business_flow_id=NIL_FLOW_ID)

    with pytest.raises(AnacRateLimited) as limited:
        client.call(
            "ComunicaAppalto", "crea-appalto", ctx=ctx, json={"scheda": ad4(f"NE-{uuid.uuid4()}")}
        )

    assert limited.value.retry_after == 7
    row = AnacTransmission.objects.latest("id")
    assert row.outcome == TransmissionOutcome.RATE_LIMITED and row.retry_after == 7


def test_the_log_keeps_no_secret(client):
    ctx = CallContext(actor=RUP, business_flow_id=NIL_FLOW_ID)
    client.call(
        "ComunicaAppalto", "crea-appalto", ctx=ctx, json={"scheda": ad4(f"NE-{uuid.uuid4()}")}
    )

    row = AnacTransmission.objects.get()
    stored = str(row.request_body) + str(row.response_body) + row.detail
    assert "Bearer" not in stored and "eyJ" not in stored  # no voucher, no JWS
