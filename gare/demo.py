"""Demo data of the tenders app: operators, commission, seggio, the reference tender.

Re-runnable: looked up by username / organisation code / tender code. The reference tender
(ID 20/2026, Bellinzago Novarese) is kept as a template, and a copy with deadlines in the
future is published so that operators can submit offers in the demo.
"""

from __future__ import annotations

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from procurement.accounts.models import Membership, Organisation, OrganisationKind, Role, User
from procurement.core.demo import DEMO_PASSWORD

OPERATORS = [
    (
        "gare-alfa",
        "Alfa Costruzioni S.r.l.",
        "01234560157",
        "gare.alfa",
        "Alberto",
        "Alfieri",
        "LFRLRT70A01F952F",
    ),
    (
        "gare-beta",
        "Beta Edilizia S.p.A.",
        "02345670158",
        "gare.beta",
        "Bruna",
        "Bettini",
        "BTTBRN72B41F952K",
    ),
    (
        "gare-gamma",
        "Gamma Impianti S.r.l.",
        "03456780159",
        "gare.gamma",
        "Guido",
        "Gamba",
        "GMBGDU75C01F952T",
    ),
]
SUA_USERS = [
    ("gare.commissario1", "Carla", "Ferri", "FRRCRL70D41F952T", Role.COMMISSIONER),
    ("gare.commissario2", "Paolo", "Neri", "NREPLA68E01F952D", Role.COMMISSIONER),
    ("gare.commissario3", "Sara", "Villa", "VLLSRA74H41F952Z", Role.COMMISSIONER),
    ("gare.seggio", "Elisa", "Garavetto", "GRVLSE71L41F952B", Role.BOARD),
]
DEMO_CODE = "20/2026-DEMO"

MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _user(username, first, last, tax_code, org, role) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username)
        user.set_password(DEMO_PASSWORD)
    user.first_name, user.last_name = first, last
    user.email = f"{username}@demo.invalid"
    if not User.objects.filter(tax_code=tax_code).exclude(username=username).exists():
        user.tax_code = tax_code
    user.save()
    Membership.objects.get_or_create(user=user, organisation=org, role=role, cost_centre=None)
    return user


@transaction.atomic
def seed() -> str:
    from .models import DocumentKind, Tender, TenderStatus
    from .services.tenders import tender_create_from_reference, tender_document_add, tender_publish

    sua = Organisation.objects.filter(code="provincia-novara").first()
    comune = Organisation.objects.filter(code="comune-bellinzago").first()
    rup = User.objects.filter(username="rup.sua").first()
    if sua is None or rup is None:
        return "Gare: dati del nucleo mancanti (eseguire prima seed_demo)."
    for code, name, vat, username, first, last, tax in OPERATORS:
        org, _ = Organisation.objects.update_or_create(
            code=code,
            defaults={"name": name, "kind": OrganisationKind.ECONOMIC_OPERATOR, "vat_number": vat},
        )
        _user(username, first, last, tax, org, Role.OPERATOR)
    for username, first, last, tax, role in SUA_USERS:
        _user(username, first, last, tax, sua, role)
    now = timezone.now()
    created = []
    if not Tender.objects.filter(organisation=sua, is_template=True).exists():
        tender_create_from_reference(
            user=rup, organisation=sua, delegating_entity=comune, now=now, is_template=True
        )
        created.append("modello")
    if not Tender.objects.filter(organisation=sua, code=DEMO_CODE).exists():
        local = timezone.localtime(now).replace(hour=12, minute=0, second=0, microsecond=0)
        tender = tender_create_from_reference(
            user=rup,
            organisation=sua,
            delegating_entity=comune,
            now=now,
            deadlines_override={
                "questions_deadline": local + datetime.timedelta(days=14),
                "site_visit_request_deadline": (local + datetime.timedelta(days=14)).date(),
                "offer_deadline": local + datetime.timedelta(days=21),
                "first_session_at": local + datetime.timedelta(days=21, hours=3),
            },
        )
        Tender.objects.filter(pk=tender.pk).update(code=DEMO_CODE)
        tender.refresh_from_db()
        for kind, title in (
            (DocumentKind.CONTRACT_NOTICE, "Bando di gara"),
            (DocumentKind.TENDER_RULES, "Disciplinare di gara"),
        ):
            tender_document_add(
                user=rup,
                tender=tender,
                kind=kind,
                title=title,
                uploaded_file=SimpleUploadedFile(f"{kind.lower()}.pdf", MINIMAL_PDF),
                now=now,
            )
        tender_publish(user=rup, tender=tender, now=now)
        created.append("gara pubblicata")
    published = Tender.objects.filter(organisation=sua, status=TenderStatus.PUBLISHED).count()
    return (
        f"Gare: {len(OPERATORS)} operatori economici, 3 commissari e 1 componente del seggio; "
        f"modello 20/2026 e {published} gare pubblicate"
        + (f" (nuovi: {', '.join(created)})." if created else ".")
    )
