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


def test_api_exposes_the_cost_centre_and_is_scoped_like_the_pages(ne, samples, password_client):
    """R-ADE-037 / D-ADE-30 through the API: a CdC membership sees only its CdC's adhesions and
    orders (lists, details and actions), the cost centre is exposed read-only."""
    cdc_02 = CostCentre.objects.create(organisation=ne.adherent, code="CDC-02", name="CdC 02")
    franco = cdc_member(ne.adherent, ne.cost_centre, first_name="Franco")
    paola = cdc_member(ne.adherent, cdc_02, first_name="Paola")
    now = timezone.now()
    first = new_adhesion(ne, samples, franco)
    S.adhesion_send(user=franco, adhesion_id=first.pk, now=now)
    S.adhesion_approve(user=ne.mario, adhesion_id=first.pk, now=now)
    order = S.order_create(
        user=franco,
        contract=ne.contract,
        organisation=ne.adherent,
        rup=ne.lucia,
        cig_data=cig_data(),
        now=now,
    )
    second = new_adhesion(ne, samples, paola)
    api_f, api_p, api_g = (password_client(u) for u in (franco, paola, ne.giulio))

    adhesions = api_f.get(ne_url("api/adesioni/")).json()["results"]
    assert [(a["code"], a["cost_centre"], a["cost_centre_name"]) for a in adhesions] == [
        (first.code, "CDC-01", "CdC 01")
    ]
    orders = api_f.get(ne_url("api/ordini/")).json()["results"]
    assert [(o["number"], o["cost_centre"]) for o in orders] == [(order.number, "CDC-01")]
    detail = api_f.get(ne_url(f"api/ordini/{order.pk}/")).json()
    assert detail["cost_centre"] == "CDC-01"

    # CDC-02: only its own draft; the other CdC's adhesion and order are 404, also for actions.
    assert [a["code"] for a in api_p.get(ne_url("api/adesioni/")).json()["results"]] == [
        second.code
    ]
    assert api_p.get(ne_url(f"api/adesioni/{second.pk}/")).json()["cost_centre"] == "CDC-02"
    assert api_p.get(ne_url("api/ordini/")).json()["count"] == 0
    assert api_p.get(ne_url(f"api/adesioni/{first.pk}/")).status_code == 404
    assert api_p.get(ne_url(f"api/ordini/{order.pk}/")).status_code == 404
    assert api_p.post(ne_url(f"api/ordini/{order.pk}/invia/")).status_code == 404
    assert api_p.post(ne_url(f"api/adesioni/{first.pk}/ritira/")).status_code == 404
    # Same scope as the page "Elenco adesioni" / "Elenco ordinativi".
    page = api_p.get(ne_url(f"contratti/{ne.contract.pk}/?tab=adesioni")).content.decode()
    assert second.code in page and first.code not in page

    # The whole organisation sees both CdCs.
    everything = api_g.get(ne_url("api/adesioni/")).json()["results"]
    assert {(a["code"], a["cost_centre"]) for a in everything} == {
        (first.code, "CDC-01"),
        (second.code, "CDC-02"),
    }
    assert api_g.get(ne_url("api/ordini/")).json()["count"] == 1
    # Read-only: the cost centre cannot be written through the API.
    assert (
        api_g.patch(
            ne_url(f"api/adesioni/{second.pk}/"),
            {"cost_centre": None},
            content_type="application/json",
        ).status_code
        == 405
    )


def test_order_adhesion_drop_down_offers_only_approved_adhesions_of_the_cost_centre(
    ne, samples, password_client
):
    """R-ADE-062: one approved adhesion is preselected; with several the user picks one from the
    drop-down, which offers only APPROVED adhesions of the same CdC and contract."""
    from .conftest import approved_adhesion

    cdc_02 = CostCentre.objects.create(organisation=ne.adherent, code="CDC-02", name="CdC 02")
    paola = cdc_member(ne.adherent, cdc_02, first_name="Paola")
    now = timezone.now()
    first = approved_adhesion(ne, samples)
    single = S.order_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        rup=ne.lucia,
        cig_data=cig_data(),
        now=now,
    )
    assert single.adhesion == first  # preselected
    second = approved_adhesion(ne, samples, amount="500.00")
    draft = new_adhesion(ne, samples, ne.giulio)  # a draft is never offered
    foreign = new_adhesion(ne, samples, paola)  # another CdC
    S.adhesion_send(user=paola, adhesion_id=foreign.pk, now=now)
    S.adhesion_approve(user=ne.mario, adhesion_id=foreign.pk, now=now)
    order = S.order_create(
        user=ne.giulio,
        contract=ne.contract,
        organisation=ne.adherent,
        rup=ne.lucia,
        cig_data=cig_data(),
        now=now,
    )
    assert order.adhesion is None
    buyer = password_client(ne.giulio)
    page = buyer.get(ne_url(f"ordini/{order.pk}/")).content.decode()
    select = page[page.index('data-testid="adhesion-select"') :]
    select = select[: select.index("</select>")]
    assert first.code in select and second.code in select
    assert draft.code not in select and foreign.code not in select
    for refused in (foreign, draft):
        buyer.post(ne_url(f"ordini/{order.pk}/adesione/"), {"adhesion": refused.pk})
        order.refresh_from_db()
        assert order.adhesion is None
    buyer.post(ne_url(f"ordini/{order.pk}/adesione/"), {"adhesion": second.pk})
    order.refresh_from_db()
    assert order.adhesion == second
