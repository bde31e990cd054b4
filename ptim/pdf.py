"""Receipts (R-PTIM-145, R-PTIM-146): a snapshot taken in the booking transaction, rendered by
WeasyPrint after commit (tasks.render_receipt) and stored with its SHA-256."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from . import messages as M
from .amounts import euro
from .deadlines import ROME
from .models import ClearanceLevel, Receipt, ReceiptKind


def _dt(value) -> str:
    return value.astimezone(ROME).strftime("%d/%m/%Y %H:%M") if value else ""


def _d(value) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _common(contract) -> dict:
    a = contract.agreement
    return {
        "progressive": contract.progressive,
        "predecessor": contract.predecessor.progressive if contract.predecessor_id else "",
        "state": str(contract.get_state_display()),
        "sa": contract.contracting_authority.name,
        "user": contract.created_by.get_full_name() or contract.created_by.username,
        "rup": f"{contract.rup_first_name} {contract.rup_last_name} ({contract.rup_role})",
        "rup_phone": contract.rup_phone,
        "rup_email": contract.rup_email,
        "office": f"{contract.office_name} – {contract.office_email}",
        "aq_identifier": a.identifier,
        "aq_name": a.name,
        "period": a.period.label,
        "lot": str(contract.lot.label),
        "area": contract.territorial_area.name,
        "dt": f"{a.directorate.name} – {a.directorate.institutional_email}",
        "referent": f"{a.referent_name} – {a.referent_email}",
        "price_list": a.price_list,
        "works": euro(contract.works_amount),
        "safety": euro(contract.safety_costs),
        "planned": euro(contract.planned_amount),
        "og1": euro(contract.og1_amount),
        "og2": euro(contract.og2_amount),
        "og11": euro(contract.og11_amount),
        "prevalent": euro(contract.prevalent_amount),
        "clearance": str(ClearanceLevel(contract.required_clearance).label)
        if contract.required_clearance
        else "—",
        "chapter": contract.spending_chapter.label,
        "identifier_label": contract.spending_chapter.identifier_label,
        "identifier": contract.intervention_identifier,
        "plan_year": contract.plan_year or "",
        "intervention_type": contract.intervention_type.label if contract.intervention_type else "",
        "category": contract.intervention_category.label,
        "description": contract.description,
    }


def booking_context(contract, booking, now, *, renounced=()) -> dict:
    m = booking.membership
    return {
        **_common(contract),
        "booked_at": _dt(booking.booked_at),
        "acceptance_deadline": _d(contract.acceptance_deadline),
        "operator": m.operator.name,
        "operator_tax_code": m.operator.tax_code,
        "operator_vat": m.operator.vat_number,
        "operator_pec": m.operator.pec,
        "ranking_position": m.ranking_position,
        "score": str(m.score),
        "discount": str(m.discount_pct),
        "total": euro(booking.total_amount),
        "renounced": list(renounced),
        "a02": str(M.A02),
        "a06": str(M.A06),
        "a07": str(M.A07),
    }


def unavailability_context(contract, cause_text, now) -> dict:
    return {**_common(contract), "at": _dt(now), "cause": cause_text}


def render_pdf(receipt: Receipt) -> bytes:
    from weasyprint import HTML

    template = (
        "ptim/pdf/booking_receipt.html"
        if receipt.kind == ReceiptKind.BOOKING
        else "ptim/pdf/unavailability_receipt.html"
    )
    generated = timezone.now()
    html = render_to_string(
        template, {"c": receipt.context, "generated": _dt(generated), "receipt": receipt}
    )
    return HTML(string=html).write_pdf()


def render_receipt(receipt_id: int) -> bool:
    """Render once; safe to run twice (the second run finds the file)."""
    receipt = Receipt.objects.filter(pk=receipt_id).first()
    if receipt is None or receipt.file:
        return False
    data = render_pdf(receipt)
    with transaction.atomic():
        locked = Receipt.objects.select_for_update().get(pk=receipt_id)
        if locked.file:
            return False
        locked.sha256 = hashlib.sha256(data).hexdigest()
        locked.rendered_at = timezone.now()
        name = f"ricevuta-{locked.context.get('progressive', locked.pk)}-{locked.pk}.pdf"
        locked.file.save(name, ContentFile(data), save=False)
        locked.save()
        # The e-mails carrying this receipt were waiting for it in the outbox (R-PTIM-144).
        from procurement.notifications.services import outbox_release

        outbox_release(source=locked)
    return True
