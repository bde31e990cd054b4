"""AS-15: material error in envelope C, and the offer validity (T21)."""

from __future__ import annotations

import datetime

import pytest

from gare import deadlines, sealing
from gare.services import procedure as proc
from gare.services.common import GareError
from gare.services.rectification import (
    rectification_decide,
    rectification_file_note,
    rectification_instruct,
    rectification_note,
    rectification_request,
)
from gare.services.submission import envelope_data
from tests.factories.kernel import aware

from .conftest import run_to_admissions, run_to_technical

pytestmark = pytest.mark.django_db


def test_as_15_material_error_and_offer_validity(world, lot):
    run_to_admissions(world, lot, 2)
    run_to_technical(world, lot)
    o3 = lot.participants.get(operator=world.operators[1])
    item = rectification_request(
        user=world.bidders[1], participant=o3, envelope_type="C", now=aware(2026, 8, 6, 9, 0)
    )
    rectification_instruct(
        user=world.rup,
        item=item,
        instructions="Indica l'errore e la correzione.",
        deadline=aware(2026, 8, 11, 12, 0),
        now=aware(2026, 8, 6, 10, 0),
    )
    rectification_file_note(
        user=world.bidders[1],
        item=item,
        note="Costi della manodopera: € 598.695,55 e non € 5.986.955,50",
        now=aware(2026, 8, 10, 9, 0),
    )
    item.refresh_from_db()
    assert b"598" not in bytes(item.sealed_note)
    with pytest.raises(sealing.SealedError):
        rectification_note(item)
    proc.session_schedule(
        user=world.rup,
        lot=lot,
        kind="ECON_OPENING",
        scheduled_at=aware(2026, 8, 18, 10, 0),
        now=aware(2026, 8, 12, 10, 0),
    )
    proc.session_start(
        user=world.commissioners[0], lot=lot, kind="ECON_OPENING", now=aware(2026, 8, 18, 10, 0)
    )
    # A request filed after the C session started is refused.
    with pytest.raises(GareError):
        rectification_request(
            user=world.bidders[1], participant=o3, envelope_type="C", now=aware(2026, 8, 18, 10, 30)
        )
    assert "598.695,55" in rectification_note(item)
    rectification_decide(
        user=world.rup,
        item=item,
        accepted=True,
        field="labour_costs",
        value="598695.55",
        now=aware(2026, 8, 18, 10, 45),
    )
    data = envelope_data(o3.current_offer.envelopes.get(type="C"))
    assert data["labour_costs"] == "598695.55"
    assert data["corrections"][0]["rectification"] == item.pk
    # Offer validity: 180 days from 27/07/2026 = 23/01/2027.
    assert deadlines.offer_validity_until(lot.tender) == datetime.date(2027, 1, 23)
