"""Reference data of the 2023/2025 AQs (spec §3.3.1, D-13, D-19); also used by the migration."""

from decimal import Decimal

P = "PROVVEDITORATO"
AGENCY = ("AGENZIA_DT", "AGENZIA_DG")
PROV_LIKE = (P, *AGENCY)

CHAPTERS = [
    # code, label, requires_plan_data, identifier_label, allowed user types
    (
        "MU",
        "M.U. (7753 e 3905)",
        True,
        "Identificativo MU",
        (*PROV_LIKE, "AMMINISTRAZIONE_USUARIA"),
    ),
    ("C7754", "7754", False, "", PROV_LIKE),
    ("C7755", "7755", False, "", PROV_LIKE),
    ("C7759", "7759", False, "", PROV_LIKE),
    ("C3901", "3901", False, "", PROV_LIKE),
    ("MASE_PREPAC", "Mase/Prepac", True, "Identificativo intervento", PROV_LIKE),
    ("ALTRI_FONDI", "Altri Fondi", False, "", PROV_LIKE),
    ("CORTE_DEI_CONTI", "Corte dei Conti", False, "", (*PROV_LIKE, "CORTE_DEI_CONTI")),
    ("MIC", "MIC", False, "", ("MIC",)),
    ("DIFESA", "Difesa", False, "", ("DIFESA",)),
]

LOTS = [
    (1, Decimal("40000.00"), Decimal("150000.00")),
    (2, Decimal("150000.01"), Decimal("516000.00")),
    (3, Decimal("516000.01"), Decimal("2582000.00")),
]


def seed_reference(apps=None) -> None:
    if apps is None:
        from django.apps import apps
    get = apps.get_model
    period, _ = get("ptim", "ReferencePeriod").objects.update_or_create(
        label="2023/2025", defaults={"start_year": 2023, "end_year": 2025, "selectable": True}
    )
    for number, lo, hi in LOTS:
        get("ptim", "Lot").objects.update_or_create(
            period=period, number=number, defaults={"min_amount": lo, "max_amount": hi}
        )
    for i, (code, label, plan, id_label, types) in enumerate(CHAPTERS):
        get("ptim", "SpendingChapter").objects.update_or_create(
            code=code,
            defaults={
                "label": label,
                "requires_plan_data": plan,
                "identifier_label": id_label,
                "allowed_user_types": list(types),
                "ordering": i,
            },
        )
    for label in ("Manutenzione ordinaria", "Manutenzione straordinaria"):
        get("ptim", "InterventionCategory").objects.get_or_create(label=label)
    for label, ok in (
        ("Interventi del Sistema Accentrato delle Manutenzioni", True),
        ("Altre tipologie di intervento", False),
    ):
        get("ptim", "InterventionType").objects.update_or_create(
            label=label, defaults={"is_centralised_maintenance": ok}
        )
    counter = get("ptim", "ProgressiveCounter")
    if not counter.objects.exists():
        counter.objects.create(last_root=0)
