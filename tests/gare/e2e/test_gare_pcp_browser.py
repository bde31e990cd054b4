"""R-GARE-145 in a real browser: the RUP (SPID, dev provider) publishes a tender whose CIG comes
from ANAC's PCP (the project's simulator over HTTP); the tender page shows the CIG, the state of
the notice and the Log Trasmissioni (screenshot under test-output/e2e/)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from gare.models import Tender, TenderStatus
from gare.services.tenders import tender_create_from_reference
from procurement.anac import operations
from procurement.anac.cig import cig_is_valid
from procurement.anac.simulator.models import SimulatorConfig
from tests.anac.conftest import anac_live  # noqa: F401 (fixture)

from ..conftest import add_required_documents
from .test_gare_journey import _click, _strong_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_publication_through_anac_in_the_browser(
    page,
    world,
    output_dir,
    anac_live,  # noqa: F811 (the fixture)
    settings,
):
    settings.ANAC_DISPATCH_INLINE = True
    settings.GARE_MANUAL_CIG = False
    config = SimulatorConfig.current()
    config.wt_seconds = 5
    config.save()
    start = timezone.localtime(timezone.now()).replace(second=0, microsecond=0)
    deadline = (start + datetime.timedelta(days=30)).replace(hour=12, minute=0)
    with time_machine.travel(start, tick=True) as clock:
        tender = tender_create_from_reference(
            user=world.rup,
            organisation=world.sua,
            delegating_entity=world.comune,
            now=start,
            deadlines_override={
                "questions_deadline": deadline - datetime.timedelta(days=10),
                "site_visit_request_deadline": (deadline - datetime.timedelta(days=10)).date(),
                "offer_deadline": deadline,
                "first_session_at": deadline + datetime.timedelta(hours=3),
            },
        )
        tender.lots.update(cig="")
        add_required_documents(world, tender, start)
        _strong_login(page, world.rup, f"/gare/{tender.pk}/")
        _click(page, "publish")
        assert page.get_by_test_id("publication-pending").is_visible()
        for _ in range(20):
            if Tender.objects.get(pk=tender.pk).status == TenderStatus.PUBLISHED:
                break
            clock.shift(datetime.timedelta(seconds=10))
            operations.poll_due(now=timezone.now())
        page.reload()
        assert page.get_by_test_id("tender-status").inner_text() == "Pubblicata"
        cig = Tender.objects.get(pk=tender.pk).lots.get().cig
        assert cig_is_valid(cig)
        assert cig in page.get_by_test_id("pcp-cigs").inner_text()
        assert "Accettato da ANAC" in page.get_by_test_id("avviso-state").inner_text()
        assert page.locator('[data-operation="pubblica-avviso"]').count() == 1
        page.get_by_test_id("anac-transmissions").screenshot(
            path=str(output_dir / "gare-07-anac-transmissions.png")
        )
