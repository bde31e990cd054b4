"""Nothing from a sealed envelope, no economic offer before its opening and no participant before
the award ever reaches the public pages or the OCDS releases (issue "Transparency and open
data")."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from gare.services import procedure as proc
from procurement.opendata.models import OcdsRelease, PublicProcedure
from tests.factories.kernel import aware

from .conftest import run_to_admissions, run_to_ranking, run_to_technical, submit_offer

pytestmark = pytest.mark.django_db

DISCOUNTS = ["14.25", "12.50", "16.40"]  # as run_to_admissions submits them
SECRET_TEXT = "Relazione tecnica riservata: soluzione brevettata XJ-42"


def public_text(lot) -> str:
    """Everything a member of the public can read about the procedure."""
    anonymous = Client()
    pages = [
        anonymous.get("/trasparenza/bandi/").content.decode(),
        anonymous.get("/trasparenza/affidamenti/").content.decode(),
        anonymous.get("/api/ocds/releases").content.decode(),
        anonymous.get("/api/ocds/records").content.decode(),
    ]
    for procedure in PublicProcedure.objects.all():
        pages.append(anonymous.get(f"/trasparenza/procedura/{procedure.ocid}/").content.decode())
    pages += [json.dumps(r.data) for r in OcdsRelease.objects.all()]
    return "\n".join(pages)


def _coefficients(k, i, code):
    return "0.8"


def test_envelopes_and_bidders_never_reach_the_public_before_they_are_public(world, lot):
    submit_offer(
        user=world.bidders[0],
        operator=world.operators[0],
        lot=lot,
        now=aware(2026, 7, 20, 9, 0),
        discount="21.37",
        tabular={"A2": 3, "D1": "on", "D2": 2, "D3": SECRET_TEXT},
    )
    text = public_text(lot)
    assert lot.cig in text  # the notice is public
    assert "21.37" not in text and "21,37" not in text  # the economic offer is sealed
    assert SECRET_TEXT not in text  # so is the technical envelope
    assert world.operators[0].name not in text  # bidders are not disclosed before the award

    run_to_admissions(world, lot, 3)
    run_to_technical(world, lot, _coefficients)
    text = public_text(lot)
    assert not any(d in text for d in DISCOUNTS)  # C still sealed after the technical scores
    assert SECRET_TEXT not in text
    assert all(o.name not in text for o in world.operators[:3])

    run = run_to_ranking(world, lot)
    first_id = int(run.result["offers"][0]["id"])
    proc.award_propose(user=world.commissioners[0], lot=lot, now=aware(2026, 9, 9, 9, 0))
    proc.verification_start(user=world.rup, lot=lot, now=aware(2026, 9, 10, 9, 0))
    proc.verification_record(
        user=world.rup, lot=lot, positive=True, note="ok", now=aware(2026, 9, 21, 9, 0)
    )
    text = public_text(lot)
    assert all(o.name not in text for o in world.operators[:3])  # a proposal is not an award

    proc.award_adopt(user=world.rup, lot=lot, now=aware(2026, 10, 13, 9, 0))
    text = public_text(lot)
    winner = lot.participants.get(pk=first_id)
    assert winner.display_name in text  # the award is public now
    assert SECRET_TEXT not in text  # envelope contents never are
    losers = [p for p in lot.participants.all() if p.pk != first_id]
    assert all(p.display_name not in text for p in losers)


def test_the_notice_documents_are_downloadable_by_anyone_once_published(world, draft_tender):
    from gare.services.tenders import tender_publish

    from .conftest import add_required_documents

    add_required_documents(world, draft_tender, aware(2026, 6, 26, 8, 0))
    document = draft_tender.documents.first()
    url = f"/gare/{draft_tender.pk}/bando/{document.pk}/"
    assert Client().get(url).status_code == 404  # a draft is not public

    tender_publish(user=world.rup, tender=draft_tender, now=aware(2026, 6, 26, 9, 0))

    response = Client().get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    release = OcdsRelease.objects.get(source="gare", tags=["tender"])
    urls = [d["url"] for d in release.data["tender"]["documents"]]
    assert any(u.endswith(url) for u in urls)
    page = Client().get(f"/trasparenza/procedura/{release.ocid}/").content.decode()
    assert url in page
