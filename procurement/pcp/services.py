"""PCP services: the appalto record, its ANAC operations (async, through an outbox), schede.

Public API (keyword-only arguments; `now` is always an argument; Italian messages in `PcpError`)
================================================================================================

Identity
--------
``pcp_actor_for(*, user, request, appalto, now=None) -> Actor``
    The identity carried by the tracking JWS, built from the user's active strong session
    (tax code, role "RP", LoA "3"/"4", IdP type) and the appalto's authority (AUSA code, tax code).
    Raises ``PcpError`` (Italian message) when the user is not the appalto's RUP, has no strong
    session (MSG-D13), has no tax code, or the organisation has no AUSA code. Call it in the view
    and pass the result to the services below: it is stored on the operation, so background polls
    and reconciliation act as that RUP (D-ADE-19).

Appalto (AD4 etc.)
------------------
``appalto_create(*, user, organisation, rup, subject, amount=None, scheda_code="", owner=None)``
    The local record, before anything is sent (unchanged).
``pcp_confirm_appalto(*, appalto, user, actor, scheda, now) -> AnacOperation``
    "Conferma appalto": `scheda` is the SchedaComunicaAppaltoType dict
    ``{"codice": {"idTipologica": "codiceScheda", "codice": "AD4"}, "versione": "1.0",
    "body": {"anacForm": {...}}}`` (its `appalto.codiceAppalto` must be ``appalto.codice_appalto``).
    Queues ``crea-appalto`` (no idAppalto yet) or ``modifica-appalto`` (after a KO), then
    ``conferma-appalto``, dispatched after commit. Returns the conferma-appalto operation.
    Refuses with ``PcpError`` (MSG-D20) when an operation of the appalto is in progress.
    Outcome: the conferma operation ends OK (appalto CONFIRMED), KO (appalto back to CREATED or
    NONE; ``operation.error_codes`` = ``[{codice, descrizione, dettaglio}]``) or FAILED; when the
    crea/modifica step fails, the conferma operation ends with the same outcome and errors.
``pcp_fetch_cigs(*, appalto, user, actor, now) -> AnacOperation``
    "Acquisisci CIG": queues ``recupera-cig`` (all pages, 20 per page). On OK the appalto's
    ``PcpLot`` rows carry their CIGs (validated with ``procurement.anac.cig``), the appalto is
    CIG_ASSIGNED and ``operation.result == {"cigs": [{"cig", "lotIdentifier"}, ...]}``.
    An invalid or missing CIG ends the operation KO with code ``CIG_NON_VALIDO``.
``pcp_publish_notice(*, appalto, user, actor, now) -> AnacOperation``
    "Pubblica avviso" (P* schede, after the CIGs): queues ``pubblica-avviso`` with the idAvviso
    that came with the AP_CONF outcome (``appalto.id_avviso``); polled with ``stato-avviso``;
    OK when ANAC has accepted the notice (``appalto.avviso_state`` IN_ATT_PUBB or PUBB).
``pcp_cancel_appalto(*, appalto, user, actor, motivo, now) -> AnacOperation``
    Queues ``cancella-appalto`` (motivo ≤ 200 characters); on OK the appalto is CANCELLED.
    If the appalto has no idAppalto, it is cancelled locally at once and None is returned.

Schede (ANN, ...)
-----------------
``pcp_scheda_create(*, appalto, user, code, payload, now) -> PcpScheda``
    A local DRAFT (nothing sent). `payload` = the scheda's ``body`` (``{"anacForm": {...}}``);
    ``ann_payload(cig)`` builds the ANN one. ``scheda.cig`` is the lot the scheda concerns, from
    ``anacForm.cig`` when it is a string (blank otherwise: the whole appalto). An ANN cancels one
    lot, so the rules hold per CIG: one live ANN per CIG (invariant 6, DB index); after the
    CONFIRMED ANN of a CIG no scheda of that CIG, and none at all once every lot is annulled;
    an ANN is refused after an execution-phase scheda of its CIG or without a CIG (MSG-D16).
``pcp_scheda_send(*, scheda, user, actor, now) -> AnacOperation``
    "invia scheda": DRAFT/ERROR -> SENDING; queues ``crea-scheda`` (if no idScheda) and
    ``conferma-scheda``. Outcome: SENDING -> CONFIRMED (``scheda.anac_state = CONF``; for ANN the
    lot's ``anac_state = ANN``) or -> ERROR (``scheda.last_errors``).
``pcp_scheda_verify(*, scheda, user, actor, now) -> AnacOperation | None``
    "Verifica invio": forces a poll of the pending conferma-scheda (at most one per 30 s).
``pcp_scheda_delete(*, scheda, user, actor=None, now) -> AnacOperation | None``
    DRAFT -> DELETED locally; ERROR with an idScheda -> queues ``cancella-scheda`` and the scheda
    becomes DELETED when it succeeds (``actor`` required then); ERROR without idScheda -> DELETED.

Procedure roles (fvoe R-FVOE-002/003, D-FVOE-01)
-------------------------------------------------
``procedure_role_grant(*, actor, appalto, user, role, now) -> ProcedureRole``
    Give `user` (an active member of the appalto's authority) the procedure role `role`
    (``ProcedureRoleKind``: RUP_RDO, RUP_PDG, OPERATORE). Allowed to the appalto's RUP (the RUP in
    charge), staff and the authority's administrators; PermissionDenied otherwise, ``PcpError``
    (Italian) for an unknown role, a user outside the authority or a role already held.
``procedure_role_grant_check(*, actor, appalto, user, role) -> str``
    The same checks without writing (admin and page forms).
``procedure_role_revoke(*, actor, appalto, user, role, now) -> None``
    Remove the grant (same permission); ``PcpError`` if the user does not hold it explicitly.
    The RUP's implicit RUP_RDO cannot be revoked (it follows ``rup`` / ``rp_tax_code``).
Both lock the appalto row and record an audit event on the appalto. Reading:
``procurement.pcp.selectors.procedure_roles_of(user, appalto) -> set[str]``.

Polling and state
-----------------
``pcp_poll(*, operation, trigger, now) -> AnacOperation``
    One ``esito-operazione`` check of an ACKED/WAITING/STALLED operation, applying the outcome.
    Makes an HTTP call: never call it inside a transaction (tasks call it; views should use
    ``pcp_request_poll``).
``pcp_request_poll(*, subject, user, actor, trigger=Trigger.RELOAD, now) -> AnacOperation | None``
    Page reload by the RUP / "Verifica invio": if the subject has a pending operation whose last
    poll is older than 30 s, makes it due now (the new actor is stored) and queues the poll task.
``operation_in_progress(subject) -> AnacOperation | None``
    The operation of `subject` (PcpAppalto or PcpScheda) not yet final, if any (for banners and
    guards: "Conferma appalto" disabled, MSG-02 / MSG-05 shown).
``last_operation(subject, kind=None) -> AnacOperation | None``
    The most recent operation of `subject` (for MSG-D10 with ``error_codes``, MSG-D11 when STALLED).

Reacting in a workflow app (the kernel never imports the apps)
--------------------------------------------------------------
``procurement.anac.signals.operation_finished`` is sent with ``sender=AnacOperation``,
``operation=<AnacOperation>``, ``outcome="OK"|"KO"|"FAILED"`` INSIDE the transaction that records
the final outcome (the PcpAppalto/PcpScheda row is already updated and locked), so a receiver
changes its own object atomically; ``operation.subject`` is the PcpAppalto or PcpScheda and
``subject.owner`` (appalto) / ``subject.appalto.owner`` (scheda) is the app's object.
``operation.kind`` is an ``AnacOperationKind`` ("conferma-appalto", "recupera-cig",
"conferma-scheda", "cancella-appalto", "cancella-scheda", ...). ``operation_stalled`` is sent
(same arguments, outcome="STALLED") once when an operation passes 72 h without an outcome (N-15).

Dispatch and testing
--------------------
Services only write outbox rows; after commit each is sent by the Celery task
``anac_dispatch_operation`` (sweepers every minute pick up what the broker missed). With
``settings.ANAC_DISPATCH_INLINE = True`` (tests, demos) the committing thread sends it instead,
so a test against the simulator (fixture ``anac_live``) sees the ack right after the service
returns; polls are then driven with ``procurement.anac.operations.poll_due(now=...)`` /
``reconcile_due`` / ``dispatch_due`` under time-machine (see tests/anac/test_operations.py).
Idempotency keys: ``appalto:<pk>:crea-appalto:<n>``, ``…:modifica-appalto:<n>``,
``…:conferma-appalto:<n>``, ``…:recupera-cig:<n>``, ``…:cancella-appalto:<n>``,
``scheda:<pk>:crea-scheda:<n>``, ``…:conferma-scheda:<n>``, ``…:cancella-scheda:<n>``
(``<n>`` grows only after a final outcome: a click while one is pending gets MSG-D20).

Log Trasmissioni: ``procurement.anac.operations.transmissions_for(subject)`` and the template
partial ``templates/anac/log_trasmissioni.html`` (``{% include "anac/log_trasmissioni.html" with
rows=rows show_bodies=show_bodies %}``; ``show_bodies = can_see_bodies(user, appalto)``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.accounts.access import active_memberships, has_role
from procurement.accounts.models import Organisation, Role, User
from procurement.accounts.strongauth import STRONG_LOA, current_auth_session
from procurement.anac import operations
from procurement.anac.identity import Actor
from procurement.anac.models import (
    PENDING_STATES,
    AnacOperation,
    Trigger,
)
from procurement.anac.models import (
    AnacOperationKind as Kind,
)
from procurement.audit.services import audit_record

from .models import (
    EXECUTION_PHASE_CODES,
    AppaltoState,
    PcpAppalto,
    PcpScheda,
    ProcedureRole,
    ProcedureRoleKind,
    SchedaStatus,
)
from .selectors import implicit_roles_of

# Messages of the specification (adesioni Appendix B), verbatim.
MSG_D13 = "Operazione riservata al RUP dell’ordinativo autenticato con SPID, CIE o CNS."
MSG_D16 = (
    "L’invio della scheda ANN non è possibile perché è già stata inviata una scheda della fase "
    "di esecuzione."
)
MSG_D20 = "Operazione non consentita nello stato attuale. Ricaricare la pagina."
JWS_IDP_TYPES = {"SPID", "CIE", "CNS", "EIDAS"}


class PcpError(Exception):
    """An error the user can fix; the message is Italian."""


def appalto_create(
    *,
    user: User,
    organisation: Organisation,
    rup: User,
    subject: str,
    amount: Decimal | None = None,
    scheda_code: str = "",
    owner=None,
) -> PcpAppalto:
    """Create the local appalto record of a procedure, before anything is sent to ANAC."""
    if not (
        user.is_superuser
        or has_role(user, Role.BUYER, organisation)
        or has_role(user, Role.RUP, organisation)
    ):
        raise PermissionDenied(_("Non puoi creare appalti per questa organizzazione."))
    if not has_role(rup, Role.RUP, organisation):
        raise PcpError(_("Il RUP indicato non è abilitato come RUP per l'organizzazione."))
    if not rup.tax_code:
        raise PcpError(_("Il RUP indicato non ha un codice fiscale: ANAC lo richiede."))
    if not organisation.tax_code:
        raise PcpError(_("L'organizzazione non ha un codice fiscale: ANAC lo richiede."))
    if amount is not None and amount < 0:
        raise PcpError(_("L'importo non può essere negativo."))
    with transaction.atomic():
        appalto = PcpAppalto.objects.create(
            organisation=organisation,
            rup=rup,
            subject=subject,
            amount=amount,
            scheda_code=scheda_code,
            sa_tax_code=organisation.tax_code,
            sa_ausa_code=organisation.ausa_code,
            rp_tax_code=rup.tax_code,
            owner_type=ContentType.objects.get_for_model(owner) if owner is not None else None,
            owner_id=str(owner.pk) if owner is not None else "",
        )
        audit_record(
            action=_("appalto creato"),
            actor=user,
            obj=appalto,
            to_state=appalto.local_state,
            payload={"rup": rup.tax_code, "amount": amount},
        )
    return appalto


# --- identity ---------------------------------------------------------------------------------


def pcp_actor_for(*, user: User, request, appalto: PcpAppalto, now=None) -> Actor:
    """The RUP's identity for the tracking JWS, from his active strong session (D-ADE-31)."""
    now = now or timezone.now()
    if user is None or not user.is_authenticated or appalto.rup_id != user.pk:
        raise PcpError(_(MSG_D13))
    session = current_auth_session(request, now)
    if session is None or session.loa < STRONG_LOA or session.anac_loa not in {"3", "4"}:
        raise PcpError(_(MSG_D13))
    if not user.tax_code:
        raise PcpError(_("Il tuo profilo non ha un codice fiscale: ANAC lo richiede."))
    ausa = appalto.sa_ausa_code or appalto.organisation.ausa_code
    if not ausa:
        raise PcpError(
            _("L’organizzazione non ha un codice AUSA: impostarlo prima di comunicare con ANAC.")
        )
    idp = session.idp_type if session.idp_type in JWS_IDP_TYPES else "CUSTOM"
    return Actor(
        tax_code=user.tax_code,
        role="RP",
        loa=session.anac_loa,
        idp_type=idp,
        sa_ausa=ausa,
        sa_tax_code=appalto.sa_tax_code,
    )


def _check_rup(appalto: PcpAppalto, user: User, actor: Actor | None) -> None:
    if user is None or appalto.rup_id != user.pk:
        raise PermissionDenied(_(MSG_D13))
    if actor is not None and actor.tax_code != (user.tax_code or ""):
        raise PermissionDenied(_(MSG_D13))


# --- selectors --------------------------------------------------------------------------------


def _operations_of(subject):
    if isinstance(subject, PcpScheda):
        return AnacOperation.objects.filter(scheda=subject)
    if isinstance(subject, PcpAppalto):
        return AnacOperation.objects.filter(appalto=subject)
    ct = ContentType.objects.get_for_model(subject)
    return AnacOperation.objects.filter(subject_type=ct, subject_id=str(subject.pk))


def operation_in_progress(subject) -> AnacOperation | None:
    """The not-yet-final operation of a PcpAppalto (any, schede included) or PcpScheda."""
    return (
        _operations_of(subject)
        .filter(state__in=list(PENDING_STATES))
        .order_by("-created_at", "-pk")
        .first()
    )


def last_operation(subject, kind: str | None = None) -> AnacOperation | None:
    qs = _operations_of(subject)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-pk").first()


# --- outbox rows ------------------------------------------------------------------------------


def _sha256(data) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _enqueue(
    *,
    kind: str,
    key: str,
    appalto: PcpAppalto,
    user: User,
    actor: Actor,
    span_id,
    now,
    subject=None,
    scheda: PcpScheda | None = None,
    request: dict | None = None,
    depends_on: AnacOperation | None = None,
) -> AnacOperation:
    subject = subject or scheda or appalto
    try:
        with transaction.atomic():
            return AnacOperation.objects.create(
                kind=kind,
                idempotency_key=key,
                subject_type=ContentType.objects.get_for_model(subject),
                subject_id=str(subject.pk),
                appalto=appalto,
                scheda=scheda,
                depends_on=depends_on,
                request=request or {},
                acting_user=user,
                actor_tax_code=actor.tax_code,
                actor_role=actor.role,
                actor_loa=actor.loa,
                actor_idp=actor.idp_type,
                sa_ausa_code=actor.sa_ausa,
                sa_tax_code=actor.sa_tax_code,
                span_id=span_id,
                trigger=Trigger.USER,
                created_at=now,
                next_attempt_at=now,
            )
    except IntegrityError as exc:  # same idempotency key: a concurrent or repeated click
        raise PcpError(_(MSG_D20)) from exc


def _next_attempt(appalto: PcpAppalto, kind: str, scheda: PcpScheda | None = None) -> int:
    qs = AnacOperation.objects.filter(appalto=appalto, kind=kind)
    if scheda is not None:
        qs = qs.filter(scheda=scheda)
    return qs.count() + 1


def _locked_appalto(appalto: PcpAppalto) -> PcpAppalto:
    return PcpAppalto.objects.select_for_update().select_related("organisation").get(pk=appalto.pk)


def _after_commit(op: AnacOperation) -> None:
    transaction.on_commit(lambda pk=op.pk: operations.kick(pk))


# --- appalto ----------------------------------------------------------------------------------


def pcp_confirm_appalto(
    *, appalto: PcpAppalto, user: User, actor: Actor, scheda: dict, now
) -> AnacOperation:
    """ "Conferma appalto": crea-appalto (or modifica-appalto after a KO), then conferma-appalto."""
    _check_rup(appalto, user, actor)
    form = ((scheda or {}).get("body") or {}).get("anacForm") or {}
    codice = str((form.get("appalto") or {}).get("codiceAppalto") or "")
    if codice != str(appalto.codice_appalto):
        raise PcpError(
            _("Il codice appalto della scheda (%(got)s) non è quello dell’appalto (%(want)s).")
            % {"got": codice or "-", "want": appalto.codice_appalto}
        )
    with transaction.atomic():
        appalto = _locked_appalto(appalto)
        if operation_in_progress(appalto) is not None or appalto.local_state not in (
            AppaltoState.NONE,
            AppaltoState.CREATED,
        ):
            raise PcpError(_(MSG_D20))
        span = uuid.uuid4()
        base = f"appalto:{appalto.pk}"
        digest = _sha256(scheda)
        if appalto.id_appalto is None:
            n = _next_attempt(appalto, Kind.CREA_APPALTO)
            first = _enqueue(
                kind=Kind.CREA_APPALTO,
                key=f"{base}:crea-appalto:{n}",
                appalto=appalto,
                user=user,
                actor=actor,
                span_id=span,
                now=now,
                request={"scheda": scheda, "sha256": digest},
            )
        else:
            n = _next_attempt(appalto, Kind.MODIFICA_APPALTO)
            first = _enqueue(
                kind=Kind.MODIFICA_APPALTO,
                key=f"{base}:modifica-appalto:{n}",
                appalto=appalto,
                user=user,
                actor=actor,
                span_id=span,
                now=now,
                request={"scheda": scheda, "sha256": digest},
            )
        n = _next_attempt(appalto, Kind.CONFERMA_APPALTO)
        confirm = _enqueue(
            kind=Kind.CONFERMA_APPALTO,
            key=f"{base}:conferma-appalto:{n}",
            appalto=appalto,
            user=user,
            actor=actor,
            span_id=span,
            now=now,
            depends_on=first,
        )
        audit_record(
            action=_("conferma appalto richiesta"),
            actor=user,
            obj=appalto,
            from_state=appalto.local_state,
            to_state=appalto.local_state,
            payload={"operazioni": [first.kind, confirm.kind], "sha256": digest},
            now=now,
        )
        _after_commit(first)
    return confirm


def pcp_fetch_cigs(
    *,
    appalto: PcpAppalto,
    user: User,
    actor: Actor,
    now,
    lot_identifiers: list[str] | None = None,
) -> AnacOperation:
    """ "Acquisisci CIG": recupera-cig, every page; lots get their CIGs when it succeeds."""
    _check_rup(appalto, user, actor)
    with transaction.atomic():
        appalto = _locked_appalto(appalto)
        if (
            operation_in_progress(appalto) is not None
            or appalto.local_state != AppaltoState.CONFIRMED
        ):
            raise PcpError(_(MSG_D20))
        n = _next_attempt(appalto, Kind.RECUPERA_CIG)
        op = _enqueue(
            kind=Kind.RECUPERA_CIG,
            key=f"appalto:{appalto.pk}:recupera-cig:{n}",
            appalto=appalto,
            user=user,
            actor=actor,
            span_id=uuid.uuid4(),
            now=now,
            request={"lot_identifiers": list(lot_identifiers or [])},
        )
        audit_record(
            action=_("recupero CIG richiesto"),
            actor=user,
            obj=appalto,
            from_state=appalto.local_state,
            to_state=appalto.local_state,
            now=now,
        )
        _after_commit(op)
    return op


def pcp_publish_notice(*, appalto: PcpAppalto, user: User, actor: Actor, now) -> AnacOperation:
    """ "Pubblica avviso": pubblica-avviso of the notice of a P* scheda (after its CIGs).

    Acknowledged by ANAC, the operation is polled with stato-avviso: IN_ATT_PUBB or PUBB end it
    OK (``appalto.avviso_state``), NON_PUBB / CANC / STOP_PUBB end it KO.
    """
    _check_rup(appalto, user, actor)
    with transaction.atomic():
        appalto = _locked_appalto(appalto)
        if (
            operation_in_progress(appalto) is not None
            or appalto.local_state != AppaltoState.CIG_ASSIGNED
            or appalto.id_avviso is None
            or appalto.avviso_state not in ("", "CREATO")
        ):
            raise PcpError(_(MSG_D20))
        n = _next_attempt(appalto, Kind.PUBBLICA_AVVISO)
        op = _enqueue(
            kind=Kind.PUBBLICA_AVVISO,
            key=f"appalto:{appalto.pk}:pubblica-avviso:{n}",
            appalto=appalto,
            user=user,
            actor=actor,
            span_id=uuid.uuid4(),
            now=now,
            request={"idAvviso": str(appalto.id_avviso)},
        )
        audit_record(
            action=_("pubblicazione avviso richiesta"),
            actor=user,
            obj=appalto,
            from_state=appalto.local_state,
            to_state=appalto.local_state,
            payload={"idAvviso": str(appalto.id_avviso)},
            now=now,
        )
        _after_commit(op)
    return op


def pcp_cancel_appalto(
    *, appalto: PcpAppalto, user: User, actor: Actor | None, motivo: str, now
) -> AnacOperation | None:
    """Cancel the appalto at ANAC (cancella-appalto) or, if never created there, locally."""
    _check_rup(appalto, user, actor)
    motivo = (motivo or "").strip()
    if len(motivo) > 200:
        raise PcpError(_("Il motivo della cancellazione non può superare 200 caratteri."))
    with transaction.atomic():
        appalto = _locked_appalto(appalto)
        if operation_in_progress(appalto) is not None or appalto.local_state in (
            AppaltoState.CANCELLED,
            AppaltoState.CONFIRMATION_PENDING,
        ):
            raise PcpError(_(MSG_D20))
        before = appalto.local_state
        if appalto.id_appalto is None:
            appalto.mark_cancelled()
            appalto.save()
            audit_record(
                action=_("appalto annullato (mai trasmesso ad ANAC)"),
                actor=user,
                obj=appalto,
                from_state=before,
                to_state=appalto.local_state,
                payload={"motivo": motivo},
                now=now,
            )
            return None
        if actor is None:
            raise PcpError(_(MSG_D13))
        n = _next_attempt(appalto, Kind.CANCELLA_APPALTO)
        op = _enqueue(
            kind=Kind.CANCELLA_APPALTO,
            key=f"appalto:{appalto.pk}:cancella-appalto:{n}",
            appalto=appalto,
            user=user,
            actor=actor,
            span_id=uuid.uuid4(),
            now=now,
            request={"motivo": motivo or _("Cancellazione richiesta dal RUP")},
        )
        audit_record(
            action=_("cancellazione appalto richiesta"),
            actor=user,
            obj=appalto,
            from_state=before,
            to_state=before,
            payload={"motivo": motivo},
            now=now,
        )
        _after_commit(op)
    return op


# --- schede -----------------------------------------------------------------------------------


def ann_payload(cig: str) -> dict:
    """The body of an ANN scheda: the CIG and the only reason ANAC provides (code 1)."""
    return {
        "anacForm": {
            "cig": cig,
            "annullamento": {
                "motivoAnnullamento": {"idTipologica": "motivoAnnullamento", "codice": "1"}
            },
        }
    }


def _scheda_cig(payload) -> str:
    """The CIG a scheda concerns: its ``anacForm.cig`` when it is one string, else blank."""
    form = payload.get("anacForm") if isinstance(payload, dict) else None
    cig = form.get("cig") if isinstance(form, dict) else None
    if not isinstance(cig, str):
        return ""
    cig = cig.strip()
    if len(cig) > 10:
        raise PcpError(_("Il CIG indicato nella scheda non è valido: %(cig)s") % {"cig": cig})
    return cig


def _scheda_guards(appalto: PcpAppalto, code: str, cig: str, exclude_pk=None) -> None:
    """ANAC's ANN cancels one lot (CIG): the rules below hold per CIG, so that the other lots of
    a multi-lot tender go on after one of them is annulled."""
    others = PcpScheda.objects.filter(appalto=appalto).exclude(pk=exclude_pk)
    annulled = set(
        others.filter(code="ANN", status=SchedaStatus.CONFIRMED).values_list("cig", flat=True)
    )
    if annulled:
        lot_cigs = set(appalto.lots.exclude(cig="").values_list("cig", flat=True))
        # An ANN is final for its lot; once every lot (or, without a CIG, the whole appalto) is
        # annulled, nothing follows it (R-ADE-106).
        if cig in annulled or "" in annulled or lot_cigs <= annulled:
            raise PcpError(_(MSG_D20))
    if code == "ANN":
        sent = others.filter(
            code__in=EXECUTION_PHASE_CODES,
            status__in=[SchedaStatus.SENDING, SchedaStatus.CONFIRMED],
        )
        if cig:  # a scheda without a CIG concerns every lot
            sent = sent.filter(cig__in=[cig, ""])
        if sent.exists():
            raise PcpError(_(MSG_D16))
        if others.filter(
            code="ANN",
            cig=cig,
            status__in=[SchedaStatus.DRAFT, SchedaStatus.SENDING, SchedaStatus.ERROR],
        ).exists():
            raise PcpError(_(MSG_D20))


def pcp_scheda_create(
    *, appalto: PcpAppalto, user: User, code: str, payload: dict, now, cig: str | None = None
) -> PcpScheda:
    """A local draft scheda (nothing is sent until pcp_scheda_send).

    `cig`: the lot the scheda concerns, when the caller knows it (schede whose CIG is nested,
    e.g. S2, A2_29, SC1, NAG); by default the payload's top-level ``anacForm.cig``."""
    _check_rup(appalto, user, None)
    with transaction.atomic():
        appalto = _locked_appalto(appalto)
        if appalto.id_appalto is None or appalto.local_state not in (
            AppaltoState.CONFIRMED,
            AppaltoState.CIG_ASSIGNED,
        ):
            raise PcpError(_(MSG_D20))
        cig = _scheda_cig({"anacForm": {"cig": cig}}) if cig is not None else _scheda_cig(payload)
        _scheda_guards(appalto, code, cig)
        try:
            with transaction.atomic():
                scheda = PcpScheda.objects.create(
                    appalto=appalto,
                    code=code,
                    cig=cig,
                    payload=payload,
                    created_by=user,
                    created_at=now,
                )
        except IntegrityError as exc:  # a second live ANN of the CIG (invariant 6)
            raise PcpError(_(MSG_D20)) from exc
        audit_record(
            action=_("scheda %(code)s creata in bozza") % {"code": code},
            actor=user,
            obj=scheda,
            organisation=appalto.organisation,
            to_state=scheda.status,
            now=now,
        )
    return scheda


def pcp_scheda_send(*, scheda: PcpScheda, user: User, actor: Actor, now) -> AnacOperation:
    """ "invia scheda": crea-scheda (if not created yet) then conferma-scheda."""
    _check_rup(scheda.appalto, user, actor)
    with transaction.atomic():
        appalto = _locked_appalto(scheda.appalto)
        scheda = PcpScheda.objects.select_for_update().get(pk=scheda.pk)
        if scheda.status not in (SchedaStatus.DRAFT, SchedaStatus.ERROR) or (
            operation_in_progress(appalto) is not None
        ):
            raise PcpError(_(MSG_D20))
        _scheda_guards(appalto, scheda.code, scheda.cig, exclude_pk=scheda.pk)
        before = scheda.status
        scheda.mark_sending()
        scheda.sent_at = now
        scheda.sent_by = user
        scheda.last_errors = []
        scheda.save()
        span = uuid.uuid4()
        base = f"scheda:{scheda.pk}"
        first = None
        if scheda.id_scheda is None:
            n = _next_attempt(appalto, Kind.CREA_SCHEDA, scheda)
            first = _enqueue(
                kind=Kind.CREA_SCHEDA,
                key=f"{base}:crea-scheda:{n}",
                appalto=appalto,
                scheda=scheda,
                user=user,
                actor=actor,
                span_id=span,
                now=now,
            )
        n = _next_attempt(appalto, Kind.CONFERMA_SCHEDA, scheda)
        confirm = _enqueue(
            kind=Kind.CONFERMA_SCHEDA,
            key=f"{base}:conferma-scheda:{n}",
            appalto=appalto,
            scheda=scheda,
            user=user,
            actor=actor,
            span_id=span,
            now=now,
            depends_on=first,
        )
        audit_record(
            action=_("invio scheda %(code)s") % {"code": scheda.code},
            actor=user,
            obj=scheda,
            organisation=appalto.organisation,
            from_state=before,
            to_state=scheda.status,
            now=now,
        )
        _after_commit(first or confirm)
    return confirm


def pcp_request_poll(
    *, subject, user: User, actor: Actor | None, trigger: str = Trigger.RELOAD, now
) -> AnacOperation | None:
    """A reload by the RUP / "Verifica invio": poll the pending operation now (≤ 1 per 30 s)."""
    appalto = subject.appalto if isinstance(subject, PcpScheda) else subject
    if user is None or appalto.rup_id != user.pk:
        return None  # other users' reloads only show the stored state
    op = (
        _operations_of(subject)
        .filter(state__in=list(operations.POLL_STATES))
        .order_by("-created_at", "-pk")
        .first()
    )
    if op is None:
        return None
    with transaction.atomic():
        operations.request_poll(op, actor=actor, user=user, trigger=trigger, now=now)
    return op


def pcp_scheda_verify(*, scheda: PcpScheda, user: User, actor: Actor, now) -> AnacOperation | None:
    """ "Verifica invio": an immediate check of the scheda's pending conferma-scheda."""
    _check_rup(scheda.appalto, user, actor)
    if scheda.status != SchedaStatus.SENDING:
        raise PcpError(_(MSG_D20))
    return pcp_request_poll(subject=scheda, user=user, actor=actor, trigger=Trigger.USER, now=now)


def pcp_scheda_delete(
    *, scheda: PcpScheda, user: User, actor: Actor | None = None, now
) -> AnacOperation | None:
    """Delete a draft (locally) or a scheda in error (cancella-scheda first if it is at ANAC)."""
    _check_rup(scheda.appalto, user, actor)
    with transaction.atomic():
        appalto = _locked_appalto(scheda.appalto)
        scheda = PcpScheda.objects.select_for_update().get(pk=scheda.pk)
        if scheda.status not in (SchedaStatus.DRAFT, SchedaStatus.ERROR) or (
            operation_in_progress(scheda) is not None
        ):
            raise PcpError(_(MSG_D20))
        before = scheda.status
        at_anac = scheda.id_scheda is not None and scheda.anac_state in ("", "IN_LAV")
        if scheda.status == SchedaStatus.DRAFT or not at_anac:
            scheda.mark_deleted()
            scheda.deleted_at = now
            scheda.save()
            audit_record(
                action=_("scheda %(code)s eliminata") % {"code": scheda.code},
                actor=user,
                obj=scheda,
                organisation=appalto.organisation,
                from_state=before,
                to_state=scheda.status,
                now=now,
            )
            return None
        if actor is None:
            raise PcpError(_(MSG_D13))
        n = _next_attempt(appalto, Kind.CANCELLA_SCHEDA, scheda)
        op = _enqueue(
            kind=Kind.CANCELLA_SCHEDA,
            key=f"scheda:{scheda.pk}:cancella-scheda:{n}",
            appalto=appalto,
            scheda=scheda,
            user=user,
            actor=actor,
            span_id=uuid.uuid4(),
            now=now,
            request={"motivo": _("Scheda eliminata dal RUP dopo un esito negativo")},
        )
        audit_record(
            action=_("cancellazione scheda %(code)s richiesta") % {"code": scheda.code},
            actor=user,
            obj=scheda,
            organisation=appalto.organisation,
            from_state=before,
            to_state=before,
            now=now,
        )
        _after_commit(op)
    return op


# --- polling ----------------------------------------------------------------------------------


def pcp_poll(*, operation: AnacOperation, trigger: str = Trigger.SCHEDULER, now) -> AnacOperation:
    """One esito-operazione check (HTTP): call it outside any transaction."""
    return operations.poll(operation, trigger=trigger, now=now)


def pcp_dispatch(*, operation: AnacOperation, now) -> str:
    """Send a QUEUED operation now (HTTP, outside any transaction); used by tasks and tests."""
    return operations.dispatch(operation.pk, now=now)


# --- procedure roles --------------------------------------------------------------------------

MSG_ROLE_FORBIDDEN = (
    "Solo il RUP dell’appalto o un amministratore della stazione appaltante può assegnare o "
    "revocare i ruoli sulla procedura."
)


def can_manage_procedure_roles(actor, appalto: PcpAppalto) -> bool:
    """The appalto's RUP (in charge), staff, or an administrator of the authority."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    if actor.is_superuser or actor.is_staff:
        return True
    if implicit_roles_of(actor, appalto):
        return True
    return has_role(actor, Role.ADMIN, appalto.organisation)


def _procedure_role_checks(actor, appalto: PcpAppalto, user: User, role: str) -> str:
    if not can_manage_procedure_roles(actor, appalto):
        raise PermissionDenied(_(MSG_ROLE_FORBIDDEN))
    if role not in ProcedureRoleKind.values:
        raise PcpError(_("Ruolo sulla procedura non valido."))
    if user is None or not user.is_active:
        raise PcpError(_("L’utente indicato non è attivo."))
    return str(ProcedureRoleKind(role).label)


def procedure_role_grant_check(*, actor: User, appalto: PcpAppalto, user: User, role: str) -> str:
    """The checks of procedure_role_grant without writing (for forms); returns the role's label.
    Raises PermissionDenied or PcpError (Italian)."""
    label = _procedure_role_checks(actor, appalto, user, role)
    if not has_membership(user, appalto.organisation):
        raise PcpError(
            _("%(user)s non opera per %(organisation)s: non può avere ruoli sulla procedura.")
            % {"user": user.get_full_name() or user, "organisation": appalto.organisation}
        )
    if ProcedureRole.objects.filter(appalto=appalto, user=user, role=role).exists():
        raise PcpError(
            _("%(user)s ha già il ruolo «%(role)s» su questa procedura.")
            % {"user": user.get_full_name() or user, "role": label}
        )
    return label


def procedure_role_grant(
    *, actor: User, appalto: PcpAppalto, user: User, role: str, now
) -> ProcedureRole:
    """Give `user` the procedure role `role` on `appalto` (audited)."""
    _procedure_role_checks(actor, appalto, user, role)
    with transaction.atomic():
        appalto = _locked_appalto(appalto)
        label = procedure_role_grant_check(actor=actor, appalto=appalto, user=user, role=role)
        try:
            with transaction.atomic():
                grant = ProcedureRole.objects.create(
                    appalto=appalto, user=user, role=role, granted_by=actor, created_at=now
                )
        except IntegrityError as exc:  # a concurrent identical grant
            raise PcpError(
                _("%(user)s ha già il ruolo «%(role)s» su questa procedura.")
                % {"user": user.get_full_name() or user, "role": label}
            ) from exc
        audit_record(
            action=_("ruolo sulla procedura assegnato"),
            actor=actor,
            obj=appalto,
            payload={"utente": user.username, "codice_fiscale": user.tax_code, "ruolo": role},
            now=now,
        )
    return grant


def procedure_role_revoke(*, actor: User, appalto: PcpAppalto, user: User, role: str, now) -> None:
    """Remove the explicit grant of `role` to `user` on `appalto` (audited)."""
    label = _procedure_role_checks(actor, appalto, user, role)
    with transaction.atomic():
        appalto = _locked_appalto(appalto)
        grant = (
            ProcedureRole.objects.select_for_update()
            .filter(appalto=appalto, user=user, role=role)
            .first()
        )
        if grant is None:
            raise PcpError(
                _("%(user)s non ha il ruolo «%(role)s» assegnato su questa procedura.")
                % {"user": user.get_full_name() or user, "role": label}
            )
        grant.delete()
        audit_record(
            action=_("ruolo sulla procedura revocato"),
            actor=actor,
            obj=appalto,
            payload={"utente": user.username, "codice_fiscale": user.tax_code, "ruolo": role},
            now=now,
        )


def has_membership(user: User, organisation: Organisation) -> bool:
    return active_memberships(user).filter(organisation=organisation).exists()
