"""The main journey in a real browser: request → approval in the simulator → "Verifica richiesta
accesso" → documents listed and downloaded (Playwright driving /usr/bin/chromium)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.fvoe.conftest import GAMMA, strong_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_fvoe_request_approval_verification_and_download(page, log_in, world, sim, output_dir):
    strong_login(world.elisa, timezone.now())  # the RUP in charge is logged in with SPID
    log_in(world.giulio)

    page.goto("/fvoe/")
    page.get_by_test_id("menu-access-requests").click()
    page.get_by_test_id(f"appalto-{world.appalto.pk}").click()
    page.get_by_role("checkbox", name="Gamma S.r.l.").check()
    page.get_by_test_id("send-request").click()
    page.get_by_text(
        "Richiesta di accesso al FVOE inviata ad ANAC per 1 operatori economici"
    ).wait_for()
    assert page.get_by_test_id(f"state-{GAMMA}").inner_text().strip() == "Richiesta"
    page.screenshot(path=str(output_dir / "fvoe-1-richiesta-inviata.png"), full_page=True)

    sim.answer("autorizza", GAMMA)  # the operator approves on ANAC's front end

    page.get_by_test_id(f"verify-{GAMMA}").click()
    page.get_by_text("Verifica eseguita: Gamma S.r.l. – Autorizzata.").wait_for()
    assert page.get_by_test_id(f"state-{GAMMA}").inner_text().startswith("Autorizzata")

    page.get_by_test_id("tab-documents").click()
    section = page.get_by_test_id(f"operator-{GAMMA}")
    for code in ("00008", "00033", "00034"):
        assert section.get_by_test_id(f"doc-{code}").count() == 1
    page.screenshot(path=str(output_dir / "fvoe-2-documenti.png"), full_page=True)
    with page.expect_download() as download_info:
        section.get_by_test_id("download-00008").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"

    page.get_by_test_id("tab-chronology").click()
    assert page.get_by_test_id("chronology").get_by_text("recupera-documento-fvoe").count() == 3
    page.screenshot(path=str(output_dir / "fvoe-3-cronologia.png"), full_page=True)
