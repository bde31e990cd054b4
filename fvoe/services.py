"""FVOE workflow steps: access requests, verification, document retrieval, document requests.

Every step is a function with keyword-only arguments and `now`. State changes happen in
`transaction.atomic()` on locked rows, through the FSM transitions of the models, with an audit
event; ANAC calls never happen inside a transaction: the row is written first (QUEUED), the call
is made after commit, and its outcome is applied in a second short transaction.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.accounts.access import has_role
from procurement.accounts.models import Role, StrongAuthSession, User
from procurement.anac.errors import (
    AnacError,
    AnacNotFound,
    AnacRateLimited,
    AnacRejected,
    AnacUnavailable,
    AnacUnknownOutcome,
)
from procurement.anac.fvoe import FvoeClient, document_type_label
from procurement.anac.identity import Actor
from procurement.anac.transport import CallContext
from procurement.audit.services import audit_record
from procurement.notifications.models import Notification
from procurement.notifications.services import notify
from procurement.pcp.models import PcpAppalto, ProcedureRoleKind
from procurement.pcp.selectors import procedure_roles_of

from .models import (
    ANAC_STATUS,
    LIVE_STATUSES,
    VERIFIABLE_STATUSES,
    AccessRequestStatus,
    AuthorizationStatus,
    CheckTrigger,
    DocumentOrigin,
    FvoeAccessRequest,
    FvoeAppaltoOperator,
    FvoeAuthorization,
    FvoeCallSpan,
    FvoeDocument,
    FvoeDocumentVersion,
    FvoeMaintenanceWindow,
    OperatorSource,
    RetrievalState,
)

logger = logging.getLogger(__name__)


class FvoeError(Exception):
    """Something the user can understand (and often fix); the message is Italian."""


def conf(name: str, default):
    return getattr(settings, name, default)


# --- messages of the spec (Appendix A), verbatim ---------------------------------------------


def msg_sent(n: int) -> str:
    return _(
        "Richiesta di accesso al FVOE inviata ad ANAC per %(n)s operatori economici. Ogni "
        "operatore economico deve approvarla sulla piattaforma ANAC. Lo stato viene verificato "
        "automaticamente alle ore 07:00 e 14:00; è possibile verificarlo in qualsiasi momento "
        "con “Verifica richiesta accesso”."
    ) % {"n": n}


def msg_no_rup_session(rup_name: str) -> str:
    return _(
        "Operazione non eseguibile: è necessaria una sessione attiva del RUP dell’appalto "
        "(%(rup_name)s) con accesso mediante SPID (o CIE)."
    ) % {"rup_name": rup_name}


def msg_not_eligible(name: str) -> str:
    return _(
        "L’operatore economico %(name)s non ha presentato offerta né è destinatario di un "
        "affidamento diretto per questo appalto: la richiesta di accesso non è consentita."
    ) % {"name": name}


def msg_duplicate(name: str) -> str:
    return _(
        "Per l’operatore economico %(name)s è già presente una richiesta di accesso in attesa "
        "di risposta o autorizzata."
    ) % {"name": name}


def msg_anac_error(exc: AnacRejected) -> str:
    if exc.not_authorised:
        first = exc.errors[0] if exc.errors else None
        return _(
            "Il RUP dell’appalto non risulta registrato e profilato come “RESPONSABILE UNICO "
            "DEL PROGETTO” sui servizi ANAC (%(codice)s – %(descrizione)s)."
        ) % {
            "codice": first.codice if first else exc.status,
            "descrizione": first.descrizione if first else str(exc),
        }
    texts = []
    for item in exc.errors or []:
        text = _("ANAC ha restituito un errore: %(codice)s – %(descrizione)s") % {
            "codice": item.codice,
            "descrizione": item.descrizione or _("errore non censito"),
        }
        texts.append(text + (f": {item.dettaglio}." if item.dettaglio else "."))
    return " ".join(texts) or _("ANAC ha restituito un errore: %(detail)s.") % {"detail": exc}


MSG_NO_ID_APPALTO = (
    "L’appalto non ha ancora un identificativo ANAC (idAppalto): le funzioni del Fascicolo "
    "Virtuale non sono disponibili."
)
MSG_UNREACHABLE = (
    "Il servizio ANAC non è al momento raggiungibile. Riprovare più tardi; l’esito dei "
    "tentativi è visibile nella Cronologia PCP."
)


def msg_maintenance(until: datetime) -> str:
    return _(
        "Servizi FVOE di ANAC in manutenzione fino alle %(until)s: le verifiche automatiche "
        "riprenderanno al termine."
    ) % {"until": timezone.localtime(until).strftime("%d/%m/%Y %H:%M")}


def maintenance_window(now: datetime) -> FvoeMaintenanceWindow | None:
    """R-FVOE-083: the ANAC maintenance window in force at `now`, if any."""
    return (
        FvoeMaintenanceWindow.objects.filter(starts_at__lte=now, ends_at__gt=now)
        .order_by("-ends_at")
        .first()
    )


def require_no_maintenance(now: datetime) -> None:
    """User actions during a maintenance window: MSG-FV-12 and no call."""
    window = maintenance_window(now)
    if window is not None:
        raise FvoeError(msg_maintenance(window.ends_at))


def msg_throttled(at: datetime, seconds: int) -> str:
    return _("Verifica già eseguita alle %(time)s: riprovare tra %(seconds)s secondi.") % {
        "time": timezone.localtime(at).strftime("%H:%M:%S"),
        "seconds": seconds,
    }


# --- participants of an appalto ---------------------------------------------------------------


def appalto_operator_register(
    *, appalto: PcpAppalto, tax_code: str, name: str, source: str
) -> FvoeAppaltoOperator:
    """Record (or update) an operator that took part in the appalto. Called by adesioni/gare."""
    if source not in OperatorSource.values:
        raise FvoeError(_("Origine dell'operatore economico non valida."))
    tax_code = tax_code.strip().upper()
    if not tax_code:
        raise FvoeError(_("Il codice fiscale dell'operatore economico è obbligatorio."))
    operator, _created = FvoeAppaltoOperator.objects.update_or_create(
        appalto=appalto, tax_code=tax_code, defaults={"name": name[:255], "source": source}
    )
    return operator


# --- who may act, with which identity ---------------------------------------------------------


def fvoe_profile_roles() -> list[str]:
    """Organisation-level profiles that unlock the functions (setting FVOE_ALLOWED_ROLES)."""
    return [str(role) for role in conf("FVOE_ALLOWED_ROLES", (Role.FVOE,))]


def fvoe_procedure_roles() -> set[str]:
    """R-FVOE-003: procedure roles that unlock the functions (FVOE_ALLOWED_PROCEDURE_ROLES)."""
    return {
        str(role)
        for role in conf(
            "FVOE_ALLOWED_PROCEDURE_ROLES",
            (ProcedureRoleKind.RUP_RDO, ProcedureRoleKind.RUP_PDG),
        )
    }


def has_fvoe_profile_in(user, appalto: PcpAppalto) -> bool:
    return any(has_role(user, role, appalto.organisation) for role in fvoe_profile_roles())


def can_use_fvoe(user, appalto: PcpAppalto) -> bool:
    """R-FVOE-002 / D-FVOE-01: the FVOE profile in the appalto's contracting authority AND a
    procedure role on the appalto among FVOE_ALLOWED_PROCEDURE_ROLES (release 1: RUP RdO, RUP
    PdG; the RUP of the appalto holds RUP RdO implicitly)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    if not has_fvoe_profile_in(user, appalto):
        return False
    return bool(procedure_roles_of(user, appalto) & fvoe_procedure_roles())


def msg_no_fvoe_access() -> str:
    labels = [
        f"“{ProcedureRoleKind(role).label}”" if role in ProcedureRoleKind.values else role
        for role in sorted(fvoe_procedure_roles())
    ]
    return _(
        "Le funzioni del Fascicolo Virtuale sono riservate agli utenti con profilo FVOE e con "
        "uno dei ruoli %(roles)s sulla procedura."
    ) % {"roles": ", ".join(labels)}


def require_fvoe_user(user, appalto: PcpAppalto) -> None:
    if not can_use_fvoe(user, appalto):
        raise PermissionDenied(msg_no_fvoe_access())


def rup_in_charge(appalto: PcpAppalto) -> User:
    """D-FVOE-02: the user whose tax code is the appalto's RP at ANAC."""
    if appalto.rp_tax_code:
        user = User.objects.filter(tax_code=appalto.rp_tax_code, is_active=True).first()
        if user is not None:
            return user
    return appalto.rup


def rup_active_session(rup: User, now: datetime) -> StrongAuthSession | None:
    """D-FVOE-03(a): an active session of the RUP with LoA >= 2 (SPID L2, SPID L3, CIE)."""
    return (
        StrongAuthSession.objects.filter(
            user=rup,
            loa__gte=2,
            ended_at__isnull=True,
            authenticated_at__lte=now,
            expires_at__gt=now,
        )
        .order_by("-authenticated_at")
        .first()
    )


def rup_read_session(rup: User, now: datetime) -> StrongAuthSession | None:
    """D-FVOE-03(b): the RUP's latest strong login, if not older than the configured days."""
    max_age = timedelta(days=conf("FVOE_RUP_IDENTITY_MAX_AGE_DAYS", 30))
    return (
        StrongAuthSession.objects.filter(
            user=rup, loa__gte=2, authenticated_at__lte=now, authenticated_at__gt=now - max_age
        )
        .order_by("-authenticated_at")
        .first()
    )


_AUSA = re.compile(r"\d{10}")
_IDP = {"SPID": "SPID", "CIE": "CIE", "CNS": "CNS", "EIDAS": "EIDAS"}


def actor_for(appalto: PcpAppalto, rup: User, session: StrongAuthSession) -> Actor:
    return Actor(
        tax_code=rup.tax_code or appalto.rp_tax_code,
        role="RP",
        loa=session.anac_loa if session.anac_loa in {"3", "4"} else "3",
        idp_type=_IDP.get(session.idp_type, "CUSTOM"),
        sa_ausa=appalto.sa_ausa_code,
        sa_tax_code=appalto.sa_tax_code,
    )


def rup_status(appalto: PcpAppalto, now: datetime) -> dict:
    """What the pages say about the RUP's credentials."""
    rup = rup_in_charge(appalto)
    session = rup_active_session(rup, now)
    return {
        "rup": rup,
        "has_tax_code": bool(rup.tax_code),
        "active_session": session,
        "last_strong_login": rup_read_session(rup, now),
    }


def record_span(*, trigger: str, user: User | None = None, span_id: str | None = None) -> str:
    """The spanID of a user action or a scheduled slot, with who/what started it (§6.7)."""
    span_id = span_id or str(uuid.uuid4())
    FvoeCallSpan.objects.get_or_create(
        span_id=span_id,
        defaults={"trigger": trigger, "user": user, "created_at": timezone.now()},
    )
    return span_id


def _ctx(
    appalto,
    actor,
    *,
    trigger: str,
    span_id: str | None = None,
    label: str = "",
    check_trigger: str = "",
    user: User | None = None,
):
    if check_trigger:
        span_id = record_span(trigger=check_trigger, user=user, span_id=span_id)
    return CallContext(
        actor=actor,
        business_flow_id=str(appalto.id_appalto),
        span_id=span_id or str(uuid.uuid4()),
        trigger=trigger,
        appalto_id=appalto.pk,
        object_label=label,
    )


def _client(client):
    return client if client is not None else FvoeClient()


def _close(client, given) -> None:
    if given is None:
        client.close()


def _error_rows(exc: AnacRejected) -> list[dict]:
    return [
        {"codice": e.codice, "descrizione": str(e.descrizione or ""), "dettaglio": e.dettaglio}
        for e in exc.errors or []
    ]


def _on_commit_task(task_path: str, *args) -> None:
    """Hand a task to Celery after commit; if the broker is down the sweeper picks it up."""

    def send():
        from importlib import import_module

        module, name = task_path.rsplit(".", 1)
        try:
            getattr(import_module(module), name).delay(*args)
        except Exception:  # broker down: the periodic sweep resubmits QUEUED rows
            logger.warning("fvoe: could not queue %s%r", task_path, args, exc_info=True)

    transaction.on_commit(send)


# --- access requests (F1–F4) ------------------------------------------------------------------


def access_request_create(
    *,
    user: User,
    appalto: PcpAppalto,
    tax_codes: list[str],
    end_date=None,
    now: datetime,
) -> FvoeAccessRequest:
    """ "Invia richiesta": one request for the selected operators of the appalto (F1)."""
    require_fvoe_user(user, appalto)
    if not appalto.id_appalto:
        raise FvoeError(_(MSG_NO_ID_APPALTO))
    require_no_maintenance(now)
    tax_codes = list(dict.fromkeys(code.strip().upper() for code in tax_codes if code.strip()))
    if not tax_codes:
        raise FvoeError(_("Selezionare almeno un operatore economico."))
    operators = {o.tax_code: o for o in appalto.fvoe_operators.filter(tax_code__in=tax_codes)}
    for code in tax_codes:
        operator = operators.get(code)
        if operator is None or not operator.eligible:
            raise FvoeError(msg_not_eligible(operator.name if operator else code))
    rup = rup_in_charge(appalto)
    if not rup.tax_code or rup_active_session(rup, now) is None:
        raise FvoeError(msg_no_rup_session(rup.get_full_name() or rup.username))
    start_at = now + timedelta(seconds=60)  # D-FVOE-06
    end_at = None
    if end_date is not None:
        end_at = timezone.make_aware(datetime.combine(end_date, time(23, 59, 59)))
        if end_at <= start_at:
            raise FvoeError(_("La data di fine autorizzazione deve essere successiva a oggi."))

    with transaction.atomic():
        # One request at a time per appalto: the live-authorisation check below is then exact.
        PcpAppalto.objects.select_for_update().get(pk=appalto.pk)
        live = FvoeAuthorization.objects.filter(
            appalto=appalto, operator_tax_code__in=tax_codes, status__in=LIVE_STATUSES
        ).values_list("operator_tax_code", flat=True)
        for code in tax_codes:
            if code in set(live):
                raise FvoeError(msg_duplicate(operators[code].name))
        request = FvoeAccessRequest.objects.create(
            appalto=appalto,
            requested_by=user,
            acting_rup=rup,
            start_at=start_at,
            end_at=end_at,
            created_at=now,
        )
        for code in tax_codes:
            previous = list(
                FvoeAuthorization.objects.select_for_update()
                .filter(appalto=appalto, operator_tax_code=code, superseded_by__isnull=True)
                .exclude(status__in=LIVE_STATUSES)
            )
            try:
                with transaction.atomic():
                    authorization = FvoeAuthorization.objects.create(
                        appalto=appalto,
                        operator=operators[code],
                        operator_tax_code=code,
                        request=request,
                        requested_at=now,
                    )
            except IntegrityError as exc:  # a concurrent request won the race
                raise FvoeError(msg_duplicate(operators[code].name)) from exc
            for old in previous:
                old.superseded_by = authorization
                old.save(update_fields=["superseded_by"])
        audit_record(
            action=_("richiesta di accesso FVOE creata"),
            actor=user,
            obj=request,
            organisation=appalto.organisation,
            to_state=request.status,
            payload={"operatori": tax_codes, "rup": rup.tax_code},
            now=now,
        )
        _on_commit_task("fvoe.tasks.access_request_submit_task", str(request.pk))
    return request


def access_request_submit(*, request_id, now: datetime | None = None, client=None) -> str:
    """Send a QUEUED request to ANAC and apply the answer (F2–F4). Safe to run twice."""
    now = now or timezone.now()
    claimed = FvoeAccessRequest.objects.filter(
        pk=request_id, status=AccessRequestStatus.QUEUED, submitted_at__isnull=True
    ).update(submitted_at=now)
    if claimed != 1:
        return "already"
    request = FvoeAccessRequest.objects.select_related("appalto", "acting_rup").get(pk=request_id)
    appalto = request.appalto
    rup = request.acting_rup
    session = rup_read_session(rup, now)
    codes = list(request.authorizations.values_list("operator_tax_code", flat=True))
    fvoe = _client(client)
    outcome: tuple
    try:
        if session is None:
            raise FvoeError(msg_no_rup_session(rup.get_full_name()))
        resend = request.resend_count > 0
        ctx = _ctx(
            appalto,
            actor_for(appalto, rup, session),
            trigger="retry" if resend else "user",
            label=_("richiesta accesso FVOE"),
            check_trigger=CheckTrigger.RETRY if resend else CheckTrigger.USER,
            user=None if resend else request.requested_by,
        )
        ack = fvoe.request_access(
            ctx=ctx,
            id_appalto=str(appalto.id_appalto),
            operator_tax_codes=codes,
            start=request.start_at,
            end=request.end_at,
            requester_tax_code=appalto.sa_tax_code,
            # ANAC's AUSA codes have 10 digits; anything else is not sent.
            requester_ausa=appalto.sa_ausa_code if _AUSA.fullmatch(appalto.sa_ausa_code) else "",
        )
        outcome = ("ack", ack.id_richiesta)
    except AnacRejected as exc:
        outcome = ("rejected", _error_rows(exc), msg_anac_error(exc))
    except FvoeError as exc:
        outcome = ("rejected", [], str(exc))
    except (AnacUnknownOutcome, AnacUnavailable, AnacRateLimited):
        outcome = ("unknown",)
    finally:
        _close(fvoe, client)

    with transaction.atomic():
        request = FvoeAccessRequest.objects.select_for_update().get(pk=request_id)
        authorizations = list(request.authorizations.select_for_update())
        if outcome[0] == "ack":
            request.acknowledge(id_richiesta=outcome[1], now=now)
            for auth in authorizations:
                auth.mark_requested()
                auth.expected_expiry_at = auth.requested_at + relativedelta(months=1)
                auth.save()
        elif outcome[0] == "rejected":
            request.reject(errors=outcome[1] or [{"descrizione": outcome[2]}], now=now)
            for auth in authorizations:
                auth.mark_submit_failed(now=now)
                auth.save()
            notify(
                recipients=[request.requested_by],
                template="fvoe_request_rejected",
                context={"request": request, "appalto": request.appalto, "message": outcome[2]},
                organisation=request.appalto.organisation,
                url=reverse("fvoe:access_requests", args=[request.appalto_id]),
                email=False,
                now=now,
            )
        else:
            request.outcome_unknown(now=now)
            for auth in authorizations:
                auth.mark_unknown()
                auth.save()
        request.save()
        audit_record(
            action=_("richiesta di accesso FVOE trasmessa"),
            actor=None,
            obj=request,
            organisation=request.appalto.organisation,
            from_state=AccessRequestStatus.QUEUED,
            to_state=request.status,
            payload={"idRichiesta": request.id_richiesta, "errori": request.error_codes},
            now=now,
        )
    return request.status


RECONCILE_RECHECK = timedelta(minutes=5)
UNKNOWN_ALERT_AFTER = timedelta(hours=24)


def _same_start(returned: datetime | None, sent: datetime) -> bool:
    return returned is not None and abs((returned - sent).total_seconds()) < 1


def access_request_reconcile(*, request_id, now: datetime, client=None) -> str:
    """Unknown outcome of richiesta-accesso-fvoe (§6.5, AS-FVOE-09).

    Each operator is verified: an answer in 01/02 whose dataInizio is the one we sent means
    ANAC registered our request (F14: adopt its idRichiesta). If every operator answers FVC04
    (or a state of an older request) at two checks at least 5 minutes apart, ANAC never got it:
    the request is resent once with the same data. Otherwise it stays UNKNOWN, and after 24
    hours the platform operators are alerted (N-FV-07).
    """
    request = FvoeAccessRequest.objects.select_related("appalto", "acting_rup").get(pk=request_id)
    if request.status != AccessRequestStatus.UNKNOWN:
        return request.status
    appalto = request.appalto
    session = rup_read_session(request.acting_rup, now)
    if session is None or maintenance_window(now) is not None:
        _alert_if_stuck(request, now=now)
        return request.status
    fvoe = _client(client)
    found, foreign_or_missing, answers = "", 0, 0
    try:
        ctx = _ctx(
            appalto,
            actor_for(appalto, request.acting_rup, session),
            trigger="reconcile",
            label=_("riconciliazione richiesta FVOE"),
            check_trigger=CheckTrigger.RECONCILIATION,
        )
        for auth in request.authorizations.all():
            answers += 1
            try:
                result = fvoe.verify_access(
                    ctx=ctx,
                    operator_tax_code=auth.operator_tax_code,
                    id_appalto=str(appalto.id_appalto),
                )
            except AnacNotFound:
                foreign_or_missing += 1  # FVC04: ANAC has no request for this operator
                continue
            except AnacError:
                logger.info("fvoe: reconciliation call failed", exc_info=True)
                continue
            ours = result.state_code in ("01", "02") and _same_start(
                result.valid_from, request.start_at
            )
            if ours and result.id_richiesta:
                found = result.id_richiesta
                break
            if result.id_richiesta and not _same_start(result.valid_from, request.start_at):
                foreign_or_missing += 1  # the state of an older request
    finally:
        _close(fvoe, client)
    if found:
        return _adopt(request_id, found, now=now)
    if answers and foreign_or_missing == answers:
        if request.not_found_at is None:
            FvoeAccessRequest.objects.filter(pk=request_id, not_found_at__isnull=True).update(
                not_found_at=now
            )
            return request.status
        if now - request.not_found_at >= RECONCILE_RECHECK and request.resend_count == 0:
            if _requeue(request_id, now=now):
                return access_request_submit(request_id=request_id, now=now, client=client)
            return FvoeAccessRequest.objects.get(pk=request_id).status
    elif request.not_found_at is not None:
        # Not every operator is unknown to ANAC any more: the two checks must start again.
        FvoeAccessRequest.objects.filter(pk=request_id).update(not_found_at=None)
    _alert_if_stuck(request, now=now)
    return request.status


def _adopt(request_id, id_richiesta: str, *, now) -> str:
    with transaction.atomic():
        locked = FvoeAccessRequest.objects.select_for_update().get(pk=request_id)
        if locked.status != AccessRequestStatus.UNKNOWN:
            return locked.status
        locked.reconciled(id_richiesta=id_richiesta)
        locked.save()
        for auth in locked.authorizations.select_for_update():
            if auth.status != AuthorizationStatus.UNKNOWN:
                continue
            auth.mark_reconciled()
            auth.expected_expiry_at = auth.requested_at + relativedelta(months=1)
            auth.save()
        audit_record(
            action=_("richiesta di accesso FVOE riconciliata"),
            actor=None,
            obj=locked,
            organisation=locked.appalto.organisation,
            from_state=AccessRequestStatus.UNKNOWN,
            to_state=locked.status,
            payload={"idRichiesta": id_richiesta},
            now=now,
        )
    return AccessRequestStatus.ACKED


def _requeue(request_id, *, now) -> bool:
    with transaction.atomic():
        locked = FvoeAccessRequest.objects.select_for_update().get(pk=request_id)
        if locked.status != AccessRequestStatus.UNKNOWN or locked.resend_count:
            return False
        locked.requeue()
        locked.save()
        for auth in locked.authorizations.select_for_update():
            if auth.status == AuthorizationStatus.UNKNOWN:
                auth.mark_requeued()
                auth.save()
        audit_record(
            action=_("richiesta di accesso FVOE reinviata"),
            actor=None,
            obj=locked,
            organisation=locked.appalto.organisation,
            from_state=AccessRequestStatus.UNKNOWN,
            to_state=locked.status,
            payload={"motivo": "FVC04 a due verifiche distanti 5 minuti"},
            now=now,
        )
    return True


def platform_operators() -> list[User]:
    return list(User.objects.filter(is_active=True, is_staff=True).order_by("pk"))


def _alert_if_stuck(request: FvoeAccessRequest, *, now) -> bool:
    """N-FV-07: an outcome still unknown 24 hours after the send, e-mailed to operators once."""
    if request.submitted_at is None or now - request.submitted_at < UNKNOWN_ALERT_AFTER:
        return False
    claimed = FvoeAccessRequest.objects.filter(
        pk=request.pk, status=AccessRequestStatus.UNKNOWN, operators_alerted_at__isnull=True
    ).update(operators_alerted_at=now)
    if claimed != 1:
        return False
    return _alert_operators(
        subject_obj=request,
        appalto=request.appalto,
        operators=request.authorizations.all(),
        now=now,
    )


def _alert_operators(*, subject_obj, appalto, operators, now) -> bool:
    recipients = platform_operators()
    if not recipients:
        logger.error("fvoe: N-FV-07 for %s but no platform operator to alert", subject_obj.pk)
        return False
    notify(
        recipients=recipients,
        template="fvoe_unknown_outcome",
        context={
            "appalto": appalto,
            "operators": [f"{a.operator.name} ({a.operator_tax_code})" for a in operators],
        },
        organisation=appalto.organisation,
        url=reverse("fvoe:chronology", args=[appalto.pk]),
        email=True,
        now=now,
    )
    return True


# --- verification (F5–F12) --------------------------------------------------------------------


@dataclass
class VerifyOutcome:
    result: str  # "verified", "changed", "skipped", "unchanged"
    status: str = ""
    needs_sync: bool = False
    message: str = ""


def _slot_trigger(trigger: str) -> str:
    return {
        CheckTrigger.SCHEDULED_07: "scheduler",
        CheckTrigger.SCHEDULED_14: "scheduler",
        CheckTrigger.USER: "user",
        CheckTrigger.RECONCILIATION: "reconcile",
        CheckTrigger.RETRY: "retry",
    }.get(trigger, "scheduler")


def authorization_verify(
    *,
    authorization: FvoeAuthorization,
    trigger: str,
    now: datetime,
    slot: str = "",
    client=None,
    span_id: str | None = None,
    user: User | None = None,
) -> VerifyOutcome:
    """Call verifica-richiesta-accesso-fvoe for one operator and apply the state.

    Raises the ANAC errors (the caller decides: a message for a user, a count for a job).
    """
    appalto = authorization.appalto
    rup = rup_in_charge(appalto)
    session = rup_read_session(rup, now)
    if session is None or not rup.tax_code:
        return VerifyOutcome(
            "skipped",
            authorization.status,
            message=_("Saltata – nessun accesso SPID/CIE del RUP negli ultimi 30 giorni"),
        )
    fvoe = _client(client)
    try:
        ctx = _ctx(
            appalto,
            actor_for(appalto, rup, session),
            trigger=_slot_trigger(trigger),
            span_id=span_id,
            label=f"{authorization.operator.name} ({authorization.operator_tax_code})"[:120],
            check_trigger=trigger,
            user=user,
        )
        try:
            result = fvoe.verify_access(
                ctx=ctx,
                operator_tax_code=authorization.operator_tax_code,
                id_appalto=str(appalto.id_appalto),
            )
        except AnacNotFound as exc:
            if any(e.codice == "FVC04" for e in exc.errors) and now - authorization.requested_at < (
                timedelta(hours=24)
            ):
                # ANAC may not have registered the request yet: keep it REQUESTED.
                _touch(authorization.pk, now=now, trigger=trigger)
                return VerifyOutcome("unchanged", authorization.status)
            if any(e.codice == "FVC04" for e in exc.errors):
                # D-FVOE-20 / §6.4: still unknown to ANAC after 24 hours.
                return _mark_unknown(authorization.pk, now=now, trigger=trigger)
            raise
    finally:
        _close(fvoe, client)
    return _apply_verification(
        authorization_id=authorization.pk, result=result, trigger=trigger, now=now
    )


def _mark_unknown(pk, *, now, trigger) -> VerifyOutcome:
    """REQUESTED → UNKNOWN (D-FVOE-20), with N-FV-07 to the platform operators."""
    with transaction.atomic():
        auth = (
            FvoeAuthorization.objects.select_for_update(of=("self",))
            .select_related("appalto", "operator")
            .get(pk=pk)
        )
        auth.last_checked_at = now
        auth.last_check_trigger = trigger
        if auth.status != AuthorizationStatus.REQUESTED:
            auth.save(update_fields=["last_checked_at", "last_check_trigger"])
            return VerifyOutcome("unchanged", auth.status)
        before = auth.status
        auth.mark_unknown()
        auth.save()
        audit_record(
            action=_("autorizzazione FVOE non riconosciuta da ANAC"),
            actor=None,
            obj=auth,
            organisation=auth.appalto.organisation,
            from_state=before,
            to_state=auth.status,
            payload={"trigger": trigger},
            now=now,
        )
        _alert_operators(subject_obj=auth, appalto=auth.appalto, operators=[auth], now=now)
    return VerifyOutcome("changed", AuthorizationStatus.UNKNOWN, message=_("Esito sconosciuto"))


def _touch(pk, *, now, trigger) -> None:
    FvoeAuthorization.objects.filter(pk=pk).update(last_checked_at=now, last_check_trigger=trigger)


def _apply_verification(*, authorization_id, result, trigger: str, now) -> VerifyOutcome:
    target = ANAC_STATUS.get(result.state_code)
    with transaction.atomic():
        auth = (
            FvoeAuthorization.objects.select_for_update(of=("self",))
            .select_related("request", "appalto", "operator")
            .get(pk=authorization_id)
        )
        auth.last_checked_at = now
        auth.last_check_trigger = trigger
        before = auth.status
        if target is None:
            # D-FVOE-20: an unknown code changes nothing.
            auth.save(update_fields=["last_checked_at", "last_check_trigger"])
            return VerifyOutcome("unchanged", before, message=_("Stato non riconosciuto"))
        ours = auth.request.id_richiesta
        if (
            result.id_richiesta
            and ours
            and result.id_richiesta != ours
            and target != AuthorizationStatus.AUTHORISED
            and before == AuthorizationStatus.REQUESTED
        ):
            # D-FVOE-20: the answer is about an older request: ignored for 24 hours.
            auth.save(update_fields=["last_checked_at", "last_check_trigger"])
            if now - auth.requested_at >= UNKNOWN_ALERT_AFTER:
                transaction.on_commit(
                    lambda: _mark_unknown(authorization_id, now=now, trigger=trigger)
                )
            return VerifyOutcome("unchanged", before)
        if before not in VERIFIABLE_STATUSES:
            auth.save(update_fields=["last_checked_at", "last_check_trigger"])
            return VerifyOutcome("unchanged", before)
        if target == AuthorizationStatus.REQUESTED:
            auth.save(update_fields=["last_checked_at", "last_check_trigger"])
            return VerifyOutcome("verified", before)
        transition = {
            AuthorizationStatus.AUTHORISED: auth.mark_authorised,
            AuthorizationStatus.DENIED: auth.mark_denied,
            AuthorizationStatus.REVOKED: auth.mark_revoked,
            AuthorizationStatus.EXPIRED: auth.mark_expired,
            AuthorizationStatus.CANCELLED: auth.mark_cancelled,
        }[target]
        try:
            transition(now=now)
        except Exception:  # TransitionNotAllowed: e.g. 04 for an authorised row
            auth.save(update_fields=["last_checked_at", "last_check_trigger"])
            return VerifyOutcome("unchanged", before, message=_("Stato non coerente"))
        if target == AuthorizationStatus.AUTHORISED:
            if result.access_key:
                auth.set_access_key(result.access_key)
            auth.id_autorizzazione = result.id_autorizzazione or auth.id_autorizzazione
            auth.valid_from = result.valid_from or auth.valid_from
            auth.valid_to = result.valid_to or auth.valid_to
            auth.authorizer_tax_code = result.authorizer_tax_code or auth.authorizer_tax_code
        elif result.reason:
            auth.reason = result.reason[:255]
        auth.save()
        if before != auth.status:
            audit_record(
                action=_("autorizzazione FVOE aggiornata"),
                actor=None,
                obj=auth,
                organisation=auth.appalto.organisation,
                from_state=before,
                to_state=auth.status,
                payload={"stato": result.state_code, "motivo": auth.reason, "trigger": trigger},
                now=now,
            )
            _notify_change(auth, now=now)
        changed = before != auth.status
        return VerifyOutcome(
            "changed" if changed else "verified",
            auth.status,
            needs_sync=auth.status == AuthorizationStatus.AUTHORISED,
        )


def _fvoe_users(appalto) -> list[User]:
    """D-FVOE-09: the current FVOE users of the procedure (profile and allowed procedure role)."""
    candidates = User.objects.filter(
        is_active=True,
        memberships__organisation=appalto.organisation,
        memberships__role__in=fvoe_profile_roles(),
        memberships__is_active=True,
    ).distinct()
    return [user for user in candidates.order_by("pk") if can_use_fvoe(user, appalto)]


def _authorisation_recipients(auth: FvoeAuthorization) -> list[User]:
    """D-FVOE-09: the requester; if no longer an FVOE user, every FVOE user of the authority."""
    requester = auth.request.requested_by
    users = _fvoe_users(auth.appalto)
    mode = conf("FVOE_AUTH_EMAIL_RECIPIENTS", "REQUESTER")
    if mode == "REQUESTER" and requester.is_active and requester in users:
        return [requester]
    return users or [requester]


def _notify_change(auth: FvoeAuthorization, *, now) -> None:
    url = reverse("fvoe:access_requests", args=[auth.appalto_id])
    if auth.status == AuthorizationStatus.AUTHORISED:
        # R-FVOE-041: once per authorisation, whichever verification detects it.
        sent = FvoeAuthorization.objects.filter(
            pk=auth.pk, authorisation_email_sent_at__isnull=True
        ).update(authorisation_email_sent_at=now)
        if sent != 1:
            return
        notify(
            recipients=_authorisation_recipients(auth),
            template="fvoe_authorised",
            context={
                "auth": auth,
                "appalto": auth.appalto,
                "operator": auth.operator,
                "sa_name": auth.appalto.organisation.name,
                "valid_from": auth.valid_from,
                "valid_to": auth.valid_to,
            },
            organisation=auth.appalto.organisation,
            url=reverse("fvoe:documents", args=[auth.appalto_id]),
            email=True,
            now=now,
        )
        return
    notify(
        recipients=[auth.request.requested_by],
        template="fvoe_status_changed",
        context={"auth": auth, "appalto": auth.appalto, "operator": auth.operator},
        organisation=auth.appalto.organisation,
        url=url,
        email=False,
        now=now,
    )


def notify_verification_skipped(*, authorization: FvoeAuthorization, now: datetime) -> bool:
    """N-FV-06: the RUP in charge and the requester, in-app, at most once a day per appalto."""
    appalto = authorization.appalto
    url = reverse("fvoe:access_requests", args=[appalto.pk])
    day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    with transaction.atomic():
        PcpAppalto.objects.select_for_update().get(pk=appalto.pk)  # one notice per appalto
        if Notification.objects.filter(
            template="fvoe_skipped", url=url, created_at__gte=day_start
        ).exists():
            return False
        recipients = {rup_in_charge(appalto), authorization.request.requested_by}
        notify(
            recipients=sorted(recipients, key=lambda u: u.pk),
            template="fvoe_skipped",
            context={"appalto": appalto, "rup": rup_in_charge(appalto)},
            organisation=appalto.organisation,
            url=url,
            email=False,
            now=now,
        )
    return True


def authorization_verify_manual(
    *, user: User, authorization: FvoeAuthorization, now: datetime, client=None
) -> VerifyOutcome:
    """ "Verifica richiesta accesso" on one row: throttled; on 02 the documents are retrieved."""
    require_fvoe_user(user, authorization.appalto)
    if authorization.status not in VERIFIABLE_STATUSES:
        raise FvoeError(_("Lo stato di questa richiesta è definitivo: non serve verificarlo."))
    require_no_maintenance(now)
    throttle = conf("FVOE_MANUAL_VERIFY_THROTTLE_S", 60)
    last = authorization.last_checked_at
    if last and authorization.last_check_trigger == CheckTrigger.USER:
        elapsed = (now - last).total_seconds()
        if elapsed < throttle:
            raise FvoeError(msg_throttled(last, int(throttle - elapsed) + 1))
    # Claim the manual check so that two clicks at once make one call.
    claimed = (
        FvoeAuthorization.objects.filter(pk=authorization.pk)
        .filter(
            Q(last_checked_at__isnull=True)
            | Q(last_checked_at__lte=now - timedelta(seconds=throttle))
            | ~Q(last_check_trigger=CheckTrigger.USER)
        )
        .update(last_checked_at=now, last_check_trigger=CheckTrigger.USER)
    )
    if claimed != 1:
        raise FvoeError(msg_throttled(now, throttle))
    fvoe = _client(client)
    try:
        try:
            span_id = record_span(trigger=CheckTrigger.USER, user=user)
            outcome = authorization_verify(
                authorization=authorization,
                trigger=CheckTrigger.USER,
                now=now,
                client=fvoe,
                span_id=span_id,
                user=user,
            )
        except AnacRejected as exc:
            raise FvoeError(msg_anac_error(exc)) from exc
        except AnacError as exc:
            raise FvoeError(_(MSG_UNREACHABLE)) from exc
        if outcome.result == "skipped":
            rup = rup_in_charge(authorization.appalto)
            raise FvoeError(msg_no_rup_session(rup.get_full_name() or rup.username))
        if outcome.needs_sync:
            try:
                documents_sync(
                    authorization_id=authorization.pk,
                    key=f"manual:{uuid.uuid4()}",
                    now=now,
                    client=fvoe,
                    trigger=CheckTrigger.USER,
                    span_id=span_id,
                    user=user,
                )
            except AnacError:
                logger.warning("fvoe: document sync failed", exc_info=True)
    finally:
        _close(fvoe, client)
    return outcome


# --- documents (§4.4) -------------------------------------------------------------------------


def _metadata_sha256(info) -> str:
    return info.metadata_sha256


def documents_sync(
    *,
    authorization_id,
    key: str,
    now: datetime,
    client=None,
    trigger=CheckTrigger.AUTO_SYNC,
    span_id: str | None = None,
    user: User | None = None,
) -> int:
    """List the operator's documents and store new or changed ones; once per key."""
    claimed = (
        FvoeAuthorization.objects.filter(pk=authorization_id, status=AuthorizationStatus.AUTHORISED)
        .exclude(last_sync_slot=key)
        .update(last_sync_slot=key, last_sync_at=now)
    )
    if claimed != 1:
        return 0
    auth = FvoeAuthorization.objects.select_related("appalto", "operator").get(pk=authorization_id)
    access_key = auth.access_key
    if not access_key:
        return 0
    rup = rup_in_charge(auth.appalto)
    session = rup_read_session(rup, now)
    if session is None:
        return 0
    fvoe = _client(client)
    stored = 0
    try:
        ctx = _ctx(
            auth.appalto,
            actor_for(auth.appalto, rup, session),
            trigger=_slot_trigger(trigger),
            label=f"{auth.operator.name} ({auth.operator_tax_code})"[:120],
            span_id=span_id,
            check_trigger=trigger,
            user=user,
        )
        for info in fvoe.iter_documents(ctx=ctx, access_key=access_key):
            document = _document_upsert(auth, info, now=now)
            if document.first_listed_at == now and document.origin == DocumentOrigin.AUTOMATIC:
                from .document_requests import adopt_listed_document

                adopt_listed_document(authorization=auth, document=document, now=now)
            if info.is_deleted:
                continue
            digest = _metadata_sha256(info)
            if document.versions.filter(metadata_sha256=digest).exists():
                continue
            stored += _retrieve(fvoe, ctx, document, digest, now=now)
    finally:
        _close(fvoe, client)
    return stored


def _document_upsert(auth, info, *, now, origin=DocumentOrigin.AUTOMATIC) -> FvoeDocument:
    defaults = {
        "appalto": auth.appalto,
        "operator_tax_code": auth.operator_tax_code,
        "type_code": info.type_code,
        "type_label": (info.type_label or document_type_label(info.type_code))[:255],
        "source_state": info.state_code if info.state_code in ("1", "2", "3") else "1",
        "subject": info.subject,
        "inserted_at": info.inserted_at,
        "issued_at": info.issued_at,
        "valid_until": info.valid_until,
        "protocol_number": info.protocol_number[:100],
        "protocol_date": info.protocol_date,
    }
    document, created = FvoeDocument.objects.get_or_create(
        authorization=auth,
        id_documento=info.id_documento,
        defaults={**defaults, "first_listed_at": now, "origin": origin},
    )
    if not created:
        for name, value in defaults.items():
            setattr(document, name, value)
    if info.is_deleted and document.deleted_at_source_at is None:
        document.deleted_at_source_at = now
        if document.retrieval_state != RetrievalState.RETRIEVED:
            document.retrieval_state = RetrievalState.NOT_RETRIEVED_DELETED
    document.save()
    return document


def _retrieve(fvoe, ctx, document: FvoeDocument, digest: str, *, now) -> int:
    try:
        content = fvoe.retrieve_document(ctx=ctx, id_documento=document.id_documento)
    except (AnacRejected, AnacUnavailable):
        FvoeDocument.objects.filter(pk=document.pk).update(
            retrieval_state=RetrievalState.RETRIEVAL_FAILED
        )
        return 0
    if not content.content or not content.size_matches:
        FvoeDocument.objects.filter(pk=document.pk).update(
            retrieval_state=RetrievalState.RETRIEVAL_FAILED
        )
        return 0
    with transaction.atomic():
        locked = FvoeDocument.objects.select_for_update().get(pk=document.pk)
        if locked.versions.filter(metadata_sha256=digest).exists():
            return 0
        number = locked.versions.count() + 1
        version = FvoeDocumentVersion(
            document=locked,
            version_no=number,
            metadata_sha256=digest,
            file_name=content.file_name[:255],
            extension=content.extension[:20],
            declared_size=content.declared_size,
            actual_size=content.size,
            sha256=content.sha256,
            retrieved_at=now,
        )
        version.file.save(
            content.file_name[:100] or "documento", ContentFile(content.content), save=False
        )
        version.save()
        locked.retrieval_state = RetrievalState.RETRIEVED
        locked.save(update_fields=["retrieval_state"])
    return 1


def documents_refresh(*, user: User, authorization: FvoeAuthorization, now: datetime, client=None):
    """ "Aggiorna documenti"."""
    require_fvoe_user(user, authorization.appalto)
    if authorization.status != AuthorizationStatus.AUTHORISED:
        raise FvoeError(_("L'accesso al fascicolo di questo operatore non è autorizzato."))
    require_no_maintenance(now)
    try:
        return documents_sync(
            authorization_id=authorization.pk,
            key=f"manual:{uuid.uuid4()}",
            now=now,
            client=client,
            trigger=CheckTrigger.USER,
            user=user,
        )
    except AnacRejected as exc:
        raise FvoeError(msg_anac_error(exc)) from exc
    except AnacError as exc:
        raise FvoeError(_(MSG_UNREACHABLE)) from exc


def document_download_audit(*, user: User, version: FvoeDocumentVersion, now: datetime) -> None:
    audit_record(
        action=_("documento FVOE scaricato"),
        actor=user,
        obj=version.document,
        organisation=version.document.appalto.organisation,
        payload={"versione": version.version_no, "sha256": version.sha256},
        now=now,
    )


@dataclass
class SlotSummary:
    key: str
    total: int = 0
    verified: int = 0
    changed: int = 0
    skipped: int = 0
    failed: int = 0
    rate_limited: int = 0
    synced_documents: int = 0
    not_verified: int = 0
    calls: int = 0
    extra: dict = field(default_factory=dict)


def document_history(*, user: User, document: FvoeDocument, now: datetime, client=None):
    """ "Storico documento": recupera-storico-documento-fvoe, shown, never stored (R-FVOE-055)."""
    appalto = document.appalto
    require_fvoe_user(user, appalto)
    require_no_maintenance(now)
    rup = rup_in_charge(appalto)
    session = rup_read_session(rup, now)
    if session is None or not rup.tax_code:
        raise FvoeError(msg_no_rup_session(rup.get_full_name() or rup.username))
    fvoe = _client(client)
    try:
        ctx = _ctx(
            appalto,
            actor_for(appalto, rup, session),
            trigger="user",
            label=f"{document.type_code} {document.id_documento}"[:120],
            check_trigger=CheckTrigger.USER,
            user=user,
        )
        return fvoe.document_history(ctx=ctx, id_documento=document.id_documento)
    except AnacRejected as exc:
        raise FvoeError(msg_anac_error(exc)) from exc
    except AnacError as exc:
        raise FvoeError(_(MSG_UNREACHABLE)) from exc
    finally:
        _close(fvoe, client)


def in_progress(appalto: PcpAppalto, *, now: datetime) -> dict:
    """What is still running for the appalto, for the auto-refreshing banner (§6.3)."""
    from .models import DocumentRequestStatus, FvoeDocumentRequest

    recent = now - timedelta(minutes=10)
    sending = FvoeAccessRequest.objects.filter(
        appalto=appalto, status=AccessRequestStatus.QUEUED, created_at__gte=recent
    ).count()
    retrieving = list(
        FvoeAuthorization.objects.filter(
            appalto=appalto,
            status=AuthorizationStatus.AUTHORISED,
            superseded_by__isnull=True,
            authorised_at__gte=recent,
        )
        .filter(Q(last_sync_at__isnull=True) | Q(documents__retrieval_state=RetrievalState.LISTED))
        .select_related("operator")
        .distinct()
    )
    doc_sending = FvoeDocumentRequest.objects.filter(
        authorization__appalto=appalto,
        status=DocumentRequestStatus.QUEUED,
        created_at__gte=recent,
    ).count()
    return {
        "sending": sending,
        "retrieving": retrieving,
        "doc_sending": doc_sending,
        "active": bool(sending or retrieving or doc_sending),
    }
