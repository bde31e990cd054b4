from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django_fsm import TransitionNotAllowed

from procurement.accounts.models import Role
from procurement.audit.models import AuditEvent
from procurement.pcp.models import AppaltoState, PcpAppalto
from procurement.pcp.services import PcpError, appalto_create
from tests.factories.kernel import member

pytestmark = pytest.mark.django_db


def test_a_buyer_creates_an_appalto_with_its_rup(trio):
    appalto = appalto_create(
        user=trio.owner,
        organisation=trio.organisation,
        rup=trio.colleague,
        subject="Servizi cloud",
        amount=Decimal("12345.67"),
    )
    assert appalto.local_state == AppaltoState.NONE
    assert appalto.rp_tax_code == trio.colleague.tax_code
    assert appalto.sa_tax_code == trio.organisation.tax_code
    event = AuditEvent.objects.for_object(appalto).get()
    assert event.actor == trio.owner
    assert event.payload["amount"] == "12345.67"


def test_the_rup_must_be_a_rup_of_the_organisation(trio):
    with pytest.raises(PcpError, match="non è abilitato come RUP"):
        appalto_create(user=trio.owner, organisation=trio.organisation, rup=trio.owner, subject="X")
    assert not PcpAppalto.objects.exists()


def test_an_outsider_cannot_create_an_appalto_for_another_organisation(trio):
    with pytest.raises(PermissionDenied):
        appalto_create(
            user=trio.outsider, organisation=trio.organisation, rup=trio.colleague, subject="X"
        )


def test_state_is_protected_and_moves_only_through_transitions(trio):
    appalto = appalto_create(
        user=trio.owner, organisation=trio.organisation, rup=trio.colleague, subject="X"
    )
    with pytest.raises(AttributeError):
        appalto.local_state = AppaltoState.CONFIRMED
    with pytest.raises(TransitionNotAllowed):
        appalto.mark_confirmed()
    appalto.mark_created("7b0e2f1e-1a53-4b8e-9a59-4f6c0f0c2a11")
    appalto.save()
    assert PcpAppalto.objects.get().local_state == AppaltoState.CREATED


def test_a_rup_of_another_organisation_is_refused(trio):
    foreign_rup = member(trio.other_organisation, Role.RUP)
    with pytest.raises(PcpError):
        appalto_create(
            user=trio.owner, organisation=trio.organisation, rup=foreign_rup, subject="X"
        )
