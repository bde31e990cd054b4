"""Browser test of the main journey (ipotesi A): adhesion → approval → order with derived CIG →
signed summary sheet → nulla osta, as buyer, RUP (SPID, dev provider) and banditore."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from adesioni.models import Adhesion, AdhesionStatus, OrderStatus, SupplyOrder
from adesioni.tasks import render_summary_pdf
from procurement.anac import operations
from tests.browser import pdf_screenshot

from .conftest import ne_url

pytestmark = pytest.mark.e2e


def strong_login(page, user, next_url):
    page.goto(f"/account/accesso-forte/dev/?next={next_url}")
    page.locator(f"input[name=tax_code][value={user.tax_code}]").check(force=True)
    page.locator("#level-2").check(force=True)
    page.get_by_test_id("dev-identity-submit").click()
    page.wait_for_url(f"**{next_url}")


def test_as_ade_01_ipotesi_a_in_the_browser(
    page, log_in, output_dir, tmp_path, ne, samples, anac_live, settings
):
    settings.ANAC_DISPATCH_INLINE = True
    page.set_default_timeout(60_000)  # the ANAC calls run inline after commit (2 CPUs shared)
    contract_url = ne_url(f"contratti/{ne.contract.pk}/")
    # Buyer: richiedi adesione, step 1, step 2, INVIA → sì.
    log_in(ne.giulio)
    page.goto(ne_url("contratti/"))
    page.get_by_test_id("open-contract").first.click()
    expect(page.get_by_test_id("contract-title")).to_contain_text("Sistema Cloud Toscana")
    page.get_by_test_id("tab-adesioni").click()
    page.get_by_test_id("richiedi-adesione").click()
    page.get_by_label("Ipotesi A – proroga semplificata").check(force=True)
    page.get_by_label("Importo di adesione (€)").fill("8056.32")
    page.get_by_test_id("file-MI").set_input_files(
        {
            "name": "manifestazione_proroga.pdf.p7m",
            "mimeType": "application/pkcs7-mime",
            "buffer": samples.p7m_of(samples.pdf),
        }
    )
    page.get_by_test_id("salva-e-procedi").click()
    expect(page.get_by_test_id("adhesion-code")).to_have_text(re.compile(r"^A\d{6}/\d{4}$"))
    page.get_by_test_id("invia").click()
    expect(page.get_by_test_id("confirm-dialog")).to_contain_text("Confermi l’invio")
    page.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("messages")).to_contain_text(
        "L’adesione è stata inviata correttamente."
    )
    adhesion = Adhesion.objects.get()
    # Banditore approves.
    page.context.clear_cookies()
    log_in(ne.mario)
    page.goto(ne_url(f"adesioni/{adhesion.pk}/"))
    page.get_by_test_id("approva").click()
    expect(page.get_by_test_id("adhesion-status")).to_contain_text("Approvata")
    assert Adhesion.objects.get().status == AdhesionStatus.APPROVED
    # Buyer: nuovo ordine → Richiedi CIG → Vai all'ordine, lines, act.
    page.context.clear_cookies()
    log_in(ne.giulio)
    page.goto(contract_url + "?tab=ordinativi")
    page.get_by_test_id("nuovo-ordine").click()
    page.get_by_label("RUP dell'ordinativo").select_option(label="Lucia Verdi")
    page.get_by_label("Totale dell'ordine (€, IVA esclusa)").fill("8056.32")
    page.get_by_label("CPV prevalente").fill("72000000")
    page.get_by_label("Codice NUTS 3").fill("ITI14")
    page.get_by_label("Codice ISTAT del comune").fill("048017")
    page.get_by_label("CCNL applicato").fill("005")
    page.get_by_label("Codice del centro di costo").fill("CDC-01")
    page.get_by_test_id("vai-all-ordine").click()
    expect(page.get_by_test_id("msg01")).to_contain_text("Conferma appalto")
    for description, price, qty in [
        ("Servizio IaaS – VM standard", "157.35", "24"),
        ("Backup", "41.96", "12"),
        ("Housing rack", "314.70", "12"),
    ]:
        page.get_by_test_id("line-description").fill(description)
        page.get_by_test_id("line-price").fill(price)
        page.get_by_test_id("line-quantity").fill(qty)
        page.get_by_test_id("line-add").click()
    expect(page.get_by_test_id("order-total")).to_have_text("8.056,32")
    page.get_by_test_id("upload-ACT_A").set_input_files(
        {
            "name": "proroga_atto_adesione.pdf",
            "mimeType": "application/pdf",
            "buffer": samples.signed_pdf,
        }
    )
    page.get_by_test_id("upload-btn-ACT_A").click()
    expect(page.get_by_test_id("conferma-appalto")).to_be_disabled()  # password session
    order = SupplyOrder.objects.get()
    order_url = ne_url(f"ordini/{order.pk}/")
    # RUP with SPID: Conferma appalto → banner → reload → Acquisisci CIG.
    page.context.clear_cookies()
    strong_login(page, ne.lucia, order_url)
    page.get_by_test_id("conferma-appalto").click()
    expect(page.get_by_test_id("banner-msg02")).to_contain_text(
        "La richiesta di conferma appalto è in corso"
    )
    operations.poll_due(now=timezone.now() + timedelta(seconds=10))
    # The banner refreshes itself (htmx, every 15 s, allowed by the CSP) and stops polling.
    expect(page.get_by_test_id("banner-finished")).to_be_visible(timeout=40_000)
    expect(page.get_by_test_id("banner-msg02")).to_have_count(0)
    expect(page.locator("[data-polling]")).to_have_count(0)
    page.get_by_test_id("reload-link").click()
    page.get_by_test_id("acquisisci-cig").click()
    order = SupplyOrder.objects.get()
    assert order.status == OrderStatus.CIG_ACQUIRED
    render_summary_pdf.apply(args=[str(order.pk)])
    page.goto(order_url)
    expect(page.get_by_test_id("cig-derivato")).to_have_value(order.derived_cig)
    page.screenshot(path=str(output_dir / "adesioni-order-with-cig.png"), full_page=True)
    # Buyer: step 2 download, sign, upload; step 3 invia.
    page.context.clear_cookies()
    log_in(ne.giulio)
    page.goto(order_url + "?passo=2")
    with page.expect_download() as info:
        page.get_by_test_id("download-summary").click()
    pdf_path = tmp_path / "scheda.pdf"
    info.value.save_as(pdf_path)
    generated = pdf_path.read_bytes()
    assert generated.startswith(b"%PDF")
    (output_dir / "adesioni-scheda-di-sintesi.pdf").write_bytes(generated)
    pdf_screenshot(
        page,
        output_dir / "adesioni-scheda-di-sintesi.pdf",
        output_dir / "adesioni-scheda-di-sintesi.png",
    )
    page.get_by_test_id("signed-file").set_input_files(
        {
            "name": "scheda.pdf.p7m",
            "mimeType": "application/pkcs7-mime",
            "buffer": samples.p7m_of(generated),
        }
    )
    page.get_by_test_id("signed-upload").click()
    expect(page.get_by_test_id("signed-summary")).to_be_visible()
    page.screenshot(path=str(output_dir / "adesioni-step2-signed-summary.png"), full_page=True)
    page.get_by_test_id("procedi-passo-3").click()
    page.get_by_test_id("invia-ordine").click()
    page.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("messages")).to_contain_text("In attesa del nulla osta di Regione.")
    # Banditore: nulla osta.
    page.context.clear_cookies()
    log_in(ne.mario)
    page.goto(order_url + "?passo=3")
    page.get_by_test_id("approva-ordine").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Approvato")
    page.screenshot(path=str(output_dir / "adesioni-order-approved.png"), full_page=True)
    assert SupplyOrder.objects.get().status == OrderStatus.APPROVED
