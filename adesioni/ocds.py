"""OCDS releases of the adesioni workflow: a supply order is an award (call-off) under a framework.

Published only when the esito is published ("salva e procedi") and when a published esito is
annulled through scheda ANN. Only public facts go out: the subject, the authority, the supplier,
the derived CIG, the amount and dates; never the order's documents.
"""

from __future__ import annotations

from datetime import datetime, time

from django.utils import timezone

from procurement.opendata.services import amount, iso, ocds_publish, ocid_for, party, party_ref

CATEGORY = {"works": "works", "supplies": "goods", "services": "services"}


def _day(value) -> str:
    return iso(timezone.make_aware(datetime.combine(value, time(0, 0))))


def _release(notice, *, cancelled: bool, now) -> dict:
    order = notice.order
    contract = order.contract
    cig_request = getattr(order, "cig_request", None)
    buyer, supplier = order.organisation, contract.supplier
    subject = (cig_request.oggetto_appalto if cig_request else "") or contract.title
    status = "cancelled" if cancelled else "active"
    release = {
        "ocid": ocid_for(order.derived_cig),
        "tag": ["awardUpdate"] if cancelled else ["award"],
        "date": iso(now),
        "parties": [
            party(name=buyer.name, tax_code=buyer.tax_code, roles=["buyer", "procuringEntity"]),
            party(name=supplier.name, tax_code=supplier.tax_code, roles=["supplier"]),
        ],
        "buyer": party_ref(buyer.name, buyer.tax_code),
        "tender": {
            "id": order.derived_cig,
            "title": subject,
            "status": "cancelled" if cancelled else "complete",
            "procurementMethod": "limited",
            "procurementMethodDetails": "Adesione ad accordo quadro o convenzione "
            f"(CIG principale {contract.parent_cig})",
            "procuringEntity": party_ref(buyer.name, buyer.tax_code),
        },
        "awards": [
            {
                "id": f"{order.derived_cig}-1",
                "title": subject,
                "status": status,
                "date": _day(notice.award_date),
                "value": amount(order.lines_total),
                "suppliers": [party_ref(supplier.name, supplier.tax_code)],
                "contractPeriod": {
                    k: v
                    for k, v in {
                        "startDate": _day(notice.duration_from) if notice.duration_from else None,
                        "endDate": _day(notice.duration_to),
                    }.items()
                    if v
                },
            }
        ],
        "relatedProcesses": [
            {
                "id": "1",
                "relationship": ["framework"],
                "title": contract.title,
                "scheme": "ocid",
                "identifier": ocid_for(contract.parent_cig),
            }
        ],
    }
    if cig_request and cig_request.oggetto_contratto in CATEGORY:
        release["tender"]["mainProcurementCategory"] = CATEGORY[cig_request.oggetto_contratto]
    return release


def publish_outcome(notice, *, now) -> None:
    """The esito was published: an award release. Call inside the transaction."""
    ocds_publish(
        source="adesioni",
        key="award",
        now=now,
        release=_release(notice, cancelled=False, now=now),
    )


def publish_outcome_annulled(notice, *, now) -> None:
    """A published esito was annulled by scheda ANN: the award is cancelled."""
    ocds_publish(
        source="adesioni",
        key="award-cancelled",
        now=now,
        release=_release(notice, cancelled=True, now=now),
    )
