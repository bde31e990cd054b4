"""Browser journey: insert → book → accept → confirm → variant; a waiver to the next operator."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from ptim.models import Contract, ContractState, FrameworkAgreement, Receipt
from ptim.pdf import render_receipt
from tests.browser import pdf_screenshot

from .conftest import PDF

pytestmark = pytest.mark.e2e


def _file(name):
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF}


def test_e2e_booking_acceptance_confirmation_variant_and_waiver(f0, page, log_in, output_dir):
    # The journey runs at real time: keep the fixture's AQ in force today.
    FrameworkAgreement.objects.filter(pk=f0.aq.pk).update(valid_until=datetime.date(2099, 12, 31))
    # every prompt is recorded; `dismiss` makes the next one answer "Annulla".
    prompts, dismiss = [], []

    def on_dialog(dialog):
        prompts.append(dialog.message)
        dialog.dismiss() if dismiss and dismiss.pop() else dialog.accept()

    page.on("dialog", on_dialog)
    log_in(f0.p1)
    page.goto("/ptim/")
    page.get_by_test_id("ptim-insert").click()
    fill = {
        "works_amount": "100.000,00",
        "safety_costs": "5.000,00",
        "og1_amount": "105.000,00",
        "og2_amount": "0",
        "og11_amount": "0",
        "rup_first_name": "Mario",
        "rup_last_name": "Bianchi",
        "rup_phone": "02 1234567",
        "rup_email": "mario.bianchi@oopp.example.it",
    }
    for name, value in fill.items():
        page.locator(f"#id_{name}").fill(value)
    # Screen 1 refreshes by htmx (static script, CSP without inline scripts).
    expect(page.get_by_test_id("live-planned")).to_contain_text("€ 105.000,00")
    expect(page.get_by_test_id("live-lot")).to_contain_text("Lotto 1")
    page.locator("#id_territorial_area").select_option(label="Lombardia")
    expect(page.get_by_test_id("live-proposed")).to_contain_text("Alfa Costruzioni S.r.l.")
    expect(page.get_by_test_id("live-aq-residual")).to_have_text("€ 1.000.000,00")
    page.get_by_test_id("btn-avanti").click()
    expect(page.get_by_test_id("proposed-operator")).to_have_text("Alfa Costruzioni S.r.l.")
    expect(page.get_by_test_id("proposed-total")).to_have_text("€ 85.000,00")
    page.locator("#id_description").fill("Rifacimento copertura caserma")
    page.locator("#id_spending_chapter").select_option(label="M.U. (7753 e 3905)")
    page.locator("#id_intervention_identifier").fill("MU-23-0001")
    page.locator("#id_plan_year").fill("2023")
    page.locator("label[for=id_mbc]").click()
    page.get_by_test_id("btn-salva").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dettaglio Contratto")
    page.get_by_test_id("btn-conferma").click()

    expect(page.get_by_test_id("progressive")).to_have_text("325")
    expect(page.get_by_test_id("state")).to_have_text("Prenotato")
    contract = Contract.objects.get(progressive="325")
    receipt = Receipt.objects.get(contract=contract)
    assert render_receipt(receipt.pk)  # what the Celery worker does after commit
    receipt.refresh_from_db()
    (output_dir / "ptim-ricevuta-325.pdf").write_bytes(receipt.file.read())
    # The PDF itself, first page, as chromium's PDF viewer draws it.
    pdf_screenshot(page, output_dir / "ptim-ricevuta-325.pdf", output_dir / "ptim-ricevuta-325.png")

    # acceptance
    page.locator("#acc_doc").set_input_files(_file("accettazione_alfa.pdf"))
    page.get_by_test_id("op-accept").locator("button").click()
    expect(page.get_by_test_id("state")).to_have_text("Accettato")
    # confirmation with the signed contract
    assert prompts == ["Confermi l’accettazione del contratto n. 325?"]
    page.locator("#s_doc").set_input_files(_file("contratto_325.pdf"))
    dismiss.append(True)
    page.get_by_test_id("op-confirm").locator("button").click()
    assert prompts[-1] == (
        "Confermi la conferma del contratto n. 325? Il contratto passerà nello stato Definitivo."
    )
    expect(page.get_by_test_id("state")).to_have_text("Accettato")  # answered "Annulla"
    assert Contract.objects.get(progressive="325").state == ContractState.ACCEPTED
    page.get_by_test_id("op-confirm").locator("button").click()
    expect(page.get_by_test_id("state")).to_have_text("Definitivo")
    # a variant
    page.locator("#v_desc").fill("Variante in corso d'opera: impermeabilizzazione")
    page.locator("#v_works").fill("10.000,00")
    page.locator("#v_nd").fill("500,00")
    page.locator("#v_docs").set_input_files([_file("autorizzazione.pdf")])
    page.get_by_test_id("op-variation").locator("button").click()
    expect(page.get_by_test_id("messages")).to_contain_text("Variazione inserita.")
    expect(page.get_by_test_id("total")).to_contain_text("+ varianti € 93.500,00")
    page.screenshot(path=str(output_dir / "ptim-contratto-325.png"), full_page=True)
    assert Contract.objects.get(pk=contract.pk).state == ContractState.DEFINITIVE

    # a second booking, then the operator's waiver moves it to the next operator
    c326 = f0.book(
        "I-2", at=datetime.datetime.now(datetime.UTC), intervention_identifier="MU-23-0777"
    )
    assert c326.membership == f0.ops["A"]
    page.goto(f"/ptim/contratti/{c326.pk}/")
    expect(page.get_by_test_id("waiver-proposal")).to_contain_text("Beta Edilizia S.p.A.")
    page.locator("#w_doc").set_input_files(_file("rinuncia_alfa.pdf"))
    page.get_by_test_id("op-waiver").locator("button").click()
    expect(page.get_by_test_id("operator")).to_have_text("Beta Edilizia S.p.A.")
    expect(page.get_by_test_id("state")).to_have_text("Prenotato")
    page.screenshot(path=str(output_dir / "ptim-rinuncia-326.png"), full_page=True)
