"""Re-booking through the summary and "Dettaglio Contratto" steps (R-PTIM-107, R-PTIM-108)."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from ptim import services
from ptim.models import Contract
from tests.factories.kernel import aware

pytestmark = pytest.mark.django_db


def _fields(f0, c, **over):
    d = {
        "annulled_progressive": "325",
        "measured_basis_confirmed": "on",
        "description": "Descrizione corretta",
        "intervention_category": c.intervention_category_id,
        "rup_first_name": "Mario",
        "rup_last_name": "Bianchi",
        "rup_role": "RUP",
        "rup_phone": "021234",
        "rup_email": "mario.bianchi@oopp.example.it",
        "office_name": "Ufficio tecnico",
        "office_email": "ufficio.tecnico@oopp.example.it",
    }
    d.update(over)
    return d


@pytest.fixture
def annulled(f0):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    services.annul_contract(user=f0.t1, contract_id=c.pk, reason="Errore", now=aware(2024, 3, 5))
    return c


def test_rebooking_walks_summary_and_dettaglio_contratto(f0, annulled, client_for):
    url = reverse("ptim:contract-create")
    with time_machine.travel(aware(2024, 3, 6, 9, 30), tick=True):
        client = client_for(f0.p1)
        page = client.post(url, {"annulled_progressive": "325"}).content.decode()
        assert 'value="rebook_salva"' in page and "Annulla operazione" in page
        assert 'value="rebook_conferma"' not in page
        # "Salva" → summary with "Riprenota operatore" and "Annulla operazione"; nothing stored.
        r = client.post(url, _fields(f0, annulled, step="rebook_salva"))
        page = r.content.decode()
        assert r.status_code == 200 and r.context["step"] == "rebook_summary"
        assert "Riprenota operatore" in page and "Annulla operazione" in page
        assert "Descrizione corretta" in page and 'value="rebook_conferma"' not in page
        assert not Contract.objects.filter(progressive="325a").exists()
        # "Riprenota operatore" → "Dettaglio Contratto" with "Conferma dati" / "Annulla operazione".
        r = client.post(url, _fields(f0, annulled, step="rebook_dettaglio"))
        page = r.content.decode()
        assert r.context["step"] == "rebook_detail"
        assert "Dettaglio Contratto" in page and "Conferma dati" in page
        assert "Annulla operazione" in page and 'value="rebook_conferma"' in page
        assert not Contract.objects.filter(progressive="325a").exists()
        # "Conferma dati" books.
        r = client.post(url, _fields(f0, annulled, step="rebook_conferma"))
        assert r.status_code == 302
        new = Contract.objects.get(progressive="325a")
        assert new.description == "Descrizione corretta" and new.predecessor_id == annulled.pk


def test_salva_requires_a_misura_confirmation_and_valid_fields(f0, annulled, client_for):
    url = reverse("ptim:contract-create")
    with time_machine.travel(aware(2024, 3, 6, 9, 30), tick=True):
        client = client_for(f0.p1)
        fields = _fields(f0, annulled, step="rebook_salva")
        del fields["measured_basis_confirmed"]
        r = client.post(url, fields)
        assert r.status_code == 400 and r.context["step"] == "rebook"
        r = client.post(url, _fields(f0, annulled, step="rebook_salva", description=""))
        assert r.status_code == 400 and r.context["errors"]["description"]
        assert not Contract.objects.filter(progressive="325a").exists()


@pytest.mark.parametrize("at_step", ["rebook_salva", "rebook_dettaglio"])
def test_annulla_operazione_discards_everything(f0, annulled, client_for, at_step):
    url = reverse("ptim:contract-create")
    with time_machine.travel(aware(2024, 3, 6, 9, 30), tick=True):
        client = client_for(f0.p1)
        client.post(url, _fields(f0, annulled, step=at_step))
        r = client.post(url, _fields(f0, annulled, step="annulla"), follow=True)
        assert r.redirect_chain[-1][0] == url
        assert r.context["step"] == "1"
        assert "Operazione annullata" in r.content.decode()
        assert Contract.objects.count() == 1
        # the annulled contract can still be re-booked afterwards
        assert services.find_rebookable(user=f0.p1, progressive="325").pk == annulled.pk
