"""Offer validity (R-GARE-074, D-50, AS-15): reminders to the RPA/RUP before the validity of the
offers expires while the lot is not awarded, the validity-extension request to all remaining
participants, their confirmations, and RENOUNCED for those that do not confirm in time.

Time is an argument (``now``); the periodic job (``gare.tasks.offer_validity_job``) calls
``validity_sweep`` and is idempotent: one ``ValidityReminder`` row per lot, threshold and
validity date (unique), and a request is closed once (``closed_at``, under its row lock).
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.accounts.models import Membership, Role, User
from procurement.notifications.services import notify

from .. import deadlines
from ..models import (
    Lot,
    LotStatus,
    Participant,
    ParticipantStatus,
    ValidityExtensionRequest,
    ValidityReminder,
    ValidityReply,
)
from .common import GareError, audit, communication_send, fmt_dt, require_operator, require_staff

#: D-50: the RPA is reminded 30 and 10 days before the validity ends.
REMINDER_DAYS = (30, 10)
#: Default reply deadline of an extension request (D-50), calendar days.
REPLY_DAYS = 5

#: The lot is settled: the validity no longer matters.
SETTLED = (
    LotStatus.OPEN_FOR_SUBMISSION,
    LotStatus.DESERTED,
    LotStatus.AWARDED,
    LotStatus.CONTRACT_SIGNED,
    LotStatus.NOT_AWARDED,
)
#: Participants still in the procedure, asked to extend their offer.
REMAINING = (
    ParticipantStatus.SUBMITTED,
    ParticipantStatus.UNDER_ADMIN_CHECK,
    ParticipantStatus.REMEDY_PENDING,
    ParticipantStatus.SINGLE_CENTRE_REVIEW,
    ParticipantStatus.ADMITTED,
)


def validity_until(lot: Lot) -> datetime.date:
    """T21 (180 days from the offer deadline), or the date of the last extension request."""
    last = lot.validity_requests.order_by("-sent_at").first()
    if last is not None:
        return last.new_validity_date
    return deadlines.offer_validity_until(lot.tender)


def _rup_users(lot: Lot) -> list[User]:
    tender = lot.tender
    ids = set(
        Membership.objects.active()
        .filter(organisation=tender.organisation, role=Role.RUP)
        .values_list("user_id", flat=True)
    )
    ids.add(tender.created_by_id)
    return list(User.objects.filter(pk__in=ids, is_active=True))


def validity_reminders(*, now) -> int:
    """The reminders due today (30/10 days before the validity end, lot not awarded)."""
    today = timezone.localtime(now).date()
    sent = 0
    for lot in Lot.objects.exclude(status__in=SETTLED).select_related("tender__organisation"):
        until = validity_until(lot)
        if today > until:
            continue
        reached = [d for d in REMINDER_DAYS if today >= until - datetime.timedelta(days=d)]
        if not reached:
            continue
        days = min(reached)  # the nearest threshold only (a late first run sends one reminder)
        try:
            with transaction.atomic():
                ValidityReminder.objects.create(
                    lot=lot, days_before=days, validity_until=until, sent_at=now
                )
                subject = _(
                    "Validità delle offerte in scadenza il %(d)s – gara %(code)s, lotto %(n)s"
                ) % {"d": until.strftime("%d/%m/%Y"), "code": lot.tender.code, "n": lot.number}
                message = _(
                    "Le offerte del lotto %(n)s della gara %(code)s sono valide fino al %(d)s e il "
                    "lotto non è ancora aggiudicato (stato: %(state)s). Se la procedura non si "
                    "conclude prima, invia ai concorrenti la richiesta di proroga della validità "
                    "dell'offerta e della garanzia."
                ) % {
                    "n": lot.number,
                    "code": lot.tender.code,
                    "d": until.strftime("%d/%m/%Y"),
                    "state": lot.get_status_display(),
                }
                notify(
                    recipients=_rup_users(lot),
                    template="generic",
                    context={"subject": subject, "message": message},
                    organisation=lot.tender.organisation,
                    url=reverse("gare:lot", args=[lot.pk]),
                    now=now,
                )
                audit(
                    action="promemoria di scadenza della validità delle offerte",
                    actor=None,
                    obj=lot,
                    tender=lot.tender,
                    now=now,
                    payload={"days_before": days, "validity_until": until.isoformat()},
                )
        except IntegrityError:
            continue  # already sent for this lot, threshold and date
        sent += 1
    return sent


def validity_extension_request(
    *, user, lot: Lot, new_validity_date: datetime.date, now, reply_days: int = REPLY_DAYS
) -> ValidityExtensionRequest:
    """R-GARE-074: ask every remaining participant to confirm its offer (and guarantee) until
    `new_validity_date`, replying within `reply_days` days."""
    from .common import lock_lot

    require_staff(user, lot.tender)
    with transaction.atomic():
        lot = lock_lot(lot)
        if lot.status in SETTLED:
            raise GareError(
                _("La proroga della validità non serve: il lotto è «%(s)s».")
                % {"s": lot.get_status_display()}
            )
        current = validity_until(lot)
        if new_validity_date <= current:
            raise GareError(
                _("La nuova scadenza deve essere successiva all'attuale (%(d)s).")
                % {"d": current.strftime("%d/%m/%Y")}
            )
        if lot.validity_requests.filter(closed_at__isnull=True).exists():
            raise GareError(_("C'è già una richiesta di proroga in attesa delle risposte."))
        participants = list(
            Participant.objects.select_for_update(of=("self",))
            .filter(lot=lot, status__in=REMAINING)
            .select_related("operator")
        )
        if not participants:
            raise GareError(_("Non ci sono concorrenti a cui chiedere la proroga."))
        deadline = now + datetime.timedelta(days=reply_days)
        req = ValidityExtensionRequest.objects.create(
            lot=lot,
            new_validity_date=new_validity_date,
            reply_deadline=deadline,
            sent_at=now,
            sent_by=user,
        )
        for p in participants:
            ValidityReply.objects.create(request=req, participant=p)
            communication_send(
                user=user,
                tender=lot.tender,
                operator=p.operator,
                kind="VALIDITY_EXTENSION",
                subject=_("Richiesta di proroga della validità dell'offerta – gara %(code)s")
                % {"code": lot.tender.code},
                body=_(
                    "La procedura del lotto %(n)s è ancora in corso. Ti chiediamo di confermare "
                    "la validità della tua offerta fino al %(d)s, con la garanzia provvisoria "
                    "prorogata (o una nuova) alla stessa data, entro il %(deadline)s. In mancanza "
                    "di conferma l'offerta si intende ritirata e il concorrente esce dalla "
                    "procedura."
                )
                % {
                    "n": lot.number,
                    "d": new_validity_date.strftime("%d/%m/%Y"),
                    "deadline": fmt_dt(deadline),
                },
                now=now,
                legal_deadline=deadline,
            )
        audit(
            action="richiesta di proroga della validità delle offerte",
            actor=user,
            obj=lot,
            tender=lot.tender,
            now=now,
            payload={
                "new_validity_date": new_validity_date.isoformat(),
                "reply_deadline": deadline.isoformat(),
                "participants": [p.pk for p in participants],
            },
        )
    return req


def validity_confirm(*, user, reply: ValidityReply, now) -> ValidityReply:
    """The participant confirms its offer until the new date (before the reply deadline)."""
    participant = reply.participant
    require_operator(user, participant.operator)
    with transaction.atomic():
        reply = (
            ValidityReply.objects.select_for_update(of=("self",))
            .select_related("request__lot__tender", "participant")
            .get(pk=reply.pk)
        )
        req = reply.request
        if reply.confirmed_at is not None:
            return reply
        if now > req.reply_deadline or req.closed_at is not None or reply.renounced_at:
            raise GareError(
                _("Il termine per confermare la validità dell'offerta è scaduto il %(d)s.")
                % {"d": fmt_dt(req.reply_deadline)}
            )
        reply.confirmed_at = now
        reply.confirmed_by = user
        reply.save(update_fields=["confirmed_at", "confirmed_by"])
        audit(
            action="validità dell'offerta confermata",
            actor=user,
            obj=reply.participant,
            tender=req.lot.tender,
            now=now,
            payload={"new_validity_date": req.new_validity_date.isoformat()},
        )
    return reply


def validity_close_expired(*, now) -> int:
    """After the reply deadline: whoever did not confirm becomes RENOUNCED (once)."""
    renounced = 0
    due = ValidityExtensionRequest.objects.filter(closed_at__isnull=True, reply_deadline__lt=now)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            req = (
                ValidityExtensionRequest.objects.select_for_update(of=("self",))
                .select_related("lot__tender")
                .get(pk=pk)
            )
            if req.closed_at is not None:
                continue
            tender = req.lot.tender
            for reply in req.replies.filter(confirmed_at__isnull=True, renounced_at__isnull=True):
                p = (
                    Participant.objects.select_for_update(of=("self",))
                    .select_related("operator")
                    .get(pk=reply.participant_id)
                )
                reply.renounced_at = now
                reply.save(update_fields=["renounced_at"])
                if p.status not in REMAINING:
                    continue  # excluded or withdrawn meanwhile
                before = p.status
                p.renounce()
                p.save()
                audit(
                    action="concorrente rinunciatario: validità non confermata",
                    actor=None,
                    obj=p,
                    tender=tender,
                    now=now,
                    from_state=before,
                    to_state=p.status,
                    payload={"request": req.pk, "reply_deadline": req.reply_deadline.isoformat()},
                )
                communication_send(
                    user=None,
                    tender=tender,
                    operator=p.operator,
                    kind="VALIDITY_RENOUNCED",
                    subject=_("Offerta non più valida – gara %(code)s") % {"code": tender.code},
                    body=_(
                        "Non hai confermato entro il %(d)s la validità della tua offerta: "
                        "l'offerta si intende ritirata e non partecipi più alla procedura."
                    )
                    % {"d": fmt_dt(req.reply_deadline)},
                    now=now,
                )
                renounced += 1
            req.closed_at = now
            req.save(update_fields=["closed_at"])
    return renounced


def validity_sweep(*, now) -> dict:
    return {
        "reminders": validity_reminders(now=now),
        "renounced": validity_close_expired(now=now),
    }
