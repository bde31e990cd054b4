"""Read API of the tenders: published tenders and lots for every authenticated user, scoring
runs only for who sees the ranking page, and never the content of envelopes B and C before
their opening (the figures of an offer cannot be found in any answer, the platform's
superuser included)."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from gare.models import LotStatus
from tests.factories.kernel import UserFactory, aware

from .conftest import run_to_admissions, run_to_ranking, run_to_technical, submit_offer

pytestmark = pytest.mark.django_db

# Figures that appear nowhere else in the tender: if they show up, a sealed envelope leaked.
SECRET_DISCOUNTS = ["17.37", "13.19"]
SECRET_DAYS = [433, 417]


@pytest.fixture
def superuser(db):
    return UserFactory(username="piattaforma", is_superuser=True, is_staff=True)


def get(client, url):
    response = client.get(url, HTTP_ACCEPT="application/json")
    return response, response.content.decode()


SECRET_LABOUR, SECRET_SAFETY = "612345.67", "23456.78"


def assert_no_offer_figures(text: str) -> None:
    for value in [*SECRET_DISCOUNTS, *map(str, SECRET_DAYS), SECRET_LABOUR, SECRET_SAFETY]:
        # as a value of its own, not a piece of an identifier or of another number
        assert not re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w.])", text), value


def test_published_tenders_and_lots_for_authenticated_users(world, tender, client_for):
    client = client_for(world.bidders[0])
    response, _ = get(client, "/gare/api/gare/")
    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["id"] == str(tender.pk) and item["status"] == "PUBLISHED"
    assert item["organisation"] == world.sua.name
    assert item["delegating_entity"] == world.comune.name
    (lot,) = item["lots"]
    db_lot = tender.lots.get()
    assert (lot["cig"], lot["works_amount"], lot["safety_costs"]) == (
        db_lot.cig,
        f"{db_lot.works_amount:.2f}",
        f"{db_lot.safety_costs:.2f}",
    )
    assert {c["category"] for c in lot["categories"]} == set(
        db_lot.categories.values_list("category", flat=True)
    )
    assert {d["kind"] for d in item["documents"]} == {"CONTRACT_NOTICE", "TENDER_RULES"}
    # the documents' links are the public download of the notice
    assert client.get(item["documents"][0]["url"]).status_code == 200
    detail, _ = get(client, f"/gare/api/gare/{tender.pk}/")
    assert detail.json()["code"] == tender.code
    lot_detail, _ = get(client, f"/gare/api/lotti/{db_lot.pk}/")
    assert lot_detail.json()["tender"] == str(tender.pk)


def test_drafts_templates_and_anonymous_requests(world, draft_tender, client_for):
    from gare.services.tenders import tender_create_from_reference

    template = tender_create_from_reference(
        user=world.rup, organisation=world.sua, now=aware(2026, 6, 25, 9, 0), is_template=True
    )
    bidder = client_for(world.bidders[0])
    response, _ = get(bidder, "/gare/api/gare/")
    assert response.json()["results"] == []
    missing, _ = get(bidder, f"/gare/api/gare/{draft_tender.pk}/")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/problem+json"
    staff, _ = get(client_for(world.rup), "/gare/api/gare/")
    # the authority's staff see their draft, not the template it was made from
    assert [t["id"] for t in staff.json()["results"]] == [str(draft_tender.pk)]
    assert staff.json()["results"][0]["documents"] == []
    template_lot = template.lots.get()
    assert get(client_for(world.rup), f"/gare/api/lotti/{template_lot.pk}/")[0].status_code == 404
    anonymous = Client().get("/gare/api/gare/", HTTP_ACCEPT="application/json")
    assert anonymous.status_code == 401
    assert "Autenticazione richiesta" in anonymous.json()["detail"]


def _submit_two(world, lot):
    for i in range(2):
        submit_offer(
            user=world.bidders[i],
            operator=world.operators[i],
            lot=lot,
            now=aware(2026, 7, 20, 10, i),
            discount=SECRET_DISCOUNTS[i],
            days=SECRET_DAYS[i],
            tabular={"A2": 2, "D1": "on", "D2": 5, "D3": "on"},
            labour=SECRET_LABOUR,
            safety=SECRET_SAFETY,
        )


def test_no_envelope_content_before_its_opening_for_anyone(world, lot, client_for, superuser):
    _submit_two(world, lot)
    readers = [world.rup, world.board, world.bidders[0], world.outsider, superuser]
    urls = ["/gare/api/gare/", f"/gare/api/gare/{lot.tender_id}/", f"/gare/api/lotti/{lot.pk}/"]
    for user in readers:
        client = client_for(user)
        for url in urls:
            response, text = get(client, url)
            assert response.status_code == 200
            assert_no_offer_figures(text)
            # before the deadline nobody learns that offers exist (R-GARE-079)
            assert "participant" not in text and "offer" not in text.replace("offer_", "")
    # nobody has scores yet; who does not see the ranking page gets 404
    assert get(client_for(world.rup), f"/gare/api/lotti/{lot.pk}/calcoli/")[0].json() == []
    assert get(client_for(superuser), f"/gare/api/lotti/{lot.pk}/calcoli/")[0].json() == []
    for user in (world.bidders[0], world.outsider):
        response, _ = get(client_for(user), f"/gare/api/lotti/{lot.pk}/calcoli/")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"


def test_technical_scores_without_economic_values_then_the_ranking(world, lot, client_for):
    run_to_admissions(world, lot, 2, discounts=SECRET_DISCOUNTS, days=SECRET_DAYS)
    run_to_technical(world, lot)
    assert lot.status == LotStatus.TECH_SCORES_PUBLISHED
    url = f"/gare/api/lotti/{lot.pk}/calcoli/"
    names = {str(p.pk): p.display_name for p in lot.participants.all()}
    for user in (world.rup, world.commissioners[1]):
        response, text = get(client_for(user), url)
        assert response.status_code == 200
        (run,) = response.json()
        assert run["stage"] == "TECHNICAL"
        # envelope C is still sealed: no price, time, economic score, total or rank
        assert_no_offer_figures(text)
        for offer in run["offers"]:
            assert {"PRICE", "TIME", "E1", "E2"}.isdisjoint(offer["points"])
            assert offer["economic"] is None and offer["total"] is None and offer["rank"] is None
            assert offer["participant"] == names[offer["id"]]
            # every discretionary coefficient 0.7 for both: full points after re-parametrisation
            assert offer["points"]["A1"] == "6.00" and offer["points"]["C2"] == "12.00"
            # All. 2 answers opened with B (the fixture's: 3 similar works, SA 8000, 2 tools,
            # no D3): 8 + 3 + 0 + 0
            assert [offer["points"][c] for c in ("A2", "D1", "D2", "D3")] == [
                "8.00",
                "3.00",
                "0.00",
                "0.00",
            ]
            assert offer["technical"] == "73.00"
    for user in (world.bidders[0], world.outsider):
        assert get(client_for(user), url)[0].status_code == 404

    run_to_ranking(world, lot)
    response, text = get(client_for(world.rup), url)
    latest, technical = response.json()
    assert (latest["stage"], technical["stage"]) == ("FULL", "TECHNICAL")
    by_name = {o["participant"]: o for o in latest["offers"]}
    first, second = (world.operators[0].name, world.operators[1].name)
    # the highest discount (17.37) gets 15.00; the shortest time (417 days) gets 5.00
    assert by_name[first]["points"]["PRICE"] == "15.00"
    assert by_name[second]["points"]["TIME"] == "5.00"
    assert [o["rank"] for o in latest["offers"]] == [1, 2]
    assert latest["offers"][0]["participant"] == first
    assert latest["ties"] == [] and latest["inadmissible"] == []

    # Matrix row 26: the tender board sees the runs, but no offered value, score or order.
    response, text = get(client_for(world.board), url)
    assert response.status_code == 200
    assert_no_offer_figures(text)
    for run in response.json():
        names_in_order = [o["participant"] for o in run["offers"]]
        assert names_in_order == sorted(names_in_order)
        for offer in run["offers"]:
            assert {"PRICE", "TIME", "E1", "E2"}.isdisjoint(offer["points"])
            assert offer["economic"] is None and offer["total"] is None and offer["rank"] is None


def test_the_runs_are_in_the_openapi_schema(client_for, world):
    response = client_for(world.rup).get("/api/schema/?format=json")
    schema = json.loads(response.content)
    for path in (
        "/gare/api/gare/",
        "/gare/api/gare/{id}/",
        "/gare/api/lotti/{id}/",
        "/gare/api/lotti/{id}/calcoli/",
    ):
        assert path in schema["paths"], path
