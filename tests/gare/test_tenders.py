"""Tender configuration, the reference template and publication (R-GARE §8.2, §5.2)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from gare.models import TenderStatus
from gare.services.common import GareError
from gare.services.tenders import publication_problems, tender_publish, tender_update
from procurement.audit.models import AuditEvent
from tests.factories.kernel import aware

from .conftest import add_required_documents

pytestmark = pytest.mark.django_db


def test_the_reference_template_reproduces_the_disciplinare(draft_tender):
    lot = draft_tender.lots.get()
    assert (draft_tender.code, draft_tender.cup, lot.cig) == (
        "20/2026",
        "J15B24001430005",
        "BC276A8439",
    )
    assert lot.works_amount == Decimal("1619952.10")
    assert lot.safety_costs == Decimal("38293.04")
    assert lot.total_amount == Decimal("1658245.14")
    assert lot.labour_cost_estimate == Decimal("598695.55")
    shares = {c.category: (c.amount, c.share_pct, c.role) for c in lot.categories.all()}
    assert shares == {
        "OG1": (Decimal("1240794.50"), Decimal("76.59"), "PREVALENT"),
        "OS28": (Decimal("158578.80"), Decimal("9.79"), "SEPARABLE"),
        "OS30": (Decimal("220578.80"), Decimal("13.62"), "SEPARABLE"),
    }
    # T02: answers at least 6 days before the offer deadline -> 21/07/2026 12:00.
    assert draft_tender.answers_deadline == aware(2026, 7, 21, 12, 0)
    assert draft_tender.scheme["code"]
    assert draft_tender.wrapped_key  # its data key exists, wrapped


def test_publication_is_refused_with_italian_reasons_when_documents_are_missing(
    world, draft_tender
):
    with pytest.raises(GareError) as exc:
        tender_publish(user=world.rup, tender=draft_tender, now=aware(2026, 6, 26, 9, 0))
    assert "Manca il documento «Bando di gara»" in exc.value.message
    assert "Disciplinare di gara" in exc.value.message
    draft_tender.refresh_from_db()
    assert draft_tender.status == TenderStatus.DRAFT


def test_publication_is_refused_when_the_scheme_cannot_be_evaluated(world, draft_tender):
    add_required_documents(world, draft_tender, aware(2026, 6, 25, 10, 0))
    broken = dict(draft_tender.scheme)
    broken["technical_max"] = "70"  # groups still add up to 80
    draft_tender.scheme = broken
    draft_tender.save()
    problems = publication_problems(draft_tender)
    assert any("schema di valutazione" in p for p in problems), problems
    with pytest.raises(GareError):
        tender_publish(user=world.rup, tender=draft_tender, now=aware(2026, 6, 26, 9, 0))


def test_publication_is_refused_when_deadlines_are_out_of_order(world, draft_tender):
    add_required_documents(world, draft_tender, aware(2026, 6, 25, 10, 0))
    tender_update(
        user=world.rup,
        tender=draft_tender,
        data={"questions_deadline": aware(2026, 7, 22, 12, 0)},
        now=aware(2026, 6, 25, 11, 0),
    )
    with pytest.raises(GareError) as exc:
        tender_publish(user=world.rup, tender=draft_tender, now=aware(2026, 6, 26, 9, 0))
    assert "I termini non sono in ordine" in exc.value.message


def test_publication_freezes_the_configuration_and_is_audited(world, draft_tender):
    add_required_documents(world, draft_tender, aware(2026, 6, 25, 10, 0))
    tender = tender_publish(user=world.rup, tender=draft_tender, now=aware(2026, 6, 26, 9, 0))
    assert tender.status == TenderStatus.PUBLISHED
    assert AuditEvent.objects.filter(action="gara pubblicata", to_state="PUBLISHED").exists()
    with pytest.raises(GareError):
        tender_update(
            user=world.rup, tender=tender, data={"title": "altro"}, now=aware(2026, 6, 27, 9, 0)
        )


def test_only_the_rup_of_the_authority_publishes(world, draft_tender):
    add_required_documents(world, draft_tender, aware(2026, 6, 25, 10, 0))
    for user in (world.bidders[0], world.outsider, world.commissioners[0]):
        with pytest.raises(PermissionDenied):
            tender_publish(user=user, tender=draft_tender, now=aware(2026, 6, 26, 9, 0))


def test_the_browser_flow_creates_from_template_and_shows_the_problems(world, client_for):
    client = client_for(world.rup)
    response = client.post("/gare/nuova/")
    assert response.status_code == 302
    page = client.get(response["Location"])
    text = page.content.decode()
    assert "1658245,14" in text or "1658245.14" in text
    assert "Manca il documento" in text
    response = client.post(response["Location"] + "pubblica/", follow=True)
    assert "La gara non può essere pubblicata" in response.content.decode()


def test_drafts_are_not_visible_to_operators_but_published_tenders_are(
    world, draft_tender, client_for
):
    client = client_for(world.bidders[0])
    assert client.get(f"/gare/{draft_tender.pk}/").status_code == 404
    add_required_documents(world, draft_tender, aware(2026, 6, 25, 10, 0))
    tender_publish(user=world.rup, tender=draft_tender, now=aware(2026, 6, 26, 9, 0))
    assert client.get(f"/gare/{draft_tender.pk}/").status_code == 200
