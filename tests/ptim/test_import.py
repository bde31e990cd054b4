"""`ptim_import_aq`: documented JSON, idempotent, every bad record reported, all-or-nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from procurement.accounts.models import Organisation
from ptim.models import AgreementOperator, ChapterCeiling, EconomicOperator, FrameworkAgreement
from ptim.reference import seed_reference
from tests.factories.kernel import OrganisationFactory

pytestmark = pytest.mark.django_db
EXAMPLE = Path(__file__).resolve().parents[2] / "ptim" / "fixtures" / "aq_demo.json"


@pytest.fixture
def payload(db):
    seed_reference()
    org = OrganisationFactory(code="agenzia-demanio", name="Agenzia del Demanio")
    from procurement.accounts.models import CostCentre

    CostCentre.objects.get_or_create(organisation=org, code="DT-PVA", defaults={"name": "DT"})
    return json.loads(EXAMPLE.read_text())


def _write(tmp_path, data):
    path = tmp_path / "aq.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _snapshot():
    return (
        list(FrameworkAgreement.objects.order_by("pk").values()),
        list(AgreementOperator.objects.order_by("pk").values()),
        list(ChapterCeiling.objects.order_by("pk").values()),
        list(EconomicOperator.objects.order_by("pk").values()),
    )


def test_import_is_idempotent(payload, tmp_path, capsys):
    path = _write(tmp_path, payload)
    call_command("ptim_import_aq", path)
    first = _snapshot()
    call_command("ptim_import_aq", path)
    assert _snapshot() == first
    aq = FrameworkAgreement.objects.get(identifier="AQ-MU-2023-L1-PIE")
    assert aq.operators.count() == 4 and aq.ceilings.count() == 4
    assert "Importati 1 Accordi Quadro" in capsys.readouterr().out


def test_import_reports_every_bad_record_and_writes_nothing(payload, tmp_path):
    bad = copy.deepcopy(payload)
    bad["operators"][1]["name"] = ""
    bad["agreements"][0]["operators"][2]["score"] = "abc"
    bad["agreements"][0]["ceilings"]["XYZ"] = "10.00"
    bad["agreements"][0]["operators"][3]["ranking_position"] = 1
    bad["agreements"][0]["base_amount"] = 1000.5
    with pytest.raises(CommandError) as exc:
        call_command("ptim_import_aq", _write(tmp_path, bad))
    text = str(exc.value)
    assert "nessun dato scritto" in text
    for fragment in (
        "operators[1].name: campo obbligatorio",
        "agreements[0].operators[2].score: numero non valido",
        "agreements[0].ceilings.XYZ: capitolo di spesa sconosciuto",
        "agreements[0].operators[3].ranking_position: posizione ripetuta: 1",
        "agreements[0].base_amount: gli importi vanno scritti come stringhe",
    ):
        assert fragment in text
    assert not FrameworkAgreement.objects.exists() and not EconomicOperator.objects.exists()


def test_import_rejects_unreadable_json(payload, tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(CommandError, match="JSON non valido"):
        call_command("ptim_import_aq", str(path))
    assert Organisation.objects.filter(code="agenzia-demanio").exists()
