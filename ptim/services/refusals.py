"""PTIM services: refusals (split of the former ptim/services.py)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from .. import messages as M
from .. import notify
from ..access import (
    can_supervise,
    is_competent_dt,
    is_dg,
)
from ..deadlines import (
    local_date,
)
from ..models import (
    AgreementOperator,
    AgreementOperatorEvent,
    OperatorEventKind,
    OperatorStatus,
    Refusal,
)
from .annulment import (
    _reasons,
)
from .base import (
    PtimError,
)
from .booking import (
    _lock_agreement,
)

# --- refusals, exclusion, readmission (§5) --------------------------------------------------------


def refusal_handleable(refusal, now) -> bool:
    return refusal.justified is None and (
        refusal.unlocked_at is not None or local_date(now) <= refusal.handling_deadline
    )


def _membership_event(*, membership, kind, motivation, now, by=None, trigger=None):
    return AgreementOperatorEvent.objects.create(
        membership=membership,
        kind=kind,
        motivation=motivation,
        at=now,
        by=by,
        trigger_refusal=trigger,
    )


def _operator_event_mail(*, membership, subject, now, to_operator=False, text=""):
    agreement = membership.agreement
    addresses = [*notify.uo_and_dt(agreement), agreement.referent_email]
    if to_operator and membership.operator.pec:
        addresses.append(membership.operator.pec)
    notify.send(
        subject=subject,
        addresses=addresses,
        now=now,
        in_app=list(notify.supervisors(agreement)),
        text=text,
        url=reverse("ptim:refusals", args=[membership.pk]),
    )


def _exclude(*, membership, kind, motivation, now, by=None, trigger=None):
    membership.status = OperatorStatus.EXCLUDED
    membership.status_changed_at = now
    membership.save(update_fields=["status", "status_changed_at"])
    _membership_event(
        membership=membership, kind=kind, motivation=motivation, now=now, by=by, trigger=trigger
    )
    audit_record(
        action="esclusione operatore",
        actor=by,
        obj=membership,
        organisation=None,
        to_state=OperatorStatus.EXCLUDED,
        payload={"kind": kind, "motivation": motivation},
        now=now,
    )
    names = {"o": membership.operator.name, "a": membership.agreement.identifier}
    if kind == OperatorEventKind.EXCLUSION_AUTO:
        subject = _("[PTIM] Esclusione automatica dell’operatore %(o)s – A.Q. %(a)s") % names
    else:
        subject = _("[PTIM] Esclusione dell’operatore %(o)s – A.Q. %(a)s") % names
    _operator_event_mail(
        membership=membership,
        subject=subject,
        now=now,
        to_operator=kind == OperatorEventKind.EXCLUSION_AUTO,
        text=motivation,
    )


def check_automatic_exclusion(refusal, *, now) -> bool:
    """Two consecutive "NO" by booking date after the last readmission (§4.9, D-39, D-40)."""
    if refusal.justified is not False:
        return False
    m = AgreementOperator.objects.select_for_update().get(pk=refusal.membership_id)
    if m.status != OperatorStatus.ACTIVE:
        return False
    seq = m.refusals.order_by("booked_at", "pk")
    if m.last_readmitted_at:
        seq = seq.filter(booked_at__gt=m.last_readmitted_at)
    seq = list(seq.select_related("contract"))
    ids = [r.pk for r in seq]
    if refusal.pk not in ids:
        return False
    i = ids.index(refusal.pk)
    for j in (i - 1, i + 1):
        if 0 <= j < len(seq) and seq[j].justified is False:
            first, second = sorted([seq[i], seq[j]], key=lambda r: (r.booked_at, r.pk))
            fmt = "%d/%m/%Y"
            _exclude(
                membership=m,
                kind=OperatorEventKind.EXCLUSION_AUTO,
                motivation=M.a34(
                    first.contract.progressive,
                    second.contract.progressive,
                    local_date(first.booked_at).strftime(fmt),
                    local_date(second.booked_at).strftime(fmt),
                ),
                now=now,
                trigger=refusal,
            )
            return True
    return False


def handle_refusal(*, user, refusal_id: int, justified: bool, motivation: str, now) -> Refusal:
    """The competent DT's SI/NO with reasons (R-PTIM-12x); may exclude the operator."""
    motivation = _reasons(motivation, "motivation")
    with transaction.atomic():
        refusal = Refusal.objects.select_related("membership__agreement").get(pk=refusal_id)
        agreement = _lock_agreement(refusal.membership.agreement_id)
        refusal = Refusal.objects.select_for_update().get(pk=refusal_id)
        if not is_competent_dt(user, agreement):
            raise PermissionDenied(_("Operazione riservata alla DT competente."))
        if refusal.justified is not None:
            raise PtimError(_("Il rifiuto è già stato gestito."))
        if not refusal_handleable(refusal, now):
            raise PtimError(M.a30(refusal.handling_deadline), code="a30")
        refusal.justified = bool(justified)
        refusal.motivation = motivation
        refusal.handled_at = now
        refusal.handled_by = user
        refusal.save()
        audit_record(
            action="gestione rifiuto",
            actor=user,
            obj=refusal.contract,
            payload={"refusal": refusal.pk, "justified": refusal.justified},
            now=now,
        )
        contract = refusal.contract
        notify.contract_event(
            contract=contract,
            subject=_("[PTIM] Gestione rifiuto – contratto n. %(p)s – rifiuto giustificato: %(j)s")
            % {"p": contract.progressive, "j": "SI" if refusal.justified else "NO"},
            now=now,
            text=motivation,
        )
        refusal.excluded = check_automatic_exclusion(refusal, now=now)
    return refusal


def notify_expired_refusals(*, now) -> int:
    """J3: one notice per refusal whose 30 days lapsed unhandled (claimed by an UPDATE)."""
    today = local_date(now)
    ids = list(
        Refusal.objects.filter(
            justified__isnull=True,
            unlocked_at__isnull=True,
            handling_deadline__lt=today,
            expiry_notified_at__isnull=True,
        ).values_list("pk", flat=True)
    )
    sent = 0
    for pk in ids:
        with transaction.atomic():
            claimed = Refusal.objects.filter(pk=pk, expiry_notified_at__isnull=True).update(
                expiry_notified_at=now
            )
            if not claimed:
                continue
            refusal = Refusal.objects.select_related("contract", "membership__agreement").get(pk=pk)
            agreement = refusal.membership.agreement
            notify.send(
                subject=_("[PTIM] Termine scaduto per la gestione del rifiuto – contratto n. %(p)s")
                % {"p": refusal.contract.progressive},
                addresses=notify.uo_and_dt(agreement),
                now=now,
                in_app=list(notify.supervisors(agreement)),
                text=M.a35(refusal.contract.progressive),
            )
            sent += 1
    return sent


def parse_unlock_date(value, today):
    """D-42: the unlock date, prefilled with today, never in the future."""
    import datetime

    if value in (None, ""):
        return today
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise PtimError(errors={"unlock_date": [_("Data di sblocco non valida.")]}) from None
    if value > today:
        raise PtimError(
            errors={"unlock_date": [_("La data di sblocco non può essere successiva a oggi.")]}
        )
    return value


def unlock_refusal(*, user, refusal_id: int, motivation: str, unlock_date=None, now) -> Refusal:
    """DG unlock of an expired refusal (D-42)."""
    if not is_dg(user):
        raise PermissionDenied(_("Operazione riservata alla Direzione Generale."))
    motivation = _reasons(motivation, "motivation")
    today = local_date(now)
    unlock_date = parse_unlock_date(unlock_date, today)
    with transaction.atomic():
        refusal = Refusal.objects.select_for_update().get(pk=refusal_id)
        if refusal.justified is not None or refusal.unlocked_at is not None:
            raise PtimError(_("Il rifiuto non richiede lo sblocco."))
        if today <= refusal.handling_deadline:
            raise PtimError(
                _("Il termine di gestione del rifiuto non è scaduto: lo sblocco non è necessario.")
            )
        if unlock_date < local_date(refusal.inserted_at):
            raise PtimError(
                errors={
                    "unlock_date": [
                        _("La data di sblocco non può precedere l’inserimento del rifiuto.")
                    ]
                }
            )
        refusal.unlocked_at = now
        refusal.unlock_date = unlock_date
        refusal.unlock_motivation = motivation
        refusal.unlocked_by = user
        refusal.save()
        audit_record(
            action="sblocco rifiuto",
            actor=user,
            obj=refusal.contract,
            payload={
                "refusal": refusal.pk,
                "unlock_date": unlock_date.isoformat(),
                "motivation": motivation,
            },
            now=now,
        )
        agreement = refusal.membership.agreement
        notify.send(
            subject=_("[PTIM] Sblocco della gestione del rifiuto – contratto n. %(p)s")
            % {"p": refusal.contract.progressive},
            addresses=notify.uo_and_dt(agreement),
            now=now,
            in_app=list(notify.supervisors(agreement)),
            text=motivation,
        )
    return refusal


def exclude_operator(*, user, membership_id: int, motivation: str, now) -> AgreementOperator:
    """ "Esclusione Operatore" (competent DT, DG)."""
    motivation = _reasons(motivation, "motivation")
    with transaction.atomic():
        agreement_id = AgreementOperator.objects.values_list("agreement_id", flat=True).get(
            pk=membership_id
        )
        agreement = _lock_agreement(agreement_id)
        if not can_supervise(user, agreement):
            raise PermissionDenied
        m = AgreementOperator.objects.select_for_update().get(pk=membership_id)
        if m.status != OperatorStatus.ACTIVE:
            raise PtimError(_("L’operatore non è attivo."))
        _exclude(
            membership=m,
            kind=OperatorEventKind.EXCLUSION_MANUAL,
            motivation=motivation,
            now=now,
            by=user,
        )
    return m


def readmit_operator(*, user, membership_id: int, motivation: str, now) -> AgreementOperator:
    """ "Riammissione Operatore" (DG only)."""
    if not is_dg(user):
        raise PermissionDenied(_("Operazione riservata alla Direzione Generale."))
    motivation = _reasons(motivation, "motivation")
    with transaction.atomic():
        m = AgreementOperator.objects.select_for_update().get(pk=membership_id)
        if m.status != OperatorStatus.EXCLUDED:
            raise PtimError(_("L’operatore non è escluso dalla selezione."))
        m.status = OperatorStatus.ACTIVE
        m.status_changed_at = now
        m.last_readmitted_at = now
        m.save()
        _membership_event(
            membership=m,
            kind=OperatorEventKind.READMISSION,
            motivation=motivation,
            now=now,
            by=user,
        )
        audit_record(
            action="riammissione operatore",
            actor=user,
            obj=m,
            to_state=OperatorStatus.ACTIVE,
            payload={"motivation": motivation},
            now=now,
        )
        _operator_event_mail(
            membership=m,
            subject=_("[PTIM] Riammissione dell’operatore %(o)s – A.Q. %(a)s")
            % {"o": m.operator.name, "a": m.agreement.identifier},
            now=now,
            text=motivation,
        )
    return m
