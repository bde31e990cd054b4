"""Access scoped by cost centre (spec §1.2 "actions are performed as a cost centre", R-ADE-037,
D-ADE-07, D-ADE-30, invariant 9): a user attached to one CdC sees and acts only on its CdC's
adhesions and orders; a user of the whole organisation sees them all."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.utils import timezone

from adesioni import services as S
from adesioni.access import adhesions_visible_to, get_adhesion_for_user, orders_visible_to
from adesioni.models import AdhesionStatus
from procurement.accounts.models import CostCentre, Membership, Role
from tests.factories.kernel import UserFactory

from .conftest import cig_data, manifestazione, ne_url

pytestmark = pytest.mark.django_db


def cdc_member(organisation, cost_centre, role=Role.BUYER, **kwargs):
    user = UserFactory(**kwargs)
    Membership.objects.create(
        user=user, organisation=organisation, cost_centre=cost_centre, role=role
    )
    return user


def new_adhesion(ne, samples, user, **kwargs):
    return S.adhesion_create(
        user=user,
        contract=ne.contract,
        organisation=ne.adherent,
        hypothesis="A",
        amount="1000.00",
        files={"MI": manifestazione(samples)},
        now=timezone.now(),
        **kwargs,
    )


def test_a_cost_centre_sees_and_acts_only_on_its_own_adhesions(ne, samples, password_client):
    cdc_02 = CostCentre.objects.create(organisation=ne.adherent, code="CDC-02", name="CdC 02")
    franco = cdc_member(ne.adherent, ne.cost_centre, first_name="Franco")
    paola = cdc_member(ne.adherent, cdc_02, first_name="Paola")
    adhesion = new_adhesion(ne, samples, franco)
    assert adhesion.cost_centre == ne.cost_centre  # the CdC of the acting profile
    assert list(adhesions_visible_to(franco)) == [adhesion]
    assert list(adhesions_visible_to(ne.giulio)) == [adhesion]  # the whole organisation
    assert list(adhesions_visible_to(paola)) == []
    with pytest.raises(Http404):
        get_adhesion_for_user(paola, pk=adhesion.pk)
    with pytest.raises(Http404):
        S.adhesion_send(user=paola, adhesion_id=adhesion.pk, now=timezone.now())
    assert password_client(paola).get(ne_url(f"adesioni/{adhesion.pk}/")).status_code == 404
    # One draft per (contract, CdC): CDC-02 may start its own, CDC-01 may not start a second.
    page = password_client(paola).get(ne_url(f"contratti/{ne.contract.pk}/?tab=adesioni"))
    assert "richiedi adesione" in page.content.decode()
    own = new_adhesion(ne, samples, paola)
    assert own.cost_centre == cdc_02
    with pytest.raises(S.AdesioniError):
        new_adhesion(ne, samples, franco)
    # A CdC user cannot file an adhesion for another CdC.
    with pytest.raises(S.AdesioniError):
        new_adhesion(ne, samples, paola, cost_centre=ne.cost_centre)


def test_orders_use_the_approved_adhesions_of_their_cost_centre(ne, samples):
    cdc_02 = CostCentre.objects.create(organisation=ne.adherent, code="CDC-02", name="CdC 02")
    franco = cdc_member(ne.adherent, ne.cost_centre, first_name="Franco")
    paola = cdc_member(ne.adherent, cdc_02, first_name="Paola")
    now = timezone.now()
    adhesion = new_adhesion(ne, samples, franco)
    S.adhesion_send(user=franco, adhesion_id=adhesion.pk, now=now)
    S.adhesion_approve(user=ne.mario, adhesion_id=adhesion.pk, now=now)
    assert adhesion.__class__.objects.get(pk=adhesion.pk).status == AdhesionStatus.APPROVED
    with pytest.raises(S.AdesioniError, match="serve un'adesione approvata"):
        S.order_create(
            user=paola,
            contract=ne.contract,
            organisation=ne.adherent,
            rup=ne.lucia,
            cig_data=cig_data(),
            now=now,
        )
    order = S.order_create(
        user=franco,
        contract=ne.contract,
        organisation=ne.adherent,
        rup=ne.lucia,
        cig_data=cig_data(),
        now=now,
    )
    assert order.cost_centre == ne.cost_centre and order.adhesion == adhesion
    assert list(orders_visible_to(franco)) == [order]
    assert list(orders_visible_to(paola)) == []
    assert list(orders_visible_to(ne.giulio)) == [order]
    with pytest.raises(Http404):
        S.order_line_save(
            user=paola,
            order_id=order.pk,
            description="x",
            unit_price="1",
            quantity="1",
            now=now,
        )
