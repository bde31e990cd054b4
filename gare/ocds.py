"""OCDS releases of tenders: the notice at publication, the award when adopted, the contract.

Only what is public at that moment goes out: the notice and its public documents at
publication; the awardee and the contract value after the award is adopted. Nothing from an
envelope (A, B or C) and no participant before the award is ever in a release.
One contracting process per lot: the ocid is built from the lot's CIG.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from procurement.opendata.services import amount, iso, ocds_publish, ocid_for, party, party_ref

CATEGORY = {"WORKS": "works", "SERVICES": "services", "SUPPLIES": "goods"}
DOCUMENT_TYPE = {
    "CONTRACT_NOTICE": "tenderNotice",
    "TENDER_RULES": "biddingDocuments",
    "SPECIFICATIONS": "technicalSpecifications",
    "DETAILED_DESIGN": "technicalSpecifications",
    "DRAFT_CONTRACT": "contractDraft",
    "TEMPLATE": "biddingDocuments",
    "OTHER": "biddingDocuments",
}


def _ident(lot) -> str:
    return lot.cig or f"GARA-{lot.tender.code}-{lot.number}"


def _buyers(tender):
    buyer = tender.delegating_entity or tender.organisation
    return buyer, tender.organisation


def _base(lot, *, tag, now) -> dict:
    tender = lot.tender
    buyer, procuring = _buyers(tender)
    parties = [party(name=buyer.name, tax_code=buyer.tax_code, roles=["buyer"])]
    if procuring.pk != buyer.pk:
        parties.append(
            party(name=procuring.name, tax_code=procuring.tax_code, roles=["procuringEntity"])
        )
    else:
        parties[0]["roles"] = ["buyer", "procuringEntity"]
    return {
        "ocid": ocid_for(_ident(lot)),
        "tag": tag,
        "date": iso(now),
        "parties": parties,
        "buyer": party_ref(buyer.name, buyer.tax_code),
    }


def tender_release(lot, *, now) -> dict:
    tender = lot.tender
    _buyer, procuring = _buyers(tender)
    release = _base(lot, tag=["tender"], now=now)
    title = tender.title if lot.title in ("", tender.title) else f"{tender.title} – {lot.title}"
    block = {
        "id": _ident(lot),
        "title": title,
        "status": "active",
        "procurementMethod": "open",
        "procurementMethodDetails": "Procedura aperta (art. 71 D.Lgs. 36/2023)",
        "value": amount(Decimal(lot.works_amount) + Decimal(lot.safety_costs)),
        "procuringEntity": party_ref(procuring.name, procuring.tax_code),
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": {"startDate": iso(tender.published_at or now)},
    }
    if tender.description:
        block["description"] = tender.description
    if tender.contract_type in CATEGORY:
        block["mainProcurementCategory"] = CATEGORY[tender.contract_type]
    if tender.offer_deadline:
        block["tenderPeriod"]["endDate"] = iso(tender.offer_deadline)
    if tender.questions_deadline:
        block["enquiryPeriod"] = {
            "startDate": iso(tender.published_at or now),
            "endDate": iso(tender.questions_deadline),
        }
    if lot.duration_days:
        block["contractPeriod"] = {"durationInDays": lot.duration_days}
    documents = [
        {
            "id": str(doc.pk),
            "documentType": DOCUMENT_TYPE.get(doc.kind, "biddingDocuments"),
            "title": doc.title,
            "datePublished": iso(tender.published_at or now),
            "language": "it",
            "url": settings.SITE_URL.rstrip("/")
            + reverse("gare:public_document", args=[tender.pk, doc.pk]),
        }
        for doc in tender.documents.order_by("created_at", "pk")
    ]
    if documents:
        block["documents"] = documents
    release["tender"] = block
    return release


def _awardee(award):
    participant = award.participant
    return participant.display_name, participant.operator.tax_code


def _contract_value(award):
    row = next(
        (o for o in award.run.result.get("offers", []) if o.get("id") == str(award.participant_id)),
        None,
    )
    value = row.get("contract_value") if row else None
    return amount(Decimal(value)) if value not in (None, "") else None


def award_release(lot, award, *, now) -> dict:
    name, tax_code = _awardee(award)
    release = _base(lot, tag=["award"], now=now)
    release["parties"].append(party(name=name, tax_code=tax_code, roles=["supplier"]))
    release["tender"] = {"id": _ident(lot), "status": "complete"}
    block = {
        "id": f"{_ident(lot)}-{award.pk}",
        "status": "active",
        "date": iso(award.adopted_at or now),
        "suppliers": [party_ref(name, tax_code)],
    }
    value = _contract_value(award)
    if value:
        block["value"] = value
    release["awards"] = [block]
    return release


def contract_release(lot, award, *, now) -> dict:
    release = _base(lot, tag=["contract"], now=now)
    block = {
        "id": f"{_ident(lot)}-contratto",
        "awardID": f"{_ident(lot)}-{award.pk}",
        "status": "active",
    }
    if award.signed_on:
        block["dateSigned"] = iso(timezone.make_aware(datetime.combine(award.signed_on, time())))
    value = _contract_value(award)
    if value:
        block["value"] = value
    release["contracts"] = [block]
    return release


def publish_tender(tender, *, now) -> None:
    """At publication: one tender release per lot. Call inside the transaction."""
    for lot in tender.lots.order_by("number"):
        ocds_publish(source="gare", key="tender", now=now, release=tender_release(lot, now=now))


def publish_award(lot, award, *, now) -> None:
    ocds_publish(
        source="gare", key=f"award-{award.pk}", now=now, release=award_release(lot, award, now=now)
    )


def publish_contract(lot, award, *, now) -> None:
    ocds_publish(
        source="gare",
        key=f"contract-{award.pk}",
        now=now,
        release=contract_release(lot, award, now=now),
    )


def clarifications_release(lot, *, now) -> dict:
    """The anonymised questions and their answers published so far (OCDS enquiries extension:
    `tender.enquiries`); never the original question nor who asked it."""
    from .models import ClarificationStatus

    tender = lot.tender
    published = tender.clarifications.filter(status=ClarificationStatus.PUBLISHED).order_by(
        "published_at", "pk"
    )
    release = _base(lot, tag=["tenderUpdate"], now=now)
    release["tender"] = {
        "id": _ident(lot),
        "hasEnquiries": True,
        "enquiries": [
            {
                "id": str(item.pk),
                "title": item.published_question_text[:200],
                "description": item.published_question_text,
                "answer": item.answer_text,
                "dateAnswered": iso(item.published_at),
            }
            for item in published
        ],
    }
    return release


def publish_clarifications(tender, *, now) -> None:
    """After an answer is published: one tenderUpdate per lot with all the published answers."""
    from .models import ClarificationStatus

    count = tender.clarifications.filter(status=ClarificationStatus.PUBLISHED).count()
    for lot in tender.lots.order_by("number"):
        ocds_publish(
            source="gare",
            key=f"enquiries-{count}",
            now=now,
            release=clarifications_release(lot, now=now),
        )
