"""REPORT OPERATORE and the operator's storico (R-PTIM-140, D-49)."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from ptim import reports, services
from ptim.models import AgreementOperator, EconomicOperator
from tests.factories.kernel import aware

from .conftest import D
from .test_agreements import other_aq  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity(f0):
    c1 = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))  # operator A (first in ranking)
    services.annul_contract(user=f0.t1, contract_id=c1.pk, reason="Errore", now=aware(2024, 3, 5))
    c2 = f0.book("I-2", at=aware(2024, 3, 6, 9, 0))
    return c1, c2


def test_history_lists_every_event_of_the_operator_newest_first(f0, activity):
    c1, _c2 = activity
    m = AgreementOperator.objects.get(pk=c1.membership_id)
    services.exclude_operator(
        user=f0.t1, membership_id=m.pk, motivation="inadempienze", now=aware(2024, 3, 7, 9)
    )
    rows = reports.membership_history(m)
    events = [(r["event"], r["contract"].progressive if r["contract"] else None) for r in rows]
    assert events[0] == ("esclusione operatore", None)
    assert ("annullamento contratto", c1.progressive) in events
    assert [r["at"] for r in rows] == sorted((r["at"] for r in rows), reverse=True)
    booking = [r for r in rows if r["contract"] and r["event"] != "annullamento contratto"]
    assert booking and booking[-1]["amount"] == c1.total_amount
    assert booking[-1]["sa"] == f0.prov and booking[-1]["user"]
    # only contracts on which A was booked, and only while it was
    assert all(r["contract"] is None or r["contract"].bookings.filter(membership=m) for r in rows)
    others = reports.membership_history(AgreementOperator.objects.get(pk=f0.ops["C"].pk))
    assert all(r["contract"] is None or r["contract"].membership_id != m.pk for r in others)


def test_report_one_row_per_operator_and_aq_within_competence(f0, activity, other_aq, client_for):  # noqa: F811
    op = EconomicOperator.objects.create(tax_code="99999999999", name="Sicula Lavori")
    AgreementOperator.objects.create(
        agreement=other_aq,
        operator=op,
        score=D("80"),
        ranking_position=1,
        discount_pct=D("10"),
        base_threshold=D("1000"),
    )
    with time_machine.travel(aware(2024, 3, 8, 10), tick=True):
        page = client_for(f0.t1).get(reverse("ptim:operator-report")).content.decode()
        assert "Sicula Lavori" not in page
        rows = reports.operator_report(f0.t1)
        assert {r["m"].agreement_id for r in rows} == {f0.aq.pk}
        assert len(rows) == f0.aq.operators.count()
        _c1, c2 = activity
        row = next(r for r in rows if r["m"].pk == c2.membership_id)
        assert row["booked"] >= c2.total_amount and row["activities"] >= 1
        assert row["residual"] == row["threshold"] - row["booked"] - row["committed"]
        hist = reverse("ptim:operator-history", args=[c2.membership_id])
        assert hist in page
        assert c2.progressive in client_for(f0.t1).get(hist).content.decode()
        foreign = AgreementOperator.objects.get(operator=op)
        r = client_for(f0.t1).get(reverse("ptim:operator-history", args=[foreign.pk]))
        assert r.status_code == 404
        page = client_for(f0.g1).get(reverse("ptim:operator-report")).content.decode()
        assert "Sicula Lavori" in page
