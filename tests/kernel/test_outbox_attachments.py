"""Outbox e-mails carry real file attachments (issue 6: receipts are attached, not linked).

The attachment is referenced by the object holding the file; the e-mail waits in the outbox while
that file does not exist yet (a PDF rendered after commit) and goes out with it once it does.
"""

from __future__ import annotations

import datetime
import hashlib
import io

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.db import transaction
from pyhanko.pdf_utils.reader import PdfFileReader

from procurement.documents.models import StoredDocument
from procurement.documents.services import document_upload
from procurement.notifications.models import EmailAttachment, EmailOutbox, OutboxStatus
from procurement.notifications.services import (
    ATTACHMENT_MAX_WAIT,
    Attachment,
    email_deliver,
    notify,
    outbox_due,
    outbox_enqueue,
    outbox_release,
    outbox_sweep,
)
from tests.factories.kernel import OrganisationFactory, aware, member

pytestmark = pytest.mark.django_db


def _real_pdf(text: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=f"<h1>{text}</h1>").write_pdf()


def _pages(data: bytes) -> int:
    return int(PdfFileReader(io.BytesIO(data)).root["/Pages"]["/Count"])


@pytest.fixture
def user_and_pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    org = OrganisationFactory()
    user = member(org, email="rup@comune.example.it")
    data = _real_pdf("Ricevuta di prenotazione n. 325")
    version = document_upload(
        user=user,
        organisation=org,
        use="generic",
        title="Ricevuta",
        uploaded_file=SimpleUploadedFile("ricevuta.pdf", data, "application/pdf"),
    )
    return user, org, version, data


def test_notify_attaches_the_pdf_to_the_sent_email(user_and_pdf):
    user, org, version, data = user_and_pdf
    now = aware(2026, 3, 4, 9, 0)
    with transaction.atomic():
        notify(
            recipients=[user],
            template="generic",
            context={"subject": "Prenotazione 325", "message": "Ricevuta in allegato"},
            organisation=org,
            attachments=[Attachment(source=version, filename="ricevuta-325.pdf")],
            now=now,
        )
    row = EmailOutbox.objects.get(subject__contains="Prenotazione 325")
    assert row.attachments.count() == 1

    assert email_deliver(outbox_id=row.pk, now=now) == "sent"

    (sent,) = mail.outbox
    assert sent.to == ["rup@comune.example.it"]
    ((name, content, mimetype),) = sent.attachments
    assert (name, mimetype) == ("ricevuta-325.pdf", "application/pdf")
    assert content == data and content.startswith(b"%PDF-")
    assert _pages(content) == 1
    # The MIME message really contains the file as a PDF part.
    raw = sent.message().as_bytes()
    assert b"application/pdf" in raw and b'filename="ricevuta-325.pdf"' in raw


def test_callers_without_attachments_are_unchanged(user_and_pdf):
    user, _org, _version, _data = user_and_pdf
    notify(recipients=[user], template="generic", context={"subject": "Senza allegati"})
    row = EmailOutbox.objects.get(subject__contains="Senza allegati")
    assert email_deliver(outbox_id=row.pk) == "sent"
    assert mail.outbox[0].attachments == []
    assert not EmailAttachment.objects.exists()


def test_the_email_waits_for_a_file_rendered_later_then_goes_out_once(user_and_pdf):
    user, org, _version, _data = user_and_pdf
    # A document version whose file does not exist yet (as a receipt before its render).
    pending = StoredDocument.objects.create(
        organisation=org, use="generic", title="In preparazione", created_by=user
    )
    later = pending.versions.create(
        number=1,
        file="",
        original_name="ricevuta.pdf",
        size=0,
        sha256="",
        content_type="application/pdf",
        uploaded_by=user,
        uploaded_at=aware(2026, 3, 4, 9, 0),
    )
    now = aware(2026, 3, 4, 9, 0)
    with transaction.atomic():
        row = outbox_enqueue(
            to="ufficio@comune.example.it",
            subject="Prenotazione 326",
            body_text="Ricevuta in allegato.",
            attachments=[Attachment(source=later, filename="ricevuta-326.pdf")],
            now=now,
        )

    assert email_deliver(outbox_id=row.pk, now=now) == "waiting"
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
    assert "non ancora disponibile" in row.last_error
    assert mail.outbox == []
    # The sweeper leaves it alone until the retry time, and sends nothing without the file.
    assert outbox_sweep(now=now) == 0
    assert outbox_sweep(now=now + datetime.timedelta(minutes=2)) == 0
    assert mail.outbox == []

    data = _real_pdf("Ricevuta 326")
    with transaction.atomic():
        later.file.save("ricevuta-326.pdf", ContentFile(data), save=False)
        later.sha256 = hashlib.sha256(data).hexdigest()
        later.save()
        assert outbox_release(source=later, now=now + datetime.timedelta(minutes=2)) == 1
    assert list(
        outbox_due(now=now + datetime.timedelta(minutes=2)).values_list("pk", flat=True)
    ) == [row.pk]
    assert outbox_sweep(now=now + datetime.timedelta(minutes=3)) == 1
    assert outbox_sweep(now=now + datetime.timedelta(minutes=10)) == 0

    (sent,) = mail.outbox
    ((name, content, _mime),) = sent.attachments
    assert name == "ricevuta-326.pdf"
    assert hashlib.sha256(content).hexdigest() == later.sha256
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT and row.attempts == 1


def test_a_file_that_never_arrives_fails_after_the_maximum_wait(user_and_pdf):
    user, org, _version, _data = user_and_pdf
    pending = StoredDocument.objects.create(
        organisation=org, use="generic", title="Mai pronta", created_by=user
    )
    never = pending.versions.create(
        number=1,
        file="",
        original_name="x.pdf",
        size=0,
        sha256="",
        content_type="application/pdf",
        uploaded_by=user,
        uploaded_at=aware(2026, 3, 4, 9, 0),
    )
    now = aware(2026, 3, 4, 9, 0)
    row = outbox_enqueue(
        to="a@example.it",
        subject="Mai",
        body_text=".",
        attachments=[Attachment(source=never, filename="x.pdf")],
        now=now,
    )
    assert email_deliver(outbox_id=row.pk, now=now + ATTACHMENT_MAX_WAIT) == "waiting"
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING
    email_deliver(outbox_id=row.pk, now=now + ATTACHMENT_MAX_WAIT + datetime.timedelta(minutes=1))
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert mail.outbox == []
