"""Reopening a discretionary criterion after the technical scores were published (AS-13 (4),
D-33, R-GARE-120): the president reopens it with a reason, the commissioners correct their
coefficients, and closing it computes a new versioned ScoreRun with reason CORRECTION. The runs
before it stay stored and visible in the history."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from ..models import CriterionReopening, LotStatus, ScoreRun
from .common import GareError, audit, communication_send, lock_lot
from .procedure import (
    _after_full_run,
    _run,
    admitted,
    discretionary_codes,
    president_of,
    scheme_of,
)

REOPENABLE = (LotStatus.TECH_SCORES_PUBLISHED, LotStatus.RANKED)


def _require_president(user, lot) -> None:
    president = president_of(lot)
    if president is None or president.user_id != user.pk:
        raise GareError(_("Solo il presidente della commissione può riaprire un criterio."))


def criterion_reopen(*, user, lot, criterion: str, reason: str, now) -> CriterionReopening:
    _require_president(user, lot)
    if criterion not in discretionary_codes(scheme_of(lot)):
        raise GareError(_("Il criterio %(c)s non è discrezionale.") % {"c": criterion})
    if not reason.strip():
        raise GareError(_("Indica il motivo della riapertura del criterio."))
    with transaction.atomic():
        lot = lock_lot(lot)
        if lot.status not in REOPENABLE:
            raise GareError(
                _(
                    "Un criterio si riapre dopo la pubblicazione dei punteggi tecnici e prima "
                    "della proposta di aggiudicazione (stato attuale: «%(s)s»)."
                )
                % {"s": lot.get_status_display()}
            )
        if lot.reopenings.filter(criterion=criterion, closed_at__isnull=True).exists():
            raise GareError(_("Il criterio %(c)s è già riaperto.") % {"c": criterion})
        item = CriterionReopening.objects.create(
            lot=lot, criterion=criterion, reason=reason, opened_at=now, opened_by=user
        )
        audit(
            action="criterio riaperto",
            actor=user,
            obj=lot,
            tender=lot.tender,
            now=now,
            payload={"criterion": criterion, "reason": reason},
        )
    return item


def criterion_correction_close(*, user, lot, criterion: str, now) -> ScoreRun:
    """Close the reopened criterion: a new run (CORRECTION) over the same admitted set; the
    technical scores are published again (R-GARE-109) and, after the ranking, ties re-checked."""
    _require_president(user, lot)
    with transaction.atomic():
        lot = lock_lot(lot)
        item = (
            CriterionReopening.objects.select_for_update()
            .filter(lot=lot, criterion=criterion, closed_at__isnull=True)
            .first()
        )
        if item is None:
            raise GareError(_("Il criterio %(c)s non è riaperto.") % {"c": criterion})
        if lot.status not in REOPENABLE:
            raise GareError(_("Operazione non possibile nello stato attuale del lotto."))
        stage = "FULL" if lot.status == LotStatus.RANKED else "TECHNICAL"
        last = lot.runs.filter(stage=stage).order_by("-version").first()
        improvements = None
        draw_order = None
        if stage == "FULL" and last is not None:
            improvements = {
                k: (None if v in (None, "None") else v)
                for k, v in (last.result.get("improvements") or {}).items()
            } or None
            draw_order = last.result.get("draw_order") or None
        if improvements:
            improvements = {
                k: (Decimal(v) if v is not None else None) for k, v in improvements.items()
            }
        run = _run(
            lot,
            user=user,
            now=now,
            reason="CORRECTION",
            stage=stage,
            improvements=improvements,
            draw_order=draw_order,
            note=_("Correzione del criterio %(c)s: %(r)s") % {"c": criterion, "r": item.reason},
        )
        item.closed_at = now
        item.run = run
        item.save()
        audit(
            action="criterio corretto",
            actor=user,
            obj=run,
            tender=lot.tender,
            now=now,
            payload={"criterion": criterion, "run": run.version, "supersedes": run.supersedes_id},
        )
        for p in admitted(lot):
            row = next((o for o in run.result["offers"] if o["id"] == str(p.pk)), None)
            communication_send(
                user=user,
                tender=lot.tender,
                operator=p.operator,
                kind="TECH_SCORES",
                subject=_("Punteggi rettificati – gara %(code)s") % {"code": lot.tender.code},
                body=_(
                    "La commissione ha corretto il criterio %(c)s. Il tuo punteggio tecnico è "
                    "%(score)s (calcolo v%(v)s)."
                )
                % {"c": criterion, "score": row["technical"] if row else "—", "v": run.version},
                now=now,
            )
        if stage == "FULL":
            _after_full_run(lot, run, user=user, now=now)
    return run
