"""'Gestione Accordi Quadro' (R-PTIM-011, R-PTIM-012, D-51): DT users see the AQs of their
competence read-only (and may record clearances), DG users edit pre-set values through audited
services; the admin cannot bypass them."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from procurement.audit.models import AuditEvent
from ptim.agreements import save_clearance, update_agreement, update_membership
from ptim.models import (
    AgreementOperator,
    Directorate,
    FrameworkAgreement,
    InterventionCategory,
    TerritorialArea,
)
from ptim.services import PtimError
from tests.factories.kernel import UserFactory, aware

from .conftest import D

pytestmark = pytest.mark.django_db
NOW = aware(2024, 3, 4, 9, 0)


@pytest.fixture
def other_aq(f0):
    sic = TerritorialArea.objects.create(code="sicilia", name="Sicilia")
    from tests.factories.kernel import OrganisationFactory

    d = Directorate.objects.create(
        name="DT Sicilia",
        institutional_email="dt.sic@example.it",
        organisation=OrganisationFactory(name="Direzione Territoriale Sicilia"),
    )
    aq = FrameworkAgreement.objects.create(
        identifier="AQ-MU-2023-L1-SIC",
        name="AQ Sicilia",
        period=f0.period,
        territorial_area=sic,
        directorate=d,
        referent_name="X",
        referent_email="x@example.it",
        price_list="P",
        valid_from=datetime.date(2023, 7, 1),
        valid_until=datetime.date(2025, 12, 31),
        base_amount=D("1000"),
    )
    return aq


def test_dt_sees_only_the_agreements_of_its_competence_read_only(f0, other_aq, client_for):
    client = client_for(f0.t1)
    page = client.get(reverse("ptim:agreement-list")).content.decode()
    assert "Gestione Accordi Quadro" in page
    assert "AQ-MU-2023-L1-LOM" in page and "AQ-MU-2023-L1-SIC" not in page
    assert client.get(reverse("ptim:agreement-detail", args=[other_aq.pk])).status_code == 404
    detail = client.get(reverse("ptim:agreement-detail", args=[f0.aq.pk])).content.decode()
    assert 'data-testid="aq-edit"' not in detail and 'data-testid="aq-clearance"' in detail
    # A DT POST of a pre-set value is refused and changes nothing.
    r = client.post(
        reverse("ptim:agreement-action", args=[f0.aq.pk, "edit"]), {"price_list": "Altro"}
    )
    assert r.status_code == 403
    assert (
        FrameworkAgreement.objects.get(pk=f0.aq.pk).price_list == "Prezzario Regione Lombardia 2023"
    )
    page = client_for(f0.g1).get(reverse("ptim:agreement-list")).content.decode()
    assert "AQ-MU-2023-L1-SIC" in page  # the DG sees everything


def test_dg_edits_preset_values_audited_without_email(f0, client_for):
    from procurement.notifications.models import EmailOutbox

    with pytest.raises(PermissionDenied):
        update_agreement(user=f0.t1, agreement_id=f0.aq.pk, data={"price_list": "X"}, now=NOW)
    with pytest.raises(PtimError) as exc:
        update_agreement(
            user=f0.g1,
            agreement_id=f0.aq.pk,
            data={"valid_from": "2026-01-01", "increase_pct": "60"},
            now=NOW,
        )
    assert set(exc.value.errors) == {"valid_until", "increase_pct"}
    client = client_for(f0.g1)
    r = client.post(
        reverse("ptim:agreement-action", args=[f0.aq.pk, "edit"]),
        {
            "name": "Accordo Quadro Lotto 1 – Lombardia",
            "price_list": "Prezzario Regione Lombardia 2024",
            "referent_name": "Ing. Anna Verdi",
            "referent_email": "referente.aq.lom@example.it",
            "valid_from": "2023-07-01",
            "valid_until": "2026-06-30",
            "increase_pct": "50.00",
        },
    )
    assert r.status_code == 302
    aq = FrameworkAgreement.objects.get(pk=f0.aq.pk)
    assert (aq.price_list, str(aq.valid_until)) == (
        "Prezzario Regione Lombardia 2024",
        "2026-06-30",
    )
    event = AuditEvent.objects.filter(action="modifica valori preimpostati A.Q.").get()
    assert event.payload["changes"]["price_list"] == {
        "before": "Prezzario Regione Lombardia 2023",
        "after": "Prezzario Regione Lombardia 2024",
    }
    assert set(event.payload["changes"]) == {"price_list", "valid_until"}
    assert not EmailOutbox.objects.exists()  # N26: silent


def test_dg_threshold_edit_moves_the_residual_and_discount_is_frozen_by_contracts(f0):
    a = f0.ops["A"]
    with pytest.raises(PermissionDenied):
        update_membership(user=f0.t1, membership_id=a.pk, data={"base_threshold": "1"}, now=NOW)
    update_membership(
        user=f0.g1, membership_id=a.pk, data={"base_threshold": "350.000,00"}, now=NOW
    )
    assert f0.residuals()["A"] == D("350000.00")
    f0.book("I-1", at=NOW)
    assert f0.residuals()["A"] == D("265000.00")
    with pytest.raises(PtimError) as exc:
        update_membership(user=f0.g1, membership_id=a.pk, data={"discount_pct": "15"}, now=NOW)
    assert "ribasso non è modificabile" in exc.value.message
    with pytest.raises(PtimError) as exc:
        update_membership(user=f0.g1, membership_id=a.pk, data={"ranking_position": "2"}, now=NOW)
    assert "già assegnata" in exc.value.message
    update_membership(user=f0.g1, membership_id=f0.ops["D"].pk, data={"score": "93.000"}, now=NOW)
    assert AgreementOperator.objects.get(pk=f0.ops["D"].pk).score == D("93.000")
    assert (
        AuditEvent.objects.filter(action="modifica valori preimpostati operatore A.Q.").count() == 2
    )


def test_clearances_by_competent_dt_or_dg_only(f0, other_aq):
    data = {
        "kind": "NOSI",
        "level": "3",
        "reference": "NOSI 2024/17",
        "issued_on": "2024-01-10",
        "valid_until": "2027-01-10",
    }
    b = f0.ops["B"].operator
    with pytest.raises(PermissionDenied):
        save_clearance(user=f0.p1, operator_id=b.pk, data=data, now=NOW)
    cl = save_clearance(user=f0.t1, operator_id=b.pk, data=data, now=NOW)
    assert b.holds(3, datetime.date(2024, 3, 5))
    save_clearance(
        user=f0.g1,
        operator_id=b.pk,
        clearance_id=cl.pk,
        data={**data, "annulled_on": "2024-03-05"},
        now=NOW,
    )
    assert not b.holds(3, datetime.date(2024, 3, 5))
    assert AuditEvent.objects.filter(action="nulla osta di sicurezza").count() == 2
    with pytest.raises(PtimError):
        save_clearance(
            user=f0.t1, operator_id=b.pk, data={**data, "valid_until": "2020-01-01"}, now=NOW
        )


def test_admin_cannot_edit_master_data_and_audits_reference_tables(f0, client):
    admin_user = UserFactory(username="amministratore", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    url = reverse("admin:ptim_frameworkagreement_change", args=[f0.aq.pk])
    assert client.get(url).status_code == 200  # view only
    r = client.post(url, {"price_list": "Manomesso"})
    assert r.status_code == 403
    assert (
        FrameworkAgreement.objects.get(pk=f0.aq.pk).price_list == "Prezzario Regione Lombardia 2023"
    )
    assert client.get(reverse("admin:ptim_frameworkagreement_add")).status_code == 403
    # A reference table edited in the admin leaves an audit event with old and new values.
    cat = InterventionCategory.objects.first()
    r = client.post(
        reverse("admin:ptim_interventioncategory_change", args=[cat.pk]),
        {"label": "Manutenzione ordinaria programmata", "active": "on"},
    )
    assert r.status_code == 302, r.content[:2000]
    event = AuditEvent.objects.get(action__startswith="admin: modifica")
    assert event.payload["changes"]["label"]["after"] == "Manutenzione ordinaria programmata"
