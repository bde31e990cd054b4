"""Read API, the rest of what the issue asks: the published clarifications of a tender (anonymous,
as the public page shows them) and the results of a lot, only once it is awarded (public from
then, with points and the contract value, never an offered discount, time or cost)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from django.test import Client

from gare.models import LotStatus
from gare.services import procedure as proc
from gare.services.clarifications import clarification_answer, clarification_ask
from tests.factories.kernel import aware

from .conftest import run_to_admissions, run_to_ranking, run_to_technical
from .test_api import SECRET_DAYS, SECRET_DISCOUNTS, assert_no_offer_figures, get

pytestmark = pytest.mark.django_db

ASKER_TEXT = "Siamo la Operatore 1 S.r.l.: è ammesso il subappalto al 100 % della OS30?"
PUBLISHED_TEXT = "È ammesso il subappalto al 100 % della OS30?"


# --- clarifications ----------------------------------------------------------------------------


def test_published_clarifications_are_the_same_anonymous_list_for_everybody(
    world, tender, client_for
):
    asked = clarification_ask(
        user=world.bidders[0],
        tender=tender,
        operator=world.operators[0],
        text=ASKER_TEXT,
        now=aware(2026, 7, 15, 10, 12),
    )
    clarification_answer(
        user=world.rup,
        clarification=asked,
        published_question=PUBLISHED_TEXT,
        answer="Sì, come indicato nella Tab. 2.",
        now=aware(2026, 7, 17, 9, 0),
    )
    # A question not answered yet is on the staff's page only, never in the API.
    clarification_ask(
        user=world.bidders[1],
        tender=tender,
        operator=world.operators[1],
        text="Quesito ancora senza risposta della Operatore 2 S.r.l.",
        now=aware(2026, 7, 16, 9, 0),
    )
    url = f"/gare/api/gare/{tender.pk}/chiarimenti/"
    for user in (world.bidders[0], world.bidders[2], world.outsider, world.rup, world.board):
        response, text = get(client_for(user), url)
        assert response.status_code == 200, user
        (item,) = response.json()["results"]
        assert item == {
            "question": PUBLISHED_TEXT,
            "answer": "Sì, come indicato nella Tab. 2.",
            "published_at": "2026-07-17T09:00:00+02:00",
            "late_override": False,
        }
        # Who asked, and what they wrote, stay with the authority (D-05).
        for secret in ("Operatore 1", "Operatore 2", "senza risposta", world.bidders[0].username):
            assert secret not in text
    anonymous = Client().get(url, HTTP_ACCEPT="application/json")
    assert anonymous.status_code == 401


def test_clarifications_of_a_draft_or_a_template_are_not_found(world, draft_tender, client_for):
    from gare.services.tenders import tender_create_from_reference

    template = tender_create_from_reference(
        user=world.rup, organisation=world.sua, now=aware(2026, 6, 25, 9, 0), is_template=True
    )
    bidder = client_for(world.bidders[0])
    response, _ = get(bidder, f"/gare/api/gare/{draft_tender.pk}/chiarimenti/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    # the authority's staff see their draft (no clarifications yet), never the template
    staff = client_for(world.rup)
    assert get(staff, f"/gare/api/gare/{draft_tender.pk}/chiarimenti/")[0].json()["results"] == []
    assert get(staff, f"/gare/api/gare/{template.pk}/chiarimenti/")[0].status_code == 404
    # nor is the template itself a tender of the API (it was a 500)
    assert get(staff, f"/gare/api/gare/{template.pk}/")[0].status_code == 404


# --- results after the award -------------------------------------------------------------------


def _to_verification(world, lot):
    run_to_admissions(world, lot, 2, discounts=SECRET_DISCOUNTS, days=SECRET_DAYS)
    run_to_technical(world, lot)
    run = run_to_ranking(world, lot)
    award = proc.award_propose(user=world.rup, lot=lot, now=aware(2026, 9, 9, 9, 0))
    proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 10, 9, 0))
    proc.verification_record(
        user=world.rup, lot=lot, positive=True, note="", now=aware(2026, 9, 21, 9, 0)
    )
    return run, award


def test_results_are_not_found_until_the_award_for_anybody(world, lot, client_for):
    url = f"/gare/api/lotti/{lot.pk}/esito/"
    readers = [world.rup, world.board, world.commissioners[0], world.bidders[0], world.outsider]
    response, _ = get(client_for(world.rup), url)
    assert response.status_code == 404  # published, no offers yet
    _to_verification(world, lot)
    lot.refresh_from_db()
    assert lot.status == LotStatus.VERIFICATION  # ranked and proposed, not awarded
    for user in readers:
        response, text = get(client_for(user), url)
        assert response.status_code == 404, user
        assert response["Content-Type"] == "application/problem+json"
        assert "non è ancora aggiudicato" in response.json()["detail"]
        # The tender board must not learn offered values (matrix row 26), nor anybody else
        # the figures of the ranking, before the award.
        assert_no_offer_figures(text)
        assert "total" not in text and "contract_value" not in text


def test_results_after_the_award_are_public_with_points_and_no_offered_values(
    world, lot, client_for
):
    run, award = _to_verification(world, lot)
    proc.award_adopt(user=world.rup, lot=lot, now=aware(2026, 10, 13, 9, 0))
    url = f"/gare/api/lotti/{lot.pk}/esito/"
    names = {str(p.pk): p.display_name for p in lot.participants.all()}
    rows = {o["id"]: o for o in run.result["offers"]}
    first = next(o for o in run.result["offers"] if o["rank"] == 1)
    second = next(o for o in run.result["offers"] if o["rank"] == 2)
    # the highest discount wins (17.37 > 13.19): Operatore 1
    assert names[first["id"]] == world.operators[0].name
    # §9.2: the ranking is for the authority and the participants; others see the award only.
    outsider = get(client_for(world.outsider), url)[0].json()
    assert outsider["awardee"] == world.operators[0].name and outsider["ranking"] == []
    readers = [world.rup, world.board, world.commissioners[1], world.bidders[1]]
    for user in readers:
        response, text = get(client_for(user), url)
        assert response.status_code == 200, user
        result = response.json()
        assert result["status"] == "AWARDED"
        assert result["cig"] == lot.cig
        assert result["awardee"] == world.operators[0].name
        assert result["awarded_at"] == "2026-10-13T09:00:00+02:00"
        assert result["contract_signed_on"] is None
        assert result["run_version"] == run.version
        # the awardee's contract value: discounted works plus safety costs, as the award PDF
        value = Decimal(result["contract_value"])
        assert value == Decimal(rows[first["id"]]["contract_value"])
        assert lot.safety_costs < value < lot.works_amount + lot.safety_costs
        assert result["ranking"] == [
            {
                "rank": 1,
                "participant": world.operators[0].name,
                "technical": first["technical"],
                "economic": first["economic"],
                "total": first["total"],
                "awardee": True,
            },
            {
                "rank": 2,
                "participant": world.operators[1].name,
                "technical": second["technical"],
                "economic": second["economic"],
                "total": second["total"],
                "awardee": False,
            },
        ]
        assert Decimal(first["total"]) > Decimal(second["total"])
        # points, never what was offered: no discount, days, labour or safety costs
        assert_no_offer_figures(text)
        assert "discount" not in text and "days" not in text

    # After the signature the results stay, with its date.
    award.refresh_from_db()
    award.last_communication_sent_at = aware(2026, 10, 14, 9, 5)
    award.save()
    proc.contract_sign(
        user=world.rup,
        lot=lot,
        signed_on=datetime.date(2026, 11, 20),
        now=aware(2026, 11, 20, 9, 0),
    )
    result = get(client_for(world.bidders[2]), url)[0].json()
    assert (result["status"], result["contract_signed_on"]) == ("CONTRACT_SIGNED", "2026-11-20")
    assert result["awardee"] == world.operators[0].name
    # not for anonymous callers, like every other endpoint of the API
    assert Client().get(url, HTTP_ACCEPT="application/json").status_code == 401


def test_the_new_endpoints_are_in_the_openapi_schema(client_for, world):
    response = client_for(world.rup).get("/api/schema/?format=json")
    schema = json.loads(response.content)
    for path in ("/gare/api/gare/{id}/chiarimenti/", "/gare/api/lotti/{id}/esito/"):
        assert path in schema["paths"], path
    result = schema["components"]["schemas"]["LotResult"]["properties"]
    assert {"awardee", "awarded_at", "contract_value", "ranking"} <= set(result)
    clarification = schema["components"]["schemas"]["Clarification"]["properties"]
    assert set(clarification) == {"question", "answer", "published_at", "late_override"}
