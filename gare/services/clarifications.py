"""Clarifications: questions until their deadline, anonymous answers published to all (§8.3)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from .. import deadlines
from ..models import Clarification, ClarificationStatus, Communication, Tender, TenderStatus
from ..ocds import publish_clarifications
from .common import GareError, audit, fmt_dt, require_operator, require_staff


def clarification_ask(*, user, tender: Tender, operator, text: str, now) -> Clarification:
    require_operator(user, operator)
    if tender.status != TenderStatus.PUBLISHED:
        raise GareError(_("La gara non è aperta ai quesiti."))
    if not deadlines.questions_open(tender, now):
        raise GareError(
            _(
                "Il termine per i quesiti è scaduto il %(d)s: il quesito non è stato accettato "
                "(ora del server %(now)s)."
            )
            % {"d": fmt_dt(tender.questions_deadline), "now": fmt_dt(now)}
        )
    if not text.strip():
        raise GareError(_("Scrivi il testo del quesito."))
    with transaction.atomic():
        item = Clarification.objects.create(
            tender=tender,
            operator=operator,
            asked_by=user,
            asked_at=now,
            question_text=text.strip(),
        )
        audit(action="quesito ricevuto", actor=user, obj=item, tender=tender, now=now)
    return item


def clarification_answer(
    *,
    user,
    clarification: Clarification,
    published_question: str,
    answer: str,
    override: bool = False,
    now,
) -> Clarification:
    """Publish the anonymised question and its answer; late answers need a logged override."""
    tender = clarification.tender
    require_staff(user, tender)
    if not published_question.strip() or not answer.strip():
        raise GareError(_("Indica il quesito in forma anonima e la risposta."))
    limit = deadlines.answers_deadline(tender)
    late = now > limit
    if late and not override:
        raise GareError(
            _(
                "Le risposte vanno pubblicate entro il %(d)s (%(n)s giorni prima del termine delle "
                "offerte). Per pubblicare comunque conferma la deroga e valuta la proroga del "
                "termine "
                "di presentazione delle offerte."
            )
            % {"d": fmt_dt(limit), "n": tender.answers_min_days_before}
        )
    with transaction.atomic():
        item = Clarification.objects.select_for_update().get(pk=clarification.pk)
        if item.status == ClarificationStatus.PUBLISHED:
            raise GareError(_("La risposta è già pubblicata."))
        item.published_question_text = published_question.strip()
        item.answer_text = answer.strip()
        item.answered_by = user
        item.published_at = now
        item.late_override = late
        item.status = ClarificationStatus.PUBLISHED
        item.save()
        audit(
            action="risposta pubblicata" + (" in deroga al termine" if late else ""),
            actor=user,
            obj=item,
            tender=tender,
            now=now,
            payload={"late_override": late},
        )
        publish_clarifications(tender, now=now)  # public to all, anonymous, also as open data
    return item


def communication_mark_read(*, user, communication: Communication, now) -> Communication:
    require_operator(user, communication.operator)
    with transaction.atomic():
        comm = Communication.objects.select_for_update().get(pk=communication.pk)
        if comm.read_at is None:
            comm.read_at = now
            comm.save(update_fields=["read_at"])
            audit(action="comunicazione letta", actor=user, obj=comm, tender=comm.tender, now=now)
    return comm
