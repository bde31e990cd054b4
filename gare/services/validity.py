"""Offer validity (R-GARE-074, D-50, AS-15): reminders to the RPA/RUP before the validity of the
offers expires while the lot is not awarded, the validity-extension request to all remaining
participants, their confirmations (with the guarantee extended to the new date, D-24, §7.5), and
RENOUNCED for those that do not confirm in time. A renunciation after the ranking changes the
admitted set: a new versioned score run (D-21) and, if the proposed awardee is gone, the award
proposal is superseded and the RPA/RUP is told that a new one is needed.

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
from procurement.documents.services import DocumentError, document_upload
from procurement.notifications.services import notify

from .. import deadlines
from ..models import (
    Award,
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


#: Document use of the uploaded guarantee (a document of the offer, PDF or signed .p7m).
GUARANTEE_USE = "gare_offer_file"


def _offer_submitted_on(participant: Participant) -> str:
    offer = participant.current_offer
    if offer is None or offer.submitted_at is None:
        return "—"
    return timezone.localtime(offer.submitted_at).strftime("%d/%m/%Y")


def _confirm_refusal(reply: ValidityReply, now) -> GareError | None:
    req = reply.request
    if now > req.reply_deadline or req.closed_at is not None or reply.renounced_at:
        return GareError(
            _("Il termine per confermare la validità dell'offerta è scaduto il %(d)s.")
            % {"d": fmt_dt(req.reply_deadline)}
        )
    return None


def validity_confirm(*, user, reply: ValidityReply, guarantee_file, now) -> ValidityReply:
    """The participant confirms its offer until the new date (before the reply deadline), with
    the document of its provisional guarantee extended to that date, or of a new guarantee
    running from the offer submission date (§7.5 "Extension", D-24). The file goes to the kernel
    documents (content type checked, SHA-256) and is linked to the reply."""
    participant = reply.participant
    require_operator(user, participant.operator)
    reply = ValidityReply.objects.select_related(
        "request__lot__tender", "participant__current_offer", "participant__operator"
    ).get(pk=reply.pk)
    req = reply.request
    if reply.confirmed_at is not None:
        return reply
    refusal = _confirm_refusal(reply, now)
    if refusal is not None:
        raise refusal
    if not guarantee_file:
        raise GareError(
            _(
                "Per confermare la validità dell'offerta allega la garanzia provvisoria prorogata "
                "fino al %(d)s, oppure una nuova garanzia che decorra dalla data di presentazione "
                "dell'offerta (%(s)s) e sia valida fino al %(d)s."
            )
            % {
                "d": req.new_validity_date.strftime("%d/%m/%Y"),
                "s": _offer_submitted_on(reply.participant),
            }
        )
    # Reading, typing and hashing the file happen outside our transaction (no row lock waits on
    # them). If the confirmation is then refused (a concurrent reply, the request just closed),
    # the document stays in the operator's documents, unlinked, and nothing else changes.
    try:
        version = document_upload(
            user=user,
            organisation=reply.participant.operator,
            use=GUARANTEE_USE,
            title=_("Garanzia provvisoria prorogata al %(d)s – gara %(code)s, lotto %(n)s")
            % {
                "d": req.new_validity_date.strftime("%d/%m/%Y"),
                "code": req.lot.tender.code,
                "n": req.lot.number,
            },
            uploaded_file=guarantee_file,
            now=now,
        )
    except DocumentError as exc:
        raise GareError(exc.message) from exc
    with transaction.atomic():
        reply = (
            ValidityReply.objects.select_for_update(of=("self",))
            .select_related("request__lot__tender", "participant")
            .get(pk=reply.pk)
        )
        req = reply.request
        if reply.confirmed_at is not None:
            return reply
        refusal = _confirm_refusal(reply, now)
        if refusal is not None:
            raise refusal
        reply.confirmed_at = now
        reply.confirmed_by = user
        reply.guarantee = version
        reply.guarantee_sha256 = version.sha256
        reply.save(update_fields=["confirmed_at", "confirmed_by", "guarantee", "guarantee_sha256"])
        audit(
            action="validità dell'offerta confermata",
            actor=user,
            obj=reply.participant,
            tender=req.lot.tender,
            now=now,
            payload={
                "new_validity_date": req.new_validity_date.isoformat(),
                "guarantee": {
                    "document": str(version.document.uuid),
                    "version": version.number,
                    "file": version.original_name,
                    "sha256": version.sha256,
                },
            },
        )
    return reply


def validity_close_expired(*, now) -> int:
    """After the reply deadline: whoever did not confirm becomes RENOUNCED (once); if the lot
    is already ranked, the ranking is recomputed without them (see `_ranking_after_renounce`)."""
    renounced = 0
    due = ValidityExtensionRequest.objects.filter(closed_at__isnull=True, reply_deadline__lt=now)
    for pk, lot_id in due.values_list("pk", "lot_id"):
        with transaction.atomic():
            # The lot first, as the procedure services lock it before its participants: the
            # ranking of the lot may change below.
            lot = (
                Lot.objects.select_for_update(of=("self",))
                .select_related("tender__organisation")
                .get(pk=lot_id)
            )
            req = ValidityExtensionRequest.objects.select_for_update(of=("self",)).get(pk=pk)
            if req.closed_at is not None:
                continue
            tender = lot.tender
            gone: list[Participant] = []
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
                gone.append(p)
            req.closed_at = now
            req.save(update_fields=["closed_at"])
            if gone:
                _ranking_after_renounce(lot, req, gone, now=now)
            renounced += len(gone)
    return renounced


def _ranking_after_renounce(
    lot: Lot, req: ValidityExtensionRequest, gone: list[Participant], *, now
) -> None:
    """D-21 applied to a renunciation (R-GARE-120: a change in the admitted set after a run):
    a new versioned FULL run over the remaining admitted participants (re-parametrisation and
    best values recomputed), the old runs kept. Nothing for a lot not ranked yet: its first full
    run will count only the admitted participants. Called under the lot's lock."""
    from .procedure import current_award, latest_run, recompute_after_exclusion

    previous = latest_run(lot, "FULL")
    gone_ids = {p.pk for p in gone}
    if lot.status in SETTLED or previous is None or not gone_ids & set(previous.admitted):
        return  # awarded meanwhile (the award stands), not ranked yet, or none was admitted
    # A score run is signed by a person: the RPA/RUP whose request caused the renunciations.
    actor = req.sent_by
    award = (
        current_award(lot) if lot.status in (LotStatus.PROPOSED, LotStatus.VERIFICATION) else None
    )
    superseded = award is not None and award.participant_id in gone_ids
    if superseded:
        _award_supersede(lot, award, now=now)
    run = recompute_after_exclusion(user=actor, lot=lot, now=now)
    audit(
        action="graduatoria ricalcolata: concorrenti rinunciatari",
        actor=None,
        obj=lot,
        tender=lot.tender,
        now=now,
        payload={
            "request": req.pk,
            "renounced": sorted(gone_ids),
            "run": run.version,
            "previous_run": previous.version,
            "award_superseded": award.pk if superseded else None,
        },
    )
    _tell_rup_ranking_recomputed(
        lot, req, gone, run=run, previous=previous, award=award, superseded=superseded, now=now
    )


def _award_supersede(lot: Lot, award: Award, *, now) -> None:
    """As after a negative verification: the proposal is superseded, the lot back to RANKED so
    that the president can propose the new first."""
    award.superseded_at = now
    award.save(update_fields=["superseded_at"])
    before = lot.status
    lot.rank()
    lot.save()
    audit(
        action="proposta di aggiudicazione superata: aggiudicatario proposto rinunciatario",
        actor=None,
        obj=lot,
        tender=lot.tender,
        now=now,
        from_state=before,
        to_state=lot.status,
        payload={"award": award.pk, "participant": award.participant_id},
    )


def _tell_rup_ranking_recomputed(
    lot: Lot, req, gone, *, run, previous, award: Award | None, superseded: bool, now
) -> None:
    tender = lot.tender
    subject = _("Graduatoria ricalcolata – gara %(code)s, lotto %(n)s") % {
        "code": tender.code,
        "n": lot.number,
    }
    message = _(
        "Non hanno confermato entro il %(d)s la validità dell'offerta e sono usciti dalla "
        "procedura: %(names)s. La graduatoria è stata ricalcolata sui concorrenti rimasti "
        "(calcolo n. %(v)s; il calcolo n. %(old)s resta agli atti)."
    ) % {
        "d": fmt_dt(req.reply_deadline),
        "names": ", ".join(p.display_name for p in gone),
        "v": run.version,
        "old": previous.version,
    }
    if superseded:
        message += " " + _(
            "%(name)s era l'aggiudicatario proposto: la proposta di aggiudicazione è superata "
            "e occorre formulare una nuova proposta di aggiudicazione."
        ) % {"name": award.participant.display_name}
    elif award is not None:
        first = next((o for o in run.result.get("offers", []) if o.get("rank") == 1), None)
        if first is None or int(first["id"]) != award.participant_id:
            message += " " + _(
                "Nella nuova graduatoria %(name)s, aggiudicatario proposto, non è più il primo "
                "classificato: valuta la proposta di aggiudicazione."
            ) % {"name": award.participant.display_name}
    notify(
        recipients=_rup_users(lot),
        template="generic",
        context={"subject": subject, "message": message},
        organisation=tender.organisation,
        url=reverse("gare:lot", args=[lot.pk]),
        now=now,
    )


def validity_sweep(*, now) -> dict:
    return {
        "reminders": validity_reminders(now=now),
        "renounced": validity_close_expired(now=now),
    }
