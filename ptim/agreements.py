"""AQ master data after insertion ("Gestione Accordi Quadro", R-PTIM-011, R-PTIM-012, D-51).

Pre-set values of an AQ (texts, validity, increase percentage, and per operator score,
ranking position, discount, threshold) are edited only by DG users; clearances are facts about
the operator and may be recorded by the competent DT or the DG. Every edit locks the AQ row
(residuals depend on thresholds), records an audit event with the old and new values and sends
no e-mail (N26).
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from .access import is_competent_dt, is_dg
from .amounts import parse_amount
from .models import (
    AgreementOperator,
    ClearanceKind,
    ClearanceLevel,
    EconomicOperator,
    FrameworkAgreement,
    SecurityClearance,
)
from .services import PtimError, _lock_agreement

DG_ONLY = _("Operazione riservata alla Direzione Generale.")

AGREEMENT_TEXT = {"name": 255, "referent_name": 150, "price_list": 255}


def _errors():
    errors: dict[str, list] = {}

    def err(name, message):
        errors.setdefault(name, []).append(message)

    return errors, err


def _decimal(raw, name, err, *, places=2, low=None, high=None):
    if raw in (None, ""):
        err(name, _("Campo obbligatorio."))
        return None
    try:
        value = raw if isinstance(raw, Decimal) else parse_amount(str(raw))
    except (ValueError, InvalidOperation):
        err(name, _("Valore non valido."))
        return None
    if value.as_tuple().exponent < -places:
        err(name, _("Al massimo %(n)s decimali.") % {"n": places})
    if low is not None and value < low:
        err(name, _("Il valore non può essere inferiore a %(v)s.") % {"v": low})
    if high is not None and value > high:
        err(name, _("Il valore non può essere superiore a %(v)s.") % {"v": high})
    return value


def _date(raw, name, err):
    if isinstance(raw, datetime.date):
        return raw
    try:
        return datetime.date.fromisoformat(str(raw or ""))
    except ValueError:
        err(name, _("Data non valida."))
        return None


def _changes(obj, values: dict) -> dict:
    out = {}
    for key, value in values.items():
        before = getattr(obj, key)
        if before != value:
            out[key] = {"before": before, "after": value}
            setattr(obj, key, value)
    return out


def update_agreement(*, user, agreement_id: int, data: dict, now) -> FrameworkAgreement:
    """DG edit of the AQ's pre-set values (R-PTIM-012): audited, no notification (N26)."""
    if not is_dg(user):
        raise PermissionDenied(DG_ONLY)
    errors, err = _errors()
    values = {}
    for key, max_len in AGREEMENT_TEXT.items():
        if key in data:
            text = " ".join(str(data[key] or "").split())
            if not text:
                err(key, _("Campo obbligatorio."))
            elif len(text) > max_len:
                err(key, _("Al massimo %(n)s caratteri.") % {"n": max_len})
            values[key] = text
    if "referent_email" in data:
        email = str(data["referent_email"] or "").strip()
        try:
            validate_email(email)
        except Exception:
            err("referent_email", _("Indirizzo e-mail non valido."))
        values["referent_email"] = email
    for key in ("valid_from", "valid_until"):
        if key in data:
            values[key] = _date(data[key], key, err)
    if "increase_pct" in data:
        values["increase_pct"] = _decimal(
            data["increase_pct"], "increase_pct", err, low=Decimal("0"), high=Decimal("50.00")
        )
    with transaction.atomic():
        agreement = _lock_agreement(agreement_id)
        start = values.get("valid_from", agreement.valid_from)
        end = values.get("valid_until", agreement.valid_until)
        if start and end and start > end:
            err("valid_until", _("La data di fine validità precede quella di inizio."))
        if (
            "increase_pct" in values
            and agreement.increase_amount
            and (values["increase_pct"] != agreement.increase_pct)
        ):
            err("increase_pct", _("L’incremento del massimale è già stato applicato."))
        if errors:
            raise PtimError(errors=errors)
        changes = _changes(agreement, values)
        if changes:
            agreement.save()
            audit_record(
                action="modifica valori preimpostati A.Q.",
                actor=user,
                obj=agreement,
                payload={"changes": changes},
                now=now,
            )
    return agreement


def update_membership(*, user, membership_id: int, data: dict, now) -> AgreementOperator:
    """DG edit of an operator's pre-set values on an AQ (score, position, discount,
    threshold): audited, no notification. Thresholds change residuals, so the AQ is locked."""
    if not is_dg(user):
        raise PermissionDenied(DG_ONLY)
    errors, err = _errors()
    values = {}
    if "score" in data:
        values["score"] = _decimal(data["score"], "score", err, places=3, low=Decimal("0"))
    if "discount_pct" in data:
        values["discount_pct"] = _decimal(
            data["discount_pct"],
            "discount_pct",
            err,
            places=4,
            low=Decimal("0"),
            high=Decimal("100"),
        )
    if "base_threshold" in data:
        values["base_threshold"] = _decimal(
            data["base_threshold"], "base_threshold", err, low=Decimal("0")
        )
    if "ranking_position" in data:
        raw = str(data["ranking_position"] or "").strip()
        if not raw.isdigit() or int(raw) < 1:
            err("ranking_position", _("Indicare una posizione in graduatoria (intero ≥ 1)."))
        else:
            values["ranking_position"] = int(raw)
    membership = AgreementOperator.objects.filter(pk=membership_id).first()
    if membership is None:
        raise PtimError(_("Operatore non trovato."))
    with transaction.atomic():
        _lock_agreement(membership.agreement_id)
        membership = AgreementOperator.objects.select_for_update().get(pk=membership_id)
        # The discount fixes the amounts of the contracts already booked (D-07).
        if (
            "discount_pct" in values
            and values["discount_pct"] != membership.discount_pct
            and membership.contracts.exists()
        ):
            err(
                "discount_pct",
                _("Il ribasso non è modificabile: l’operatore ha già contratti sull’A.Q."),
            )
        pos = values.get("ranking_position")
        if pos is not None and (
            AgreementOperator.objects.filter(
                agreement_id=membership.agreement_id, ranking_position=pos
            )
            .exclude(pk=membership.pk)
            .exists()
        ):
            err(
                "ranking_position",
                _("Posizione in graduatoria già assegnata a un altro operatore."),
            )
        if errors:
            raise PtimError(errors=errors)
        changes = _changes(membership, values)
        if changes:
            try:
                with transaction.atomic():
                    membership.save()
            except IntegrityError as exc:
                raise PtimError(_("Valori non validi.")) from exc
            audit_record(
                action="modifica valori preimpostati operatore A.Q.",
                actor=user,
                obj=membership.agreement,
                payload={"operator": membership.operator.name, "changes": changes},
                now=now,
            )
    return membership


def save_clearance(
    *, user, operator_id: int, data: dict, clearance_id=None, now
) -> SecurityClearance:
    """Record or update a NOS/NOSI clearance (D-51: DT of an AQ of the operator, or DG)."""
    operator = EconomicOperator.objects.filter(pk=operator_id).first()
    if operator is None:
        raise PtimError(_("Operatore non trovato."))
    agreements = FrameworkAgreement.objects.filter(operators__operator=operator)
    if not (is_dg(user) or any(is_competent_dt(user, a) for a in agreements)):
        raise PermissionDenied(_("Operazione riservata alla DT competente e alla DG."))
    errors, err = _errors()
    kind = str(data.get("kind") or "")
    if kind not in ClearanceKind.values:
        err("kind", _("Campo obbligatorio."))
    try:
        level = ClearanceLevel(int(data.get("level")))
    except (TypeError, ValueError):
        level = None
        err("level", _("Campo obbligatorio."))
    issued_on = _date(data.get("issued_on"), "issued_on", err)
    valid_until = _date(data.get("valid_until"), "valid_until", err)
    annulled_on = (
        _date(data.get("annulled_on"), "annulled_on", err) if data.get("annulled_on") else None
    )
    if issued_on and valid_until and issued_on > valid_until:
        err("valid_until", _("La data di scadenza precede quella di rilascio."))
    if errors:
        raise PtimError(errors=errors)
    values = {
        "kind": kind,
        "level": int(level),
        "reference": str(data.get("reference") or "")[:100],
        "issued_on": issued_on,
        "valid_until": valid_until,
        "annulled_on": annulled_on,
    }
    with transaction.atomic():
        if clearance_id is None:
            clearance = SecurityClearance.objects.create(operator=operator, **values)
            changes = {k: {"before": None, "after": v} for k, v in values.items()}
        else:
            clearance = (
                SecurityClearance.objects.select_for_update()
                .filter(pk=clearance_id, operator=operator)
                .first()
            )
            if clearance is None:
                raise PtimError(_("Nulla osta non trovato."))
            changes = _changes(clearance, values)
            clearance.save()
        audit_record(
            action="nulla osta di sicurezza",
            actor=user,
            obj=operator,
            payload={"clearance": clearance.pk, "changes": changes},
            now=now,
        )
    return clearance
