"""Document requests to certifying bodies through ANAC (R1–R6): "Richiedi documento", the
submission after commit, and the polling of verifica-stato-richiesta-documento."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.accounts.models import User
from procurement.anac.errors import AnacError, AnacRejected, AnacUnavailable
from procurement.anac.fvoe import document_type_label
from procurement.audit.services import audit_record
from procurement.notifications.services import notify

from .models import (
    AuthorizationStatus,
    DocumentOrigin,
    DocumentRequestItemStatus,
    DocumentRequestStatus,
    FvoeAuthorization,
    FvoeDocument,
    FvoeDocumentRequest,
    FvoeDocumentRequestItem,
    FvoeDocumentVersion,
    RetrievalState,
)
from .services import (
    MSG_UNREACHABLE,
    CheckTrigger,
    FvoeError,
    _client,
    _close,
    _ctx,
    _document_upsert,
    _error_rows,
    _on_commit_task,
    actor_for,
    conf,
    maintenance_window,
    msg_anac_error,
    msg_no_rup_session,
    require_fvoe_user,
    require_no_maintenance,
    rup_active_session,
    rup_in_charge,
    rup_read_session,
)

logger = logging.getLogger(__name__)

MSG_REGISTERED_WITHOUT_ID = "Richiesta registrata da ANAC, identificativo non disponibile"

# --- document requests to certifying bodies (R1–R6) -------------------------------------------

# Appendix C: types offered, and the datiRichiesta model each needs (None: no data).
REQUESTABLE_TYPES = {
    "00033": None,
    "00021": None,
    "00034": None,
    "00042": None,
    "00007": None,
    "00008": None,
    "00010": None,
    "00011": None,
    "00038": None,
    "00039": None,
    "00004": "DatiSA00004",
    "00005": "DatiSA00020",
    "00035": "DatiSA00036",
    "00041": "DatiSA00036",
    "00036": "DatiSA00047",
    "00037": "DatiSA00048",
    "00001": "DatiSA00050",
    "00899": "DatiSA00899",
}


def requestable_types() -> list[tuple[str, str]]:
    return [(code, document_type_label(code) or code) for code in REQUESTABLE_TYPES]


def _validate_request_data(type_code: str, data: dict | None) -> dict | None:

    model = REQUESTABLE_TYPES[type_code]
    if model is None:
        return None
    data = dict(data or {})
    data["type"] = model
    if model in ("DatiSA00047", "DatiSA00048"):
        if not re.fullmatch(r"[A-Z0-9]{10}", str(data.get("matr_OE") or "")):
            raise FvoeError(
                _(
                    "La matricola INPS (matr_OE) deve essere di 10 caratteri, lettere "
                    "maiuscole o cifre."
                )
            )
        if not re.fullmatch(r"\d{4}", str(data.get("anno") or "")):
            raise FvoeError(_("Indicare l'anno di riferimento (4 cifre)."))
    elif model == "DatiSA00899":
        tipo = str(data.get("tipoDocumentoOE") or "").strip()
        if not tipo or len(tipo) > 255:
            raise FvoeError(
                _("Indicare il tipo di documento richiesto (al massimo 255 caratteri).")
            )
        if len(str(data.get("dettaglioDocumentoOE") or "")) > 3000:
            raise FvoeError(_("Il dettaglio non può superare 3000 caratteri."))
    elif model == "DatiSA00004":
        subjects = data.get("datiSoggetti") or []
        if not subjects:
            raise FvoeError(_("Indicare almeno un soggetto."))
    return data


def _subjects_key(type_code: str, data: dict | None) -> str:
    subjects = []
    for item in (data or {}).get("datiSoggetti") or []:
        subjects.append(str(((item or {}).get("DatiNominativo") or {}).get("CF") or ""))
    return type_code + ":" + ",".join(sorted(subjects))


def document_request_create(
    *,
    user: User,
    authorization: FvoeAuthorization,
    type_code: str,
    request_data: dict | None = None,
    now: datetime,
) -> FvoeDocumentRequest:
    """ "Richiedi documento" (R1)."""
    appalto = authorization.appalto
    require_fvoe_user(user, appalto)
    if type_code not in REQUESTABLE_TYPES:
        raise FvoeError(_("Tipo di documento non richiedibile agli enti certificanti."))
    data = _validate_request_data(type_code, request_data)
    require_no_maintenance(now)
    rup = rup_in_charge(appalto)
    if not rup.tax_code or rup_active_session(rup, now) is None:
        raise FvoeError(msg_no_rup_session(rup.get_full_name() or rup.username))
    with transaction.atomic():
        auth = FvoeAuthorization.objects.select_for_update().get(pk=authorization.pk)
        if auth.status != AuthorizationStatus.AUTHORISED:
            raise FvoeError(_("L'accesso al fascicolo di questo operatore non è autorizzato."))
        key = _subjects_key(type_code, data)
        for open_request in auth.document_requests.filter(is_open=True, type_code=type_code):
            if _subjects_key(open_request.type_code, open_request.request_data) == key:
                raise FvoeError(
                    _(
                        "Per l’operatore economico %(name)s è già aperta una richiesta dello "
                        "stesso tipo di documento."
                    )
                    % {"name": auth.operator.name}
                )
        request = FvoeDocumentRequest.objects.create(
            authorization=auth,
            requested_by=user,
            acting_rup=rup,
            type_code=type_code,
            request_data=data,
            created_at=now,
        )
        audit_record(
            action=_("richiesta di documento FVOE creata"),
            actor=user,
            obj=request,
            organisation=appalto.organisation,
            to_state=request.status,
            payload={"tipo": type_code},
            now=now,
        )
        _on_commit_task("fvoe.tasks.document_request_submit_task", str(request.pk))
    return request


def document_request_submit(*, request_id, now: datetime | None = None, client=None) -> str:
    """Send a QUEUED request (R2/R3). A lost answer is resent once; `FVC05` on the resend
    means ANAC accepted the first send (D-FVOE-22)."""
    now = now or timezone.now()
    claimed = FvoeDocumentRequest.objects.filter(
        pk=request_id, status=DocumentRequestStatus.QUEUED, submitted_at__isnull=True
    ).update(submitted_at=now)
    if claimed != 1:
        return "already"
    request = FvoeDocumentRequest.objects.select_related(
        "authorization__appalto", "acting_rup", "requested_by"
    ).get(pk=request_id)
    auth = request.authorization
    session = rup_read_session(request.acting_rup, now)
    resend = request.attempts > 0
    FvoeDocumentRequest.objects.filter(pk=request_id).update(attempts=request.attempts + 1)
    fvoe = _client(client)
    try:
        if session is None:
            outcome = ("rejected", [{"descrizione": msg_no_rup_session(str(request.acting_rup))}])
        else:
            ctx = _ctx(
                auth.appalto,
                actor_for(auth.appalto, request.acting_rup, session),
                trigger="retry" if resend else "user",
                label=f"{request.type_code} {auth.operator_tax_code}",
                check_trigger=CheckTrigger.RETRY if resend else CheckTrigger.USER,
                user=None if resend else request.requested_by,
            )
            ack = fvoe.request_documents(
                ctx=ctx,
                access_key=auth.access_key,
                type_code=request.type_code,
                request_data=request.request_data,
            )
            outcome = ("ack", ack.id_richiesta)
    except AnacRejected as exc:
        if resend and any(e.codice == "FVC05" for e in exc.errors or []):
            outcome = ("registered",)  # D-FVOE-22: the lost first send got through
        else:
            outcome = ("rejected", _error_rows(exc))
    except AnacError:
        outcome = ("unknown",)
    finally:
        _close(fvoe, client)
    with transaction.atomic():
        locked = FvoeDocumentRequest.objects.select_for_update().get(pk=request_id)
        if outcome[0] == "ack":
            locked.mark_submitted(id_richiesta=outcome[1], now=now)
        elif outcome[0] == "registered":
            locked.mark_submitted(id_richiesta="", now=now, note=_(MSG_REGISTERED_WITHOUT_ID))
        elif outcome[0] == "rejected":
            locked.mark_submit_failed(errors=outcome[1], now=now)
        elif not resend:
            # Outcome unknown: resend once, right after this transaction (D-FVOE-22).
            FvoeDocumentRequest.objects.filter(pk=request_id).update(submitted_at=None)
            transaction.on_commit(
                lambda: document_request_submit(request_id=request_id, client=client)
            )
            return locked.status
        else:
            locked.mark_submit_failed(
                errors=[
                    {"descrizione": _("Esito dell'invio sconosciuto anche al nuovo tentativo")}
                ],
                now=now,
            )
        locked.save()
        audit_record(
            action=_("richiesta di documento FVOE trasmessa"),
            actor=None,
            obj=locked,
            organisation=auth.appalto.organisation,
            from_state=DocumentRequestStatus.QUEUED,
            to_state=locked.status,
            payload={
                "idRichiesta": locked.id_richiesta,
                "errori": locked.error_codes,
                "invii": locked.attempts,
            },
            now=now,
        )
    return locked.status


def adopt_listed_document(*, authorization, document: FvoeDocument, now: datetime) -> bool:
    """D-FVOE-22: a request registered without idRichiesta is answered by a new document of
    its type in the listing; that document is "Richiesto dall'utente"."""
    with transaction.atomic():
        request = (
            FvoeDocumentRequest.objects.select_for_update()
            .filter(
                authorization=authorization,
                status=DocumentRequestStatus.SUBMITTED,
                id_richiesta="",
                is_open=True,
                type_code=document.type_code,
                submitted_at__lte=now,
            )
            .order_by("submitted_at")
            .first()
        )
        if request is None:
            return False
        FvoeDocument.objects.filter(pk=document.pk).update(origin=DocumentOrigin.REQUESTED)
        FvoeDocumentRequestItem.objects.create(
            request=request,
            status=DocumentRequestItemStatus.RETRIEVED,
            anac_status_code="004",
            id_documento=document.id_documento,
            document=document,
            last_checked_at=now,
        )
        request.is_open = False
        request.last_checked_at = now
        request.save(update_fields=["is_open", "last_checked_at"])
        notify(
            recipients=[request.requested_by],
            template="fvoe_document_request",
            context={
                "request": request,
                "operator": authorization.operator,
                "appalto": authorization.appalto,
            },
            organisation=authorization.appalto.organisation,
            url=reverse("fvoe:documents", args=[authorization.appalto_id]),
            email=False,
            now=now,
        )
    return True


STALL_AFTER = timedelta(days=30)


def document_requests_due(now: datetime) -> list:
    """D-FVOE-12: every 15 minutes in the first 24 hours, then once per 07:00/14:00 slot,
    for 30 days; STALLED items are checked only by hand."""
    from .jobs import slot_of

    every = timedelta(minutes=conf("FVOE_DOCREQ_FAST_POLL_MINUTES", 15))
    young_for = timedelta(hours=conf("FVOE_DOCREQ_FAST_POLL_HOURS", 24))
    max_age = timedelta(days=conf("FVOE_DOCREQ_MAX_DAYS", 30))
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    slot = slot_of(now) or slot_of(midnight - timedelta(seconds=1))
    due = []
    for request in FvoeDocumentRequest.objects.filter(
        status=DocumentRequestStatus.SUBMITTED,
        is_open=True,
        submitted_at__gt=now - max_age,
    ).exclude(id_richiesta=""):
        if request.items.filter(status=DocumentRequestItemStatus.STALLED).exists():
            continue
        last = request.last_checked_at
        if now - request.submitted_at < young_for:
            if last is None or now - last >= every:
                due.append(request.pk)
        elif slot is not None and (last is None or last < slot):
            due.append(request.pk)
    return due


def document_requests_stall(*, now: datetime) -> int:
    """Items with no final state 30 days after the send become STALLED (§4.3)."""
    max_age = timedelta(days=conf("FVOE_DOCREQ_MAX_DAYS", 30))
    stalled = 0
    for request in FvoeDocumentRequest.objects.filter(
        status=DocumentRequestStatus.SUBMITTED, is_open=True, submitted_at__lte=now - max_age
    ).select_related("authorization__appalto"):
        with transaction.atomic():
            locked = FvoeDocumentRequest.objects.select_for_update().get(pk=request.pk)
            items = locked.items.exclude(
                status__in=[
                    DocumentRequestItemStatus.RETRIEVED,
                    DocumentRequestItemStatus.NEGATIVE,
                    DocumentRequestItemStatus.STALLED,
                ]
            )
            if not locked.items.exists():
                # Never answered at all: one item stands for the whole request.
                FvoeDocumentRequestItem.objects.create(
                    request=locked, status=DocumentRequestItemStatus.STALLED, last_checked_at=now
                )
                changed = 1
            else:
                changed = items.update(status=DocumentRequestItemStatus.STALLED)
            if changed:
                stalled += changed
                audit_record(
                    action=_("richiesta di documento FVOE senza esito dopo 30 giorni"),
                    actor=None,
                    obj=locked,
                    organisation=request.authorization.appalto.organisation,
                    to_state=DocumentRequestItemStatus.STALLED,
                    payload={"esiti": changed},
                    now=now,
                )
    return stalled


def document_requests_poll_due(*, now: datetime, client=None) -> dict:
    """The periodic part of §7 `fvoe_poll_document_requests`."""
    counts = {"polled": 0, "stalled": 0, "failed": 0}
    if maintenance_window(now) is not None:
        return counts
    counts["stalled"] = document_requests_stall(now=now)
    for pk in document_requests_due(now):
        try:
            document_request_poll(request_id=pk, now=now, client=client)
            counts["polled"] += 1
        except Exception:  # one failing request must not stop the others
            logger.info("fvoe: poll of %s failed", pk, exc_info=True)
            counts["failed"] += 1
    return counts


def document_request_poll(
    *, request_id, now: datetime, client=None, user: User | None = None
) -> FvoeDocumentRequest:
    """verifica-stato-richiesta-documento → items; 004 → retrieve; 005 → negative (R4–R6)."""
    request = FvoeDocumentRequest.objects.select_related(
        "authorization__appalto", "authorization__operator", "acting_rup", "requested_by"
    ).get(pk=request_id)
    auth = request.authorization
    if user is not None:
        require_fvoe_user(user, auth.appalto)
        require_no_maintenance(now)
    if (
        request.status != DocumentRequestStatus.SUBMITTED
        or not request.is_open
        or not request.id_richiesta
    ):
        return request
    rup = rup_in_charge(auth.appalto)
    session = rup_read_session(rup, now)
    if session is None:
        raise FvoeError(msg_no_rup_session(rup.get_full_name() or rup.username))
    fvoe = _client(client)
    finished = []
    try:
        ctx = _ctx(
            auth.appalto,
            actor_for(auth.appalto, rup, session),
            trigger="user" if user else "scheduler",
            label=f"{request.type_code} {auth.operator_tax_code}",
            check_trigger=CheckTrigger.USER if user else CheckTrigger.POLL,
            user=user,
        )
        try:
            status = fvoe.document_request_status(ctx=ctx, id_richiesta=request.id_richiesta)
        except AnacRejected as exc:
            if user is not None:
                raise FvoeError(msg_anac_error(exc)) from exc
            raise
        except AnacError as exc:
            if user is not None:
                raise FvoeError(_(MSG_UNREACHABLE)) from exc
            raise
        for position, state in enumerate(status.items):
            items = list(request.items.order_by("id"))
            item = items[position] if position < len(items) else None
            if item is None:
                item = FvoeDocumentRequestItem(request=request)
            if item.status in (
                DocumentRequestItemStatus.RETRIEVED,
                DocumentRequestItemStatus.NEGATIVE,
            ):
                continue
            if (
                item.status == DocumentRequestItemStatus.STALLED
                and user is None
                and state.state_code == item.anac_status_code
            ):
                continue  # STALLED: only a manual check moves it
            item.subject_tax_code = state.subject_tax_code[:16]
            item.anac_status_code = state.state_code
            item.status = (
                state.state_code
                if state.state_code in DocumentRequestItemStatus.values
                else DocumentRequestItemStatus.WAITING
            )
            item.id_documento = state.id_documento or item.id_documento
            item.last_checked_at = now
            item.save()
            if state.is_available and auth.status == AuthorizationStatus.AUTHORISED:
                content_ok = _retrieve_requested(fvoe, ctx, auth, item, request, now=now)
                if content_ok:
                    finished.append(item)
            elif item.status == DocumentRequestItemStatus.NEGATIVE:
                finished.append(item)
    finally:
        _close(fvoe, client)
    with transaction.atomic():
        locked = FvoeDocumentRequest.objects.select_for_update().get(pk=request_id)
        locked.last_checked_at = now
        open_items = locked.items.exclude(
            status__in=[DocumentRequestItemStatus.RETRIEVED, DocumentRequestItemStatus.NEGATIVE]
        ).exists()
        if locked.items.exists() and not open_items:
            locked.is_open = False
        locked.save(update_fields=["last_checked_at", "is_open"])
        if finished:
            notify(
                recipients=[locked.requested_by],
                template="fvoe_document_request",
                context={"request": locked, "operator": auth.operator, "appalto": auth.appalto},
                organisation=auth.appalto.organisation,
                url=reverse("fvoe:documents", args=[auth.appalto_id]),
                email=False,
                now=now,
            )
    request.refresh_from_db()
    return request


def _retrieve_requested(fvoe, ctx, auth, item, request, *, now) -> bool:
    try:
        content = fvoe.retrieve_document(ctx=ctx, id_documento=item.id_documento)
    except (AnacRejected, AnacUnavailable):
        return False
    document = _document_upsert(auth, content.document, now=now, origin=DocumentOrigin.REQUESTED)
    if document.origin != DocumentOrigin.REQUESTED:
        FvoeDocument.objects.filter(pk=document.pk).update(origin=DocumentOrigin.REQUESTED)
    digest = content.document.metadata_sha256
    if not document.versions.filter(metadata_sha256=digest).exists():
        if not content.content or not content.size_matches:
            return False
        with transaction.atomic():
            version = FvoeDocumentVersion(
                document=document,
                version_no=document.versions.count() + 1,
                metadata_sha256=digest,
                file_name=content.file_name[:255],
                extension=content.extension[:20],
                declared_size=content.declared_size,
                actual_size=content.size,
                sha256=content.sha256,
                retrieved_at=now,
            )
            version.file.save(content.file_name[:100], ContentFile(content.content), save=False)
            version.save()
            FvoeDocument.objects.filter(pk=document.pk).update(
                retrieval_state=RetrievalState.RETRIEVED
            )
    item.status = DocumentRequestItemStatus.RETRIEVED
    item.document = document
    item.save(update_fields=["status", "document"])
    return True
