"""Screen 1/2 of "Inserimento Contratto" refreshed live by htmx (R-PTIM-009, R-PTIM-031,
R-PTIM-105) and the A-37 confirmation prompts on the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ptim import services
from tests.factories.kernel import aware

from .conftest import pdf

pytestmark = pytest.mark.django_db
LIVE = reverse("ptim:contract-create-live")


@pytest.fixture(autouse=True)
def march_2024():
    import time_machine

    with time_machine.travel(aware(2024, 3, 4, 9, 30), tick=True):
        yield


def _screen1(f0, **over):
    d = {
        "period": f0.period.pk,
        "works_amount": "100.000,00",
        "safety_costs": "5.000,00",
        "og1_amount": "105000",
        "og2_amount": "0",
        "og11_amount": "0",
        "territorial_area": f0.area.pk,
    }
    d.update(over)
    return d


def test_calc_shows_planned_amount_lot_and_areas_of_the_lot(f0, client_for):
    client = client_for(f0.p1)
    r = client.get(LIVE, {**_screen1(f0), "part": "calc"}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert r.status_code == 200
    assert "€ 105.000,00" in html and "Lotto 1" in html
    # Lot 1 has an AQ in force for Lombardia: the area list (swapped out of band) offers it.
    assert 'hx-swap-oob="outerHTML"' in html and "Lombardia" in html
    assert "Emilia-Romagna" not in html  # within competence but no AQ of Lot 1 there
    # Lot 2 (prevailing 150,000.50): no AQ in force → no area offered (SC-01 #2).
    r = client.get(
        LIVE,
        {**_screen1(f0, og1_amount="150.000,50", works_amount="150.000,50"), "part": "calc"},
    )
    html = r.content.decode()
    assert "Lotto 2" in html and "Lombardia" not in html
    # Same lot already shown: the list is left alone (a choice is never reset).
    lot1 = f0.aq.lots.get().pk
    r = client.get(LIVE, {**_screen1(f0), "part": "calc", "shown_lot": lot1})
    assert "hx-swap-oob" not in r.content.decode()
    # Incomplete input: no error, no lot.
    r = client.get(LIVE, {"part": "calc", "works_amount": "abc"})
    assert r.status_code == 200 and "Lotto 1" not in r.content.decode()


def test_residuals_follow_every_booking_in_real_time(f0, client_for):
    client = client_for(f0.p1)
    params = {**_screen1(f0), "part": "residuals", "spending_chapter": f0.chapters["MU"].pk}
    html = client.get(LIVE, params).content.decode()
    assert "AQ-MU-2023-L1-LOM" in html
    assert "€ 1.000.000,00" in html and "€ 500.000,00" in html  # AQ and M.U. residuals
    assert "Alfa Costruzioni S.r.l.</strong> (€ 85.000,00)" in html
    # Another user books meanwhile: the next poll shows the new residuals (SC-02 step 1–2).
    f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    f0.book("I-2", at=aware(2024, 3, 4, 9, 5))
    html = client.get(LIVE, params).content.decode()
    assert "€ 793.000,00" in html and "€ 293.000,00" in html and "€ 93.000,00" in html
    # I-3 (A needs 102,000 > 93,000): the designated operator is now B.
    i3 = {
        **params,
        "works_amount": "120.000,00",
        "safety_costs": "6.000,00",
        "og1_amount": "126000",
    }
    assert "Beta Edilizia S.p.A.</strong> (€ 114.000,00)" in client.get(LIVE, i3).content.decode()


def test_residuals_only_within_the_territorial_competence(f0, client_for):
    from ptim.models import TerritorialArea

    other = TerritorialArea.objects.create(code="sicilia", name="Sicilia")
    f0.aq.__class__.objects.filter(pk=f0.aq.pk).update(territorial_area=other)
    html = client_for(f0.p1).get(
        LIVE, {**_screen1(f0, territorial_area=other.pk), "part": "residuals"}
    )
    assert "AQ-MU-2023-L1-LOM" not in html.content.decode()


def test_rebook_number_is_checked_on_leaving_the_field(f0, client_for):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    client = client_for(f0.p1)
    r = client.get(LIVE, {"part": "rebook", "annulled_progressive": "325"})
    assert "si trova nello stato «Prenotato»: non è possibile riprenotarlo." in r.content.decode()
    r = client.get(LIVE, {"part": "rebook", "annulled_progressive": "999"})
    assert "Il progressivo 999 non corrisponde a un contratto annullato" in r.content.decode()
    services.annul_contract(
        user=f0.t1, contract_id=c.pk, reason="Errato inserimento", now=aware(2024, 3, 4, 9, 10)
    )
    r = client.get(LIVE, {"part": "rebook", "annulled_progressive": "325"})
    assert "live-rebook-error" not in r.content.decode()


def test_live_needs_a_contracting_authority_user(f0, client_for):
    from tests.factories.kernel import OrganisationFactory, member

    stranger = member(OrganisationFactory())
    assert client_for(stranger).get(LIVE, {"part": "calc"}).status_code == 403


def test_form_loads_htmx_from_static_files_no_inline_script(f0, client_for):
    html = client_for(f0.p1).get(reverse("ptim:contract-create")).content.decode()
    assert "django_htmx/htmx-2.min.js" in html and "ptim/ptim.js" in html
    assert 'id="live-calc"' in html and 'id="live-residuals"' in html
    assert 'hx-trigger="load, change from:#contract-form, every 10s"' in html


def test_a37_prompts_on_the_operations(f0, client_for):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    page = client_for(f0.p1).get(reverse("ptim:contract-detail", args=[c.pk])).content.decode()
    assert 'data-confirm="Confermi l’accettazione del contratto n. 325?"' in page
    services.accept_contract(
        user=f0.p1, contract_id=c.pk, document=pdf(), now=aware(2024, 3, 4, 9, 10)
    )
    page = client_for(f0.p1).get(reverse("ptim:contract-detail", args=[c.pk])).content.decode()
    assert (
        'data-confirm="Confermi la conferma del contratto n. 325? Il contratto passerà nello stato '
        'Definitivo."' in page
    )
    assert (
        'data-confirm="Confermi la proroga del termine di stipula al 13/05/2024? La proroga è '
        'concessa una sola volta."' in page
    )
    page = client_for(f0.t1).get(reverse("ptim:contract-detail", args=[c.pk])).content.decode()
    assert 'data-confirm="Confermi l’annullamento del contratto n. 325?"' in page
    url = reverse("ptim:refusals", args=[f0.ops["A"].pk])
    page = client_for(f0.t1).get(url).content.decode()
    assert 'data-confirm="Confermi l’esclusione dell’operatore Alfa Costruzioni S.r.l.?"' in page
