"""The "Scheda di sintesi ordinativo di fornitura" (D-ADE-34), rendered with WeasyPrint.

Rendered after commit in a Celery task (`tasks.render_summary_pdf`), never inside a request, and
stored as a document of the adhering body, linked to the order. Rendering twice is harmless: the
task exits when the order already has its sheet.
"""

from __future__ import annotations

import hashlib
import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import OrderStatus, SupplyOrder

TEMPLATE_VERSION = "1"


class SummarySheetRenderer:
    template_name = "adesioni/pdf/summary.html"

    def __init__(self, order: SupplyOrder, now):
        self.order = order
        self.now = now

    def data(self) -> dict:
        order = self.order
        lines = [
            {
                "description": line.description,
                "unit_price": str(line.unit_price),
                "quantity": str(line.quantity.normalize()),
                "line_total": str(line.line_total),
            }
            for line in order.lines.all()
        ]
        return {
            "number": order.number,
            "cig": order.derived_cig,
            "adhesion": order.adhesion.code if order.adhesion else "",
            "total": str(order.lines_total),
            "lines": lines,
        }

    def context(self) -> dict:
        data = self.data()
        return {
            "order": self.order,
            "contract": self.order.contract,
            "lines": self.order.lines.all(),
            "generated_at": timezone.localtime(self.now),
            "template_version": TEMPLATE_VERSION,
            "data_sha256": hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest(),
        }

    def render(self) -> bytes:
        from weasyprint import HTML

        with translation.override("it"):
            html = render_to_string(self.template_name, self.context())
        return HTML(string=html).write_pdf()


def summary_render(*, order_id, now=None) -> SupplyOrder:
    """Render and store the sheet of an order whose CIG is acquired; idempotent."""
    from .services import USE_SUMMARY_GENERATED, _upload

    now = now or timezone.now()
    order = SupplyOrder.objects.select_related("contract", "organisation", "adhesion").get(
        pk=order_id
    )
    if order.summary_generated_id or not order.derived_cig:
        return order
    pdf = SummarySheetRenderer(order, now).render()
    name = f"scheda_sintesi_{order.number.replace('/', '_')}.pdf"
    with transaction.atomic():
        locked = SupplyOrder.objects.select_for_update().get(pk=order_id)
        if locked.summary_generated_id:
            return locked
        version = _upload(
            user=locked.created_by,
            organisation=locked.organisation,
            use=USE_SUMMARY_GENERATED,
            title=f"Scheda di sintesi ordinativo di fornitura {locked.number}",
            uploaded_file=SimpleUploadedFile(name, pdf, content_type="application/pdf"),
            now=now,
            signed=False,
        )
        locked.summary_generated = version
        locked.summary_render_error = ""
        locked.save(update_fields=["summary_generated", "summary_render_error"])
    return locked


def needs_summary(order: SupplyOrder) -> bool:
    return order.status == OrderStatus.CIG_ACQUIRED and not order.summary_generated_id
