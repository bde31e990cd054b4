"""Publishing OCDS releases, for every workflow app.

A workflow app builds each release from what is public at that moment (never from a sealed
envelope or a non-public document) and calls `ocds_publish` inside the transaction of the state
change that made it public. The kernel fills the release id, language and defaults, validates the
release against the official 1.1.5 schema (an invalid release raises `OcdsInvalid`: a programming
error that fails the tests), stores it append-only and refreshes the public index of procedures.

    ocds_publish(source="gare", key=f"tender-{gara.pk}-award", now=now, release={
        "ocid": ocid_for(gara.cig),
        "tag": ["award"],
        "parties": [party(org, roles=["buyer", "procuringEntity"]), ...],
        "buyer": party_ref(org),
        "tender": {...}, "awards": [...],
    })

Identifiers: `ocid` = settings.OCDS_OCID_PREFIX + "-" + CIG (or another stable id when there is
no CIG); organisations are identified by their Italian tax code (scheme `IT-CF`) with the VAT
number (`IT-IVA`) as an additional identifier when it differs; the CIG is `tender.id`.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import OcdsRelease, PublicProcedure
from .ocds import compile_release, release_errors

CURRENCY = "EUR"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


#: Releases validated in this process, by source app (the test suite prints the count).
VALIDATED: Counter[str] = Counter()


class OcdsInvalid(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("Rilascio OCDS non valido: " + "; ".join(errors[:10]))


def ocid_prefix() -> str:
    return getattr(settings, "OCDS_OCID_PREFIX", "ocds-xxxxxx")


def ocid_for(identifier: str) -> str:
    """The ocid of the process identified by `identifier` (its CIG when there is one)."""
    identifier = _SLUG.sub("-", str(identifier)).strip("-")
    if not identifier:
        raise ValueError("identificativo vuoto")
    return f"{ocid_prefix()}-{identifier}"


def amount(value: Decimal | int | str | None) -> dict | None:
    """An OCDS Value in euro; JSON numbers, exact to the cent (refuses what a float would alter)."""
    if value is None:
        return None
    value = Decimal(value).quantize(Decimal("0.01"))
    number = int(value) if value == value.to_integral_value() else float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"importo non rappresentabile esattamente in JSON: {value}")
    return {"amount": number, "currency": CURRENCY}


def iso(moment: datetime) -> str:
    """RFC 3339 with the offset of Europe/Rome, as OCDS dates are shown to Italian readers."""
    if timezone.is_naive(moment):
        raise ValueError("data senza fuso orario")
    return timezone.localtime(moment).isoformat(timespec="seconds")


def party_id(tax_code: str) -> str:
    return f"IT-CF-{tax_code}"


def party(
    *,
    name: str,
    tax_code: str,
    roles: list[str],
    vat_number: str = "",
    address: dict | None = None,
    contact: dict | None = None,
) -> dict:
    """An OCDS Organization identified by its Italian fiscal code."""
    org = {
        "id": party_id(tax_code),
        "name": name,
        "identifier": {"scheme": "IT-CF", "id": tax_code, "legalName": name},
        "roles": sorted(set(roles)),
    }
    if vat_number and vat_number != tax_code:
        org["additionalIdentifiers"] = [{"scheme": "IT-IVA", "id": vat_number, "legalName": name}]
    if address:
        org["address"] = address
    if contact:
        org["contactPoint"] = contact
    return org


def party_ref(name: str, tax_code: str) -> dict:
    return {"id": party_id(tax_code), "name": name}


def _complete(release: dict, *, key: str, now: datetime) -> dict:
    release = dict(release)
    if "ocid" not in release or "tag" not in release:
        raise OcdsInvalid(["ocid e tag sono obbligatori"])
    release["id"] = f"{release['ocid']}-{_SLUG.sub('-', key).strip('-')}"
    release.setdefault("date", iso(now))
    release.setdefault("language", "it")
    release.setdefault("initiationType", "tender")
    return release


def ocds_publish(
    *, release: dict, source: str, key: str, now: datetime | None = None
) -> OcdsRelease:
    """Validate and store one release; idempotent on (ocid, key). Call it inside the transaction."""
    now = now or timezone.now()
    release = _complete(release, key=key, now=now)
    errors = release_errors(release)
    if errors:
        raise OcdsInvalid(errors)
    VALIDATED[source] += 1
    existing = OcdsRelease.objects.filter(release_id=release["id"]).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            stored = OcdsRelease.objects.create(
                ocid=release["ocid"],
                release_id=release["id"],
                date=datetime.fromisoformat(release["date"]),
                tags=release["tag"],
                data=release,
                source=source,
            )
    except IntegrityError:  # the same release published concurrently
        return OcdsRelease.objects.get(release_id=release["id"])
    refresh_public_procedure(ocid=release["ocid"], source=source)
    return stored


def _decimal(value: dict | None) -> Decimal | None:
    if not value or value.get("amount") is None:
        return None
    return Decimal(str(value["amount"]))


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def refresh_public_procedure(*, ocid: str, source: str) -> PublicProcedure:
    """Recompute the public index row of `ocid` from all its releases (locks the row)."""
    releases = list(OcdsRelease.objects.filter(ocid=ocid).order_by("date", "id"))
    compiled = compile_release([r.data for r in releases])
    tags = {tag for r in releases for tag in r.tags}
    tender = compiled.get("tender", {})
    buyer = compiled.get("buyer", {})
    buyer_party = next(
        (p for p in compiled.get("parties", []) if p.get("id") == buyer.get("id")), {}
    )
    all_awards = compiled.get("awards", [])
    awards = [a for a in all_awards if a.get("status") != "cancelled"]
    award_values = [
        _decimal(a.get("value")) for a in awards if _decimal(a.get("value")) is not None
    ]
    suppliers = sorted({s.get("name", "") for a in awards for s in a.get("suppliers", [])})
    award_dates = [_dt(a.get("date")) for a in all_awards if a.get("date")]
    tender_period = tender.get("tenderPeriod", {})
    fields = {
        "source": source,
        "title": (tender.get("title") or ocid)[:500],
        "buyer_name": (buyer.get("name") or "")[:300],
        "buyer_tax_code": buyer_party.get("identifier", {}).get("id", "")[:16],
        "cig": (tender.get("id") or "")[:10] if _looks_like_cig(tender.get("id")) else "",
        "procurement_method": tender.get("procurementMethod", ""),
        "procurement_method_details": (tender.get("procurementMethodDetails") or "")[:300],
        "tender_status": tender.get("status", ""),
        "tender_value": _decimal(tender.get("value")),
        "award_value": sum(award_values) if award_values else None,
        "suppliers": ", ".join(suppliers)[:1000],
        "is_notice": "tender" in tags or "tenderUpdate" in tags,
        # An annulled award stays listed, marked "Annullata": the public must see it happened.
        "is_award": bool(all_awards) and bool(tags & {"award", "awardUpdate", "contract"}),
        "annulled": tender.get("status") == "cancelled"
        or "tenderCancellation" in tags
        or (bool(all_awards) and not awards),
        "tender_published_at": _dt(tender_period.get("startDate"))
        or (releases[0].date if "tender" in tags else None),
        "tender_deadline": _dt(tender_period.get("endDate")),
        "award_date": max(award_dates) if award_dates else None,
        "last_release_at": releases[-1].date,
        "compiled": compiled,
    }
    with transaction.atomic():
        row = PublicProcedure.objects.select_for_update().filter(ocid=ocid).first()
        if row is None:
            return PublicProcedure.objects.create(ocid=ocid, **fields)
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
        return row


def _looks_like_cig(value) -> bool:
    return isinstance(value, str) and len(value) == 10 and value.isalnum()
