"""Releases as a workflow app would publish them (tender, then award), for the kernel's tests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from procurement.opendata.services import amount, iso, ocid_for, party, party_ref

BUYER = ("Comune di Bellinzago Novarese", "00247200033")
SUA = ("Provincia di Novara - Stazione Unica Appaltante", "80014130035")
WINNER = ("Edil Lavori S.r.l.", "01234567897")


def tender_release(
    *, cig: str, title: str, value: Decimal, published: datetime, deadline: datetime, buyer=BUYER
) -> dict:
    return {
        "ocid": ocid_for(cig),
        "tag": ["tender"],
        "date": iso(published),
        "parties": [
            party(name=buyer[0], tax_code=buyer[1], roles=["buyer"]),
            party(name=SUA[0], tax_code=SUA[1], roles=["procuringEntity"]),
        ],
        "buyer": party_ref(*buyer),
        "tender": {
            "id": cig,
            "title": title,
            "status": "active",
            "procurementMethod": "open",
            "procurementMethodDetails": "Procedura aperta (art. 71 D.Lgs. 36/2023)",
            "mainProcurementCategory": "works",
            "value": amount(value),
            "tenderPeriod": {"startDate": iso(published), "endDate": iso(deadline)},
            "procuringEntity": party_ref(*SUA),
            "documents": [
                {
                    "id": "disciplinare",
                    "documentType": "tenderNotice",
                    "title": "Disciplinare di gara",
                    "url": "https://example.invalid/disciplinare.pdf",
                    "datePublished": iso(published),
                }
            ],
        },
    }


def award_release(
    *, cig: str, value: Decimal, awarded: datetime, buyer=BUYER, winner=WINNER
) -> dict:
    return {
        "ocid": ocid_for(cig),
        "tag": ["award"],
        "date": iso(awarded),
        "parties": [
            party(name=buyer[0], tax_code=buyer[1], roles=["buyer"]),
            party(name=winner[0], tax_code=winner[1], roles=["supplier"], vat_number=winner[1]),
        ],
        "buyer": party_ref(*buyer),
        "tender": {"id": cig, "status": "complete"},
        "awards": [
            {
                "id": f"{cig}-1",
                "status": "active",
                "date": iso(awarded),
                "value": amount(value),
                "suppliers": [party_ref(*winner)],
            }
        ],
    }
