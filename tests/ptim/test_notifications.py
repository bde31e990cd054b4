"""Receipts travel as real PDF attachments of the e-mails (R-PTIM-044, R-PTIM-100, R-PTIM-112,
R-PTIM-144, notification matrix N1/N2/N6/N7): the e-mail waits in the outbox until the receipt
PDF exists, then goes out with it; e-mails without a receipt carry no attachment."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core import mail
from pyhanko.pdf_utils.reader import PdfFileReader

from procurement.notifications.models import EmailOutbox, OutboxStatus
from procurement.notifications.services import email_deliver
from ptim import services
from ptim.models import Receipt, ReceiptKind
from ptim.pdf import render_receipt
from tests.factories.kernel import aware

from .conftest import pdf

pytestmark = pytest.mark.django_db
FIVE = {
    "mario.bianchi@oopp.example.it",
    "ufficio.tecnico@oopp.example.it",
    "uo.manutenzioni@example.it",
    "dt.lombardia@example.it",
    "referente.aq.lom@example.it",
}


def _deliver(rows, now):
    return [email_deliver(outbox_id=r.pk, now=now) for r in rows]


def _check_pdf_attachment(message, receipt, name):
    ((filename, content, mimetype),) = message.attachments
    assert (filename, mimetype) == (name, "application/pdf")
    assert content.startswith(b"%PDF-")
    assert hashlib.sha256(content).hexdigest() == receipt.sha256
    assert int(PdfFileReader(io.BytesIO(content)).root["/Pages"]["/Count"]) >= 1


def test_booking_email_carries_the_receipt_pdf_once_rendered(f0):
    now = aware(2024, 3, 4, 9, 0)
    contract = f0.book("I-1", at=now)
    rows = list(EmailOutbox.objects.filter(subject__contains="Prenotazione operatore"))
    assert {r.to for r in rows} == FIVE
    receipt = Receipt.objects.get(contract=contract, kind=ReceiptKind.BOOKING)
    assert not receipt.file

    # Before the PDF exists the e-mails wait (no link-only e-mail goes out).
    assert set(_deliver(rows, now)) == {"waiting"}
    assert mail.outbox == []

    assert render_receipt(receipt.pk)
    receipt.refresh_from_db()
    assert set(_deliver(rows, now)) == {"sent"}
    assert {m.to[0] for m in mail.outbox} == FIVE
    for message in mail.outbox:
        assert message.subject == "[PTIM] Prenotazione operatore – contratto n. 325"
        assert "ricevuta-325.pdf" in message.body
        _check_pdf_attachment(message, receipt, "ricevuta-325.pdf")
    assert not any("pec" in m.to[0] for m in mail.outbox)  # never to the operator
    assert all(
        r.status == OutboxStatus.SENT
        for r in EmailOutbox.objects.filter(pk__in=[r.pk for r in rows])
    )


def test_waiver_sends_the_new_receipt_only_with_the_update_email(f0):
    c = f0.book("I-4", "C7754", at=aware(2024, 3, 4, 9, 0))
    EmailOutbox.objects.all().delete()
    now = aware(2024, 3, 6, 10)
    services.register_waiver(
        user=f0.p1,
        contract_id=c.pk,
        document=pdf("rinuncia_gamma.pdf"),
        expected_membership_id=f0.ops["D"].pk,
        now=now,
    )
    receipt = Receipt.objects.filter(contract=c, kind=ReceiptKind.BOOKING).latest("pk")
    assert render_receipt(receipt.pk)
    receipt.refresh_from_db()
    assert receipt.context["operator"] == "Delta Lavori S.r.l."
    waiver = list(EmailOutbox.objects.filter(subject__startswith="[PTIM] Rinuncia operatore"))
    update = list(EmailOutbox.objects.filter(subject__startswith="[PTIM] Aggiornamento operatore"))
    assert {r.to for r in waiver} == {r.to for r in update} == FIVE
    assert set(_deliver(waiver + update, now)) == {"sent"}
    for message in mail.outbox:
        if message.subject.startswith("[PTIM] Rinuncia"):
            assert message.attachments == []
        else:
            _check_pdf_attachment(message, receipt, "ricevuta-325.pdf")
    assert len(mail.outbox) == 10


def test_no_operator_left_sends_the_unavailability_receipt(f0):
    c = f0.book("I-4", "C7754", at=aware(2024, 3, 4, 9, 0))
    services.register_waiver(
        user=f0.p1,
        contract_id=c.pk,
        document=pdf(),
        expected_membership_id=f0.ops["D"].pk,
        now=aware(2024, 3, 6, 10),
    )
    EmailOutbox.objects.all().delete()
    now = aware(2024, 3, 8, 10)
    res = services.register_waiver(
        user=f0.p1, contract_id=c.pk, document=pdf(), expected_membership_id=0, now=now
    )
    assert not res.replaced
    receipt = Receipt.objects.get(contract=c, kind=ReceiptKind.UNAVAILABILITY)
    assert render_receipt(receipt.pk)
    receipt.refresh_from_db()
    rows = list(EmailOutbox.objects.filter(subject__contains="Nessun operatore disponibile"))
    assert {r.to for r in rows} == FIVE
    assert set(_deliver(rows, now)) == {"sent"}
    for message in mail.outbox:
        _check_pdf_attachment(message, receipt, "ricevuta-nessun-operatore-325.pdf")
