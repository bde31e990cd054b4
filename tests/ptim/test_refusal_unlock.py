"""DG unlock of an expired refusal with the unlock date (D-42, R-PTIM-126)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse

from procurement.audit.models import AuditEvent
from ptim import services
from ptim.models import Refusal
from tests.factories.kernel import aware

from .test_supervision import _refusal

pytestmark = pytest.mark.django_db


@pytest.fixture
def expired(f0):
    # inserted 06/03/2024 → handling deadline 05/04/2024
    return _refusal(f0, "A", 330, aware(2024, 3, 4, 10), aware(2024, 3, 6, 10))


def test_unlock_date_defaults_to_today_and_is_audited(f0, expired):
    services.unlock_refusal(
        user=f0.g1, refusal_id=expired.pk, motivation="istanza DT", now=aware(2024, 4, 8, 10)
    )
    r = Refusal.objects.get(pk=expired.pk)
    assert r.unlock_date == datetime.date(2024, 4, 8) and r.unlocked_by == f0.g1
    event = AuditEvent.objects.filter(action="sblocco rifiuto").get()
    assert event.payload["unlock_date"] == "2024-04-08"
    assert event.payload["motivation"] == "istanza DT"


def test_unlock_date_validated(f0, expired):
    now = aware(2024, 4, 8, 10)
    for bad, text in [
        ("2024-04-09", "La data di sblocco non può essere successiva a oggi."),
        ("08/04/2024x", "Data di sblocco non valida."),
        ("2024-03-01", "La data di sblocco non può precedere l’inserimento del rifiuto."),
    ]:
        with pytest.raises(services.PtimError) as exc:
            services.unlock_refusal(
                user=f0.g1, refusal_id=expired.pk, motivation="m", unlock_date=bad, now=now
            )
        assert exc.value.errors["unlock_date"] == [text]
    with pytest.raises(services.PtimError):
        services.unlock_refusal(
            user=f0.g1, refusal_id=expired.pk, motivation="", unlock_date="2024-04-07", now=now
        )
    assert Refusal.objects.get(pk=expired.pk).unlocked_at is None
    services.unlock_refusal(
        user=f0.g1, refusal_id=expired.pk, motivation="m", unlock_date="2024-04-07", now=now
    )
    assert Refusal.objects.get(pk=expired.pk).unlock_date == datetime.date(2024, 4, 7)
    with pytest.raises(services.PtimError):  # one unlock per refusal
        services.unlock_refusal(user=f0.g1, refusal_id=expired.pk, motivation="m", now=now)


def test_unlock_refused_before_the_deadline(f0, expired):
    with pytest.raises(services.PtimError) as exc:
        services.unlock_refusal(
            user=f0.g1, refusal_id=expired.pk, motivation="m", now=aware(2024, 4, 5, 10)
        )
    assert "non è scaduto" in exc.value.message


def test_unlock_page_offers_the_date_prefilled_with_today(f0, expired, client_for):
    url = reverse("ptim:refusals", args=[f0.ops["A"].pk])
    action = reverse("ptim:refusal-action", args=[f0.ops["A"].pk, "unlock"])
    with time_machine.travel(aware(2024, 4, 8, 10), tick=False):
        client = client_for(f0.g1)
        page = client.get(url).content.decode()
        assert 'name="unlock_date" value="2024-04-08" max="2024-04-08"' in page
        r = client.post(
            action,
            {"refusal": expired.pk, "unlock_date": "2024-04-09", "motivation": "m"},
            follow=True,
        )
        assert "La data di sblocco non può essere successiva a oggi." in r.content.decode()
        assert Refusal.objects.get(pk=expired.pk).unlocked_at is None
        r = client.post(
            action,
            {"refusal": expired.pk, "unlock_date": "2024-04-07", "motivation": "istanza DT"},
            follow=True,
        )
        page = r.content.decode()
        assert "Gestione del rifiuto sbloccata." in page
        assert "Sbloccato il 07/04/2024" in page and "istanza DT" in page
        assert Refusal.objects.get(pk=expired.pk).unlock_date == datetime.date(2024, 4, 7)
