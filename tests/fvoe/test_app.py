"""Demo data, admin pages, the participants service and the access key at rest."""

from __future__ import annotations

import pytest

from fvoe.demo import seed
from fvoe.models import FvoeAppaltoOperator, OperatorSource
from fvoe.services import FvoeError, appalto_operator_register
from procurement.core.demo import seed_demo

pytestmark = pytest.mark.django_db


def test_demo_seed_is_rerunnable():
    seed_demo()
    first = seed()
    second = seed()
    assert first == second and first.startswith("FVOE: appalto")
    assert FvoeAppaltoOperator.objects.count() == 4
    assert FvoeAppaltoOperator.objects.filter(source=OperatorSource.INVITED).count() == 1


def test_demo_users_see_the_menu(client):
    seed_demo()
    seed()
    client.post("/account/accedi/", {"username": "fvoe.sua", "password": "demo-2026"})
    page = client.get("/fvoe/richieste-di-accesso/").content.decode()
    assert "RdO 118/2026" in page
    client.post("/account/esci/")
    client.post("/account/accedi/", {"username": "rup.sua", "password": "demo-2026"})
    assert client.get("/fvoe/").status_code == 403  # RUP without the FVOE profile


def test_other_apps_register_participants(world):
    operator = appalto_operator_register(
        appalto=world.appalto, tax_code=" 09876543217 ", name="Zeta S.p.A.", source="direct_award"
    )
    assert operator.tax_code == "09876543217" and operator.eligible
    again = appalto_operator_register(
        appalto=world.appalto, tax_code="09876543217", name="Zeta S.p.A.", source="offer"
    )
    assert again.pk == operator.pk and again.source == "offer"
    with pytest.raises(FvoeError):
        appalto_operator_register(appalto=world.appalto, tax_code="", name="x", source="offer")


def test_admin_pages_open(admin_client, world):
    for model in (
        "fvoeappaltooperator",
        "fvoeaccessrequest",
        "fvoeauthorization",
        "fvoedocument",
        "fvoedocumentrequest",
    ):
        assert admin_client.get(f"/admin/fvoe/{model}/").status_code == 200, model


def test_the_access_key_is_encrypted_at_rest(world):
    from fvoe.models import FvoeAuthorization

    auth = FvoeAuthorization(appalto=world.appalto)
    auth.set_access_key("0b9c4c5e-8f5d-4b9e-9c3e-2f6a8e1d7a55")
    assert "0b9c4c5e" not in auth.access_key_encrypted
    assert auth.access_key == "0b9c4c5e-8f5d-4b9e-9c3e-2f6a8e1d7a55"
