"""E-mails to the spec's addresses (R-PTIM-142) and the in-app list (D-48), in the caller's
transaction: outbox rows are delivered after commit by the kernel (and its sweeper)."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from procurement.accounts.models import Membership, Role, User
from procurement.notifications.models import Notification
from procurement.notifications.services import Attachment, outbox_enqueue

from .amounts import euro


def uo_email() -> str:
    return getattr(settings, "PTIM_UO_EMAIL", "uo.manutenzioni@agenziademanio.example.it")


def five_addresses(contract) -> list[str]:
    agreement = contract.agreement
    return [
        contract.rup_email,
        contract.office_email,
        uo_email(),
        agreement.directorate.institutional_email,
        agreement.referent_email,
    ]


def uo_and_dt(agreement) -> list[str]:
    return [uo_email(), agreement.directorate.institutional_email]


def _unique(addresses) -> list[str]:
    seen, out = set(), []
    for a in addresses:
        key = (a or "").strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(a.strip())
    return out


def supervisors(agreement):
    """DT users of the competent directorate and DG users."""
    d = agreement.directorate
    dt = Membership.objects.active().filter(role=Role.DT, organisation_id=d.organisation_id)
    if d.cost_centre_id:
        dt = dt.filter(cost_centre_id=d.cost_centre_id)
    dg = Membership.objects.active().filter(role=Role.DG)
    ids = set(dt.values_list("user_id", flat=True)) | set(dg.values_list("user_id", flat=True))
    return User.objects.filter(pk__in=ids)


def sa_users(contract):
    ids = Membership.objects.active().filter(organisation_id=contract.contracting_authority_id)
    return User.objects.filter(pk__in=ids.values("user_id"))


def send(
    *,
    subject: str,
    addresses,
    now,
    contract=None,
    agreement=None,
    in_app=(),
    text: str = "",
    url: str = "",
    receipt_url: str = "",
    attachments=(),
) -> list[str]:
    """Write one outbox row per distinct address and one in-app notification per user.

    `attachments` (kernel `Attachment`s, e.g. the booking receipt) go with every e-mail; the
    e-mail waits in the outbox until the PDF has been rendered.
    """
    ctx = {
        "subject": subject,
        "text": text,
        "contract": contract,
        "url": url,
        "receipt_url": receipt_url,
        "attached": [a.filename for a in attachments],
        "site_url": getattr(settings, "SITE_URL", ""),
    }
    if contract is not None:
        from .amounts import total_with_variations

        ctx["planned"] = euro(contract.planned_amount)
        ctx["total"] = euro(total_with_variations(contract))
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string("notifications/email/ptim_event_body.txt", ctx).strip() + "\n"
    sent = _unique(addresses)
    for address in sent:
        outbox_enqueue(
            to=address, subject=subject, body_text=body, attachments=attachments, now=now
        )
    organisation = contract.contracting_authority if contract is not None else None
    seen = set()
    for user in in_app:
        if user.pk in seen:
            continue
        seen.add(user.pk)
        Notification.objects.create(
            recipient=user,
            organisation=organisation,
            template="ptim_event",
            subject=subject[:255],
            body=body,
            url=url,
            created_at=now,
        )
    return sent


def receipt_attachment(receipt) -> Attachment:
    progressive = receipt.context.get("progressive", receipt.pk)
    prefix = "ricevuta" if receipt.kind == "BOOKING" else "ricevuta-nessun-operatore"
    return Attachment(source=receipt, filename=f"{prefix}-{progressive}.pdf")


def contract_event(*, contract, subject, now, text="", receipt=None, addresses=None):
    """E-mail (five addresses unless given) and in-app list for an event on a contract.

    `receipt` (a booking or unavailability receipt) is attached to the e-mails as a PDF.
    """
    from django.urls import reverse

    users = list(sa_users(contract)) + list(supervisors(contract.agreement))
    return send(
        subject=subject,
        addresses=addresses if addresses is not None else five_addresses(contract),
        now=now,
        contract=contract,
        in_app=users,
        text=text,
        url=reverse("ptim:contract-detail", args=[contract.pk]),
        receipt_url=reverse("ptim:receipt", args=[receipt.pk]) if receipt is not None else "",
        attachments=[receipt_attachment(receipt)] if receipt is not None else (),
    )
