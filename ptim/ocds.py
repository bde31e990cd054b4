"""OCDS releases of PTIM contracts: published when a contract becomes Definitivo, and on rescission.

A PTIM contract is a call-off from an Agenzia del Demanio framework agreement: the booking and
its internal steps are not public; the contract made definitive is ("Aggiudicazioni e
affidamenti"). PTIM contracts carry no CIG in this module, so the ocid is built from the
contract's progressive number (`PTIM-325a`), which never changes.
"""

from __future__ import annotations

from datetime import datetime, time

from django.utils import timezone

from procurement.opendata.services import amount, iso, ocds_publish, ocid_for, party, party_ref


def _day(value) -> str:
    return iso(timezone.make_aware(datetime.combine(value, time(0, 0))))


def _release(contract, *, rescinded: bool, now) -> dict:
    buyer = contract.contracting_authority
    operator = contract.membership.operator
    agreement = contract.agreement
    ident = f"PTIM-{contract.progressive}"
    value = amount(contract.total_amount)
    contract_block = {
        "id": f"{ident}-contratto",
        "awardID": f"{ident}-1",
        "title": contract.description[:500],
        "status": "terminated" if rescinded else "active",
        "value": value,
    }
    if contract.confirmed_at:
        contract_block["dateSigned"] = iso(contract.confirmed_at)
    if rescinded:
        contract_block["period"] = {"endDate": _day(contract.rescission_date)}
    return {
        "ocid": ocid_for(ident),
        "tag": ["contractUpdate"] if rescinded else ["award", "contract"],
        "date": iso(now),
        "parties": [
            party(name=buyer.name, tax_code=buyer.tax_code, roles=["buyer", "procuringEntity"]),
            party(
                name=operator.name,
                tax_code=operator.tax_code,
                vat_number=operator.vat_number,
                roles=["supplier"],
            ),
        ],
        "buyer": party_ref(buyer.name, buyer.tax_code),
        "tender": {
            "id": ident,
            "title": contract.description[:500],
            "status": "complete",
            "procurementMethod": "limited",
            "procurementMethodDetails": "Affidamento da accordo quadro "
            f"{agreement.identifier} (Agenzia del Demanio)",
            "mainProcurementCategory": "works",
        },
        "awards": [
            {
                "id": f"{ident}-1",
                "status": "active",
                "date": iso(contract.booked_at),
                "value": value,
                "suppliers": [party_ref(operator.name, operator.tax_code)],
            }
        ],
        "contracts": [contract_block],
        "relatedProcesses": [
            {
                "id": "1",
                "relationship": ["framework"],
                "title": agreement.name,
                "scheme": "ocid",
                "identifier": ocid_for(f"PTIM-AQ-{agreement.identifier}"),
            }
        ],
    }


def publish_definitive(contract, *, now) -> None:
    """The contract became Definitivo (T9). Call inside the transaction."""
    ocds_publish(
        source="ptim", key="contract", now=now, release=_release(contract, rescinded=False, now=now)
    )


def publish_rescission(contract, *, now) -> None:
    ocds_publish(
        source="ptim",
        key="rescission",
        now=now,
        release=_release(contract, rescinded=True, now=now),
    )
