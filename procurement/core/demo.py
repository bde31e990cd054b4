"""Demo data taken from the seeds: organisations and one user per role, re-runnable.

Tax codes of the organisations are well-formed demo values, not necessarily the real ones.
Every demo user has the password DEMO_PASSWORD (documented in the README).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from procurement.accounts.models import (
    CostCentre,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from procurement.audit.services import audit_record

DEMO_PASSWORD = "demo-2026"


@dataclass(frozen=True)
class DemoOrg:
    code: str
    name: str
    kind: str
    tax_code: str
    ausa_code: str = ""
    territorial_scope: str = ""
    pec: str = ""
    cost_centres: tuple[tuple[str, str, str], ...] = ()  # (code, name, territorial scope)


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    tax_code: str
    org: str
    role: str
    cost_centre: str = ""
    superuser: bool = False


ORGANISATIONS = [
    DemoOrg("piattaforma", "Gestore della piattaforma", OrganisationKind.PLATFORM, ""),
    DemoOrg(
        "regione-toscana",
        "Regione Toscana",
        OrganisationKind.CENTRAL_PURCHASING_BODY,
        "01386030488",
        ausa_code="0000240646",
        territorial_scope="Regione Toscana",
        pec="regionetoscana@postacert.toscana.it",
        cost_centres=(("SCT", "Settore Sistema Cloud Toscana", "Regione Toscana"),),
    ),
    DemoOrg(
        "comune-firenze",
        "Comune di Firenze",
        OrganisationKind.CONTRACTING_AUTHORITY,
        "01307110484",
        ausa_code="0000155361",
        territorial_scope="Comune di Firenze",
        cost_centres=(("SIT", "Direzione Sistemi Informativi", "Comune di Firenze"),),
    ),
    DemoOrg(
        "tim-sct",
        "Telecom Italia S.p.A. (Sistema Cloud Toscana)",
        OrganisationKind.ECONOMIC_OPERATOR,
        "00488410010",
        pec="SCT.Toscana@pec.telecomitalia.it",
    ),
    DemoOrg(
        "agenzia-demanio",
        "Agenzia del Demanio",
        OrganisationKind.CONTRACTING_AUTHORITY,
        "06340981007",
        ausa_code="0000244392",
        territorial_scope="Nazionale",
        cost_centres=(
            ("DG", "Direzione Generale", "Nazionale"),
            (
                "DT-PVA",
                "Direzione Territoriale Piemonte e Valle d'Aosta",
                "Piemonte, Valle d'Aosta",
            ),
            ("DT-TU", "Direzione Territoriale Toscana e Umbria", "Toscana, Umbria"),
        ),
    ),
    DemoOrg(
        "provveditorato-piemonte",
        "Provveditorato Interregionale per le Opere Pubbliche per il Piemonte, "
        "la Valle d'Aosta e la Liguria",
        OrganisationKind.CONTRACTING_AUTHORITY,
        "80013470010",
        territorial_scope="Piemonte, Valle d'Aosta, Liguria",
    ),
    DemoOrg(
        "provincia-novara",
        "Provincia di Novara - Stazione Unica Appaltante",
        OrganisationKind.CENTRAL_PURCHASING_BODY,
        "80014130035",
        territorial_scope="Provincia di Novara",
        cost_centres=(("SUA", "Stazione Unica Appaltante", "Provincia di Novara"),),
    ),
    DemoOrg(
        "comune-bellinzago",
        "Comune di Bellinzago Novarese",
        OrganisationKind.CONTRACTING_AUTHORITY,
        "00247200033",
        territorial_scope="Comune di Bellinzago Novarese",
    ),
]

USERS = [
    DemoUser(
        "admin",
        "Anna",
        "Amministratrice",
        "BNCLRA85M41D612D",
        "piattaforma",
        Role.ADMIN,
        superuser=True,
    ),
    DemoUser(
        "rup.aq",
        "Giuseppe",
        "Verdi",
        "VRDGPP75C15F205S",
        "regione-toscana",
        Role.AQ_RUP,
        cost_centre="SCT",
    ),
    DemoUser(
        "acquirente",
        "Mario",
        "Rossi",
        "RSSMRA80A01H501U",
        "comune-firenze",
        Role.BUYER,
        cost_centre="SIT",
    ),
    DemoUser(
        "rup.comune",
        "Francesco",
        "Neri",
        "NRIFNC82T10F952A",
        "comune-firenze",
        Role.RUP,
        cost_centre="SIT",
    ),
    DemoUser("operatore", "Sara", "Galli", "GLLSRA90E50A271A", "tim-sct", Role.OPERATOR),
    DemoUser(
        "dg.demanio",
        "Paola",
        "Marini",
        "MRNPLA70B20H501K",
        "agenzia-demanio",
        Role.DG,
        cost_centre="DG",
    ),
    DemoUser(
        "dt.demanio",
        "Luca",
        "Conti",
        "CNTLCU78H12L219Y",
        "agenzia-demanio",
        Role.DT,
        cost_centre="DT-PVA",
    ),
    DemoUser(
        "rup.provveditorato",
        "Giovanni",
        "Ferrari",
        "FRRGNN68D05F205N",
        "provveditorato-piemonte",
        Role.RUP,
    ),
    DemoUser(
        "rup.sua",
        "Matteo",
        "Esposito",
        "SPSMTT88S22A794J",
        "provincia-novara",
        Role.RUP,
        cost_centre="SUA",
    ),
    DemoUser(
        "fvoe.sua",
        "Francesca",
        "Rizzo",
        "RZZFNC79L60F952A",
        "provincia-novara",
        Role.FVOE,
        cost_centre="SUA",
    ),
    DemoUser(
        "commissario", "Andrea", "Testa", "TSTNDR81R30G535U", "provincia-novara", Role.COMMISSIONER
    ),
    DemoUser("seggio", "Luca", "Bruno", "BRNLCU77P14D969F", "provincia-novara", Role.BOARD),
    DemoUser(
        "rup.bellinzago", "Daria", "Lombardi", "LMBDRA84A41A752E", "comune-bellinzago", Role.RUP
    ),
]


@transaction.atomic
def seed_demo() -> dict[str, int]:
    """Create or update the demo organisations and users; returns counts of what was created."""
    created = {"organisations": 0, "users": 0, "memberships": 0}
    orgs: dict[str, Organisation] = {}
    centres: dict[tuple[str, str], CostCentre] = {}
    for spec in ORGANISATIONS:
        org, was_created = Organisation.objects.update_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "kind": spec.kind,
                "tax_code": spec.tax_code,
                "ausa_code": spec.ausa_code,
                "territorial_scope": spec.territorial_scope,
                "pec": spec.pec,
            },
        )
        created["organisations"] += was_created
        orgs[spec.code] = org
        for cc_code, cc_name, scope in spec.cost_centres:
            centre, _ = CostCentre.objects.update_or_create(
                organisation=org,
                code=cc_code,
                defaults={"name": cc_name, "territorial_scope": scope},
            )
            centres[(spec.code, cc_code)] = centre
    for spec in USERS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User(username=spec.username)
            user.set_password(DEMO_PASSWORD)
            created["users"] += 1
        user.first_name = spec.first_name
        user.last_name = spec.last_name
        user.email = f"{spec.username}@demo.invalid"
        user.tax_code = spec.tax_code
        user.is_staff = spec.superuser
        user.is_superuser = spec.superuser
        user.save()
        _, was_created = Membership.objects.get_or_create(
            user=user,
            organisation=orgs[spec.org],
            role=spec.role,
            cost_centre=centres.get((spec.org, spec.cost_centre)),
        )
        created["memberships"] += was_created
    if any(created.values()):
        audit_record(action="dati dimostrativi caricati", actor_label="seed_demo", payload=created)
    return created
