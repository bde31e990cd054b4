"""Loading framework agreements, operators and ceilings from JSON (format: ptim/README.md).

All-or-nothing: every record is validated first and every error is reported with its path;
only a file without errors is written, in one transaction. Re-importing the same file changes
nothing (records are matched by AQ identifier and operator tax code).
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction

from procurement.accounts.models import CostCentre, Organisation

from .models import (
    AgreementOperator,
    ChapterCeiling,
    ClearanceKind,
    ClearanceLevel,
    Directorate,
    EconomicOperator,
    FrameworkAgreement,
    Lot,
    OperatorStatus,
    ReferencePeriod,
    SecurityClearance,
    SpendingChapter,
    TerritorialArea,
)


class ImportFailed(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


class _V:
    def __init__(self):
        self.errors: list[str] = []

    def err(self, path, msg):
        self.errors.append(f"{path}: {msg}")

    def text(self, rec, key, path, *, required=True, max_len=255):
        value = rec.get(key)
        if value in (None, ""):
            if required:
                self.err(f"{path}.{key}", "campo obbligatorio")
            return ""
        if not isinstance(value, str):
            self.err(f"{path}.{key}", "deve essere un testo")
            return ""
        if len(value) > max_len:
            self.err(f"{path}.{key}", f"al massimo {max_len} caratteri")
        return value.strip()

    def money(self, rec, key, path, *, places=2, required=True, default=None):
        value = rec.get(key, default)
        if value is None:
            if required:
                self.err(f"{path}.{key}", "campo obbligatorio")
            return None
        if isinstance(value, float):
            self.err(f"{path}.{key}", 'gli importi vanno scritti come stringhe (es. "1000.00")')
            return None
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            self.err(f"{path}.{key}", f"numero non valido: {value!r}")
            return None
        if not d.is_finite() or d < 0 or d != d.quantize(Decimal(1).scaleb(-places)):
            self.err(f"{path}.{key}", f"deve essere ≥ 0 con al massimo {places} decimali")
            return None
        return d

    def date(self, rec, key, path, *, required=True):
        value = rec.get(key)
        if value in (None, ""):
            if required:
                self.err(f"{path}.{key}", "campo obbligatorio")
            return None
        try:
            return datetime.date.fromisoformat(str(value))
        except ValueError:
            self.err(f"{path}.{key}", f"data non valida (AAAA-MM-GG): {value!r}")
            return None


def _validate(payload) -> tuple[list, list, list[str]]:
    v = _V()
    if not isinstance(payload, dict):
        return [], [], ["(radice): deve essere un oggetto con 'operators' e 'agreements'"]
    operators, agreements = [], []
    tax_codes = set()
    for i, rec in enumerate(payload.get("operators") or []):
        path = f"operators[{i}]"
        if not isinstance(rec, dict):
            v.err(path, "deve essere un oggetto")
            continue
        op = {
            "tax_code": v.text(rec, "tax_code", path, max_len=16),
            "name": v.text(rec, "name", path),
            "vat_number": v.text(rec, "vat_number", path, required=False, max_len=11),
            "pec": v.text(rec, "pec", path, required=False),
            "email": v.text(rec, "email", path, required=False),
            "clearances": [],
        }
        if op["tax_code"] in tax_codes:
            v.err(f"{path}.tax_code", f"codice fiscale ripetuto: {op['tax_code']}")
        tax_codes.add(op["tax_code"])
        for j, cl in enumerate(rec.get("clearances") or []):
            cpath = f"{path}.clearances[{j}]"
            kind = cl.get("kind")
            level = cl.get("level")
            if kind not in ClearanceKind.values:
                v.err(f"{cpath}.kind", "valori ammessi: NOS, NOSI")
            if level not in ClearanceLevel.names:
                v.err(f"{cpath}.level", "valori ammessi: RISERVATISSIMO, SEGRETO, SEGRETISSIMO")
            op["clearances"].append(
                {
                    "kind": kind,
                    "level": ClearanceLevel[level].value if level in ClearanceLevel.names else None,
                    "reference": v.text(cl, "reference", cpath, required=False, max_len=100),
                    "issued_on": v.date(cl, "issued_on", cpath),
                    "valid_until": v.date(cl, "valid_until", cpath),
                    "annulled_on": v.date(cl, "annulled_on", cpath, required=False),
                }
            )
        operators.append(op)
    known_ops = tax_codes | set(EconomicOperator.objects.values_list("tax_code", flat=True))
    chapters = {c.code: c for c in SpendingChapter.objects.all()}
    identifiers = set()
    for i, rec in enumerate(payload.get("agreements") or []):
        path = f"agreements[{i}]"
        if not isinstance(rec, dict):
            v.err(path, "deve essere un oggetto")
            continue
        a = {
            "identifier": v.text(rec, "identifier", path, max_len=50),
            "name": v.text(rec, "name", path),
            "referent_name": v.text(rec, "referent_name", path, max_len=150),
            "referent_email": v.text(rec, "referent_email", path),
            "price_list": v.text(rec, "price_list", path),
            "valid_from": v.date(rec, "valid_from", path),
            "valid_until": v.date(rec, "valid_until", path),
            "base_amount": v.money(rec, "base_amount", path),
            "increase_pct": v.money(rec, "increase_pct", path, default="50.00"),
            "cancelled": bool(rec.get("cancelled", False)),
        }
        if a["identifier"] in identifiers:
            v.err(f"{path}.identifier", f"identificativo ripetuto: {a['identifier']}")
        identifiers.add(a["identifier"])
        if a["valid_from"] and a["valid_until"] and a["valid_from"] > a["valid_until"]:
            v.err(f"{path}.valid_until", "precede valid_from")
        if a["increase_pct"] is not None and a["increase_pct"] > 50:
            v.err(f"{path}.increase_pct", "al massimo 50.00")
        period = ReferencePeriod.objects.filter(label=rec.get("period")).first()
        if period is None:
            v.err(f"{path}.period", f"periodo sconosciuto: {rec.get('period')!r}")
        a["period"] = period
        lots = []
        for n in rec.get("lots") or []:
            lot = Lot.objects.filter(period=period, number=n).first() if period else None
            if lot is None:
                v.err(f"{path}.lots", f"lotto sconosciuto: {n!r}")
            lots.append(lot)
        if not rec.get("lots"):
            v.err(f"{path}.lots", "indicare almeno un lotto")
        a["lots"] = lots
        area = rec.get("territorial_area") or {}
        a["area"] = {
            "code": v.text(area, "code", f"{path}.territorial_area", max_len=50),
            "name": v.text(area, "name", f"{path}.territorial_area", max_len=100),
        }
        d = rec.get("directorate") or {}
        dpath = f"{path}.directorate"
        org = Organisation.objects.filter(code=d.get("organisation")).first()
        if org is None:
            v.err(f"{dpath}.organisation", f"organizzazione sconosciuta: {d.get('organisation')!r}")
        cc = None
        if d.get("cost_centre") and org is not None:
            cc = CostCentre.objects.filter(organisation=org, code=d["cost_centre"]).first()
            if cc is None:
                v.err(f"{dpath}.cost_centre", f"ufficio sconosciuto: {d['cost_centre']!r}")
        a["directorate"] = {
            "name": v.text(d, "name", dpath),
            "email": v.text(d, "email", dpath),
            "organisation": org,
            "cost_centre": cc,
        }
        a["ceilings"] = {}
        for code, amount in (rec.get("ceilings") or {}).items():
            if code not in chapters:
                v.err(f"{path}.ceilings.{code}", "capitolo di spesa sconosciuto")
                continue
            a["ceilings"][chapters[code]] = v.money({"x": amount}, "x", f"{path}.ceilings.{code}")
        a["members"] = []
        positions = set()
        for j, m in enumerate(rec.get("operators") or []):
            mpath = f"{path}.operators[{j}]"
            tax = m.get("tax_code")
            if tax not in known_ops:
                v.err(f"{mpath}.tax_code", f"operatore sconosciuto: {tax!r}")
            pos = m.get("ranking_position")
            if not isinstance(pos, int) or pos < 1:
                v.err(f"{mpath}.ranking_position", "intero ≥ 1")
            elif pos in positions:
                v.err(f"{mpath}.ranking_position", f"posizione ripetuta: {pos}")
            positions.add(pos)
            status = m.get("status", OperatorStatus.ACTIVE)
            if status not in OperatorStatus.values:
                v.err(f"{mpath}.status", "valori ammessi: ACTIVE, EXCLUDED, ANNULLED")
            a["members"].append(
                {
                    "tax_code": tax,
                    "ranking_position": pos,
                    "score": v.money(m, "score", mpath, places=3),
                    "discount_pct": v.money(m, "discount_pct", mpath, places=4),
                    "base_threshold": v.money(m, "threshold", mpath),
                    "status": status,
                }
            )
        agreements.append(a)
    return operators, agreements, v.errors


def import_agreements(payload) -> dict:
    """Validate everything, then write everything; ImportFailed lists every bad record."""
    operators, agreements, errors = _validate(payload)
    if errors:
        raise ImportFailed(errors)
    counts = {"operators": 0, "agreements": 0, "memberships": 0}
    with transaction.atomic():
        for op in operators:
            obj, _ = EconomicOperator.objects.update_or_create(
                tax_code=op["tax_code"],
                defaults={k: op[k] for k in ("name", "vat_number", "pec", "email")},
            )
            obj.clearances.all().delete()
            for cl in op["clearances"]:
                SecurityClearance.objects.create(operator=obj, **cl)
            counts["operators"] += 1
        for a in agreements:
            area, _ = TerritorialArea.objects.update_or_create(
                code=a["area"]["code"], defaults={"name": a["area"]["name"]}
            )
            d = a["directorate"]
            directorate, _ = Directorate.objects.update_or_create(
                name=d["name"],
                defaults={
                    "institutional_email": d["email"],
                    "organisation": d["organisation"],
                    "cost_centre": d["cost_centre"],
                },
            )
            directorate.territorial_areas.add(area)
            agreement, _ = FrameworkAgreement.objects.update_or_create(
                identifier=a["identifier"],
                defaults={
                    "name": a["name"],
                    "period": a["period"],
                    "territorial_area": area,
                    "directorate": directorate,
                    "referent_name": a["referent_name"],
                    "referent_email": a["referent_email"],
                    "price_list": a["price_list"],
                    "valid_from": a["valid_from"],
                    "valid_until": a["valid_until"],
                    "base_amount": a["base_amount"],
                    "increase_pct": a["increase_pct"],
                    "cancelled": a["cancelled"],
                },
            )
            agreement.lots.set(a["lots"])
            for chapter, amount in a["ceilings"].items():
                ChapterCeiling.objects.update_or_create(
                    agreement=agreement, chapter=chapter, defaults={"amount": amount}
                )
            # Positions may be swapped by a new file: move the old ones out of the way first.
            existing = AgreementOperator.objects.filter(agreement=agreement)
            for m in existing:
                m.ranking_position = 10000 + m.pk
                m.save(update_fields=["ranking_position"])
            for m in a["members"]:
                operator = EconomicOperator.objects.get(tax_code=m["tax_code"])
                AgreementOperator.objects.update_or_create(
                    agreement=agreement,
                    operator=operator,
                    defaults={
                        k: m[k]
                        for k in (
                            "ranking_position",
                            "score",
                            "discount_pct",
                            "base_threshold",
                            "status",
                        )
                    },
                )
                counts["memberships"] += 1
            leftovers = AgreementOperator.objects.filter(
                agreement=agreement, ranking_position__gte=10000
            )
            if leftovers.exists():
                raise ImportFailed(
                    [
                        f"{a['identifier']}: l’operatore {m.operator.tax_code} è associato "
                        "all’A.Q. ma manca nel file"
                        for m in leftovers.select_related("operator")
                    ]
                )
            counts["agreements"] += 1
    return counts
