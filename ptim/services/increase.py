"""PTIM services: increase (split of the former ptim/services.py)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from .. import messages as M
from .. import notify
from ..access import (
    is_dg,
)
from ..amounts import (
    agreement_residual,
    cents,
    floor_cents,
    operator_residual,
    total_amount,
)
from ..models import (
    ZERO,
    CeilingIncrease,
    OperatorStatus,
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

# --- the 50 % increase (D-12) and DG edits of pre-set values ------------------------------------


def increase_agreement_ceiling(
    *,
    user,
    agreement_id: int,
    reference_works: Decimal,
    reference_safety: Decimal,
    motivation: str,
    now,
) -> CeilingIncrease:
    if not is_dg(user):
        raise PermissionDenied(_("Operazione riservata alla Direzione Generale."))
    motivation = _reasons(motivation, "motivation")
    with transaction.atomic():
        agreement = _lock_agreement(agreement_id)
        if hasattr(agreement, "ceiling_increase"):
            raise PtimError(M.a41(_("l’incremento è già stato applicato")), code="a41")
        reference = reference_works + reference_safety
        members = list(
            agreement.operators.exclude(status=OperatorStatus.ANNULLED)
            .select_for_update()
            .order_by("-score", "ranking_position", "pk")
        )
        if agreement_residual(agreement) < reference:
            trigger = "AQ_TOTAL_REACHED"
        elif all(
            operator_residual(m) < total_amount(reference_works, reference_safety, m.discount_pct)
            for m in members
            if m.status == OperatorStatus.ACTIVE
        ):
            trigger = "NO_OPERATOR_CAPACITY"
        else:
            raise PtimError(
                M.a41(
                    _(
                        "l’importo complessivo dell’Accordo Quadro non risulta raggiunto e la "
                        "disponibilità residua di almeno un operatore consente l’affidamento "
                        "dell’intervento"
                    )
                ),
                code="a41",
            )
        pct = min(agreement.increase_pct, Decimal("50.00"))
        amount = cents(agreement.base_amount * pct / 100)
        shares = split_equally(amount, len(members))
        for m, share in zip(members, shares, strict=True):
            m.increase_share += share
            m.save(update_fields=["increase_share"])
        agreement.increase_amount = amount
        agreement.save(update_fields=["increase_amount"])
        increase = CeilingIncrease.objects.create(
            agreement=agreement,
            pct=pct,
            amount=amount,
            trigger=trigger,
            reference_amount=reference,
            motivation=motivation,
            applied_at=now,
            applied_by=user,
            shares={str(m.pk): str(s) for m, s in zip(members, shares, strict=True)},
        )
        audit_record(
            action="incremento del massimale",
            actor=user,
            obj=agreement,
            payload={"amount": amount, "trigger": trigger},
            now=now,
        )
        notify.send(
            subject=_("[PTIM] Incremento del massimale – A.Q. %(a)s") % {"a": agreement.identifier},
            addresses=[*notify.uo_and_dt(agreement), agreement.referent_email],
            now=now,
            in_app=list(notify.supervisors(agreement)),
            text=motivation,
        )
    return increase


def split_equally(amount: Decimal, n: int) -> list[Decimal]:
    """Equal shares floored to the cent; the remaining cents one each in ranking order (D-12)."""
    if n <= 0:
        return []
    share = floor_cents(amount / n)
    remainder = int((amount - share * n) / Decimal("0.01"))
    return [share + (Decimal("0.01") if i < remainder else ZERO) for i in range(n)]


def set_chapter_ceiling(*, user, agreement_id: int, chapter_id: int, amount: Decimal, now):
    """DG edit of a pre-set value (R-PTIM-012): audited, no e-mail."""
    if not is_dg(user):
        raise PermissionDenied(_("Operazione riservata alla Direzione Generale."))
    if amount is None or amount < 0:
        raise PtimError(_("Importo non valido."))
    from ..models import ChapterCeiling

    with transaction.atomic():
        agreement = _lock_agreement(agreement_id)
        ceiling, _created = ChapterCeiling.objects.select_for_update().get_or_create(
            agreement=agreement, chapter_id=chapter_id, defaults={"amount": amount}
        )
        before = ceiling.amount
        ceiling.amount = amount
        ceiling.save()
        audit_record(
            action="modifica massimale capitolo",
            actor=user,
            obj=agreement,
            payload={"chapter": ceiling.chapter.code, "before": before, "after": amount},
            now=now,
        )
    return ceiling
