"""PTIM demo data: organisation profiles and one AQ for Piemonte, re-runnable."""

from __future__ import annotations

import json
from pathlib import Path

from procurement.accounts.models import Organisation

from .importer import import_agreements
from .models import OrganisationProfile, TerritorialArea, UserType
from .reference import seed_reference

DEMO_FILE = Path(__file__).parent / "fixtures" / "aq_demo.json"


def seed() -> str:
    seed_reference()
    counts = import_agreements(json.loads(DEMO_FILE.read_text(encoding="utf-8")))
    area = TerritorialArea.objects.get(code="piemonte-valle-aosta")
    profiles = {
        "provveditorato-piemonte": (
            UserType.PROVVEDITORATO,
            "ufficio.tecnico@oopp-piemonte.example.it",
        ),
        "agenzia-demanio": (UserType.AGENZIA_DG, "dg.manutenzioni@agenziademanio.example.it"),
    }
    for code, (user_type, email) in profiles.items():
        org = Organisation.objects.filter(code=code).first()
        if org is None:
            continue
        profile, _ = OrganisationProfile.objects.update_or_create(
            organisation=org, defaults={"user_type": user_type, "institutional_email": email}
        )
        if code == "provveditorato-piemonte":
            profile.territorial_areas.add(area)
    return (
        f"PTIM: {counts['agreements']} Accordo Quadro (AQ-MU-2023-L1-PIE) con "
        f"{counts['memberships']} operatori; profili per Provveditorato e Agenzia del Demanio."
    )
