"""Requirement verification of the proposed awardee through FVOE (R-GARE-132, R-GARE-146, D-57).

Only for a lot whose tender is linked to a kernel PCP *appalto* that has ANAC's idAppalto; a
tender with a typed CIG (simulator environment) has no FVOE and keeps the manual flow of
``procedure.verification_start / verification_record / award_adopt`` with the 30-day
self-declaration fallback (D-29).

Flow, and why it is shaped this way:

1. ``verification_fvoe_start`` (the RUP, from the page, with his strong session): in one
   transaction the lot moves to VERIFICATION if needed and a ``RequirementVerification`` row is
   written QUEUED with the subjects whose files are requested (the awardee, the members of a
   grouping, executors and auxiliaries) and the RUP's identity for the tracking JWS. That row is
   the outbox: the ANAC call is made after commit (Celery task), and the periodic sweep sends
   whatever a lost task left QUEUED, so nothing is lost.
2. ``verification_fvoe_submit`` claims the row with a conditional update, calls
   ``richiesta-accesso-fvoe`` outside any transaction, then records the answer under a row lock:
   REQUESTED (idRichiesta), REJECTED (ANAC said no), back to QUEUED with a later attempt when
   FVOE is not available (the first failure is kept as the malfunction of §24), UNKNOWN when the
   answer was lost (the next poll reconciles it through verifica-richiesta-accesso-fvoe).
3. ``verification_fvoe_poll`` (after the ack, from the page, or by the sweep with the stored
   identity as the kernel does) asks ANAC the state of each subject's authorisation; once every
   subject has authorised, it lists their files and retrieves each document, stored in the
   kernel's documents with its SHA-256. The access key (chiaveAccesso) is used in memory only.
4. ``verification_fvoe_outcome`` (the RUP/RPA) records the outcome using the documents, through
   ``procedure.verification_record``: a negative outcome excludes and recomputes (L21).

`gare` never imports the `fvoe` app: the calls go through ``procurement.anac.fvoe.FvoeClient``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from procurement.accounts.models import Role
from procurement.anac.errors import (
    AnacError,
    AnacNotFound,
    AnacRejected,
    AnacUnknownOutcome,
)
from procurement.anac.fvoe import (
    FINAL_AUTHORISATION_STATES,
    AuthorisationState,
    FvoeClient,
    is_transient,
)
from procurement.anac.identity import Actor
from procurement.anac.pdnd import PdndError
from procurement.anac.transport import CallContext
from procurement.documents.services import DocumentError, document_upload
from procurement.documents.uses import OFFICE_TYPES, DocumentUse, register_use

from .. import signatories
from ..models import (
    AnacContribution,
    AnacContributionOutcome,
    FvoeCheckStatus,
    Lot,
    LotStatus,
    Participant,
    RequirementVerification,
    RequirementVerificationDocument,
    RequirementVerificationSubject,
    VerificationOutcome,
    VerificationSubjectRole,
)
from . import procedure
from .common import GareError, audit, is_staff_of, lock_lot, require_staff

logger = logging.getLogger(__name__)

USE_FVOE_DOCUMENT = "gare_fvoe_document"
register_use(
    DocumentUse(
        code=USE_FVOE_DOCUMENT,
        label=gettext_lazy("Documento acquisito dal FVOE"),
        content_types=OFFICE_TYPES | frozenset({"application/zip", "text/plain"}),
    )
)

LIVE = (
    FvoeCheckStatus.QUEUED,
    FvoeCheckStatus.SENDING,
    FvoeCheckStatus.UNKNOWN,
    FvoeCheckStatus.REQUESTED,
    FvoeCheckStatus.AUTHORISED,
)
POLLABLE = (FvoeCheckStatus.UNKNOWN, FvoeCheckStatus.REQUESTED, FvoeCheckStatus.AUTHORISED)
RETRY_BACKOFF = (60, 300, 900, 3600)  # seconds; then hourly
SENDING_TIMEOUT = timedelta(minutes=10)  # a claimed send that never recorded its answer
POLL_EVERY = timedelta(minutes=30)  # background polls while waiting for the operators
POLL_THROTTLE = timedelta(seconds=20)  # two polls of the same row closer than this: one only
ACCESS_START_DELAY = timedelta(seconds=60)  # dataInizioAutorizzazione not in the past at ANAC

MSG_NO_FVOE = (
    "Il FVOE non è disponibile per questo lotto: la gara non è collegata a un appalto PCP con "
    "idAppalto ANAC (CIG inserito a mano). Registrare la verifica dei requisiti manualmente."
)
MSG_NOT_RUP = (
    "La verifica FVOE si avvia con l'identità del RUP dell'appalto, autenticato con SPID, CIE o "
    "CNS."
)


# --- reading ---------------------------------------------------------------------------------


def appalto_of(lot: Lot):
    """The kernel PCP appalto of the lot's tender when ANAC gave it an idAppalto, else None."""
    appalto = getattr(lot.tender, "pcp_appalto", None)
    if appalto is None or not appalto.id_appalto:
        return None
    return appalto


def fvoe_available(lot: Lot) -> bool:
    return appalto_of(lot) is not None


def verifications_of(lot: Lot):
    return (
        RequirementVerification.objects.filter(lot=lot)
        .select_related("participant", "award", "requested_by", "outcome_by")
        .prefetch_related("subjects", "documents__subject", "documents__file")
        .order_by("-created_at", "-pk")
    )


def live_verification(lot: Lot, award) -> RequirementVerification | None:
    if award is None:
        return None
    return (
        RequirementVerification.objects.filter(award=award, status__in=LIVE)
        .order_by("-created_at")
        .first()
    )


@dataclass(frozen=True)
class SubjectRef:
    tax_code: str
    name: str
    role: str


_ROLES = {
    signatories.LEAD: VerificationSubjectRole.LEAD,
    signatories.MEMBER: VerificationSubjectRole.MEMBER,
    signatories.COMMON_BODY: VerificationSubjectRole.COMMON_BODY,
    signatories.EXECUTOR: VerificationSubjectRole.EXECUTOR,
    signatories.AUXILIARY: VerificationSubjectRole.AUXILIARY,
}


def subjects_of(participant: Participant) -> list[SubjectRef]:
    """The undertakings whose FVOE files are needed (§24 step 1): the bidder, then each member,
    executor and auxiliary declared in the offer (their 11-digit tax number), without repeats."""
    found: dict[str, SubjectRef] = {}
    own = (participant.operator.tax_code or participant.operator.vat_number or "").upper()
    if own:
        found[own] = SubjectRef(own, participant.operator.name, VerificationSubjectRole.BIDDER)
    for subject in signatories.parse_members(participant.members):
        code = subject.company_code
        if code and code not in found:
            name = subject.text.replace(code, "").strip(" -,")
            found[code] = SubjectRef(code, name[:255] or code, _ROLES[subject.role])
    return list(found.values())


def may_view(user, lot: Lot) -> bool:
    return is_staff_of(user, lot.tender)


# --- start -----------------------------------------------------------------------------------


def _require_rup_identity(user, appalto, actor: Actor) -> None:
    """The identity sent to ANAC must be the appalto's RUP's, the user who starts the check."""
    if appalto.rup_id != user.pk or (actor.tax_code or "") != (user.tax_code or ""):
        raise PermissionDenied(_(MSG_NOT_RUP))


def _on_commit_task(name: str, *args) -> None:
    """Queue a gare task after commit; if the broker is down the sweep picks the row up."""

    def send():
        from .. import tasks

        try:
            getattr(tasks, name).delay(*args)
        except Exception:  # broker down: verification_fvoe_sweep resubmits
            logger.warning("gare: could not queue %s%r", name, args, exc_info=True)

    transaction.on_commit(send)


def verification_fvoe_start(*, user, lot: Lot, actor: Actor, now: datetime):
    """ "Avvia verifica FVOE": access request to the proposed awardee's files (L20, §24)."""
    require_staff(user, lot.tender)
    appalto = appalto_of(lot)
    if appalto is None:
        raise GareError(_(MSG_NO_FVOE))
    _require_rup_identity(user, appalto, actor)
    with transaction.atomic():
        lot = lock_lot(lot)
        if lot.status == LotStatus.PROPOSED:
            procedure.verification_start(user=user, lot=lot, now=now)
            lot.refresh_from_db()
        if lot.status != LotStatus.VERIFICATION:
            raise GareError(
                _("La verifica FVOE si avvia dopo la proposta di aggiudicazione (stato: %(s)s).")
                % {"s": lot.get_status_display()}
            )
        award = procedure.current_award(lot)
        if award is None:
            raise GareError(_("Il lotto non ha una proposta di aggiudicazione in corso."))
        if live_verification(lot, award) is not None:
            raise GareError(
                _("C'è già una richiesta FVOE in corso per %(p)s.") % {"p": award.participant}
            )
        participant = Participant.objects.select_related("operator").get(pk=award.participant_id)
        subjects = subjects_of(participant)
        if not subjects:
            raise GareError(
                _("L'operatore %(p)s non ha un codice fiscale: il FVOE non si può consultare.")
                % {"p": participant}
            )
        verification = RequirementVerification.objects.create(
            lot=lot,
            award=award,
            participant=participant,
            cig=lot.cig,
            id_appalto=str(appalto.id_appalto),
            requested_by=user,
            actor_tax_code=actor.tax_code,
            actor_role=actor.role,
            actor_loa=actor.loa,
            actor_idp=actor.idp_type,
            sa_ausa_code=actor.sa_ausa,
            sa_tax_code=actor.sa_tax_code,
            access_start_at=now + ACCESS_START_DELAY,
            created_at=now,
        )
        RequirementVerificationSubject.objects.bulk_create(
            RequirementVerificationSubject(
                verification=verification, tax_code=s.tax_code, name=s.name, role=s.role
            )
            for s in subjects
        )
        audit(
            action="verifica FVOE avviata",
            actor=user,
            obj=verification,
            tender=lot.tender,
            now=now,
            to_state=verification.status,
            payload={
                "participant": participant.pk,
                "operatori": [s.tax_code for s in subjects],
                "idAppalto": verification.id_appalto,
            },
        )
        _on_commit_task("fvoe_verification_submit", verification.pk)
    return verification


# --- ANAC calls (never inside a transaction) ---------------------------------------------------


def _ctx(verification: RequirementVerification, *, trigger: str, label: str) -> CallContext:
    appalto = verification.lot.tender.pcp_appalto
    return CallContext(
        actor=verification.actor,
        business_flow_id=verification.id_appalto,
        trigger=trigger,
        appalto_id=appalto.pk if appalto else None,
        object_label=f"{label} {verification.pk}"[:120],
    )


def _error_text(exc: AnacError) -> str:
    if isinstance(exc, AnacRejected) and exc.errors:
        return " ".join(
            _("ANAC ha restituito un errore: %(c)s – %(d)s.")
            % {"c": e.codice, "d": e.descrizione or _("errore non censito")}
            for e in exc.errors
        )
    return _("Servizio FVOE non disponibile: %(e)s") % {"e": exc}


def _backoff(attempts: int) -> timedelta:
    index = max(attempts, 1) - 1
    return timedelta(seconds=RETRY_BACKOFF[index] if index < len(RETRY_BACKOFF) else 3600)


def verification_fvoe_submit(*, verification_id: int, now: datetime, client=None) -> str:
    """Send a QUEUED access request to ANAC and record the answer. Safe to run twice."""
    claimed = (
        RequirementVerification.objects.filter(pk=verification_id, status=FvoeCheckStatus.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=FvoeCheckStatus.SENDING, sent_at=now)
    )
    if claimed != 1:
        return "already"
    verification = RequirementVerification.objects.select_related("lot__tender__pcp_appalto").get(
        pk=verification_id
    )
    codes = list(verification.subjects.values_list("tax_code", flat=True))
    fvoe = client or FvoeClient()
    try:
        ack = fvoe.request_access(
            ctx=_ctx(verification, trigger="user", label=_("verifica requisiti")),
            id_appalto=verification.id_appalto,
            operator_tax_codes=codes,
            start=verification.access_start_at,
            requester_tax_code=verification.sa_tax_code,
            requester_ausa=verification.sa_ausa_code
            if len(verification.sa_ausa_code) == 10
            else "",
        )
        outcome = ("ack", ack.id_richiesta, "")
    except AnacUnknownOutcome as exc:
        outcome = ("unknown", "", _error_text(exc))
    except AnacError as exc:
        outcome = ("retry" if is_transient(exc) else "rejected", "", _error_text(exc))
    except PdndError as exc:  # the voucher could not be obtained: nothing reached FVOE
        outcome = ("retry", "", _("Servizio FVOE non disponibile: %(e)s") % {"e": exc})
    finally:
        if client is None:
            fvoe.close()

    kind, id_richiesta, error = outcome
    with transaction.atomic():
        locked = RequirementVerification.objects.select_for_update().get(pk=verification_id)
        if locked.status != FvoeCheckStatus.SENDING:
            return locked.status
        locked.attempts += 1
        locked.last_error = error
        if kind == "ack":
            locked.status = FvoeCheckStatus.REQUESTED
            locked.id_richiesta = id_richiesta
            locked.acked_at = now
            locked.next_attempt_at = None
        elif kind == "unknown":
            # No answer (timeout, 5xx): reconciled by the next poll before any resend.
            locked.status = FvoeCheckStatus.UNKNOWN
            locked.unavailable_since = locked.unavailable_since or now
        elif kind == "retry":
            locked.status = FvoeCheckStatus.QUEUED
            locked.next_attempt_at = now + _backoff(locked.attempts)
            locked.unavailable_since = locked.unavailable_since or now
            # dataInizioAutorizzazione must not be in the past when the request is resent.
            locked.access_start_at = locked.next_attempt_at + ACCESS_START_DELAY
        else:
            locked.status = FvoeCheckStatus.REJECTED
        locked.save()
        audit(
            action="richiesta FVOE trasmessa",
            actor=None,
            obj=locked,
            tender=verification.lot.tender,
            now=now,
            from_state=FvoeCheckStatus.SENDING,
            to_state=locked.status,
            payload={"idRichiesta": locked.id_richiesta, "errore": error},
        )
        if kind == "ack":
            # A new phase: ask at once (the operator may have answered already), whatever the
            # throttle of the polls that came before a resend.
            _on_commit_task("fvoe_verification_poll", locked.pk, True)
    return locked.status


@dataclass
class _Fetched:
    """What one poll learned from ANAC, applied afterwards in one short transaction."""

    auth: dict  # subject pk -> Authorisation
    not_found: set
    documents: list  # (subject pk, DocumentInfo, DocumentContent | None, error)
    error: str = ""
    transient: bool = False


def _fetch(verification, fvoe, *, trigger: str, stored_ids: set[str]) -> _Fetched:
    ctx = _ctx(verification, trigger=trigger, label=_("verifica requisiti"))
    fetched = _Fetched(auth={}, not_found=set(), documents=[])
    subjects = list(verification.subjects.all())
    keys = {}
    try:
        for subject in subjects:
            try:
                result = fvoe.verify_access(
                    ctx=ctx, operator_tax_code=subject.tax_code, id_appalto=verification.id_appalto
                )
            except AnacNotFound:
                fetched.not_found.add(subject.pk)
                continue
            fetched.auth[subject.pk] = result
            if result.is_authorised and result.access_key:
                keys[subject.pk] = result.access_key
        if subjects and len(keys) == len(subjects):
            for subject in subjects:
                for info in fvoe.iter_documents(ctx=ctx, access_key=keys[subject.pk]):
                    if info.is_deleted or info.id_documento in stored_ids:
                        continue
                    try:
                        content = fvoe.retrieve_document(ctx=ctx, id_documento=info.id_documento)
                    except AnacError as exc:
                        fetched.documents.append((subject.pk, info, None, _error_text(exc)))
                        continue
                    error = "" if content.size_matches else _("dimensione diversa da quella")
                    fetched.documents.append((subject.pk, info, content, error))
    except AnacError as exc:
        fetched.error = _error_text(exc)
        fetched.transient = is_transient(exc)
    except PdndError as exc:
        fetched.error = _("Servizio FVOE non disponibile: %(e)s") % {"e": exc}
        fetched.transient = True
    return fetched


def _claim_poll(verification_id: int, now: datetime, *, force: bool) -> bool:
    rows = RequirementVerification.objects.filter(pk=verification_id, status__in=POLLABLE)
    if not force:
        rows = rows.filter(
            Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=now - POLL_THROTTLE)
        )
    return rows.update(last_polled_at=now) == 1


def verification_fvoe_poll(
    *, verification_id: int, now: datetime, client=None, trigger: str = "scheduler", force=False
) -> str:
    """Ask ANAC the authorisations and, once every subject authorised, retrieve the documents."""
    if not _claim_poll(verification_id, now, force=force):
        return "skipped"
    verification = RequirementVerification.objects.select_related(
        "lot__tender__pcp_appalto", "lot__tender__organisation", "requested_by"
    ).get(pk=verification_id)
    stored_ids = set(
        verification.documents.filter(file__isnull=False).values_list("id_documento", flat=True)
    )
    fvoe = client or FvoeClient()
    try:
        fetched = _fetch(verification, fvoe, trigger=trigger, stored_ids=stored_ids)
    finally:
        if client is None:
            fvoe.close()
    # Files are written to storage outside the row lock (document_upload has its own short
    # transaction); only the link to the verification is written under the lock below.
    stored = [_store(verification, item, now=now) for item in fetched.documents]
    return _apply_poll(verification_id, fetched, stored, now=now)


def _store(verification, item, *, now):
    subject_pk, info, content, error = item
    version = None
    if content is not None and not error:
        try:
            version = document_upload(
                user=verification.requested_by,
                organisation=verification.lot.tender.organisation,
                use=USE_FVOE_DOCUMENT,
                title=(info.type_label or info.subject or info.id_documento)[:255],
                uploaded_file=SimpleUploadedFile(
                    content.file_name, content.content, content_type=content.content_type
                ),
                now=now,
            )
        except (DocumentError, PermissionDenied) as exc:
            error = getattr(exc, "message", str(exc))
    return subject_pk, info, version, error


def _apply_poll(verification_id: int, fetched: _Fetched, stored: list, *, now) -> str:
    with transaction.atomic():
        locked = (
            RequirementVerification.objects.select_for_update(of=("self",))
            .select_related("lot__tender")
            .get(pk=verification_id)
        )
        before = locked.status
        if locked.status not in POLLABLE:
            return locked.status
        subjects = {s.pk: s for s in locked.subjects.select_for_update()}
        for pk, result in fetched.auth.items():
            subject = subjects[pk]
            subject.auth_state = result.state_code[:2]
            subject.auth_state_label = (result.state_label or result.state_code)[:100]
            subject.auth_reason = result.reason[:500]
            subject.checked_at = now
            if result.is_authorised and subject.authorised_at is None:
                subject.authorised_at = now
            subject.save()
            if locked.status == FvoeCheckStatus.UNKNOWN and result.id_richiesta:
                # Reconciliation: ANAC registered the request whose answer was lost.
                locked.id_richiesta = result.id_richiesta
                locked.status = FvoeCheckStatus.REQUESTED
                locked.acked_at = locked.acked_at or now
        if locked.status == FvoeCheckStatus.UNKNOWN and fetched.not_found == set(subjects):
            # ANAC never received it: send it again (same data, a later start date).
            locked.status = FvoeCheckStatus.QUEUED
            locked.next_attempt_at = now
            locked.access_start_at = now + ACCESS_START_DELAY
        states = [subjects[pk].auth_state for pk in subjects]
        if locked.status in (FvoeCheckStatus.REQUESTED, FvoeCheckStatus.AUTHORISED):
            if any(state in FINAL_AUTHORISATION_STATES for state in states):
                locked.status = FvoeCheckStatus.REFUSED
            elif states and all(state == AuthorisationState.AUTHORISED for state in states):
                locked.status = FvoeCheckStatus.AUTHORISED
                locked.authorised_at = locked.authorised_at or now
        added = 0
        for subject_pk, info, version, error in stored:
            row = RequirementVerificationDocument.objects.filter(
                verification=locked, id_documento=info.id_documento
            ).first() or RequirementVerificationDocument(
                verification=locked, subject_id=subject_pk, id_documento=info.id_documento
            )
            if row.file_id is not None:
                continue
            row.type_code = info.type_code[:10]
            row.type_label = (info.type_label or "")[:255]
            row.title = info.subject[:500]
            row.issued_at = info.issued_at
            row.valid_until = info.valid_until
            row.error = error[:500]
            if version is not None:
                row.file = version
                row.sha256 = version.sha256
                row.size = version.size
                row.retrieved_at = now
                added += 1
            try:
                with transaction.atomic():
                    row.save()
            except IntegrityError:  # a concurrent poll stored it first
                continue
        if locked.status == FvoeCheckStatus.AUTHORISED and not fetched.error:
            complete = not any(error for _s, _i, _v, error in stored)
            if complete and locked.documents_retrieved_at is None:
                locked.documents_retrieved_at = now
        if fetched.error:
            locked.last_error = fetched.error
            if fetched.transient:
                locked.unavailable_since = locked.unavailable_since or now
        else:
            locked.last_error = ""
        locked.save()
        if locked.status != before or added:
            audit(
                action="verifica FVOE aggiornata",
                actor=None,
                obj=locked,
                tender=locked.lot.tender,
                now=now,
                from_state=before,
                to_state=locked.status,
                payload={
                    "autorizzazioni": {
                        subjects[pk].tax_code: subjects[pk].auth_state for pk in subjects
                    },
                    "documenti": [
                        {"idDocumento": i.id_documento, "sha256": v.sha256}
                        for _s, i, v, _e in stored
                        if v is not None
                    ],
                },
            )
    return locked.status


def verification_fvoe_refresh(*, user, verification: RequirementVerification, now) -> None:
    """ "Aggiorna": poll ANAC now (after the request), with the identity stored with the row."""
    require_staff(user, verification.lot.tender)
    if verification.status not in POLLABLE and verification.status != FvoeCheckStatus.QUEUED:
        raise GareError(_("La richiesta FVOE è conclusa: non c'è nulla da aggiornare."))
    if verification.status == FvoeCheckStatus.QUEUED:
        RequirementVerification.objects.filter(
            pk=verification.pk, status=FvoeCheckStatus.QUEUED
        ).update(next_attempt_at=now)
        _on_commit_task("fvoe_verification_submit", verification.pk)
    else:
        _on_commit_task("fvoe_verification_poll", verification.pk, True)


# --- outcome ---------------------------------------------------------------------------------


def verification_fvoe_outcome(
    *, user, verification: RequirementVerification, positive: bool, note: str, now
) -> RequirementVerification:
    """The RUP/RPA records the outcome on the documents received (L21 / L22 precondition)."""
    require_staff(user, verification.lot.tender)
    note = (note or "").strip()
    if not positive and not note:
        raise GareError(_("Indica i motivi dell'esito negativo."))
    with transaction.atomic():
        lock_lot(verification.lot)
        locked = RequirementVerification.objects.select_for_update(of=("self",)).get(
            pk=verification.pk
        )
        if locked.outcome != VerificationOutcome.PENDING:
            raise GareError(_("L'esito di questa verifica è già stato registrato."))
        if locked.award.superseded_at is not None:
            raise GareError(
                _("La proposta di aggiudicazione verificata non è più quella in corso.")
            )
        if positive and locked.documents_retrieved_at is None:
            raise GareError(
                _(
                    "L'esito positivo si registra sui documenti acquisiti dal FVOE: "
                    "i documenti non sono ancora stati acquisiti."
                )
            )
        procedure.verification_record(
            user=user, lot=locked.lot, positive=positive, note=note, now=now
        )
        locked.outcome = VerificationOutcome.POSITIVE if positive else VerificationOutcome.NEGATIVE
        locked.outcome_note = note
        locked.outcome_by = user
        locked.outcome_at = now
        locked.save()
        audit(
            action="esito della verifica FVOE",
            actor=user,
            obj=locked,
            tender=locked.lot.tender,
            now=now,
            payload={
                "outcome": locked.outcome,
                "note": note,
                "documenti": list(
                    locked.documents.filter(file__isnull=False).values_list("sha256", flat=True)
                ),
            },
        )
    return locked


# --- periodic --------------------------------------------------------------------------------


def verification_fvoe_sweep(*, now: datetime, client=None, limit: int = 100) -> dict:
    """Idempotent: send QUEUED rows that are due, mark stale sends UNKNOWN, poll waiting rows."""
    stale = RequirementVerification.objects.filter(
        status=FvoeCheckStatus.SENDING, sent_at__lt=now - SENDING_TIMEOUT
    ).update(status=FvoeCheckStatus.UNKNOWN)
    sent = polled = 0
    due = RequirementVerification.objects.filter(status=FvoeCheckStatus.QUEUED).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    for pk in due.values_list("pk", flat=True)[:limit]:
        sent += verification_fvoe_submit(verification_id=pk, now=now, client=client) != "already"
    waiting = (
        RequirementVerification.objects.filter(
            status__in=POLLABLE, outcome=VerificationOutcome.PENDING
        )
        .filter(Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=now - POLL_EVERY))
        .exclude(status=FvoeCheckStatus.AUTHORISED, documents_retrieved_at__isnull=False)
    )
    for pk in waiting.values_list("pk", flat=True)[:limit]:
        polled += verification_fvoe_poll(verification_id=pk, now=now, client=client) != "skipped"
    return {"stale": stale, "sent": sent, "polled": polled}


# --- ANAC fee (R-GARE-054, at the administrative check) ----------------------------------------


def anac_contribution_record(
    *,
    user,
    participant: Participant,
    outcome: str,
    note: str = "",
    evidence: RequirementVerificationDocument | None = None,
    now: datetime,
) -> AnacContribution:
    """Record the outcome of the ANAC fee check of one participant for the lot's CIG.

    `evidence` is the FVOE document the outcome rests on (a receipt in the participant's file);
    a NOT_FOUND outcome is what starts the soccorso istruttorio of R-GARE-054 (admincheck).
    The seggio records it as part of the administrative check (matrix row 14), the RUP/RPA too;
    ``admincheck.anac_fee_check`` is the step of the check that also settles its checklist item.
    """
    lot = participant.lot
    require_staff(user, lot.tender, roles=(Role.RUP, Role.BOARD))
    if outcome not in AnacContributionOutcome.values or outcome == AnacContributionOutcome.PENDING:
        raise GareError(_("Indica l'esito della verifica del contributo ANAC."))
    if outcome == AnacContributionOutcome.PAID and evidence is None and not (note or "").strip():
        raise GareError(
            _("Per l'esito «pagato» indica il documento FVOE o gli estremi del pagamento.")
        )
    if evidence is not None and evidence.verification.lot_id != lot.pk:
        raise GareError(_("Il documento indicato non appartiene a questo lotto."))
    with transaction.atomic():
        lock_lot(lot)
        check = AnacContribution.objects.create(
            participant=participant,
            cig=lot.cig,
            amount_due=lot.anac_contribution_amount,
            outcome=outcome,
            verification=evidence.verification if evidence is not None else None,
            evidence=evidence,
            note=(note or "").strip(),
            checked_by=user,
            checked_at=now,
        )
        audit(
            action="verifica del contributo ANAC",
            actor=user,
            obj=check,
            tender=lot.tender,
            now=now,
            to_state=outcome,
            payload={
                "participant": participant.pk,
                "cig": lot.cig,
                "sha256": evidence.sha256 if evidence is not None else "",
            },
        )
    return check


def anac_contribution_latest(participant: Participant) -> AnacContribution | None:
    return participant.anac_contributions.order_by("-checked_at", "-pk").first()
