"""The public transparency pages in a real browser, without logging in: lists, filters, detail."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from procurement.opendata.services import ocds_publish
from tests.opendata.builders import award_release, tender_release

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Rome"))


def publish(n: int):
    for i in range(n):
        cig = f"B{i:07d}AA"
        when = T0 + timedelta(days=i)
        ocds_publish(
            source="gare",
            key="tender",
            now=when,
            release=tender_release(
                cig=cig,
                title=f"Lavori di manutenzione n. {i + 1}",
                value=Decimal(100000 + i),
                published=when,
                deadline=when + timedelta(days=30),
            ),
        )
        ocds_publish(
            source="gare",
            key="award",
            now=when + timedelta(days=40),
            release=award_release(
                cig=cig, value=Decimal(90000 + i), awarded=when + timedelta(days=40)
            ),
        )


def test_public_pages_without_login(page, page_watch, output_dir):
    publish(30)

    page.goto("/trasparenza/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Trasparenza: bandi, affidamenti e dati aperti"
    )
    page.get_by_role("link", name="Tutte le aggiudicazioni e gli affidamenti").click()
    expect(page.get_by_role("status")).to_have_text("30 procedure trovate")
    expect(page.get_by_test_id("public-row")).to_have_count(25)
    page.screenshot(path=str(output_dir / "public-awards.png"), full_page=True)

    page.get_by_role("link", name="Successiva").click()
    expect(page.get_by_test_id("public-row")).to_have_count(5)

    page.goto("/trasparenza/affidamenti/")
    page.get_by_label("CIG").fill("B0000007AA")
    page.get_by_role("button", name="Filtra").click()
    expect(page.get_by_role("status")).to_have_text("1 procedura trovata")
    page.get_by_role("link", name="Lavori di manutenzione n. 8").click()
    expect(page).to_have_url(re.compile(r"/trasparenza/procedura/ocds-xxxxxx-B0000007AA/$"))
    expect(page.get_by_role("heading", name="Aggiudicazioni")).to_be_visible()
    expect(page.get_by_text("Edil Lavori S.r.l.")).to_be_visible()
    page.screenshot(path=str(output_dir / "public-detail.png"), full_page=True)

    page.goto("/trasparenza/bandi/?dal=2026-04-01&al=2026-03-01")
    expect(page.get_by_text("La data finale precede quella iniziale.")).to_be_visible()

    page.goto("/trasparenza/opendata/")
    expect(page.get_by_role("link", name="Rilasci OCDS di tutte le procedure")).to_be_visible()
    page_watch.assert_clean()
