"""The ANAC operations engine: outbox rows (AnacOperation) sent, polled and reconciled.

Services (procurement.pcp.services) write AnacOperation rows in the transaction of the user's
action; after commit they are dispatched (Celery task, or inline with ANAC_DISPATCH_INLINE=True in
tests/dev). Nothing here makes an HTTP call inside a transaction: each step claims its row with a
conditional update, calls ANAC outside any transaction, then records the result under a row lock.

State machine (spec adesioni §4.5)::

    QUEUED -dispatch-> SENT -sync 200-> OK | KO (4xx errori) | FAILED (PDND, 5xx on GET exhausted)
                        |-ack-> ACKED -poll-> WAITING -esito OK/KO-> OK/KO ; -72 h-> STALLED
                        '-timeout/reset/5xx on POST-> UNKNOWN -reconcile-> ACKED|OK|QUEUED|FAILED
    429 anywhere: same state, next_attempt_at / next_poll_at = now + max(Retry-After, backoff)

Final outcomes are recorded by `_finish`, which also moves the PcpAppalto / PcpScheda, writes the
audit event and sends `signals.operation_finished` inside the same transaction.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from . import signals
from .cig import cig_is_valid
from .errors import (
    AnacError,
    AnacNotFound,
    AnacRateLimited,
    AnacRejected,
    AnacUnavailable,
    AnacUnknownOutcome,
)
from .identity import NIL_FLOW_ID
from .models import (
    FINAL_STATES,
    AnacOperation,
    AnacTransmission,
    Trigger,
)
from .models import (
    AnacOperationKind as Kind,
)
from .models import (
    AnacOperationState as S,
)
from .pcp import TUTTI_ESITI, ULTIMO_ESITO, PcpClient
from .pdnd import PdndError
from .transport import AnacClient, CallContext

logger = logging.getLogger(__name__)

POLL_STATES = (S.ACKED, S.WAITING, S.STALLED)
STALE_TOLERANCE = timedelta(seconds=120)
NOT_FOUND_GRACE = timedelta(minutes=10)
SENT_TIMEOUT = timedelta(minutes=10)
CLAIM = timedelta(minutes=2)
GET_BACKOFF = (30, 120, 600, 1800)  # then hourly, up to 24 h
GET_GIVE_UP = timedelta(hours=24)
RECHECK_AFTER = timedelta(seconds=60)  # two ricerca checks this far apart before a resend
CONFIRM_RESEND_AFTER = timedelta(minutes=10)
REQUEST_POLL_THROTTLE = timedelta(seconds=30)
CIG_INVALID = "CIG_NON_VALIDO"
GATEWAY_RETRIES = 5


# --- schedule (D-ADE-18) ----------------------------------------------------------------------


def poll_offsets() -> list[int]:
    """Seconds after the ack at which WAITING operations are polled, up to the stalled limit."""
    configured = getattr(settings, "PCP_POLL_SCHEDULE", None)
    if configured:
        return list(configured)
    offsets = [5, 15, 30, 60, 120, 300]
    offsets += list(range(600, 7200 + 1, 300))
    offsets += list(range(3 * 3600, stalled_after_seconds() + 1, 3600))
    return offsets


def stalled_after_seconds() -> int:
    return int(getattr(settings, "PCP_STALLED_AFTER_HOURS", 72)) * 3600


STALLED_EVERY = timedelta(hours=6)
STALLED_POLL_FOR = timedelta(days=30)


def next_poll_after(ack_at: datetime, now: datetime) -> datetime | None:
    """The next scheduled poll strictly after `now`, or None when the window is over."""
    for offset in poll_offsets():
        moment = ack_at + timedelta(seconds=offset)
        if moment > now:
            return moment
    return None


def _get_backoff(failures: int) -> timedelta:
    if failures <= len(GET_BACKOFF):
        return timedelta(seconds=GET_BACKOFF[max(failures, 1) - 1])
    return timedelta(hours=1)


# --- plumbing ---------------------------------------------------------------------------------


@contextmanager
def _pcp(client: PcpClient | None):
    if client is not None:
        yield client
        return
    with AnacClient() as anac:
        yield PcpClient(anac)


def _ctx(op: AnacOperation, trigger: str) -> CallContext:
    appalto = op.appalto
    return CallContext(
        actor=op.actor,
        business_flow_id=str(appalto.id_appalto) if appalto.id_appalto else NIL_FLOW_ID,
        span_id=str(op.span_id),
        trigger=trigger,
        appalto_id=appalto.pk,
        object_label=f"{op.kind} #{op.pk}",
        operation_id=op.pk,
    )


def _errors(exc: AnacRejected) -> list[dict]:
    rows = [
        {"codice": e.codice, "descrizione": str(e.descrizione or ""), "dettaglio": e.dettaglio}
        for e in exc.errors
    ]
    if not rows:
        rows = [{"codice": f"HTTP{exc.status}", "descrizione": str(exc), "dettaglio": ""}]
    return rows


def _error_rows(items) -> list[dict]:
    return [
        {"codice": e.codice, "descrizione": str(e.descrizione or ""), "dettaglio": e.dettaglio}
        for e in items
    ]


def _update(op_id: int, expect, **fields) -> bool:
    """Conditional update: only when the row is still in one of the `expect` states."""
    states = expect if isinstance(expect, list | tuple | set) else [expect]
    return AnacOperation.objects.filter(pk=op_id, state__in=list(states)).update(**fields) == 1


def kick(operation_id: int) -> None:
    """Send an operation now (after commit): inline in tests/dev, else through Celery."""
    if getattr(settings, "ANAC_DISPATCH_INLINE", False):
        dispatch(operation_id, now=timezone.now())
        return
    from .tasks import anac_dispatch_operation

    try:
        anac_dispatch_operation.apply_async(args=[operation_id], retry=False)
    except Exception as exc:  # broker down: the sweeper sends it
        logger.warning(
            "ANAC operation %s not queued (%s); the sweeper will send it", operation_id, exc
        )


def kick_poll(operation_id: int, trigger: str) -> None:
    if getattr(settings, "ANAC_DISPATCH_INLINE", False):
        op = AnacOperation.objects.get(pk=operation_id)
        poll(op, trigger=trigger, now=timezone.now())
        return
    from .tasks import anac_poll_operation

    try:
        anac_poll_operation.apply_async(args=[operation_id, trigger], retry=False)
    except Exception as exc:
        logger.warning("ANAC poll %s not queued (%s); the poller will run it", operation_id, exc)


# --- dispatch ---------------------------------------------------------------------------------


def dispatch(operation_id: int, *, now: datetime, client: PcpClient | None = None) -> str:
    """Send one QUEUED operation if it is due and its dependency is OK. Returns the new state."""
    dependency_ok = Q(depends_on__isnull=True) | Q(depends_on__state=S.OK)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = (
        AnacOperation.objects.filter(pk=operation_id, state=S.QUEUED)
        .filter(due)
        .filter(dependency_ok)
        .update(state=S.SENT, sent_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return AnacOperation.objects.filter(pk=operation_id).values_list("state", flat=True).first()
    op = AnacOperation.objects.select_related("appalto", "scheda").get(pk=operation_id)
    trigger = op.trigger
    if op.attempts > 1 and trigger == Trigger.USER:
        trigger = Trigger.RETRY
    with _pcp(client) as pcp:
        state = _send(op, pcp, trigger=trigger, now=now)
        if state == S.OK:
            for dependent in op.dependents.filter(state=S.QUEUED).values_list("pk", flat=True):
                dispatch(dependent, now=now, client=pcp)
    return state


def _send(op: AnacOperation, pcp: PcpClient, *, trigger: str, now: datetime) -> str:
    ctx = _ctx(op, trigger)
    appalto = op.appalto
    is_post = op.kind != Kind.RECUPERA_CIG
    try:
        if op.kind == Kind.CREA_APPALTO:
            created = pcp.crea_appalto(ctx, op.request["scheda"])
            return _finish(op.pk, S.OK, now=now, result={"idAppalto": created.id_appalto})
        if op.kind == Kind.MODIFICA_APPALTO:
            pcp.modifica_appalto(ctx, str(appalto.id_appalto), op.request["scheda"])
            return _finish(op.pk, S.OK, now=now, result={"idAppalto": str(appalto.id_appalto)})
        if op.kind == Kind.CONFERMA_APPALTO:
            pcp.conferma_appalto(ctx, str(appalto.id_appalto))
            return _acked(op.pk, now=now, ack_at=now)
        if op.kind == Kind.CANCELLA_APPALTO:
            pcp.cancella_appalto(ctx, str(appalto.id_appalto), op.request.get("motivo", ""))
            return _finish(op.pk, S.OK, now=now)
        if op.kind == Kind.RECUPERA_CIG:
            return _cigs_fetched(op, pcp.recupera_cig(ctx, str(appalto.id_appalto)), now=now)
        if op.kind == Kind.PUBBLICA_AVVISO:
            pcp.pubblica_avviso(ctx, str(appalto.id_appalto), str(appalto.id_avviso))
            return _acked(op.pk, now=now, ack_at=now)
        scheda = op.scheda
        if op.kind == Kind.CREA_SCHEDA:
            scheda_body = {
                "codice": {"idTipologica": "codiceScheda", "codice": scheda.code},
                "versione": scheda.version,
                "body": scheda.payload,
            }
            id_scheda = pcp.crea_scheda(ctx, str(appalto.id_appalto), scheda_body)
            return _finish(op.pk, S.OK, now=now, result={"idScheda": id_scheda})
        if op.kind == Kind.CONFERMA_SCHEDA:
            pcp.conferma_scheda(ctx, str(appalto.id_appalto), str(scheda.id_scheda))
            return _acked(op.pk, now=now, ack_at=now)
        if op.kind == Kind.CANCELLA_SCHEDA:
            pcp.cancella_scheda(
                ctx, str(appalto.id_appalto), str(scheda.id_scheda), op.request.get("motivo", "")
            )
            return _finish(op.pk, S.OK, now=now)
        raise ValueError(f"operazione sconosciuta: {op.kind}")
    except AnacRateLimited as exc:
        wait = max(float(exc.retry_after or 0), 1.0)
        _update(
            op.pk,
            S.SENT,
            state=S.QUEUED,
            next_attempt_at=now + timedelta(seconds=wait),
            detail=str(exc)[:2000],
        )
        return S.QUEUED
    except AnacRejected as exc:
        codes = {e.codice for e in exc.errors}
        if op.kind == Kind.CREA_APPALTO and "ERR38" in codes:
            return _unknown(op.pk, now=now, detail=str(exc))  # adopt it by codiceAppalto
        # A confirmation is already in progress (an earlier send of this operation got
        # through): acknowledged; its outcome is dated after the click, not after this resend.
        if op.kind == Kind.CONFERMA_APPALTO and "ERR18" in codes:
            return _acked(op.pk, now=now, ack_at=op.created_at)
        # A resend after an unknown outcome refused because the appalto is no longer "in
        # lavorazione" (ERR16): the earlier send got through and was already processed. Its
        # outcome (OK or KO) is in esito-operazione: poll it as for an acknowledged request.
        if op.kind == Kind.CONFERMA_APPALTO and "ERR16" in codes and op.attempts > 1:
            return _acked(op.pk, now=now, ack_at=op.created_at)
        if op.kind == Kind.CONFERMA_SCHEDA and "ERR60" in codes:
            return _acked(op.pk, now=now, ack_at=op.created_at)
        # The notice is no longer CREATO: an earlier send got through; stato-avviso tells.
        if op.kind == Kind.PUBBLICA_AVVISO and "ERR50" in codes and op.attempts > 1:
            return _acked(op.pk, now=now, ack_at=op.created_at)
        if not exc.errors and exc.status in (401, 403) and op.failures < GATEWAY_RETRIES:
            # The gateway refused the call itself (e.g. an expired tracking JWS under load):
            # nothing reached the service, so a new attempt with a new JWS is safe.
            return _backoff(op, now=now, detail=str(exc))
        return _finish(op.pk, S.KO, now=now, errors=_errors(exc), detail=str(exc))
    except AnacUnknownOutcome as exc:
        return _unknown(op.pk, now=now, detail=str(exc))
    except AnacUnavailable as exc:  # GET only: back off, give up after 24 h
        return _backoff(op, now=now, detail=str(exc))
    except PdndError as exc:
        return _finish(
            op.pk,
            S.FAILED,
            now=now,
            detail=str(exc),
            errors=[{"codice": "PDND", "descrizione": str(exc)[:500], "dettaglio": ""}],
        )
    except AnacError as exc:
        return (
            _unknown(op.pk, now=now, detail=str(exc))
            if is_post
            else _backoff(op, now=now, detail=str(exc))
        )
    except Exception as exc:  # a bug or an unexpected answer: never lose the operation
        logger.exception("ANAC operation %s failed unexpectedly", op.pk)
        if is_post:
            return _unknown(op.pk, now=now, detail=repr(exc))
        return _backoff(op, now=now, detail=repr(exc))


def _backoff(op: AnacOperation, *, now: datetime, detail: str) -> str:
    if now - op.created_at >= GET_GIVE_UP:
        return _finish(op.pk, S.FAILED, now=now, detail=detail)
    failures = op.failures + 1
    _update(
        op.pk,
        S.SENT,
        state=S.QUEUED,
        failures=failures,
        next_attempt_at=now + _get_backoff(failures),
        detail=detail[:2000],
    )
    return S.QUEUED


def _unknown(op_id: int, *, now: datetime, detail: str) -> str:
    _update(
        op_id,
        [S.SENT, S.UNKNOWN],
        state=S.UNKNOWN,
        unknown_since=now,
        reconcile_checks=0,
        last_check_at=None,
        detail=detail[:2000],
    )
    return S.UNKNOWN


def _acked(op_id: int, *, now: datetime, ack_at: datetime) -> str:
    with transaction.atomic():
        op = AnacOperation.objects.select_for_update().select_related("appalto").get(pk=op_id)
        if op.state not in (S.SENT, S.UNKNOWN):
            return op.state
        op.state = S.ACKED
        op.ack_at = ack_at
        op.next_poll_at = next_poll_after(ack_at, now) or now
        op.deadline_at = ack_at + timedelta(seconds=stalled_after_seconds())
        op.save(update_fields=["state", "ack_at", "next_poll_at", "deadline_at"])
        if op.kind == Kind.CONFERMA_APPALTO:
            from procurement.pcp.models import AppaltoState, PcpAppalto

            appalto = PcpAppalto.objects.select_for_update().get(pk=op.appalto_id)
            before = appalto.local_state
            if before == AppaltoState.CREATED:
                appalto.mark_confirmation_pending()
            appalto.last_confirm_ack_at = ack_at
            appalto.save()
            audit_record(
                action=_("conferma appalto acquisita da ANAC"),
                actor_label=_("Sistema"),
                obj=appalto,
                from_state=before,
                to_state=appalto.local_state,
                payload={"operazione": op.pk, "ack": ack_at},
                now=now,
            )
    return S.ACKED


def _cigs_fetched(op: AnacOperation, items, *, now: datetime) -> str:
    cigs = [{"cig": item.cig, "lotIdentifier": item.lot_identifier} for item in items]
    wanted = set(op.request.get("lot_identifiers") or [])
    found = {item.lot_identifier for item in items}
    bad = [item.cig for item in items if not cig_is_valid(item.cig)]
    missing = sorted(wanted - found)
    if not items or bad or missing:
        detail = _("CIG non valido: %(bad)s; lotti senza CIG: %(missing)s") % {
            "bad": ", ".join(bad) or "-",
            "missing": ", ".join(missing) or ("-" if items else _("tutti")),
        }
        return _finish(
            op.pk,
            S.KO,
            now=now,
            result={"cigs": cigs},
            detail=detail,
            errors=[{"codice": CIG_INVALID, "descrizione": detail, "dettaglio": ""}],
        )
    return _finish(op.pk, S.OK, now=now, result={"cigs": cigs})


# --- final outcomes ---------------------------------------------------------------------------


def _finish(
    op_id: int,
    outcome: str,
    *,
    now: datetime,
    result: dict | None = None,
    errors: list[dict] | None = None,
    detail: str = "",
) -> str:
    """Record a final outcome, move the appalto/scheda, audit, and signal — one transaction."""
    with transaction.atomic():
        op = AnacOperation.objects.select_for_update().get(pk=op_id)
        if op.state in FINAL_STATES:
            return op.state
        op.state = outcome
        op.finished_at = now
        op.next_poll_at = None
        op.next_attempt_at = None
        op.claimed_until = None
        if result is not None:
            op.result = result
        if errors is not None:
            op.error_codes = errors
        if detail:
            op.detail = detail[:2000]
        op.save()
        _apply_effects(op, now=now)
        audit_record(
            action=_("operazione ANAC %(kind)s conclusa: %(outcome)s")
            % {"kind": op.kind, "outcome": op.get_state_display()},
            actor_label=_("Sistema"),
            obj=op,
            organisation=op.appalto.organisation,
            to_state=outcome,
            payload={"errori": op.error_codes, "risultato": op.result},
            now=now,
        )
        signals.operation_finished.send(sender=AnacOperation, operation=op, outcome=outcome)
        if outcome != S.OK:  # what was to follow in the same click ends the same way
            for dependent in op.dependents.exclude(state__in=list(FINAL_STATES)):
                _finish(
                    dependent.pk,
                    outcome,
                    now=now,
                    errors=op.error_codes,
                    detail=_("Non inviata: l'operazione precedente (%(kind)s) non è riuscita.")
                    % {"kind": op.kind},
                )
    return outcome


def _apply_effects(op: AnacOperation, *, now: datetime) -> None:
    from procurement.pcp.models import AppaltoState, PcpAppalto, PcpLot, PcpScheda, SchedaStatus

    appalto = PcpAppalto.objects.select_for_update().get(pk=op.appalto_id)
    before = appalto.local_state
    ok = op.state == S.OK
    if op.kind == Kind.CREA_APPALTO and ok:
        id_appalto = (op.result or {}).get("idAppalto")
        if appalto.local_state == AppaltoState.NONE:
            appalto.mark_created(id_appalto)
        appalto.anac_state = "IN_LAV"
        appalto.last_sent_payload_sha256 = op.request.get("sha256", "")
    elif op.kind == Kind.MODIFICA_APPALTO and ok:
        appalto.last_sent_payload_sha256 = op.request.get("sha256", "")
    elif op.kind == Kind.CONFERMA_APPALTO:
        if ok and appalto.local_state == AppaltoState.CONFIRMATION_PENDING:
            appalto.mark_confirmed()
            appalto.anac_state = "CONF"
            if (op.result or {}).get("idAvviso"):
                appalto.id_avviso = op.result["idAvviso"]
                appalto.avviso_state = "CREATO"
        elif not ok and appalto.local_state == AppaltoState.CONFIRMATION_PENDING:
            appalto.mark_confirmation_refused()
    elif op.kind == Kind.RECUPERA_CIG and ok:
        for item in (op.result or {}).get("cigs", []):
            PcpLot.objects.update_or_create(
                appalto=appalto,
                lot_identifier=item["lotIdentifier"],
                defaults={"cig": item["cig"], "anac_state": "AGG"},
            )
        if appalto.local_state == AppaltoState.CONFIRMED:
            appalto.mark_cig_assigned()
    elif op.kind == Kind.PUBBLICA_AVVISO:
        stato = (op.result or {}).get("statoAvviso")
        if stato:
            appalto.avviso_state = stato
            if ok:
                appalto.anac_state = stato
    elif op.kind == Kind.CANCELLA_APPALTO and ok:
        if appalto.local_state != AppaltoState.CANCELLED:
            appalto.mark_cancelled()
        appalto.anac_state = "CANC"
    if op.scheda_id:
        scheda = PcpScheda.objects.select_for_update().get(pk=op.scheda_id)
        scheda_before = scheda.status
        if op.kind == Kind.CREA_SCHEDA and ok:
            scheda.id_scheda = (op.result or {}).get("idScheda")
            scheda.anac_state = "IN_LAV"
        elif op.kind == Kind.CONFERMA_SCHEDA and scheda.status == SchedaStatus.SENDING:
            if ok:
                scheda.mark_confirmed()
                scheda.anac_state = "CONF"
                scheda.confirmed_at = now
                scheda.last_errors = []
                if scheda.code == "ANN":
                    cig = (scheda.payload.get("anacForm") or {}).get("cig")
                    appalto.lots.filter(cig=cig).update(anac_state="ANN")
            else:
                scheda.mark_error()
                scheda.last_errors = op.error_codes
        elif op.kind == Kind.CANCELLA_SCHEDA:
            if ok and scheda.status == SchedaStatus.ERROR:
                scheda.mark_deleted()
                scheda.anac_state = "CANC"
                scheda.deleted_at = now
            elif not ok:
                scheda.last_errors = op.error_codes
        scheda.save()
        if scheda.status != scheda_before:
            audit_record(
                action=_("scheda %(code)s: %(status)s")
                % {"code": scheda.code, "status": scheda.get_status_display()},
                actor_label=_("Sistema"),
                obj=scheda,
                organisation=appalto.organisation,
                from_state=scheda_before,
                to_state=scheda.status,
                payload={"operazione": op.pk, "errori": op.error_codes},
                now=now,
            )
    appalto.save()
    if appalto.local_state != before:
        audit_record(
            action=_("appalto: %(state)s") % {"state": appalto.get_local_state_display()},
            actor_label=_("Sistema"),
            obj=appalto,
            from_state=before,
            to_state=appalto.local_state,
            payload={"operazione": op.pk, "idAppalto": appalto.id_appalto},
            now=now,
        )


# --- polling ----------------------------------------------------------------------------------


def _claim_poll(op_id: int, now: datetime, *, force: bool) -> bool:
    qs = AnacOperation.objects.filter(pk=op_id, state__in=list(POLL_STATES)).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    if not force:
        qs = qs.filter(next_poll_at__lte=now)
    return qs.update(claimed_until=now + CLAIM) == 1


def poll(
    op: AnacOperation, *, trigger: str, now: datetime, client: PcpClient | None = None
) -> AnacOperation:
    """One esito-operazione check of an acknowledged operation; applies OK/KO or reschedules."""
    force = trigger != Trigger.SCHEDULER
    if not _claim_poll(op.pk, now, force=force):
        op.refresh_from_db()
        return op
    op = AnacOperation.objects.select_related("appalto", "scheda").get(pk=op.pk)
    if trigger == Trigger.SCHEDULER and op.acting_user_id != op.appalto.rup_id:
        # D-ADE-19: the delegation ends when the RUP changes; the new RUP's reload resumes it.
        _update(op.pk, POLL_STATES, next_poll_at=None, claimed_until=None)
        op.refresh_from_db()
        return op
    try:
        with _pcp(client) as pcp:
            outcome = _check_esito(op, pcp, trigger=trigger, now=now)
    except AnacRateLimited as exc:
        wait = timedelta(seconds=max(float(exc.retry_after or 0), 1.0))
        _rescheduled(op, now=now, at=now + wait)
        op.refresh_from_db()
        return op
    except (AnacError, PdndError) as exc:
        logger.info("Poll of ANAC operation %s: %s", op.pk, exc)
        outcome = None
    except Exception:
        logger.exception("Poll of ANAC operation %s failed", op.pk)
        outcome = None
    if outcome is None:
        _waiting(op, now=now)
    op.refresh_from_db()
    return op


def _fresh(op: AnacOperation, esiti, since: datetime):
    """Outcomes of this operation only: dated from `since` − 120 s, and of our scheda."""
    limit = since - STALE_TOLERANCE
    mine = []
    for esito in esiti:
        if esito.data_controllo is None or esito.data_controllo < limit:
            continue
        if op.kind == Kind.CONFERMA_SCHEDA and esito.id_scheda != str(op.scheda.id_scheda):
            continue
        mine.append(esito)
    mine.sort(key=lambda e: e.data_controllo)
    return mine


def _tipo(op: AnacOperation) -> str:
    return "AP_CONF" if op.kind == Kind.CONFERMA_APPALTO else "SC_CONF"


def _check_esito(op: AnacOperation, pcp: PcpClient, *, trigger: str, now: datetime) -> str | None:
    """Returns the final state applied, or None when still waiting."""
    ctx = _ctx(op, trigger)
    if op.kind == Kind.PUBBLICA_AVVISO:
        return _check_avviso(op, pcp, ctx, now=now)
    ricerca = ULTIMO_ESITO if op.kind == Kind.CONFERMA_APPALTO else TUTTI_ESITI
    try:
        esiti = pcp.esito_operazione(
            ctx,
            id_appalto=str(op.appalto.id_appalto),
            tipo_operazione=_tipo(op),
            tipo_ricerca=ricerca,
        )
    except AnacNotFound:
        esiti = []  # within 10 min of the ack: not registered yet; later: keep the schedule
    mine = _fresh(op, esiti, op.ack_at)
    latest = mine[-1] if mine else None
    _update(op.pk, POLL_STATES, first_poll_at=op.first_poll_at or now, last_poll_at=now)
    if latest is not None and latest.codice == "OK":
        result = {"dettaglio": latest.dettaglio}
        if latest.id_avviso:
            result["idAvviso"] = latest.id_avviso
        return _finish(op.pk, S.OK, now=now, result=result)
    if latest is not None and latest.codice == "KO":
        errors = _error_rows(latest.errori) or [
            {"codice": latest.dettaglio, "descrizione": _("Esito negativo"), "dettaglio": ""}
        ]
        return _finish(op.pk, S.KO, now=now, errors=errors, result={"dettaglio": latest.dettaglio})
    if latest is None and op.kind == Kind.CONFERMA_SCHEDA and now - op.ack_at >= NOT_FOUND_GRACE:
        scheda = pcp.consulta_scheda(ctx, str(op.scheda.id_scheda))  # fallback (§6.3)
        if scheda.stato == "CONF":
            return _finish(op.pk, S.OK, now=now, result={"stato": "CONF"})
    return None


AVVISO_ACCEPTED = {"IN_ATT_PUBB", "PUBB"}
AVVISO_REFUSED = {"NON_PUBB", "CANC", "STOP_PUBB"}


def _check_avviso(op: AnacOperation, pcp: PcpClient, ctx: CallContext, *, now) -> str | None:
    """pubblica-avviso has no esito-operazione: stato-avviso says whether ANAC accepted it."""
    stato = pcp.stato_avviso(ctx, str(op.appalto.id_avviso))
    _update(op.pk, POLL_STATES, first_poll_at=op.first_poll_at or now, last_poll_at=now)
    if stato.stato in AVVISO_ACCEPTED:
        return _finish(op.pk, S.OK, now=now, result={"statoAvviso": stato.stato})
    if stato.stato in AVVISO_REFUSED:
        detail = _("Avviso non pubblicato da ANAC (stato %(stato)s).") % {"stato": stato.stato}
        return _finish(
            op.pk,
            S.KO,
            now=now,
            result={"statoAvviso": stato.stato},
            detail=detail,
            errors=[{"codice": stato.stato, "descrizione": detail, "dettaglio": ""}],
        )
    return None


def _waiting(op: AnacOperation, *, now: datetime) -> None:
    """Still WT: WAITING with the next poll of the schedule, or STALLED past the window."""
    with transaction.atomic():
        op = AnacOperation.objects.select_for_update().get(pk=op.pk)
        if op.state not in POLL_STATES:
            return
        window_end = op.ack_at + timedelta(seconds=stalled_after_seconds())
        if now < window_end:
            op.state = S.WAITING
            op.next_poll_at = next_poll_after(op.ack_at, now) or window_end
        else:
            newly = op.state != S.STALLED
            op.state = S.STALLED
            nxt = now + STALLED_EVERY
            op.next_poll_at = nxt if nxt <= window_end + STALLED_POLL_FOR else None
            if newly:
                op.stalled_notified_at = now
                audit_record(
                    action=_("esito ANAC non disponibile dopo %(h)s ore")
                    % {"h": stalled_after_seconds() // 3600},
                    actor_label=_("Sistema"),
                    obj=op,
                    organisation=op.appalto.organisation,
                    to_state=S.STALLED,
                    now=now,
                )
                signals.operation_stalled.send(
                    sender=AnacOperation, operation=op, outcome=S.STALLED
                )
        op.claimed_until = None
        op.save(update_fields=["state", "next_poll_at", "claimed_until", "stalled_notified_at"])


def _rescheduled(op: AnacOperation, *, now: datetime, at: datetime) -> None:
    state = S.WAITING if op.state == S.ACKED else op.state
    _update(op.pk, POLL_STATES, state=state, next_poll_at=at, claimed_until=None, last_poll_at=now)


def request_poll(op: AnacOperation, *, actor, user, trigger: str, now: datetime) -> bool:
    """Reload / "Verifica invio": make a pending poll due now (at most once per 30 s)."""
    recent = now - REQUEST_POLL_THROTTLE
    fields = {"next_poll_at": now}
    if actor is not None:
        fields.update(
            acting_user=user,
            actor_tax_code=actor.tax_code,
            actor_loa=actor.loa,
            actor_idp=actor.idp_type,
            actor_role=actor.role,
        )
    updated = (
        AnacOperation.objects.filter(pk=op.pk, state__in=list(POLL_STATES))
        .filter(Q(last_poll_at__isnull=True) | Q(last_poll_at__lte=recent))
        .update(**fields)
    )
    if updated:
        transaction.on_commit(lambda: kick_poll(op.pk, trigger))
    return bool(updated)


# --- reconciliation (§6.7) --------------------------------------------------------------------


def reconcile(op: AnacOperation, *, now: datetime, client: PcpClient | None = None) -> str:
    """Decide what an UNKNOWN operation did: read-only lookups, then one conditional update."""
    claimed = (
        AnacOperation.objects.filter(pk=op.pk, state=S.UNKNOWN)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM)
    )
    if not claimed:
        return AnacOperation.objects.get(pk=op.pk).state
    op = AnacOperation.objects.select_related("appalto", "scheda").get(pk=op.pk)
    try:
        with _pcp(client) as pcp:
            state = _reconcile(op, pcp, now=now)
    except AnacError as exc:
        logger.info("Reconciliation of ANAC operation %s: %s", op.pk, exc)
        state = S.UNKNOWN
    except Exception:
        logger.exception("Reconciliation of ANAC operation %s failed", op.pk)
        state = S.UNKNOWN
    AnacOperation.objects.filter(pk=op.pk).update(claimed_until=None)
    if state == S.QUEUED:
        dispatch(op.pk, now=now, client=client)
    elif state == S.OK:  # e.g. an adopted crea-appalto: the rest of the click follows
        for dependent in op.dependents.filter(state=S.QUEUED).values_list("pk", flat=True):
            dispatch(dependent, now=now, client=client)
    return AnacOperation.objects.get(pk=op.pk).state


def _resend_or_wait(op: AnacOperation, *, now: datetime) -> str:
    """Nothing found: resend after two checks at least 60 s apart (creations)."""
    if op.reconcile_checks >= 1 and op.last_check_at and now - op.last_check_at >= RECHECK_AFTER:
        return _requeue(op, now=now)
    if op.reconcile_checks == 0 or op.last_check_at is None:
        _update(op.pk, S.UNKNOWN, reconcile_checks=F("reconcile_checks") + 1, last_check_at=now)
    return S.UNKNOWN


def _requeue(op: AnacOperation, *, now: datetime) -> str:
    _update(
        op.pk,
        S.UNKNOWN,
        state=S.QUEUED,
        next_attempt_at=now,
        trigger=Trigger.RECONCILE,
        reconcile_checks=0,
        last_check_at=None,
    )
    return S.QUEUED


def _reconcile(op: AnacOperation, pcp: PcpClient, *, now: datetime) -> str:
    ctx = _ctx(op, Trigger.RECONCILE)
    appalto = op.appalto
    if op.kind == Kind.CREA_APPALTO:
        if appalto.id_appalto:
            return _finish(op.pk, S.OK, now=now, result={"idAppalto": str(appalto.id_appalto)})
        found = pcp.ricerca_appalto(ctx, codice_appalto=appalto.codice_appalto)
        live = [a for a in found if a.stato != "CANC"] or found
        if live:
            return _finish(
                op.pk, S.OK, now=now, result={"idAppalto": live[0].id_appalto, "adottato": True}
            )
        return _resend_or_wait(op, now=now)
    if op.kind in (Kind.CONFERMA_APPALTO, Kind.CONFERMA_SCHEDA):
        try:
            esiti = pcp.esito_operazione(
                ctx,
                id_appalto=str(appalto.id_appalto),
                tipo_operazione=_tipo(op),
                tipo_ricerca=TUTTI_ESITI,
            )
        except AnacNotFound:
            esiti = []
        if _fresh(op, esiti, op.sent_at):
            return _acked(op.pk, now=now, ack_at=op.sent_at)
        if now - op.unknown_since >= CONFIRM_RESEND_AFTER:
            return _requeue(op, now=now)
        return S.UNKNOWN
    if op.kind == Kind.CREA_SCHEDA:
        scheda = op.scheda
        if scheda.id_scheda:
            return _finish(op.pk, S.OK, now=now, result={"idScheda": str(scheda.id_scheda)})
        from procurement.pcp.models import PcpScheda

        known = {
            str(v)
            for v in PcpScheda.objects.filter(appalto=appalto)
            .exclude(id_scheda=None)
            .values_list("id_scheda", flat=True)
        }
        found = pcp.ricerca_scheda(
            ctx, id_appalto=str(appalto.id_appalto), codice_scheda=scheda.code
        )
        live = [s for s in found if s.stato in {"IN_LAV", "CONF"} and s.id_scheda not in known]
        if live:
            return _finish(
                op.pk, S.OK, now=now, result={"idScheda": live[0].id_scheda, "adottato": True}
            )
        return _resend_or_wait(op, now=now)
    if op.kind == Kind.PUBBLICA_AVVISO:
        if pcp.stato_avviso(ctx, str(appalto.id_avviso)).stato != "CREATO":
            return _acked(op.pk, now=now, ack_at=op.sent_at)
        return _requeue(op, now=now)
    if op.kind == Kind.CANCELLA_SCHEDA:
        if pcp.consulta_scheda(ctx, str(op.scheda.id_scheda)).stato == "CANC":
            return _finish(op.pk, S.OK, now=now)
        return _requeue(op, now=now)
    if op.kind == Kind.CANCELLA_APPALTO:
        found = pcp.ricerca_appalto(ctx, codice_appalto=appalto.codice_appalto)
        if found and all(a.stato == "CANC" for a in found):
            return _finish(op.pk, S.OK, now=now)
        return _requeue(op, now=now)
    # modifica-appalto replaces the whole instance and recupera-cig only reads: safe to resend.
    return _requeue(op, now=now)


# --- sweeps (called by the Celery tasks, and directly by tests) -------------------------------


def dispatch_due(*, now: datetime, limit: int = 200, client: PcpClient | None = None) -> int:
    """Send QUEUED operations that are due (creations before confirmations); SENT > 10 min
    without an answer (worker crash) become UNKNOWN."""
    AnacOperation.objects.filter(state=S.SENT, sent_at__lt=now - SENT_TIMEOUT).update(
        state=S.UNKNOWN, unknown_since=now, reconcile_checks=0, last_check_at=None
    )
    ids = list(
        AnacOperation.objects.filter(state=S.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(depends_on__isnull=True) | Q(depends_on__state=S.OK))
        .order_by("depends_on_id", "created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        dispatch(pk, now=now, client=client)
    return len(ids)


def poll_due(*, now: datetime, limit: int = 500, client: PcpClient | None = None) -> int:
    ids = list(
        AnacOperation.objects.filter(state__in=list(POLL_STATES), next_poll_at__lte=now)
        .order_by("next_poll_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        poll(AnacOperation(pk=pk), trigger=Trigger.SCHEDULER, now=now, client=client)
    return len(ids)


def reconcile_due(*, now: datetime, limit: int = 200, client: PcpClient | None = None) -> int:
    ids = list(
        AnacOperation.objects.filter(state=S.UNKNOWN)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        reconcile(AnacOperation(pk=pk), now=now, client=client)
    return len(ids)


def stalled_operations():
    return AnacOperation.objects.filter(state__in=[S.STALLED, S.FAILED]).select_related(
        "appalto", "acting_user"
    )


# --- Log Trasmissioni (§6.8) ------------------------------------------------------------------


def transmissions_for(subject):
    """The AnacTransmission rows of a PcpAppalto (all), of a PcpScheda (its own), or of any
    other subject of operations; newest first."""
    from procurement.pcp.models import PcpAppalto, PcpScheda

    rows = AnacTransmission.objects.select_related("anac_operation")
    if isinstance(subject, PcpAppalto):
        return rows.filter(Q(appalto=subject) | Q(anac_operation__appalto=subject))
    if isinstance(subject, PcpScheda):
        condition = Q(anac_operation__scheda=subject)
        if subject.id_scheda:
            condition |= Q(id_scheda=str(subject.id_scheda))
        return rows.filter(condition)
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(subject)
    return rows.filter(anac_operation__subject_type=ct, anac_operation__subject_id=str(subject.pk))


def can_see_bodies(user, appalto) -> bool:
    """D-ADE-37: request/response bodies only for the appalto's RUP and platform operators."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or (appalto and appalto.rup_id == user.pk))
