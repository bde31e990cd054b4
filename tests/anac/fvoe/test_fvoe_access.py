"""Access to an operator's FVOE: request, the operator's answer, expiry, revocation, annulment.

The real client over real HTTP against the simulator on the live server; every request is
validated against specs/fvoe-openapi.json by the client (ANAC_VALIDATE_REQUESTS) and every answer
by the simulator (tests/anac/conftest.py fails the test on a non-conforming answer).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
import time_machine
from django.utils import timezone

from procurement.anac.errors import AnacNotFound, AnacRejected
from procurement.anac.fvoe import AuthorisationState
from procurement.anac.models import AnacTransmission, TransmissionOutcome
from procurement.anac.simulator.fvoe_views import operator_answer, script_operator
from procurement.anac.transport import CallContext

from .conftest import RUP

pytestmark = pytest.mark.django_db(transaction=True)

OE_A = "11111111113"  # the test tax codes of ANAC's scenario
OE_B = "11111111114"


def _ctx(id_appalto: str) -> CallContext:
    return CallContext(actor=RUP, business_flow_id=id_appalto, object_label="richiesta FVOE")


def _request(fvoe, *codes, id_appalto=None, **kwargs):
    id_appalto = id_appalto or str(uuid.uuid4())
    ack = fvoe.request_access(
        ctx=_ctx(id_appalto),
        id_appalto=id_appalto,
        operator_tax_codes=list(codes),
        start=timezone.now(),
        **kwargs,
    )
    return id_appalto, ack


def test_scripted_operator_approves_after_a_minute_and_the_key_opens_the_file(fvoe):
    script_operator(OE_A, "approve", after_seconds=60)
    id_appalto, ack = _request(fvoe, OE_A, requester_tax_code=RUP.sa_tax_code)
    uuid.UUID(ack.id_richiesta)
    assert ack.detail == "Richiesta acquisita"

    pending = fvoe.verify_access(
        ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto
    )
    assert pending.state == AuthorisationState.REQUESTED and pending.is_pending
    assert pending.access_key == "" and pending.id_richiesta == ack.id_richiesta
    assert pending.state_label == "Richiesta"

    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=True):
        granted = fvoe.verify_access(
            ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto
        )
        page = fvoe.search_documents(ctx=_ctx(id_appalto), access_key=granted.access_key)

    assert granted.state == AuthorisationState.AUTHORISED and granted.is_authorised
    assert granted.state_label == "Autorizzata"
    uuid.UUID(granted.access_key)
    assert granted.authorizer_tax_code == OE_A and granted.operator_tax_code == OE_A
    assert granted.id_appalto == id_appalto and granted.id_richiesta == ack.id_richiesta
    assert granted.valid_from is not None and granted.valid_to.year == 2099  # no end sent
    assert granted.access_key not in repr(granted)  # a secret stays out of logs
    assert page.total_rows == 3

    log = AnacTransmission.objects.order_by("id")
    assert [row.operation for row in log] == [
        "richiesta-accesso-fvoe",
        "verifica-richiesta-accesso-fvoe",
        "verifica-richiesta-accesso-fvoe",
        "ricerca-documenti-fvoe",
    ]
    assert all(row.outcome == TransmissionOutcome.OK for row in log)
    assert all(row.actor_tax_code == RUP.tax_code and row.eservice == "FVOE" for row in log)


def test_one_request_for_two_operators_answered_differently(fvoe):
    script_operator(OE_A, "approve", after_seconds=10)
    script_operator(OE_B, "deny", after_seconds=20, reason="Non intendo concedere l'accesso")
    end = timezone.now() + timedelta(days=90)
    id_appalto, ack = _request(fvoe, OE_A, OE_B, end=end)

    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=True):
        a = fvoe.verify_access(ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto)
        b = fvoe.verify_access(ctx=_ctx(id_appalto), operator_tax_code=OE_B, id_appalto=id_appalto)

    assert a.state == AuthorisationState.AUTHORISED and a.access_key
    assert a.valid_to.date() == end.date()
    assert b.state == AuthorisationState.DENIED and b.is_final
    assert b.state_label == "Negata" and b.access_key == ""
    assert b.reason == "Non intendo concedere l'accesso"
    assert a.id_richiesta == b.id_richiesta == ack.id_richiesta


def test_an_operator_who_never_answers_lets_the_request_expire_after_a_month(fvoe):
    script_operator(OE_A, "never")
    id_appalto, _ack = _request(fvoe, OE_A)

    with time_machine.travel(timezone.now() + timedelta(days=29), tick=True):
        still = fvoe.verify_access(
            ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto
        )
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=True):
        expired = fvoe.verify_access(
            ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto
        )
        # After 05 Scaduta a new request is accepted [SCEN-FASC].
        _same, again = _request(fvoe, OE_A, id_appalto=id_appalto)

    assert still.state == AuthorisationState.REQUESTED
    assert expired.state == AuthorisationState.EXPIRED and expired.state_label == "Scaduta"
    assert again.id_richiesta != _ack.id_richiesta


def test_operator_approves_then_revokes_through_the_control_api(fvoe, anac_live):
    id_appalto, _ack = _request(fvoe, OE_A)  # no script: the operator answers by hand
    control = f"{anac_live}/_control/fvoe/access"

    approved = httpx.post(
        f"{control}/autorizza", json={"idAppalto": id_appalto, "codiceFiscale": OE_A}
    )
    assert approved.status_code == 200 and approved.json()["stato"] == "02"
    granted = fvoe.verify_access(
        ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto
    )
    assert granted.is_authorised

    revoked = httpx.post(
        f"{control}/revoca",
        json={"idAutorizzazione": approved.json()["idAutorizzazione"], "motivo": "Revoca"},
    )
    assert revoked.status_code == 200
    after = fvoe.verify_access(ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto)
    assert after.state == AuthorisationState.REVOKED and after.access_key == ""
    assert after.reason == "Revoca"

    with pytest.raises(AnacRejected) as refused:  # the old key opens nothing any more
        fvoe.search_documents(ctx=_ctx(id_appalto), access_key=granted.access_key)
    assert [e.codice for e in refused.value.errors] == ["FVC03"]

    # A revoked authorisation cannot be revoked again.
    again = httpx.post(f"{control}/revoca", json={"idAppalto": id_appalto, "codiceFiscale": OE_A})
    assert again.status_code == 409


def test_annulment_of_a_pending_request(fvoe):
    id_appalto, _ack = _request(fvoe, OE_A)
    operator_answer("annulla", id_appalto=id_appalto, tax_code=OE_A)

    result = fvoe.verify_access(ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto)

    assert result.state == AuthorisationState.CANCELLED and result.state_label == "Annullata"


def test_no_second_request_while_one_is_pending_or_authorised(fvoe):
    id_appalto, _ack = _request(fvoe, OE_A)

    with pytest.raises(AnacRejected) as refused:
        _request(fvoe, OE_A, id_appalto=id_appalto)
    assert refused.value.errors[0].codice == "FVX46"

    operator_answer("nega", id_appalto=id_appalto, tax_code=OE_A)
    _same, after_denial = _request(fvoe, OE_A, id_appalto=id_appalto)
    assert after_denial.id_richiesta


def test_an_operator_not_in_the_schede_is_refused_with_sch01_in_italian(fvoe):
    script_operator(OE_B, "not_in_schede")

    with pytest.raises(AnacRejected) as refused:
        _request(fvoe, OE_A, OE_B)

    [error] = refused.value.errors
    assert error.codice == "SCH01"
    assert error.descrizione == "Soggetto Non Presente Nelle Schede Inviate"
    assert "SCH01: Soggetto Non Presente Nelle Schede Inviate" in str(refused.value)
    row = AnacTransmission.objects.get()
    assert row.outcome == TransmissionOutcome.KO and row.errors[0]["codice"] == "SCH01"


def test_a_start_date_in_the_past_is_refused(fvoe):
    id_appalto = str(uuid.uuid4())
    with pytest.raises(AnacRejected) as refused:
        fvoe.request_access(
            ctx=_ctx(id_appalto),
            id_appalto=id_appalto,
            operator_tax_codes=[OE_A],
            start=timezone.now() - timedelta(days=3),
        )
    assert refused.value.errors[0].codice == "FVX11"


def test_verifying_an_unknown_request_is_fvc04(fvoe):
    id_appalto = str(uuid.uuid4())
    with pytest.raises(AnacNotFound) as missing:
        fvoe.verify_access(ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto)
    assert missing.value.errors[0].codice == "FVC04"
    assert missing.value.errors[0].descrizione == "Richiesta accesso non trovata"


def test_the_operator_page_lists_requests_and_approves(fvoe, client):
    id_appalto, _ack = _request(fvoe, OE_A)

    page = client.get("/anac-sim/_control/fvoe/")
    assert page.status_code == 200
    html = page.content.decode()
    assert id_appalto in html and "Autorizza" in html

    from procurement.anac.simulator.models import SimFvoeAuthorization

    auth = SimFvoeAuthorization.objects.get(id_appalto=id_appalto)
    done = client.post(
        "/anac-sim/_control/fvoe/",
        {"idAutorizzazione": str(auth.id_autorizzazione), "azione": "autorizza"},
    )
    assert done.status_code == 302
    result = fvoe.verify_access(ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto)
    assert result.is_authorised


def test_an_authorisation_ends_05_when_its_end_date_passes(fvoe):
    script_operator(OE_A, "approve")
    id_appalto, _ack = _request(fvoe, OE_A, end=timezone.now() + timedelta(days=2))
    granted = fvoe.verify_access(
        ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto
    )

    with time_machine.travel(timezone.now() + timedelta(days=3), tick=True):
        ended = fvoe.verify_access(
            ctx=_ctx(id_appalto), operator_tax_code=OE_A, id_appalto=id_appalto
        )

    assert granted.is_authorised
    assert ended.state == AuthorisationState.EXPIRED and ended.access_key == ""
