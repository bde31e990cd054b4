"""Notifying users: an in-app row and an e-mail in the outbox, both in the caller's transaction.

`notify` is called inside the transaction of the state change. The e-mail is a row of
`EmailOutbox`; after commit its id is handed to Celery. If the broker is down the hand-over
fails quietly and the periodic sweeper sends the row later: the change is never rolled back
because mail could not be queued, and no mail goes out for a change that was rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import EmailAttachment, EmailOutbox, Notification, OutboxStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# An e-mail whose attachment is not there yet (e.g. a PDF rendered after commit) stays pending:
# it is retried every ATTACHMENT_RETRY and fails only if the file is still missing after
# ATTACHMENT_MAX_WAIT from its creation.
ATTACHMENT_RETRY = timedelta(minutes=1)
ATTACHMENT_MAX_WAIT = timedelta(hours=24)


@dataclass(frozen=True)
class Attachment:
    """A file to attach: `source` is a saved model instance, `field` the name of its file field."""

    source: object
    filename: str
    field: str = "file"
    mimetype: str = "application/pdf"


class AttachmentNotReady(Exception):
    pass


def outbox_enqueue(
    *,
    to: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    notification: Notification | None = None,
    attachments: Iterable[Attachment] = (),
    now=None,
) -> EmailOutbox:
    """Write one outbox e-mail (with its attachments) in the caller's transaction.

    It is handed to Celery after commit; nothing is sent for a rolled-back transaction.
    """
    from django.contrib.contenttypes.models import ContentType

    now = now or timezone.now()
    row = EmailOutbox.objects.create(
        notification=notification,
        to=to,
        subject=subject[:255],
        body_text=body_text,
        body_html=body_html,
        created_at=now,
        next_attempt_at=now,
    )
    for item in attachments:
        EmailAttachment.objects.create(
            email=row,
            filename=item.filename[:255],
            mimetype=item.mimetype,
            source_type=ContentType.objects.get_for_model(item.source),
            source_id=item.source.pk,
            source_field=item.field,
        )
    transaction.on_commit(lambda pk=row.pk: dispatch_email(pk))
    return row


def outbox_release(*, source, now=None) -> int:
    """The file of `source` now exists: hand the e-mails waiting for it to Celery at once.

    Returns how many e-mails were released (the sweeper would send them anyway, later).
    """
    from django.contrib.contenttypes.models import ContentType

    now = now or timezone.now()
    ids = list(
        EmailOutbox.objects.filter(
            status=OutboxStatus.PENDING,
            attachments__source_type=ContentType.objects.get_for_model(source),
            attachments__source_id=source.pk,
        )
        .distinct()
        .values_list("pk", flat=True)
    )
    if ids:
        EmailOutbox.objects.filter(pk__in=ids).update(next_attempt_at=now)
        for pk in ids:
            transaction.on_commit(lambda pk=pk: dispatch_email(pk))
    return len(ids)


def _attachment_content(attachment: EmailAttachment) -> bytes:
    model = attachment.source_type.model_class()
    source = model._default_manager.filter(pk=attachment.source_id).first() if model else None
    if source is None:
        raise AttachmentNotReady(f"{attachment.filename}: oggetto {attachment.source_id} assente")
    field_file = getattr(source, attachment.source_field, None)
    if not field_file:
        raise AttachmentNotReady(f"{attachment.filename}: file non ancora disponibile")
    with field_file.open("rb") as handle:
        return handle.read()


def _render(template: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) from notifications/email/<template>_{subject,body}.txt / .html."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"notifications/email/{template}_subject.txt", context)
        text = render_to_string(f"notifications/email/{template}_body.txt", context)
        try:
            html = render_to_string(f"notifications/email/{template}_body.html", context)
        except Exception:  # the HTML part is optional
            html = ""
    return " ".join(subject.split()), text.strip() + "\n", html


def notify(
    *,
    recipients: Iterable,
    template: str,
    context: dict,
    organisation=None,
    url: str = "",
    email: bool = True,
    now=None,
    attachments: Iterable[Attachment] = (),
) -> list[Notification]:
    """Create an in-app notification (and an outbox e-mail) for each recipient user.

    `attachments` (optional) are attached to every e-mail; see `Attachment`.
    """
    now = now or timezone.now()
    attachments = tuple(attachments)
    created = []
    for user in recipients:
        ctx = {**context, "recipient": user, "url": url, "site_url": settings.SITE_URL}
        subject, text, html = _render(template, ctx)
        notification = Notification.objects.create(
            recipient=user,
            organisation=organisation,
            template=template,
            subject=subject[:255],
            body=text,
            url=url,
            created_at=now,
        )
        created.append(notification)
        if email and user.email:
            outbox_enqueue(
                notification=notification,
                to=user.email,
                subject=subject,
                body_text=text,
                body_html=html,
                attachments=attachments,
                now=now,
            )
    return created


def dispatch_email(outbox_id: int) -> bool:
    """Hand one outbox row to Celery; False (and logged) when the broker cannot be reached."""
    from .tasks import deliver_email

    try:
        deliver_email.apply_async(args=[outbox_id], retry=False)
    except Exception as exc:  # broker down: the sweeper will pick the row up
        logger.warning("Outbox %s not queued (%s); the sweeper will retry", outbox_id, exc)
        return False
    return True


def email_deliver(*, outbox_id: int, now=None) -> str:
    """Send one outbox e-mail exactly once. Safe to call twice or concurrently."""
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            EmailOutbox.objects.select_for_update(skip_locked=True)
            .filter(pk=outbox_id, status=OutboxStatus.PENDING)
            .first()
        )
        if row is None:
            return "skipped"
        message = EmailMultiAlternatives(
            subject=row.subject,
            body=row.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[row.to],
        )
        if row.body_html:
            message.attach_alternative(row.body_html, "text/html")
        try:
            for attachment in row.attachments.select_related("source_type"):
                message.attach(
                    attachment.filename, _attachment_content(attachment), attachment.mimetype
                )
        except AttachmentNotReady as exc:
            # Not an attempt: the e-mail waits for its file (bounded by ATTACHMENT_MAX_WAIT).
            row.last_error = str(exc)[:2000]
            if now - row.created_at > ATTACHMENT_MAX_WAIT:
                row.status = OutboxStatus.FAILED
            row.next_attempt_at = now + ATTACHMENT_RETRY
            row.save(update_fields=["last_error", "status", "next_attempt_at"])
            return "waiting"
        row.attempts += 1
        try:
            message.send()
        except Exception as exc:
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = OutboxStatus.FAILED
            row.next_attempt_at = now + timedelta(minutes=2**row.attempts)
            row.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return "failed"
        row.status = OutboxStatus.SENT
        row.sent_at = now
        row.last_error = ""
        row.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return "sent"


def outbox_due(*, now=None):
    now = now or timezone.now()
    return EmailOutbox.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)


def outbox_sweep(*, now=None, limit: int = 500) -> int:
    """Send what is still pending and due (called by the periodic sweeper). Returns how many."""
    sent = 0
    for pk in outbox_due(now=now).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]:
        if email_deliver(outbox_id=pk, now=now) == "sent":
            sent += 1
    return sent


def notification_mark_read(*, user, pk: int, now=None) -> Notification:
    notification = Notification.objects.filter(recipient=user, pk=pk).first()
    if notification is None:
        raise Http404
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def outbox_requeue(*, ids: Iterable[int], user, now=None) -> int:
    """Put failed e-mails back in the queue ("Reinvia" in the admin); returns how many.

    Only rows in the failed state move: a pending or sent e-mail is left alone, so a double
    click never sends twice. Attempts restart from zero, each row leaves an audit event, and
    the rows are handed to Celery after commit (the sweeper picks them up if the broker is down).
    """
    from django.utils.translation import gettext as _

    from procurement.audit.services import audit_record

    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            EmailOutbox.objects.select_for_update()
            .filter(pk__in=list(ids), status=OutboxStatus.FAILED)
            .order_by("pk")
        )
        for row in rows:
            previous_attempts = row.attempts
            row.status = OutboxStatus.PENDING
            row.attempts = 0
            row.next_attempt_at = now
            row.save(update_fields=["status", "attempts", "next_attempt_at"])
            audit_record(
                action=_("e-mail rimessa in coda"),
                actor=user,
                obj=row,
                organisation=row.notification.organisation if row.notification_id else None,
                from_state=OutboxStatus.FAILED,
                to_state=OutboxStatus.PENDING,
                payload={"to": row.to, "attempts": previous_attempts, "last_error": row.last_error},
                now=now,
            )
            transaction.on_commit(lambda pk=row.pk: dispatch_email(pk))
    return len(rows)
