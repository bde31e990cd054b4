"""The evaluation procedure of a lot (spec §5.3–§5.5): sessions, admin check, commission,
scoring through the evaluation engine, ties, anomaly review, proposal, verification, award."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.accounts.access import has_role
from procurement.accounts.models import Role

from .. import deadlines, sealing
from ..amounts import resolve_economic
from ..models import (
    AnomalyReview,
    Award,
    Coefficient,
    CommissionMember,
    Envelope,
    EnvelopeState,
    Exclusion,
    ImprovementOffer,
    Lot,
    LotStatus,
    Participant,
    ParticipantStatus,
    RemedyKind,
    RemedyRequest,
    ScoreRun,
    Session,
    SessionKind,
    TenderStatus,
)
from ..ocds import publish_award, publish_contract
from . import admincheck, documents
from .common import (
    GareError,
    audit,
    communication_send,
    fmt_dt,
    is_staff_of,
    lock_lot,
    require_operator,
    require_staff,
)
from .submission import close_submission_if_due, envelope_data

ACTIVE = (
    ParticipantStatus.UNDER_ADMIN_CHECK,
    ParticipantStatus.REMEDY_PENDING,
    ParticipantStatus.SINGLE_CENTRE_REVIEW,
    ParticipantStatus.ADMITTED,
    ParticipantStatus.AWARDEE,
)


# --- helpers ---------------------------------------------------------------------------------


def scheme_of(lot: Lot):
    from ..evaluation import EvaluationScheme

    return EvaluationScheme.from_dict(lot.tender.scheme)


def _leaves(criteria):
    for c in criteria:
        if c.children:
            yield from _leaves(c.children)
        else:
            yield c


def discretionary_codes(scheme) -> list[str]:
    return [c.code for c in _leaves(scheme.criteria) if c.kind == "DISCRETIONARY"]


def economic_codes(scheme) -> list[str]:
    codes = []

    def walk(criteria, side):
        for c in criteria:
            s = getattr(c, "side", None) or side
            if c.children:
                walk(c.children, s)
            elif s == "ECONOMIC":
                codes.append(c.code)

    walk(scheme.criteria, "TECHNICAL")
    return codes


def scale_values(scheme) -> list[Decimal]:
    return [Decimal(level.value) for level in scheme.judgement_scale]


def _move(lot: Lot, transition, *, user, now, action, payload=None):
    before = lot.status
    transition()
    lot.save()
    audit(
        action=action,
        actor=user,
        obj=lot,
        tender=lot.tender,
        now=now,
        from_state=before,
        to_state=lot.status,
        payload=payload,
    )


def _move_participant(p: Participant, transition, *, user, now, action, payload=None):
    before = p.status
    transition()
    p.save()
    audit(
        action=action,
        actor=user,
        obj=p,
        tender=p.lot.tender,
        now=now,
        from_state=before,
        to_state=p.status,
        payload=payload,
    )


def _minutes(lot: Lot, kind: str, *, user, now, run: ScoreRun | None = None) -> None:
    """R-GARE-084: the minutes of the last session of `kind`, rendered after commit."""
    session = (
        lot.sessions.filter(kind=kind, started_at__isnull=False).order_by("-started_at").first()
    )
    if session is not None:
        documents.document_request(
            lot=lot, kind="MINUTES", session=session, run=run, user=user, now=now
        )


def _require_status(lot: Lot, *statuses) -> None:
    if lot.tender.status == TenderStatus.CANCELLED:
        raise GareError(_("La gara è annullata: la procedura non può proseguire."))
    if lot.status not in statuses:
        raise GareError(
            _("Operazione non possibile nello stato attuale del lotto («%(state)s»).")
            % {"state": lot.get_status_display()}
        )


def members_of(lot: Lot):
    return list(lot.commission.select_related("user"))


def president_of(lot: Lot) -> CommissionMember | None:
    return lot.commission.filter(is_president=True).select_related("user").first()


def require_president_or_staff(user, lot: Lot) -> None:
    president = president_of(lot)
    if president is not None and president.user_id == user.pk:
        return
    require_staff(user, lot.tender)


def active_participants(lot: Lot):
    return lot.participants.filter(status__in=ACTIVE).select_related("operator", "current_offer")


def admitted(lot: Lot):
    return lot.participants.filter(
        status__in=[ParticipantStatus.ADMITTED, ParticipantStatus.AWARDEE]
    ).select_related("operator", "current_offer")


def _open_envelopes(lot: Lot, participants, env_type: str, session: Session, *, user, now) -> int:
    count = 0
    for p in participants:
        envelope = Envelope.objects.select_for_update().get(offer=p.current_offer, type=env_type)
        if envelope.state == EnvelopeState.OPENED:
            continue
        envelope.state = EnvelopeState.OPENED
        envelope.opened_at = now
        envelope.opened_in_session = session
        envelope.save(update_fields=["state", "opened_at", "opened_in_session"])
        session.events.append(
            {
                "at": now.isoformat(),
                "text": _("Busta %(t)s di %(p)s aperta") % {"t": env_type, "p": p},
            }
        )
        audit(
            action=f"busta {env_type} aperta",
            actor=user,
            obj=envelope,
            tender=lot.tender,
            now=now,
            from_state=EnvelopeState.SEALED,
            to_state=EnvelopeState.OPENED,
            payload={"participant": p.pk, "session": session.pk, "sha256": envelope.sha256},
        )
        count += 1
    session.save(update_fields=["events"])
    return count


# --- sessions --------------------------------------------------------------------------------


def session_schedule(*, user, lot: Lot, kind: str, scheduled_at, now) -> Session:
    """Announce a subsequent session to the participants concerned, ≥ 3 days before (D-08)."""
    require_president_or_staff(user, lot)
    if not deadlines.session_notice_ok(now, scheduled_at):
        raise GareError(
            _(
                "La seduta deve essere comunicata almeno %(days)s giorni prima: per il %(when)s "
                "l'avviso andava inviato entro il %(limit)s."
            )
            % {
                "days": deadlines.SESSION_NOTICE_DAYS,
                "when": fmt_dt(scheduled_at),
                "limit": (
                    timezone.localtime(scheduled_at).date() - datetime.timedelta(days=3)
                ).strftime("%d/%m/%Y"),
            }
        )
    with transaction.atomic():
        lot = lock_lot(lot)
        session = Session.objects.create(
            lot=lot, kind=kind, scheduled_at=scheduled_at, notice_sent_at=now, started_by=None
        )
        for p in admitted(lot):
            communication_send(
                user=user,
                tender=lot.tender,
                operator=p.operator,
                kind="SESSION_NOTICE",
                subject=_("Convocazione: %(kind)s") % {"kind": session.get_kind_display()},
                body=_("La seduta «%(kind)s» della gara %(code)s si terrà il %(when)s.")
                % {
                    "kind": session.get_kind_display(),
                    "code": lot.tender.code,
                    "when": fmt_dt(scheduled_at),
                },
                now=now,
            )
        audit(
            action="seduta convocata",
            actor=user,
            obj=session,
            tender=lot.tender,
            now=now,
            payload={"kind": kind, "scheduled_at": scheduled_at.isoformat()},
        )
    return session


def _scheduled(lot: Lot, kind: str, now) -> Session:
    session = (
        lot.sessions.filter(kind=kind, started_at__isnull=True).order_by("-notice_sent_at").first()
    )
    if session is None:
        raise GareError(_("Convoca prima la seduta, con almeno 3 giorni di preavviso."))
    if now < session.scheduled_at:
        raise GareError(
            _("La seduta è convocata per il %(when)s: non si può aprire prima.")
            % {"when": fmt_dt(session.scheduled_at)}
        )
    return session


def session_start(*, user, lot: Lot, kind: str, now) -> Session:
    """Open a session and, in it, the envelopes it is for (§5.3 L2, L7, L11)."""
    close_submission_if_due(tender=lot.tender, now=now)
    lot.refresh_from_db()
    with transaction.atomic():
        lot = lock_lot(lot)
        tender = lot.tender
        if kind == SessionKind.ADMIN_OPENING:
            require_staff(user, tender, roles=(Role.RUP, Role.BOARD))
            _require_status(lot, LotStatus.AWAITING_FIRST_SESSION)
            if now < tender.first_session_at or now < tender.offer_deadline:
                raise GareError(
                    _(
                        "La prima seduta è fissata per il %(when)s: la busta A non si può aprire "
                        "prima."
                    )
                    % {"when": fmt_dt(tender.first_session_at)}
                )
            session = Session.objects.create(
                lot=lot, kind=kind, scheduled_at=tender.first_session_at
            )
            participants = list(lot.participants.filter(status=ParticipantStatus.SUBMITTED))
            _move(lot, lot.start_admin_check, user=user, now=now, action="prima seduta avviata")
            if tender.status == TenderStatus.SUBMISSION_CLOSED:
                tender.start_evaluation()
                tender.save()
            for p in participants:
                _move_participant(
                    p,
                    p.start_admin_check,
                    user=user,
                    now=now,
                    action="verifica amministrativa avviata",
                )
            env_type = "A"
        elif kind == SessionKind.TECH_OPENING:
            require_president_or_staff(user, lot)
            _require_status(lot, LotStatus.ADMISSIONS_DECIDED)
            members = members_of(lot)
            scheme = scheme_of(lot)
            needed = scheme.commissioners or 3
            if len(members) != needed or any(m.declaration_signed_at is None for m in members):
                raise GareError(
                    _(
                        "Serve la commissione di %(n)s componenti, ciascuno con la dichiarazione "
                        "di assenza di incompatibilità."
                    )
                    % {"n": needed}
                )
            session = _scheduled(lot, kind, now)
            participants = list(admitted(lot))
            _move(lot, lot.open_technical, user=user, now=now, action="apertura offerte tecniche")
            env_type = "B"
        elif kind == SessionKind.ECON_OPENING:
            require_president_or_staff(user, lot)
            _require_status(lot, LotStatus.TECH_SCORES_PUBLISHED)
            session = _scheduled(lot, kind, now)
            participants = list(admitted(lot))
            _move(lot, lot.open_economic, user=user, now=now, action="apertura offerte economiche")
            env_type = "C"
        else:
            raise GareError(_("Tipo di seduta non previsto."))
        session.started_at = now
        session.started_by = user
        session.save()
        _open_envelopes(lot, participants, env_type, session, user=user, now=now)
        if kind == SessionKind.ADMIN_OPENING:
            for p in participants:
                admincheck.checklist_build(p, now=now)
            single_centre_detect(lot, participants, session, user=user, now=now)
        if kind == SessionKind.ECON_OPENING:
            _record_words_vs_figures(lot, participants, session, user=user, now=now)
        audit(
            action="seduta avviata",
            actor=user,
            obj=session,
            tender=tender,
            now=now,
            payload={
                "kind": kind,
                "envelopes": env_type,
                "participants": [p.pk for p in participants],
            },
        )
    return session


def _record_words_vs_figures(lot: Lot, participants, session: Session, *, user, now) -> None:
    """R-GARE-111, D-10: figures against words in each envelope C, recorded in the session; on a
    discrepancy the value more favourable to the SA prevails (higher discount, fewer days)."""
    for p in participants:
        envelope = Envelope.objects.get(offer=p.current_offer, type="C")
        _resolved, resolutions = resolve_economic(envelope_data(envelope))
        notes = [r for r in resolutions if r.note]
        for r in notes:
            session.events.append(
                {"at": now.isoformat(), "text": f"{p}: {r.note}", "resolution": r.as_dict()}
            )
        if notes:
            audit(
                action="discordanza tra cifre e lettere",
                actor=user,
                obj=p,
                tender=lot.tender,
                now=now,
                payload={"resolutions": [r.as_dict() for r in notes]},
            )
    session.save(update_fields=["events"])


def technical_session_close(*, user, lot: Lot, now) -> Lot:
    require_president_or_staff(user, lot)
    with transaction.atomic():
        lot = lock_lot(lot)
        _require_status(lot, LotStatus.TECH_OPENING)
        _move(
            lot,
            lot.start_technical_evaluation,
            user=user,
            now=now,
            action="seduta pubblica chiusa: valutazione tecnica",
        )
        _minutes(lot, SessionKind.TECH_OPENING, user=user, now=now)
    return lot


def _identities(p: Participant) -> set[str]:
    ids = {x.upper() for x in (p.operator.tax_code, p.operator.vat_number) if x}
    for member in p.members or []:
        text = str(member).strip().upper()
        ids.update(token for token in text.replace(",", " ").split() if len(token) in (11, 16))
    return ids


def single_centre_detect(lot: Lot, participants, session: Session, *, user, now) -> list[tuple]:
    """R-GARE-034 / AS-14: the same OE in two participants is reported to the seggio."""
    found = []
    listed = list(participants)
    for i, a in enumerate(listed):
        for b in listed[i + 1 :]:
            shared = _identities(a) & _identities(b)
            if shared:
                found.append((a.pk, b.pk, sorted(shared)))
                admincheck.single_centre_open(lot, [a, b], sorted(shared), now=now)
                session.events.append(
                    {
                        "at": now.isoformat(),
                        "text": _(
                            "Possibile unico centro decisionale: %(a)s e %(b)s hanno in comune "
                            "%(ids)s"
                        )
                        % {"a": a, "b": b, "ids": ", ".join(sorted(shared))},
                    }
                )
                audit(
                    action="possibile unico centro decisionale",
                    actor=user,
                    obj=lot,
                    tender=lot.tender,
                    now=now,
                    payload={"participants": [a.pk, b.pk], "shared": sorted(shared)},
                )
    if found:
        session.save(update_fields=["events"])
    return found


def single_centre_notice(*, user, lot: Lot, participants, now) -> None:
    """Notify the participants concerned: 5 days to show the tender was not affected [§4].

    Uses the case detected at the first session for these participants (or opens one, when the
    seggio finds a link the tax codes did not show)."""
    ids = {p.pk for p in participants}
    case = next(
        (
            c
            for c in lot.single_centre_cases.filter(notice_sent_at__isnull=True)
            if {p.pk for p in c.participants.all()} == ids
        ),
        None,
    )
    if case is None:
        case = admincheck.single_centre_open(lot, list(participants), [], now=now)
    return admincheck.single_centre_notify(user=user, case=case, now=now)


# --- administrative check, remedy, exclusions -----------------------------------------------


def _lock_participant(participant: Participant) -> Participant:
    return (
        Participant.objects.select_for_update(of=("self",))
        .select_related("lot__tender", "operator")
        .get(pk=participant.pk)
    )


def admin_check_admit(*, user, participant: Participant, note: str = "", now) -> Participant:
    require_staff(user, participant.lot.tender, roles=(Role.RUP, Role.BOARD))
    with transaction.atomic():
        p = _lock_participant(participant)
        _require_status(p.lot, LotStatus.ADMIN_CHECK)
        if p.status not in (ParticipantStatus.UNDER_ADMIN_CHECK, ParticipantStatus.REMEDY_PENDING):
            raise GareError(_("Il concorrente non è in verifica amministrativa."))
        defects = list(admincheck.open_defects(p))
        if defects:
            raise GareError(
                _(
                    "Non si può ammettere: voci della verifica mancanti o irregolari (%(l)s). "
                    "Chiedi il soccorso istruttorio o proponi l'esclusione."
                )
                % {"l": ", ".join(str(d.label) for d in defects)}
            )
        admincheck.confirm_remaining(p, user=user, now=now)
        p.checklist_note = note
        _move_participant(
            p, p.admit, user=user, now=now, action="concorrente ammesso", payload={"note": note}
        )
    return p


def remedy_request_send(
    *, user, participant: Participant, items: str, deadline, now, check_codes=None
) -> RemedyRequest:
    """Soccorso istruttorio with a term of 5 to 10 days (§5.5, T07).

    `check_codes` names the checklist items concerned: each must be a defect and remediable
    (Appendix B); their description is added to `items`.
    """
    require_staff(user, participant.lot.tender)
    codes, listed = admincheck.remedy_items(participant, check_codes)
    items = "; ".join(x for x in (listed, items.strip()) if x)
    if not items.strip():
        raise GareError(_("Indica i documenti da integrare o le irregolarità da sanare."))
    if not deadlines.remedy_deadline_ok(now, deadline):
        raise GareError(
            _(
                "Il termine del soccorso istruttorio deve essere compreso tra 5 e 10 giorni dalla "
                "richiesta."
            )
        )
    with transaction.atomic():
        p = _lock_participant(participant)
        _require_status(p.lot, LotStatus.ADMIN_CHECK)
        if p.status not in (ParticipantStatus.UNDER_ADMIN_CHECK, ParticipantStatus.REMEDY_PENDING):
            raise GareError(_("Il concorrente non è in verifica amministrativa."))
        remedy = RemedyRequest.objects.create(
            participant=p, items=items, sent_at=now, deadline=deadline, check_codes=codes
        )
        _move_participant(
            p,
            p.await_remedy,
            user=user,
            now=now,
            action="soccorso istruttorio richiesto",
            payload={"deadline": deadline.isoformat()},
        )
        communication_send(
            user=user,
            tender=p.lot.tender,
            operator=p.operator,
            kind="REMEDY_REQUEST",
            subject=_("Soccorso istruttorio – gara %(code)s") % {"code": p.lot.tender.code},
            body=_("Entro il %(deadline)s integra o regolarizza: %(items)s")
            % {"deadline": fmt_dt(deadline), "items": items},
            now=now,
        )
    return remedy


def remedy_respond(*, user, remedy: RemedyRequest, text: str, now) -> RemedyRequest:
    require_operator(user, remedy.participant.operator)
    if now >= remedy.deadline:
        raise GareError(
            _("Il termine del soccorso istruttorio è scaduto il %(d)s.")
            % {"d": fmt_dt(remedy.deadline)}
        )
    if not text.strip():
        raise GareError(_("Scrivi la risposta o descrivi i documenti integrati."))
    with transaction.atomic():
        remedy = RemedyRequest.objects.select_for_update().get(pk=remedy.pk)
        remedy.response_text = text
        remedy.responded_at = now
        remedy.save()
        audit(
            action="risposta al soccorso istruttorio",
            actor=user,
            obj=remedy.participant,
            tender=remedy.participant.lot.tender,
            now=now,
        )
    return remedy


def exclusion_adopt(
    *, user, participant: Participant, phase: str, grounds: str, now, code: str = "", _locked=False
) -> Exclusion:
    """Exclude a participant and communicate it at once (≤ 5 days, T09, §3.4 inv. 8).

    `code` is the ground's code of Appendix C when the platform knows it."""
    require_staff(user, participant.lot.tender)
    if not grounds.strip():
        raise GareError(_("Indica i motivi dell'esclusione."))
    with transaction.atomic():
        p = _lock_participant(participant)
        if p.status == ParticipantStatus.EXCLUDED:
            raise GareError(_("Il concorrente è già escluso."))
        _move_participant(
            p,
            p.exclude,
            user=user,
            now=now,
            action="concorrente escluso",
            payload={"phase": phase, "grounds": grounds},
        )
        comm = communication_send(
            user=user,
            tender=p.lot.tender,
            operator=p.operator,
            kind="EXCLUSION",
            subject=_("Esclusione dalla gara %(code)s") % {"code": p.lot.tender.code},
            body=_("Con atto del %(when)s sei stato escluso dalla procedura. Motivi: %(grounds)s")
            % {"when": fmt_dt(now), "grounds": grounds},
            now=now,
            legal_deadline=deadlines.exclusion_notice_deadline(now),
        )
        exclusion = Exclusion.objects.create(
            participant=p,
            phase=phase,
            grounds=grounds,
            code=code,
            adopted_at=now,
            adopted_by=user,
            communication=comm,
            communication_deadline=deadlines.exclusion_notice_deadline(now),
        )
    return exclusion


def remedy_decide(*, user, remedy: RemedyRequest, remedied: bool, now) -> RemedyRequest:
    require_staff(user, remedy.participant.lot.tender)
    with transaction.atomic():
        remedy = RemedyRequest.objects.select_for_update().get(pk=remedy.pk)
        if remedy.outcome:
            raise GareError(_("Il soccorso istruttorio è già stato valutato."))
        if not remedied and remedy.responded_at is None and now < remedy.deadline:
            raise GareError(_("Il termine per rispondere non è ancora scaduto."))
        further = remedy.kind == RemedyKind.FURTHER_CLARIFICATION
        remedy.outcome = (
            "REMEDIED"
            if remedied
            else ("NOT_ANSWERED" if remedy.responded_at is None else "NOT_REMEDIED")
        )
        remedy.decided_at = now
        remedy.save()
        if remedied:
            admincheck.mark_remedied(remedy, user=user, now=now)
            admin_check_admit(
                user=user,
                participant=remedy.participant,
                note=_("Regolarizzato con soccorso istruttorio"),
                now=now,
            )
        else:
            exclusion_adopt(
                user=user,
                participant=remedy.participant,
                phase="ADMIN_CHECK",
                grounds=(
                    _("Ulteriori chiarimenti sul soccorso istruttorio non forniti: %(items)s")
                    if further
                    else _("Soccorso istruttorio non soddisfatto: %(items)s")
                )
                % {"items": remedy.items},
                code=admincheck.remedy_exclusion_code(remedy),
                now=now,
            )
    return remedy


def admissions_adopt(*, user, lot: Lot, now) -> Lot:
    """§5.3 L5: every participant admitted or excluded, none with a remedy pending."""
    require_staff(user, lot.tender)
    with transaction.atomic():
        lot = lock_lot(lot)
        _require_status(lot, LotStatus.ADMIN_CHECK)
        pending = lot.participants.filter(
            status__in=[
                ParticipantStatus.UNDER_ADMIN_CHECK,
                ParticipantStatus.REMEDY_PENDING,
                ParticipantStatus.SINGLE_CENTRE_REVIEW,
            ]
        )
        if pending.exists():
            raise GareError(
                _(
                    "Non si può adottare il provvedimento di ammissione: concorrenti ancora da "
                    "valutare, in soccorso istruttorio o in verifica di unico centro "
                    "decisionale: %(names)s."
                )
                % {"names": ", ".join(str(p) for p in pending)}
            )
        admitted_list = list(admitted(lot))
        _move(
            lot,
            lot.decide_admissions,
            user=user,
            now=now,
            action="provvedimento di ammissione adottato",
            payload={"admitted": [p.pk for p in admitted_list]},
        )
        _minutes(lot, SessionKind.ADMIN_OPENING, user=user, now=now)
        names = ", ".join(p.display_name for p in admitted_list) or _("nessuno")
        for p in lot.participants.exclude(status=ParticipantStatus.WITHDRAWN).select_related(
            "operator"
        ):
            communication_send(
                user=user,
                tender=lot.tender,
                operator=p.operator,
                kind="ADMISSIONS",
                subject=_("Provvedimento di ammissione – gara %(code)s")
                % {"code": lot.tender.code},
                body=_("Concorrenti ammessi: %(names)s.") % {"names": names},
                now=now,
            )
        if not admitted_list:
            _move(lot, lot.nobody_admitted, user=user, now=now, action="nessun concorrente ammesso")
    return lot


# --- commission and coefficients ------------------------------------------------------------


def commission_appoint(*, user, lot: Lot, members: list, president, now) -> list[CommissionMember]:
    """Appoint the commission (odd number, RC 3) after the offer deadline [§19]."""
    require_staff(user, lot.tender)
    scheme = scheme_of(lot)
    needed = scheme.commissioners or 3
    if len(set(m.pk for m in members)) != needed:
        raise GareError(
            _("La commissione è composta da %(n)s componenti distinti.") % {"n": needed}
        )
    if president not in members:
        raise GareError(_("Il presidente deve essere uno dei componenti."))
    if now <= lot.tender.offer_deadline:
        raise GareError(_("La commissione si nomina dopo la scadenza del termine delle offerte."))
    for m in members:
        if not has_role(m, Role.COMMISSIONER, lot.tender.organisation):
            raise GareError(_("%(u)s non è abilitato come commissario di gara.") % {"u": m})
    with transaction.atomic():
        lot = lock_lot(lot)
        if lot.commission.exists():
            raise GareError(_("La commissione è già stata nominata."))
        created = [
            CommissionMember.objects.create(
                lot=lot, user=m, is_president=(m == president), appointed_at=now
            )
            for m in members
        ]
        audit(
            action="commissione nominata",
            actor=user,
            obj=lot,
            tender=lot.tender,
            now=now,
            payload={"members": [m.pk for m in members], "president": president.pk},
        )
    return created


def commissioner_declare(*, user, lot: Lot, now) -> CommissionMember:
    """Declaration of no incompatibility (art. 93 c.5 Code), with the participants known."""
    with transaction.atomic():
        member = CommissionMember.objects.select_for_update().filter(lot=lot, user=user).first()
        if member is None:
            raise GareError(_("Non sei componente della commissione di questo lotto."))
        member.declaration_signed_at = now
        member.save()
        audit(
            action="dichiarazione di assenza di incompatibilità",
            actor=user,
            obj=lot,
            tender=lot.tender,
            now=now,
        )
    return member


def coefficient_enter(
    *, user, lot: Lot, participant: Participant, criterion: str, value, now
) -> Coefficient:
    member = CommissionMember.objects.filter(lot=lot, user=user).first()
    if member is None:
        raise GareError(_("Solo i componenti della commissione inseriscono i coefficienti."))
    reopened = lot.reopenings.filter(criterion=criterion, closed_at__isnull=True).exists()
    if lot.status != LotStatus.TECH_EVALUATION and not reopened:
        raise GareError(
            _(
                "I coefficienti si inseriscono durante la valutazione tecnica; dopo la "
                "pubblicazione dei punteggi solo se il presidente riapre il criterio."
            )
        )
    scheme = scheme_of(lot)
    if criterion not in discretionary_codes(scheme):
        raise GareError(_("Il criterio %(c)s non è discrezionale.") % {"c": criterion})
    try:
        value = Decimal(str(value).replace(",", "."))
    except Exception:
        raise GareError(_("Il coefficiente deve essere un numero.")) from None
    if value not in scale_values(scheme):
        raise GareError(
            _("Il coefficiente %(v)s non è tra i livelli di giudizio ammessi (%(levels)s).")
            % {"v": value, "levels": ", ".join(f"{v:.1f}" for v in scale_values(scheme))}
        )
    if participant.lot_id != lot.pk or participant.status != ParticipantStatus.ADMITTED:
        raise GareError(_("Il concorrente non è ammesso alla valutazione tecnica."))
    with transaction.atomic():
        coefficient, _created = Coefficient.objects.update_or_create(
            member=member,
            participant=participant,
            criterion=criterion,
            defaults={"value": value, "entered_at": now},
        )
        audit(
            action="coefficiente inserito",
            actor=user,
            obj=participant,
            tender=lot.tender,
            now=now,
            payload={"criterion": criterion, "value": str(value)},
        )
    return coefficient


# --- scoring --------------------------------------------------------------------------------


def _offer_inputs(lot: Lot, participants, *, with_economic: bool):
    from ..evaluation import OfferInput

    scheme = scheme_of(lot)
    codes = discretionary_codes(scheme)
    members = members_of(lot)
    coeffs = {
        (c.member_id, c.participant_id, c.criterion): c.value
        for c in Coefficient.objects.filter(member__lot=lot)
    }
    envelopes = {
        (e.offer_id, e.type): e
        for e in Envelope.objects.filter(
            offer__in=[p.current_offer_id for p in participants], type__in=["B", "C"]
        ).select_related("offer__lot__tender")
    }
    inputs = []
    missing = []
    for p in participants:
        per_criterion = {}
        for code in codes:
            values = []
            for m in members:
                v = coeffs.get((m.pk, p.pk, code))
                if v is None:
                    missing.append(f"{p} {code} ({m.user})")
                values.append(v)
            per_criterion[code] = tuple(values)
        tabular = envelope_data(envelopes[(p.current_offer_id, "B")])
        values = {"discount_pct": Decimal("1.00"), "duration_days": Decimal(lot.duration_days)}
        labour = safety = None
        if with_economic:
            eco, _resolutions = resolve_economic(
                envelope_data(envelopes[(p.current_offer_id, "C")])
            )
            values = {
                "discount_pct": Decimal(eco["discount"]),
                "duration_days": Decimal(eco["days"]),
            }
            labour = Decimal(eco["labour_costs"])
            safety = Decimal(eco["company_safety_costs"])
        kwargs = {
            "id": str(p.pk),
            "coefficients": per_criterion,
            "tabular": tabular,
            "values": values,
        }
        if with_economic:
            kwargs.update(labour_costs=labour, company_safety_costs=safety)
        inputs.append(OfferInput(**kwargs))
    if missing:
        raise GareError(
            _("Mancano %(n)s coefficienti, ad esempio: %(ex)s.")
            % {"n": len(missing), "ex": "; ".join(missing[:3])}
        )
    return inputs


def _run(
    lot: Lot,
    *,
    user,
    now,
    reason: str,
    stage: str,
    improvements=None,
    draw_order=None,
    note: str = "",
) -> ScoreRun:
    from ..evaluation import LotAmounts, evaluate

    participants = list(admitted(lot))
    inputs = _offer_inputs(lot, participants, with_economic=(stage == "FULL"))
    scheme = scheme_of(lot)
    amounts = LotAmounts(lot.works_amount, lot.safety_costs, lot.labour_cost_estimate)
    # A technical run scores the technical side only: no economic figure is made up (R-GARE-109).
    result = evaluate(
        scheme,
        inputs,
        improvements=improvements,
        draw_order=draw_order,
        amounts=amounts,
        phase="FULL" if stage == "FULL" else "TECHNICAL",
    )
    data = result.to_score_json()
    # The money figures of each offer (contract discount and value, for the award and the
    # OCDS release): the score format has points only.
    by_id = {o.id: o for o in result.offers}
    for row in data["offers"]:
        offer = by_id.get(row["id"])
        for name in ("contract_discount", "offered_works_amount", "contract_value"):
            value = getattr(offer, name, None) if offer is not None else None
            row[name] = None if value is None else str(value)
    data["anomaly"] = [
        {
            "id": a.id,
            "appears_abnormal": a.appears_abnormal,
            "indicators": [i.message for i in a.indicators],
        }
        for a in getattr(result, "anomaly", ())
    ]
    data["pending_tie"] = [
        {"ids": list(t.ids), "pending": t.pending, "involves_first": t.involves_first}
        for t in result.ties
        if t.pending and t.involves_first
    ]
    data["trail"] = list(getattr(result, "trail", ()))
    data["improvements"] = {k: str(v) for k, v in (improvements or {}).items()}
    data["draw_order"] = list(draw_order or [])
    version = (lot.runs.aggregate(m=Max("version"))["m"] or 0) + 1
    run = ScoreRun.objects.create(
        lot=lot,
        version=version,
        reason=reason,
        stage=stage,
        supersedes=latest_run(lot, stage),
        note=note,
        created_at=now,
        created_by=user,
        admitted=[p.pk for p in participants],
        result=data,
    )
    audit(
        action="punteggi calcolati",
        actor=user,
        obj=run,
        tender=lot.tender,
        now=now,
        payload={"version": version, "reason": reason, "stage": stage},
    )
    return run


def latest_run(lot: Lot, stage: str | None = None) -> ScoreRun | None:
    qs = lot.runs.all()
    if stage:
        qs = qs.filter(stage=stage)
    return qs.order_by("-version").first()


def technical_finalise(*, user, lot: Lot, now) -> ScoreRun:
    """§5.3 L10: every coefficient present; technical scores computed and published."""
    require_president_or_staff(user, lot)
    with transaction.atomic():
        lot = lock_lot(lot)
        _require_status(lot, LotStatus.TECH_EVALUATION)
        run = _run(lot, user=user, now=now, reason="INITIAL", stage="TECHNICAL")
        _move(lot, lot.publish_technical, user=user, now=now, action="punteggi tecnici pubblicati")
        _minutes(lot, SessionKind.TECH_OPENING, user=user, now=now, run=run)
        for p in admitted(lot):
            row = next((o for o in run.result["offers"] if o["id"] == str(p.pk)), None)
            communication_send(
                user=user,
                tender=lot.tender,
                operator=p.operator,
                kind="TECH_SCORES",
                subject=_("Punteggi tecnici – gara %(code)s") % {"code": lot.tender.code},
                body=_("Il tuo punteggio tecnico è %(score)s.")
                % {"score": row["technical"] if row else "—"},
                now=now,
            )
    return run


def _after_full_run(lot: Lot, run: ScoreRun, *, user, now) -> None:
    from .common import is_staff_of  # noqa: F401 (kept local for clarity)

    pending = run.result.get("pending_tie") or []
    if pending and pending[0]["pending"] == "IMPROVEMENT_OFFER" and lot.status == LotStatus.RANKED:
        _move(
            lot,
            lot.start_tie_break,
            user=user,
            now=now,
            action="parità al primo posto: offerte migliorative",
        )
        deadline = deadlines.improvement_deadline(now)
        for pid in pending[0]["ids"]:
            p = Participant.objects.select_related("operator").get(pk=int(pid))
            ImprovementOffer.objects.create(participant=p, requested_at=now, deadline=deadline)
            communication_send(
                user=user,
                tender=lot.tender,
                operator=p.operator,
                kind="IMPROVEMENT_REQUEST",
                subject=_("Richiesta di offerta migliorativa – gara %(code)s")
                % {"code": lot.tender.code},
                body=_(
                    "La tua offerta è prima a pari merito. Puoi presentare un'offerta "
                    "migliorativa sul ribasso entro il %(d)s."
                )
                % {"d": fmt_dt(deadline)},
                now=now,
            )
    elif pending and pending[0]["pending"] == "DRAW" and lot.status == LotStatus.RANKED:
        _move(
            lot, lot.start_tie_break, user=user, now=now, action="parità al primo posto: sorteggio"
        )


def ranking_compute(*, user, lot: Lot, now) -> ScoreRun:
    """§5.3 L12: all C opened; inadmissible offers excluded (D-46); ranking and ties."""
    require_president_or_staff(user, lot)
    with transaction.atomic():
        lot = lock_lot(lot)
        _require_status(lot, LotStatus.ECON_OPENING)
        run = _run(lot, user=user, now=now, reason="INITIAL", stage="FULL")
        inadmissible = run.result.get("inadmissible") or []
        for item in inadmissible:
            p = Participant.objects.get(pk=int(item["id"]))
            exclusion_adopt(
                user=user,
                participant=p,
                phase="ECONOMIC",
                grounds=_("Offerta economica inammissibile: %(r)s") % {"r": item["reason"]},
                now=now,
            )
        if inadmissible:
            run = _run(lot, user=user, now=now, reason="EXCLUSION_AFTER_SCORING", stage="FULL")
        _move(
            lot,
            lot.rank,
            user=user,
            now=now,
            action="graduatoria formata",
            payload={"run": run.version},
        )
        _minutes(lot, SessionKind.ECON_OPENING, user=user, now=now, run=run)
        _after_full_run(lot, run, user=user, now=now)
    return run


def improvement_submit(*, user, improvement: ImprovementOffer, discount, now) -> ImprovementOffer:
    require_operator(user, improvement.participant.operator)
    if now >= improvement.deadline:
        raise GareError(
            _("Il termine per l'offerta migliorativa è scaduto il %(d)s.")
            % {"d": fmt_dt(improvement.deadline)}
        )
    try:
        value = Decimal(str(discount).replace(",", ".")).quantize(
            Decimal("0.01"), rounding="ROUND_DOWN"
        )
    except Exception:
        raise GareError(_("Indica il ribasso migliorativo come numero.")) from None
    eco, _resolutions = resolve_economic(
        envelope_data(improvement.participant.current_offer.envelopes.get(type="C"))
    )
    if value < Decimal(eco["discount"]) or value >= 100:
        raise GareError(
            _("Il ribasso migliorativo non può essere inferiore al ribasso già offerto.")
        )
    with transaction.atomic():
        improvement = ImprovementOffer.objects.select_for_update().get(pk=improvement.pk)
        if improvement.opened_at is not None:
            raise GareError(_("Le offerte migliorative sono già state aperte."))
        # Sealed like the envelopes (R-GARE-117): nobody reads it before the opening session.
        improvement.sealed_discount = sealing.seal(
            improvement.participant.lot.tender,
            str(value).encode(),
            context=f"improvement:{improvement.pk}",
        )
        improvement.discount = None
        improvement.submitted_at = now
        improvement.save()
        audit(
            action="offerta migliorativa presentata",
            actor=user,
            obj=improvement.participant,
            tender=improvement.participant.lot.tender,
            now=now,
        )
    return improvement


def improvements_open(*, user, lot: Lot, now) -> ScoreRun:
    """§5.3 L14: after the deadline (or when all replied), the improved discounts are applied."""
    require_president_or_staff(user, lot)
    with transaction.atomic():
        lot = lock_lot(lot)
        _require_status(lot, LotStatus.TIE_BREAK)
        pending = list(
            ImprovementOffer.objects.filter(
                participant__lot=lot, participant__status=ParticipantStatus.ADMITTED
            )
        )
        if not pending:
            raise GareError(_("Non ci sono offerte migliorative da aprire."))
        if now < max(i.deadline for i in pending):
            # Sealed until their deadline (R-GARE-117): opened together, never one by one.
            raise GareError(
                _("Le offerte migliorative si aprono dopo il termine del %(d)s.")
                % {"d": fmt_dt(max(i.deadline for i in pending))}
            )
        session = Session.objects.create(
            lot=lot, kind=SessionKind.IMPROVEMENT_OPENING, started_at=now, started_by=user
        )
        for i in pending:
            if i.opened_at is None:
                if i.sealed_discount:
                    i.discount = Decimal(
                        sealing.unseal(
                            lot.tender, bytes(i.sealed_discount), context=f"improvement:{i.pk}"
                        ).decode()
                    )
                i.opened_at = now
                i.save(update_fields=["discount", "opened_at"])
            session.events.append(
                {
                    "at": now.isoformat(),
                    "text": _("Offerta migliorativa di %(p)s: %(d)s")
                    % {
                        "p": i.participant,
                        "d": f"{i.discount}%" if i.discount is not None else _("non presentata"),
                    },
                }
            )
        session.save(update_fields=["events"])
        improvements = {str(i.participant_id): i.discount for i in pending}
        run = _run(
            lot, user=user, now=now, reason="IMPROVEMENT", stage="FULL", improvements=improvements
        )
        documents.document_request(
            lot=lot, kind="MINUTES", session=session, run=run, user=user, now=now
        )
        still = run.result.get("pending_tie") or []
        if not still:
            _move(
                lot,
                lot.rank,
                user=user,
                now=now,
                action="parità risolta con le offerte migliorative",
            )
    return run


def draw_conduct(*, user, lot: Lot, now) -> ScoreRun:
    """§5.3 L15: public draw with the platform's CSPRNG; the seed is committed and revealed."""
    require_president_or_staff(user, lot)
    with transaction.atomic():
        lot = lock_lot(lot)
        _require_status(lot, LotStatus.TIE_BREAK)
        last = latest_run(lot, "FULL")
        tied = (last.result.get("pending_tie") or [{}])[0].get("ids")
        if not tied or last.result["pending_tie"][0]["pending"] != "DRAW":
            raise GareError(_("Non c'è una parità da risolvere con il sorteggio."))
        seed = secrets.token_hex(16)
        commitment = hashlib.sha256(seed.encode()).hexdigest()
        order = sorted(tied, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
        improvements = {
            k: (Decimal(v) if v not in (None, "None") else None)
            for k, v in last.result.get("improvements", {}).items()
        } or None
        session = Session.objects.create(
            lot=lot,
            kind=SessionKind.DRAW,
            started_at=now,
            started_by=user,
            events=[
                {
                    "at": now.isoformat(),
                    "text": _("Sorteggio: impegno %(c)s, seme %(s)s, ordine %(o)s")
                    % {"c": commitment, "s": seed, "o": ", ".join(order)},
                }
            ],
        )
        run = _run(
            lot,
            user=user,
            now=now,
            reason="DRAW",
            stage="FULL",
            improvements=improvements,
            draw_order=order,
        )
        audit(
            action="sorteggio pubblico",
            actor=user,
            obj=session,
            tender=lot.tender,
            now=now,
            payload={"commitment": commitment, "seed": seed, "order": order},
        )
        _move(lot, lot.rank, user=user, now=now, action="parità risolta con sorteggio")
        documents.document_request(
            lot=lot, kind="MINUTES", session=session, run=run, user=user, now=now
        )
    return run


def recompute_after_exclusion(*, user, lot: Lot, now) -> ScoreRun:
    """D-21: a change in the admitted set after scoring produces a new versioned run."""
    run = _run(lot, user=user, now=now, reason="EXCLUSION_AFTER_SCORING", stage="FULL")
    if lot.status == LotStatus.RANKED:
        _after_full_run(lot, run, user=user, now=now)
    return run


# --- anomaly, proposal, verification, award --------------------------------------------------


def anomaly_open(
    *, user, lot: Lot, participant: Participant, components: str, received_at, deadline, now
) -> AnomalyReview:
    require_staff(user, lot.tender)
    if not deadlines.anomaly_deadline_ok(received_at, deadline):
        raise GareError(
            _(
                "Il termine per le spiegazioni non può superare 15 giorni dal ricevimento della "
                "richiesta (al più il %(d)s)."
            )
            % {
                "d": (
                    timezone.localtime(received_at).date() + datetime.timedelta(days=15)
                ).strftime("%d/%m/%Y")
            }
        )
    with transaction.atomic():
        lot = lock_lot(lot)
        _require_status(lot, LotStatus.RANKED)
        review = AnomalyReview.objects.create(
            lot=lot,
            participant=participant,
            opened_at=now,
            components=components,
            request_received_at=received_at,
            deadline=deadline,
        )
        _move(
            lot,
            lot.start_anomaly_review,
            user=user,
            now=now,
            action="verifica di anomalia avviata",
            payload={"participant": participant.pk},
        )
        communication_send(
            user=user,
            tender=lot.tender,
            operator=participant.operator,
            kind="ANOMALY_REQUEST",
            subject=_("Richiesta di spiegazioni sull'offerta – gara %(code)s")
            % {"code": lot.tender.code},
            body=_("Presenta le spiegazioni su: %(c)s, entro il %(d)s.")
            % {"c": components, "d": fmt_dt(deadline)},
            now=now,
        )
    return review


def anomaly_explain(*, user, review: AnomalyReview, text: str, now) -> AnomalyReview:
    require_operator(user, review.participant.operator)
    if now >= review.deadline:
        raise GareError(
            _("Il termine per le spiegazioni è scaduto il %(d)s.") % {"d": fmt_dt(review.deadline)}
        )
    with transaction.atomic():
        review = AnomalyReview.objects.select_for_update().get(pk=review.pk)
        review.explanations = text
        review.answered_at = now
        review.save()
        audit(
            action="spiegazioni presentate",
            actor=user,
            obj=review.participant,
            tender=review.lot.tender,
            now=now,
        )
    return review


def anomaly_conclude(*, user, review: AnomalyReview, congruous: bool, now) -> AnomalyReview:
    require_staff(user, review.lot.tender)
    with transaction.atomic():
        lot = lock_lot(review.lot)
        _require_status(lot, LotStatus.ANOMALY_REVIEW)
        review = AnomalyReview.objects.select_for_update().get(pk=review.pk)
        review.outcome = "CONGRUOUS" if congruous else "UNRELIABLE"
        review.decided_at = now
        review.save()
        _move(
            lot,
            lot.rank,
            user=user,
            now=now,
            action="verifica di anomalia conclusa",
            payload={"outcome": review.outcome},
        )
        if not congruous:
            exclusion_adopt(
                user=user,
                participant=review.participant,
                phase="ANOMALY",
                grounds=_("Offerta anormalmente bassa: spiegazioni non sufficienti."),
                now=now,
            )
            recompute_after_exclusion(user=user, lot=lot, now=now)
    return review


def current_award(lot: Lot) -> Award | None:
    return (
        lot.awards.filter(superseded_at__isnull=True)
        .select_related("participant__operator")
        .first()
    )


def award_propose(*, user, lot: Lot, now) -> Award:
    """§5.3 L19: no open tie on rank 1, no open anomaly review; the first of the last run."""
    require_president_or_staff(user, lot)
    with transaction.atomic():
        lot = lock_lot(lot)
        _require_status(lot, LotStatus.RANKED)
        run = latest_run(lot, "FULL")
        if run is None or run.result.get("pending_tie"):
            raise GareError(_("C'è una parità al primo posto ancora da risolvere."))
        first = next((o for o in run.result["offers"] if o.get("rank") == 1), None)
        if first is None:
            raise GareError(_("La graduatoria non ha un primo classificato."))
        participant = Participant.objects.get(pk=int(first["id"]))
        award = Award.objects.create(lot=lot, participant=participant, run=run, proposed_at=now)
        _move(
            lot,
            lot.propose,
            user=user,
            now=now,
            action="proposta di aggiudicazione",
            payload={"participant": participant.pk, "run": run.version},
        )
        documents.document_request(
            lot=lot, kind="AWARD_PROPOSAL", award=award, run=run, user=user, now=now
        )
    return award


def verification_start(*, user, lot: Lot, now) -> Award:
    require_staff(user, lot.tender)
    with transaction.atomic():
        lot = lock_lot(lot)
        _require_status(lot, LotStatus.PROPOSED)
        award = current_award(lot)
        award.verification_started_at = now
        award.save()
        _move(
            lot, lot.start_verification, user=user, now=now, action="verifica dei requisiti avviata"
        )
    return award


def verification_record(*, user, lot: Lot, positive: bool, note: str, now) -> Award:
    """Positive: the award may follow. Negative: exclusion, new run, new first (scrolling, L21)."""
    require_staff(user, lot.tender)
    with transaction.atomic():
        lot = lock_lot(lot)
        _require_status(lot, LotStatus.VERIFICATION)
        award = current_award(lot)
        award.verification_outcome = "POSITIVE" if positive else "NEGATIVE"
        award.verification_note = note
        if not positive:
            award.superseded_at = now
        award.save()
        audit(
            action="esito della verifica dei requisiti",
            actor=user,
            obj=lot,
            tender=lot.tender,
            now=now,
            payload={"outcome": award.verification_outcome, "note": note},
        )
        if not positive:
            exclusion_adopt(
                user=user,
                participant=award.participant,
                phase="VERIFICATION",
                grounds=_("Verifica dei requisiti negativa: %(n)s") % {"n": note},
                now=now,
            )
            _move(lot, lot.rank, user=user, now=now, action="verifica negativa: nuova graduatoria")
            recompute_after_exclusion(user=user, lot=lot, now=now)
    return award


def award_precheck(lot: Lot, *, now, self_declaration_fallback: bool = False) -> Award:
    """The conditions of the award (L22) on a locked lot; the award to adopt."""
    _require_status(lot, LotStatus.VERIFICATION)
    award = current_award(lot)
    fallback_from = deadlines.verification_fallback_from(award.proposed_at)
    if award.verification_outcome != "POSITIVE" and (
        not self_declaration_fallback or now < fallback_from
    ):
        raise GareError(
            _(
                "L'aggiudicazione richiede la verifica dei requisiti con esito positivo, "
                "oppure, trascorsi 30 giorni dalla proposta (dal %(d)s), "
                "l'autodichiarazione dell'operatore."
            )
            % {"d": fmt_dt(fallback_from)}
        )
    return award


def _require_anac_ack(lot: Lot, codes, what: str) -> None:
    """R-GARE-145: with PCP, the transition waits for ANAC's confirmation of its scheda."""
    from . import transmissions

    if lot.tender.pcp_appalto_id and not transmissions.acknowledged(lot, codes):
        raise GareError(
            _(
                "%(what)s si registra quando ANAC ha confermato la scheda %(code)s: usa il "
                "pulsante che la trasmette ad ANAC."
            )
            % {"what": what, "code": "/".join(codes)}
        )


def award_adopt(*, user, lot: Lot, now, self_declaration_fallback: bool = False) -> Award:
    """§5.3 L22: award effective at once; communications to every participant."""
    require_staff(user, lot.tender)
    with transaction.atomic():
        lot = lock_lot(lot)
        award = award_precheck(lot, now=now, self_declaration_fallback=self_declaration_fallback)
        _require_anac_ack(lot, ("A2_29", "A1_29"), _("L'aggiudicazione"))
        award.adopted_at = now
        p = Participant.objects.select_for_update().get(pk=award.participant_id)
        _move_participant(p, p.make_awardee, user=user, now=now, action="aggiudicatario")
        _move(
            lot,
            lot.award,
            user=user,
            now=now,
            action="aggiudicazione adottata",
            payload={"participant": p.pk, "fallback": self_declaration_fallback},
        )
        for other in lot.participants.exclude(status=ParticipantStatus.WITHDRAWN).select_related(
            "operator"
        ):
            communication_send(
                user=user,
                tender=lot.tender,
                operator=other.operator,
                kind="AWARD",
                subject=_("Aggiudicazione – gara %(code)s") % {"code": lot.tender.code},
                body=_("La gara è aggiudicata a %(name)s.") % {"name": p.display_name},
                now=now,
            )
        award.last_communication_sent_at = now
        award.save()
        documents.document_request(
            lot=lot, kind="AWARD_DECISION", award=award, run=award.run, user=user, now=now
        )
        publish_award(lot, award, now=now)  # open data: the award is public from now
    return award


def sign_precheck(lot: Lot, *, signed_on: datetime.date, now) -> Award:
    """The conditions of the signature (L24, D-28) on a locked lot; the award signed."""
    _require_status(lot, LotStatus.AWARDED)
    award = current_award(lot)
    earliest = deadlines.earliest_signature_date(award.last_communication_sent_at, lot.tender)
    latest = deadlines.latest_signature_date(award.adopted_at, lot.tender)
    if not (earliest <= signed_on <= latest):
        raise GareError(
            _(
                "Il contratto si può stipulare dal %(e)s al %(l)s (termine dilatorio e "
                "termine per la stipula)."
            )
            % {"e": earliest.strftime("%d/%m/%Y"), "l": latest.strftime("%d/%m/%Y")}
        )
    if signed_on > timezone.localtime(now).date():
        raise GareError(_("La data di stipula non può essere futura."))
    return award


def contract_sign(*, user, lot: Lot, signed_on: datetime.date, now) -> Award:
    """§5.3 L24: not before the standstill (D-28) and within 60 days from the award."""
    require_staff(user, lot.tender)
    with transaction.atomic():
        lot = lock_lot(lot)
        award = sign_precheck(lot, signed_on=signed_on, now=now)
        _require_anac_ack(lot, ("SC1",), _("La stipula"))
        award.signed_on = signed_on
        award.save()
        _move(
            lot,
            lot.sign_contract,
            user=user,
            now=now,
            action="contratto stipulato",
            payload={"signed_on": signed_on.isoformat()},
        )
        publish_contract(lot, award, now=now)
    return award


def is_commissioner(user, lot: Lot) -> bool:
    return lot.commission.filter(user=user).exists()


def can_manage(user, lot: Lot) -> bool:
    return is_staff_of(user, lot.tender, roles=(Role.RUP, Role.BOARD)) or is_commissioner(user, lot)
