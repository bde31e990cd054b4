"""Administrative check: the per-participant checklist, the ANAC fee checked through FVOE,
further clarifications of a soccorso istruttorio, and the single-decision-centre review (spec
§5.4, §5.5, R-GARE-034, R-GARE-054, R-GARE-086..090, R-GARE-146, Appendix B)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from procurement.accounts.models import Role

from ..models import (
    AdminCheckItem,
    AnacContribution,
    AnacContributionOutcome,
    CheckOutcome,
    EnvelopeFile,
    LotStatus,
    Participant,
    ParticipantStatus,
    ParticipationForm,
    RemedyKind,
    RemedyRequest,
    SingleCentreCase,
)
from ..signatories import AUXILIARY, parse_members, signature_problems
from .common import GareError, audit, communication_send, fmt_dt, lock_lot, require_staff

CHECKING = (ParticipantStatus.UNDER_ADMIN_CHECK, ParticipantStatus.REMEDY_PENDING)
DEFECTS = (CheckOutcome.MISSING, CheckOutcome.IRREGULAR)

# Appendix B: the checklist items, with whether a defect is remediable by default. The board
# confirms or changes the classification (§5.5 step 1).
CATALOGUE = [
    ("PARTICIPATION_FORM", gettext_lazy("Domanda di partecipazione (All. 1)"), True),
    ("SIGNATORIES", gettext_lazy("Firme dei soggetti tenuti (§1.4)"), True),
    ("DGUE", gettext_lazy("DGUE di ciascun soggetto tenuto"), True),
    ("ANAC_RECEIPT", gettext_lazy("Contributo ANAC"), True),
    ("GUARANTEE", gettext_lazy("Garanzia provvisoria"), True),
    ("SOA", gettext_lazy("Attestazione SOA"), True),
    ("COLLECTIVE_MANDATE", gettext_lazy("Mandato collettivo o atto costitutivo"), True),
    ("RELIANCE_CONTRACT", gettext_lazy("Contratto di avvalimento"), True),
    ("STAMP_DUTY", gettext_lazy("Imposta di bollo"), True),
    ("SITE_VISIT", gettext_lazy("Attestato di sopralluogo (facoltativo)"), True),
]
CONSTITUTED = {
    ParticipationForm.RTI_CONSTITUTED,
    ParticipationForm.ORDINARY_CONSORTIUM_CONSTITUTED,
    ParticipationForm.GEIE,
}


def _applies(code: str, participant: Participant) -> bool:
    if code == "COLLECTIVE_MANDATE":
        return participant.form in CONSTITUTED
    if code == "RELIANCE_CONTRACT":
        return any(s.role == AUXILIARY for s in parse_members(participant.members))
    return True


def _prefill(code: str, participant: Participant, files) -> tuple[str, str]:
    """What the platform can see by itself: presence and signatures of the files."""
    if code == "SIGNATORIES":
        problems = signature_problems(
            form=participant.form, members=participant.members, files=files
        )
        return (
            (CheckOutcome.IRREGULAR, " ".join(problems)[:500])
            if problems
            else (
                CheckOutcome.OK,
                "",
            )
        )
    if code == "STAMP_DUTY":
        return CheckOutcome.TO_CHECK, ""
    present = [f for f in files if f.requirement_code == code]
    if code == "SITE_VISIT":
        return (CheckOutcome.OK if present else CheckOutcome.NOT_APPLICABLE), ""
    if not present:
        return CheckOutcome.MISSING, _("Documento non presente nella busta A.")
    unsigned = [f.original_name for f in present if not f.signature_ok]
    if code in ("PARTICIPATION_FORM", "GUARANTEE", "RELIANCE_CONTRACT") and unsigned:
        return CheckOutcome.IRREGULAR, _("Senza firma digitale valida: %(f)s") % {
            "f": ", ".join(unsigned)
        }
    return CheckOutcome.OK, ""


def checklist_build(participant: Participant, *, now) -> list[AdminCheckItem]:
    """R-GARE-086: the checklist of one participant, pre-filled from envelope A (idempotent)."""
    files = list(
        EnvelopeFile.objects.filter(envelope__offer=participant.current_offer, envelope__type="A")
    )
    items = []
    for code, label, remediable in CATALOGUE:
        if not _applies(code, participant):
            continue
        prefilled, note = _prefill(code, participant, files)
        item, _created = AdminCheckItem.objects.get_or_create(
            participant=participant,
            code=code,
            defaults={
                "label": str(label),
                "prefilled": prefilled,
                "prefill_note": note,
                "remediable": remediable,
            },
        )
        items.append(item)
    return items


def _lock_item(item: AdminCheckItem) -> AdminCheckItem:
    return (
        AdminCheckItem.objects.select_for_update(of=("self",))
        .select_related("participant__lot__tender")
        .get(pk=item.pk)
    )


def check_item_record(
    *, user, item: AdminCheckItem, outcome: str, remediable: bool | None = None, note="", now
) -> AdminCheckItem:
    """A board member confirms (or corrects) one checklist item (§5.3 L3)."""
    tender = item.participant.lot.tender
    require_staff(user, tender, roles=(Role.RUP, Role.BOARD))
    if outcome not in CheckOutcome.values or outcome == CheckOutcome.TO_CHECK:
        raise GareError(
            _("Scegli l'esito della voce: regolare, mancante, irregolare o non pertinente.")
        )
    with transaction.atomic():
        item = _lock_item(item)
        p = item.participant
        if p.lot.status != LotStatus.ADMIN_CHECK or p.status not in CHECKING:
            raise GareError(_("Il concorrente non è in verifica amministrativa."))
        before = item.outcome
        item.outcome = outcome
        if remediable is not None:
            item.remediable = remediable
        item.note = note
        item.confirmed_by = user
        item.confirmed_at = now
        item.save()
        audit(
            action="voce della verifica amministrativa",
            actor=user,
            obj=p,
            tender=tender,
            now=now,
            from_state=before,
            to_state=outcome,
            payload={"code": item.code, "remediable": item.remediable, "note": note},
        )
    return item


def open_defects(participant: Participant):
    return participant.check_items.filter(outcome__in=DEFECTS)


def confirm_remaining(participant: Participant, *, user, now) -> None:
    """On admission the board confirms the items it did not mark: a board member decides, the
    platform's pre-fill only proposes (R-GARE-086, R-GARE-039).

    Every admission passes here (the check, a remedy, a single-centre review): a participant
    is admitted only once a check of its ANAC fee in FVOE found it paid (R-GARE-054): not
    before any check is recorded, nor while the latest one is «not found» or «FVOE not
    available»."""
    anac_fee_require_settled(participant)
    participant.check_items.filter(outcome=CheckOutcome.TO_CHECK).update(
        outcome=CheckOutcome.OK, confirmed_by=user, confirmed_at=now
    )


# --- ANAC fee (R-GARE-054, R-GARE-146) --------------------------------------------------------

ANAC_ITEM = "ANAC_RECEIPT"
# The checklist outcome each FVOE result gives the item «Contributo ANAC».
ANAC_ITEM_OUTCOME = {
    AnacContributionOutcome.PAID: CheckOutcome.OK,
    AnacContributionOutcome.NOT_FOUND: CheckOutcome.MISSING,
    AnacContributionOutcome.UNAVAILABLE: CheckOutcome.TO_CHECK,
}
ANAC_ITEM_NOTE = {
    AnacContributionOutcome.PAID: gettext_lazy("Pagamento del contributo ANAC verificato."),
    AnacContributionOutcome.NOT_FOUND: gettext_lazy(
        "Pagamento del contributo ANAC non trovato nel FVOE: sanabile con soccorso istruttorio, "
        "anche con un pagamento successivo al termine delle offerte; se non regolarizzato nel "
        "termine, l'offerta è inammissibile."
    ),
    AnacContributionOutcome.UNAVAILABLE: gettext_lazy(
        "FVOE non disponibile: la verifica del contributo ANAC va ripetuta prima dell'ammissione."
    ),
}


#: The outcomes the seggio may record (the lot page's form).
ANAC_OUTCOME_CHOICES = [
    (value, label)
    for value, label in AnacContributionOutcome.choices
    if value != AnacContributionOutcome.PENDING
]


def anac_fee_latest(participant: Participant) -> AnacContribution | None:
    return participant.anac_contributions.order_by("-checked_at", "-pk").first()


def anac_fee_prefetch() -> Prefetch:
    """For a page of participants: ``p.anac_checks`` newest first (``[0]`` is the latest)."""
    return Prefetch(
        "anac_contributions",
        queryset=AnacContribution.objects.select_related("checked_by").order_by(
            "-checked_at", "-pk"
        ),
        to_attr="anac_checks",
    )


def anac_fee_problem(participant: Participant) -> str:
    """Why the participant's ANAC fee does not allow the admission yet ("" when it does): the
    payment must be checked in FVOE (R-GARE-054, R-GARE-146) and the latest check say «paid».
    The receipt in envelope A alone is not enough: the seggio records what FVOE says."""
    latest = anac_fee_latest(participant)
    if latest is None:
        return _(
            "Prima di ammettere %(p)s registra la verifica del contributo ANAC (FVOE): "
            "l'ammissione richiede l'esito «pagato»."
        ) % {"p": participant.display_name}
    if latest.outcome != AnacContributionOutcome.PAID:
        return _(
            "Il contributo ANAC di %(p)s risulta «%(o)s»: per ammettere il concorrente "
            "registra la verifica con esito «pagato» (documento FVOE o estremi del "
            "pagamento); se non è pagato, chiedi il soccorso istruttorio."
        ) % {"p": participant.display_name, "o": latest.get_outcome_display()}
    return ""


def anac_fee_require_settled(participant: Participant) -> None:
    """A participant whose ANAC fee was never checked, or whose last check is not «paid»,
    cannot be admitted."""
    problem = anac_fee_problem(participant)
    if problem:
        raise GareError(problem)


def anac_fee_check(
    *, user, participant: Participant, outcome: str, note: str = "", evidence=None, now
) -> AnacContribution:
    """The seggio records the FVOE check of one participant's ANAC fee for the lot's CIG as an
    item of the administrative check (R-GARE-054, R-GARE-146, §5.5, Appendix B).

    The outcome settles the checklist item «Contributo ANAC»: PAID → regular; NOT_FOUND →
    missing and remediable (the soccorso istruttorio may be asked; the payment may come after
    the offer deadline); UNAVAILABLE → still to check, and the admission waits for a PAID check.
    It may be recorded again while a soccorso is pending, when the late payment is found.
    """
    from .verification_fvoe import anac_contribution_record

    tender = participant.lot.tender
    require_staff(user, tender, roles=(Role.RUP, Role.BOARD))
    if outcome not in ANAC_ITEM_OUTCOME:
        raise GareError(_("Indica l'esito della verifica del contributo ANAC."))
    with transaction.atomic():
        lock_lot(participant.lot)
        p = (
            Participant.objects.select_for_update(of=("self",))
            .select_related("lot__tender")
            .get(pk=participant.pk)
        )
        if p.lot.status != LotStatus.ADMIN_CHECK or p.status not in CHECKING:
            raise GareError(_("Il concorrente non è in verifica amministrativa."))
        # Every row lock before the first audit event: the audit chain's lock is held to the
        # end of the transaction, and check_item_record takes the item's lock, then the chain's.
        item = (
            AdminCheckItem.objects.select_for_update().filter(participant=p, code=ANAC_ITEM).first()
        )
        if item is None:  # a checklist built before the item existed
            checklist_build(p, now=now)
            item = AdminCheckItem.objects.select_for_update().get(participant=p, code=ANAC_ITEM)
        check = anac_contribution_record(
            user=user, participant=p, outcome=outcome, note=note, evidence=evidence, now=now
        )
        before = item.outcome
        item.outcome = ANAC_ITEM_OUTCOME[outcome]
        if outcome == AnacContributionOutcome.NOT_FOUND:
            item.remediable = True  # Appendix B: not paid or partly paid is remediable
        item.note = " ".join(x for x in (str(ANAC_ITEM_NOTE[outcome]), check.note) if x)
        decided = outcome != AnacContributionOutcome.UNAVAILABLE
        item.confirmed_by = user if decided else None
        item.confirmed_at = now if decided else None
        item.save()
        audit(
            action="voce della verifica amministrativa",
            actor=user,
            obj=p,
            tender=tender,
            now=now,
            from_state=before,
            to_state=item.outcome,
            payload={
                "code": ANAC_ITEM,
                "remediable": item.remediable,
                "anac_contribution": check.pk,
                "outcome": outcome,
            },
        )
    return check


# Appendix C: the codes of the exclusion grounds decided at the administrative check.
ANAC_FEE_INADMISSIBLE = "ANAC_FEE_INADMISSIBLE"
REMEDY_FAILED = "REMEDY_FAILED"
SINGLE_DECISION_CENTRE = "SINGLE_DECISION_CENTRE"


def remedy_exclusion_code(remedy: RemedyRequest) -> str:
    """The Appendix C code of the exclusion that follows a soccorso not satisfied: the ANAC fee
    not regularised in time makes the offer inadmissible (R-GARE-054, §5.4); any other
    defect not remedied is REMEDY_FAILED.

    The fee is not regularised when the soccorso concerned the item «Contributo ANAC» and no
    check found it paid since, or when the latest check still finds it not paid."""
    participant = remedy.participant
    codes = remedy.check_codes or (remedy.parent.check_codes if remedy.parent_id else [])
    latest = anac_fee_latest(participant)
    paid = latest is not None and latest.outcome == AnacContributionOutcome.PAID
    not_found = latest is not None and latest.outcome == AnacContributionOutcome.NOT_FOUND
    if (ANAC_ITEM in codes and not paid) or not_found:
        return ANAC_FEE_INADMISSIBLE
    return REMEDY_FAILED


def remedy_items(participant: Participant, codes) -> tuple[list[str], str]:
    """The checklist items a soccorso concerns: each a defect, and remediable (Appendix B)."""
    codes = [c for c in (codes or []) if c]
    if not codes:
        return [], ""
    items = list(participant.check_items.filter(code__in=codes))
    if len(items) != len(set(codes)):
        raise GareError(_("Una delle voci indicate non è nella verifica amministrativa."))
    for item in items:
        if item.outcome not in DEFECTS:
            raise GareError(
                _("La voce «%(l)s» non è segnata come mancante o irregolare.") % {"l": item.label}
            )
        if not item.remediable:
            raise GareError(
                _(
                    "La voce «%(l)s» non è sanabile con il soccorso istruttorio: proponi "
                    "l'esclusione."
                )
                % {"l": item.label}
            )
    text = "; ".join(
        f"{item.label} ({item.get_outcome_display().lower()})"
        + (f": {item.note}" if item.note else "")
        for item in items
    )
    return [item.code for item in items], text


def mark_remedied(remedy: RemedyRequest, *, user, now) -> None:
    codes = remedy.check_codes or (remedy.parent.check_codes if remedy.parent_id else [])
    if codes:
        remedy.participant.check_items.filter(code__in=codes).update(
            outcome=CheckOutcome.OK, confirmed_by=user, confirmed_at=now
        )


def remedy_further_clarification(
    *, user, remedy: RemedyRequest, items: str, deadline, now
) -> RemedyRequest:
    """§5.5 step 3, R-GARE-090: the answer is not fully consistent with the request; further
    clarifications limited to the documents supplied, with a deadline on pain of exclusion."""
    tender = remedy.participant.lot.tender
    require_staff(user, tender)
    if not items.strip():
        raise GareError(
            _("Indica i chiarimenti richiesti sui documenti presentati con il soccorso.")
        )
    if deadline <= now:
        raise GareError(_("Il termine per i chiarimenti deve essere successivo alla richiesta."))
    with transaction.atomic():
        remedy = RemedyRequest.objects.select_for_update().get(pk=remedy.pk)
        p = (
            Participant.objects.select_for_update(of=("self",))
            .select_related("operator")
            .get(pk=remedy.participant_id)
        )
        if p.lot.status != LotStatus.ADMIN_CHECK or p.status != ParticipantStatus.REMEDY_PENDING:
            raise GareError(_("Il concorrente non ha un soccorso istruttorio in corso."))
        if remedy.kind != RemedyKind.REMEDY:
            raise GareError(
                _("Gli ulteriori chiarimenti si chiedono sulla risposta al soccorso istruttorio.")
            )
        if remedy.outcome:
            raise GareError(_("Il soccorso istruttorio è già stato valutato."))
        if remedy.responded_at is None:
            raise GareError(
                _(
                    "Il concorrente non ha risposto al soccorso: gli ulteriori chiarimenti "
                    "riguardano solo i documenti presentati."
                )
            )
        remedy.outcome = "PARTIALLY"
        remedy.decided_at = now
        remedy.save()
        further = RemedyRequest.objects.create(
            participant=p,
            kind=RemedyKind.FURTHER_CLARIFICATION,
            parent=remedy,
            check_codes=remedy.check_codes,
            items=items,
            sent_at=now,
            deadline=deadline,
        )
        audit(
            action="ulteriori chiarimenti sul soccorso istruttorio",
            actor=user,
            obj=p,
            tender=tender,
            now=now,
            payload={"remedy": remedy.pk, "deadline": deadline.isoformat()},
        )
        communication_send(
            user=user,
            tender=tender,
            operator=p.operator,
            kind="REMEDY_CLARIFICATION",
            subject=_("Ulteriori chiarimenti sul soccorso istruttorio – gara %(code)s")
            % {"code": tender.code},
            body=_(
                "I documenti presentati non sono del tutto coerenti con la richiesta. Entro il "
                "%(deadline)s, a pena di esclusione, chiarisci: %(items)s"
            )
            % {"deadline": fmt_dt(deadline), "items": items},
            now=now,
        )
    return further


# --- single decision centre (R-GARE-034, AS-14) ---------------------------------------------


def single_centre_open(lot, participants, shared, *, now) -> SingleCentreCase:
    case = SingleCentreCase.objects.create(lot=lot, shared=list(shared), detected_at=now)
    case.participants.set(participants)
    return case


def single_centre_notify(*, user, case: SingleCentreCase, now) -> SingleCentreCase:
    """The RPA gives the OEs concerned 5 days (T10); they move to SINGLE_CENTRE_REVIEW and the
    admissions act waits for the outcome (§5.3 L5)."""
    from .procedure import _move_participant

    tender = case.lot.tender
    require_staff(user, tender)
    deadline = now + datetime.timedelta(days=5)
    with transaction.atomic():
        case = SingleCentreCase.objects.select_for_update().get(pk=case.pk)
        if case.notice_sent_at is not None:
            raise GareError(_("Il caso è già stato comunicato ai concorrenti."))
        if case.lot.status != LotStatus.ADMIN_CHECK:
            raise GareError(_("Il caso si esamina durante la verifica amministrativa."))
        for p in case.participants.select_for_update(of=("self",)).select_related("operator"):
            if p.status in CHECKING:
                _move_participant(
                    p,
                    p.review_single_centre,
                    user=user,
                    now=now,
                    action="verifica di unico centro decisionale",
                    payload={"case": case.pk},
                )
            communication_send(
                user=user,
                tender=tender,
                operator=p.operator,
                kind="SINGLE_CENTRE",
                subject=_("Possibile unico centro decisionale – gara %(code)s")
                % {"code": tender.code},
                body=_(
                    "Entro il %(d)s dimostra che la situazione di controllo o collegamento non ha "
                    "influito sulla formulazione dell'offerta."
                )
                % {"d": fmt_dt(deadline)},
                now=now,
            )
        case.notice_sent_at = now
        case.reply_deadline = deadline
        case.save()
    return case


def single_centre_decide(
    *, user, case: SingleCentreCase, single_centre: bool, reasons: str, now
) -> SingleCentreCase:
    """The seggio records the outcome: a single decision centre excludes all the participants
    of the case; otherwise they go back to the administrative check and are admitted."""
    from .procedure import _move_participant, exclusion_adopt

    tender = case.lot.tender
    require_staff(user, tender)  # an exclusion is an act of the authority (RPA), not the seggio
    if not reasons.strip():
        raise GareError(_("Motiva l'esito della verifica di unico centro decisionale."))
    with transaction.atomic():
        case = SingleCentreCase.objects.select_for_update().get(pk=case.pk)
        if case.outcome:
            raise GareError(_("Il caso è già stato deciso."))
        if case.notice_sent_at is None:
            raise GareError(_("Prima comunica il caso ai concorrenti interessati (5 giorni)."))
        if now < case.reply_deadline:
            raise GareError(
                _("I concorrenti possono rispondere fino al %(d)s.")
                % {"d": fmt_dt(case.reply_deadline)}
            )
        case.outcome = "SINGLE_CENTRE" if single_centre else "NOT_AFFECTED"
        case.reasons = reasons
        case.decided_at = now
        case.save()
        for p in case.participants.all():
            if p.status != ParticipantStatus.SINGLE_CENTRE_REVIEW:
                continue
            if single_centre:
                exclusion_adopt(
                    user=user,
                    participant=p,
                    phase="ADMIN_CHECK",
                    grounds=_("Offerte riconducibili a un unico centro decisionale: %(r)s")
                    % {"r": reasons},
                    code=SINGLE_DECISION_CENTRE,
                    now=now,
                )
            else:
                p = Participant.objects.select_for_update(of=("self",)).get(pk=p.pk)
                if open_defects(p).exists() or anac_fee_problem(p):
                    # Back to the check: its own defects, or the ANAC fee check (recorded only
                    # during the check), are still to be settled; the seggio admits it there.
                    _move_participant(
                        p,
                        p.back_to_admin_check,
                        user=user,
                        now=now,
                        action="verifica di unico centro decisionale: non influente",
                        payload={"case": case.pk},
                    )
                else:
                    confirm_remaining(p, user=user, now=now)
                    _move_participant(
                        p,
                        p.admit,
                        user=user,
                        now=now,
                        action="concorrente ammesso",
                        payload={"case": case.pk},
                    )
    return case
