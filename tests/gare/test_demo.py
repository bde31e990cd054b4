"""The demo data of the tenders app load, twice, without duplicates."""

from __future__ import annotations

import pytest

from gare import demo
from gare.models import Tender, TenderStatus
from procurement.accounts.models import Membership, Role
from procurement.core.demo import seed_demo

pytestmark = pytest.mark.django_db


def test_seed_is_re_runnable_and_publishes_the_reference_tender():
    seed_demo()
    first = demo.seed()
    second = demo.seed()
    assert first.startswith("Gare:") and second.startswith("Gare:")
    assert Tender.objects.filter(is_template=True).count() == 1
    published = Tender.objects.get(code=demo.DEMO_CODE)
    assert published.status == TenderStatus.PUBLISHED
    assert published.lots.get().cig == "BC276A8439"
    commissioners = Membership.objects.filter(
        user__username__startswith="gare.", role=Role.COMMISSIONER
    )
    assert commissioners.count() == 3
    assert Membership.objects.filter(user__username="gare.alfa", role=Role.OPERATOR).exists()
