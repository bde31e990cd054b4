"""The main journey in a real browser: publish → two operators submit → admin check →
commission scores → economic opening → ranking → award (screenshots under test-output/e2e/),
with the minutes of the economic session and the award decision downloaded as PDF and shown in
chromium's PDF viewer."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from gare.models import LotStatus, Tender
from gare.services.documents import render_pending

from ..conftest import CODES, MINIMAL_PDF
from ..test_pdf import pdf_text

pytestmark = pytest.mark.e2e


def _local(dt: datetime.datetime) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def _tick(page, input_id):
    # Bootstrap Italia draws the checkbox on the label, which receives the click.
    page.locator(f'label[for="{input_id}"]').click()


def _click(page, testid):
    page.get_by_test_id(testid).first.click()
    page.wait_for_load_state("load")


def _strong_login(page, user, next_url: str) -> None:
    page.goto(f"/account/accesso-forte/dev/?next={next_url}")
    page.locator(f"input[name=tax_code][value={user.tax_code}]").check(force=True)
    page.locator("#level-2").check(force=True)
    page.get_by_test_id("dev-identity-submit").click()
    page.wait_for_url(f"**{next_url}")


def _download(page, testid, path: Path) -> Path:
    with page.expect_download() as download:
        page.get_by_test_id(testid).click()
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")
    return path


def _pdf_screenshot(page, pdf: Path, png: Path) -> None:
    """The first page of the PDF in chromium's own PDF viewer (no pdftoppm on the machine)."""
    viewer = page.context.new_page()
    viewer.goto(pdf.as_uri())
    viewer.wait_for_timeout(2_000)  # the viewer draws the page after the load event
    viewer.screenshot(path=str(png))
    viewer.close()


def test_main_journey_publish_submit_evaluate_award(page, log_in, world, output_dir, tmp_path):
    start = timezone.localtime(timezone.now()).replace(
        second=0, microsecond=0
    ) + datetime.timedelta(days=1)
    offer_deadline = start.replace(hour=12, minute=0) + datetime.timedelta(days=5)
    first_session = offer_deadline + datetime.timedelta(hours=3)
    traveller = time_machine.travel(start, tick=True)
    clock = traveller.start()
    try:
        # 1. The RUP creates the tender from the reference template, sets the deadlines, publishes.
        log_in(world.rup)
        page.goto("/gare/")
        _click(page, "tender-create")
        tender = Tender.objects.get()
        page.goto(f"/gare/{tender.pk}/modifica/")
        page.fill("#f-q", _local(offer_deadline - datetime.timedelta(days=7)))
        page.fill("#f-o", _local(offer_deadline))
        page.fill("#f-s", _local(first_session))
        _click(page, "tender-save")
        pdf = tmp_path / "bando.pdf"
        pdf.write_bytes(MINIMAL_PDF)
        for kind in ("CONTRACT_NOTICE", "TENDER_RULES"):
            page.select_option("#doc-kind", kind)
            page.set_input_files("#doc-file", str(pdf))
            _click(page, "document-upload")
        _click(page, "publish")
        assert page.get_by_test_id("tender-status").inner_text() == "Pubblicata"
        page.screenshot(path=str(output_dir / "gare-01-published.png"), full_page=True)
        lot = tender.lots.get()

        # 2. Two operators submit their offers through the three envelopes.
        for i, (discount, days) in enumerate((("14.25", "430"), ("16.40", "420"))):
            page.context.clear_cookies()
            # Submitting needs SPID/CIE (LoA >= 2): the dev provider, as on the demo.
            _strong_login(page, world.bidders[i], f"/gare/lotti/{lot.pk}/offerta/")
            _click(page, "offer-prepare")
            page.select_option("#rq-A", "PARTICIPATION_FORM")
            page.set_input_files("#fl-A", str(pdf))
            _click(page, "upload-A")
            page.fill("#t-a2", "3")
            _click(page, "save-B")
            page.fill("#c-discount", discount)
            page.fill("#c-discount-w", "ribasso in lettere")
            page.fill("#c-days", days)
            page.fill("#c-days-w", "giorni in lettere")
            page.fill("#c-safety", "20000")
            page.fill("#c-labour", "598695.55")
            _click(page, "save-C")
            _tick(page, "confirm")
            _click(page, "offer-submit")
            assert page.get_by_test_id("receipt-no").inner_text().startswith("OFF-")
            if i == 0:
                page.screenshot(path=str(output_dir / "gare-02-receipt.png"), full_page=True)

        # 3. First session: envelopes A opened, ANAC fees checked, both admitted, commission
        # appointed.
        clock.move_to(first_session + datetime.timedelta(minutes=1))
        page.context.clear_cookies()
        log_in(world.rup)
        page.goto(f"/gare/lotti/{lot.pk}/")
        _click(page, "open-a")
        for p in lot.participants.all():
            # The ANAC fee checked in FVOE comes before the admission (R-GARE-054).
            page.get_by_test_id(f"anac-fee-{p.pk}").locator("summary").click()
            page.select_option(f"#afo-{p.pk}", "PAID")
            page.fill(f"#afn-{p.pk}", "Pagamento trovato nel FVOE")
            _click(page, f"anac-fee-record-{p.pk}")
            assert "Pagato" in page.get_by_test_id(f"anac-fee-status-{p.pk}").inner_text()
            _click(page, f"admit-{p.pk}")
        _click(page, "admissions")
        for c in world.commissioners:
            _tick(page, f"cm-{c.pk}")
        page.select_option("#cm-pres", str(world.commissioners[0].pk))
        _click(page, "appoint")
        tech_session = first_session + datetime.timedelta(days=4)
        for k, c in enumerate(world.commissioners):
            page.context.clear_cookies()
            log_in(c)
            page.goto(f"/gare/lotti/{lot.pk}/")
            _click(page, "declare")
            if k == 0:
                page.fill("#s-at", _local(tech_session))
                _click(page, "schedule")

        # 4. Technical opening and evaluation: each commissioner enters the coefficients.
        clock.move_to(tech_session + datetime.timedelta(minutes=1))
        page.context.clear_cookies()
        log_in(world.commissioners[0])
        page.goto(f"/gare/lotti/{lot.pk}/")
        _click(page, "open-b")
        _click(page, "close-session")
        participants = list(lot.participants.order_by("pk"))
        for c in world.commissioners:
            page.context.clear_cookies()
            log_in(c)
            page.goto(f"/gare/lotti/{lot.pk}/coefficienti/")
            for i, p in enumerate(participants):
                for code in CODES:
                    page.fill(f'input[name="c-{p.pk}-{code}"]', "0.8" if i == 0 else "0.6")
            _click(page, "save-coefficients")
        page.context.clear_cookies()
        log_in(world.commissioners[0])
        page.goto(f"/gare/lotti/{lot.pk}/")
        _click(page, "finalise-technical")
        econ_session = tech_session + datetime.timedelta(days=4)
        page.fill("#s-at", _local(econ_session))
        _click(page, "schedule")

        # 5. Economic opening, ranking, proposal.
        clock.move_to(econ_session + datetime.timedelta(minutes=1))
        page.context.clear_cookies()
        log_in(world.commissioners[0])
        page.goto(f"/gare/lotti/{lot.pk}/")
        _click(page, "open-c")
        _click(page, "compute-ranking")
        ranking = page.get_by_test_id("ranking")
        assert ranking.is_visible()
        rows = ranking.locator("tbody tr")
        assert rows.count() == 2
        assert rows.nth(0).locator("td").first.inner_text() == "1"
        page.screenshot(path=str(output_dir / "gare-03-ranking.png"), full_page=True)
        ranked = [
            (
                rows.nth(i).locator("td").nth(1).inner_text(),
                rows.nth(i).locator("td").last.inner_text(),
            )
            for i in range(2)
        ]

        # The minutes of the economic session, downloaded from the ranking page: the same
        # ranking, read from the PDF's text; its first page as the browser's PDF viewer shows it.
        # No Celery worker runs here: the sweeper renders what the steps queued after commit.
        assert render_pending(now=timezone.now()) >= 1
        page.reload()
        minutes = _download(page, "minutes-econ_opening", output_dir / "gare-05-verbale.pdf")
        text = pdf_text(minutes.read_bytes()).split("Punteggi e graduatoria", 1)[1]
        assert text.index(ranked[0][0]) < text.index(ranked[1][0])
        for rank, (name, total) in enumerate(ranked, start=1):
            assert f"{rank} {name} " in text
            assert text.split(f"{rank} {name} ", 1)[1].split(" ")[17] == total
        _pdf_screenshot(page, minutes, output_dir / "gare-05-verbale.png")
        page.goto(f"/gare/lotti/{lot.pk}/")
        _click(page, "propose")

        # 6. Verification and award by the RUP.
        page.context.clear_cookies()
        log_in(world.rup)
        page.goto(f"/gare/lotti/{lot.pk}/")
        _click(page, "verify")
        _click(page, "verify-ok")
        _click(page, "award-adopt")
        assert page.get_by_test_id("lot-status").inner_text() == "Aggiudicato"
        page.screenshot(path=str(output_dir / "gare-04-awarded.png"), full_page=True)
        lot.refresh_from_db()
        assert lot.status == LotStatus.AWARDED

        # The award decision, from the ranking page: the first of the ranking is the awardee.
        assert render_pending(now=timezone.now()) >= 1
        page.goto(f"/gare/lotti/{lot.pk}/graduatoria/")
        award = _download(page, "award-document", output_dir / "gare-06-aggiudicazione.pdf")
        text = pdf_text(award.read_bytes())
        assert "Provvedimento di aggiudicazione" in text
        assert ranked[0][0] in text.split("Aggiudicatario", 1)[1][:200]
        _pdf_screenshot(page, award, output_dir / "gare-06-aggiudicazione.png")
    finally:
        traveller.stop()
