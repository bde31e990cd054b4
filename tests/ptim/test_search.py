"""Search (R-PTIM-137, R-PTIM-138, D-49) with its CSV export, and the fields a re-booking may
correct (D-32)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from ptim import services
from ptim.models import Contract, InterventionCategory
from ptim.services import PtimError
from tests.factories.kernel import aware

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(f0):
    c325 = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    c326 = f0.book("I-2", at=aware(2024, 3, 4, 11, 0))
    c327 = f0.book("I-3", at=aware(2024, 3, 5, 10, 0), rup_last_name="Neri")
    c328 = f0.book("I-4", "C7754", at=aware(2024, 3, 5, 11, 0))
    services.annul_contract(
        user=f0.t1, contract_id=c325.pk, reason="Errato inserimento", now=aware(2024, 3, 6, 9)
    )
    c325a = services.rebook_operator(
        user=f0.p1, progressive="325", measured_basis_confirmed=True, now=aware(2024, 3, 6, 10)
    )
    return {"325": c325, "326": c326, "327": c327, "328": c328, "325a": c325a}


def _progressives(client, **params):
    r = client.get(reverse("ptim:contract-search"), params)
    assert r.status_code == 200
    return sorted(c.progressive for c in r.context["page"].object_list)


def test_d49_filters(f0, booked, client_for):
    client = client_for(f0.p1)
    assert _progressives(client) == ["325", "325a", "326", "327", "328"]
    assert _progressives(client, progressive="325") == ["325", "325a"]  # root
    assert _progressives(client, progressive="325a") == ["325a"]  # exact
    assert _progressives(client, state="ANNULLED") == ["325"]
    assert _progressives(client, operator=f0.ops["B"].operator_id) == ["327"]
    assert _progressives(client, spending_chapter=f0.chapters["C7754"].pk) == ["328"]
    assert _progressives(client, rup="neri") == ["327"]
    assert _progressives(client, booked_from="2024-03-05", booked_to="2024-03-05") == ["327", "328"]
    assert _progressives(client, booked_from="2024-03-06") == ["325a"]
    assert _progressives(client, lot=1, period=f0.period.pk, territorial_area=f0.area.pk) == [
        "325",
        "325a",
        "326",
        "327",
        "328",
    ]
    assert _progressives(client, lot=2) == []
    assert _progressives(client, agreement=f0.aq.pk, contracting_authority=f0.prov.pk) == [
        "325",
        "325a",
        "326",
        "327",
        "328",
    ]
    assert _progressives(client, contracting_authority=f0.dif.pk) == []
    mu = Contract.objects.get(pk=booked["326"].pk).intervention_identifier
    assert _progressives(client, intervention_identifier=mu) == ["326"]
    r = client.get(reverse("ptim:contract-search"), {"booked_from": "05/03/2024", "lot": "x"})
    assert r.status_code == 200 and len(r.context["search_errors"]) == 2
    # Territorial competence: a Difesa user of another area sees nothing of Lombardia's
    from ptim.models import OrganisationProfile, TerritorialArea

    sic = TerritorialArea.objects.create(code="sicilia", name="Sicilia")
    OrganisationProfile.objects.get(organisation=f0.dif).territorial_areas.set([sic])
    assert _progressives(client_for(f0.d1)) == []


def test_csv_export_has_the_d49_columns_and_the_same_filters(f0, booked, client_for):
    client = client_for(f0.p1)
    r = client.get(reverse("ptim:contract-export"), {"state": "BOOKED"})
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert "attachment" in r["Content-Disposition"]
    text = b"".join(r.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Progressivo", "Data di prenotazione", "Stazione Appaltante"]
    body = {row[0]: row for row in rows[1:]}
    assert sorted(body) == ["325a", "326", "327", "328"]
    assert body["327"][6] == "Beta Edilizia S.p.A."
    assert body["327"][8:10] == ["126.000,00", "114.000,00"]
    assert body["328"][11] == "7754"
    assert client.get(reverse("ptim:contract-export"), {"booked_to": "x"}).status_code == 400


def test_rebooking_may_correct_only_description_category_and_rup(f0, client_for):
    c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    services.annul_contract(user=f0.t1, contract_id=c.pk, reason="Errore", now=aware(2024, 3, 5))
    other = InterventionCategory.objects.exclude(pk=c.intervention_category_id).first()
    with pytest.raises(PtimError) as exc:
        services.rebook_operator(
            user=f0.p1,
            progressive="325",
            measured_basis_confirmed=True,
            corrections={"rup_email": "ufficio.tecnico@oopp.example.it", "description": ""},
            now=aware(2024, 3, 5, 10),
        )
    assert set(exc.value.errors) == {"rup_email", "description"}
    new = services.rebook_operator(
        user=f0.p1,
        progressive="325",
        measured_basis_confirmed=True,
        corrections={
            "description": "Rifacimento copertura – lotto funzionale 2",
            "intervention_category": other.pk,
            "rup_last_name": "Rossi",
            "rup_email": "luigi.rossi@oopp.example.it",
            # not editable (D-32): silently ignored, the recalled values stay
            "works_amount": "1",
            "spending_chapter": f0.chapters["C7754"].pk,
            "intervention_identifier": "MU-99",
        },
        now=aware(2024, 3, 5, 10),
    )
    assert (new.progressive, new.description, new.intervention_category) == (
        "325a",
        "Rifacimento copertura – lotto funzionale 2",
        other,
    )
    assert (new.rup_last_name, new.rup_email) == ("Rossi", "luigi.rossi@oopp.example.it")
    assert (new.works_amount, new.spending_chapter, new.intervention_identifier) == (
        c.works_amount,
        c.spending_chapter,
        c.intervention_identifier,
    )
    # The receipt e-mails go to the corrected RUP address.
    from procurement.notifications.models import EmailOutbox

    assert EmailOutbox.objects.filter(
        to="luigi.rossi@oopp.example.it", subject__contains="Riprenotazione"
    ).exists()


def test_rebooking_page_shows_the_editable_fields(f0, client_for):
    import time_machine

    with time_machine.travel(aware(2024, 3, 5, 9, 30), tick=True):
        c = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
        services.annul_contract(
            user=f0.t1, contract_id=c.pk, reason="Errore", now=aware(2024, 3, 5)
        )
        client = client_for(f0.p1)
        url = reverse("ptim:contract-create")
        page = client.post(url, {"annulled_progressive": "325", "step": "show"}).content.decode()
        assert 'name="rup_email"' in page and "mario.bianchi@oopp.example.it" in page
        assert 'name="works_amount"' not in page
        r = client.post(
            url,
            {
                "annulled_progressive": "325",
                "step": "rebook_conferma",
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
            },
        )
        assert r.status_code == 302
        assert Contract.objects.get(progressive="325a").description == "Descrizione corretta"
