"""ANAC PCP transmissions of a tender (R-GARE-145, D-57).

Publishing asks ANAC first: the RUP's click creates the kernel appalto with the notice (P2_16
below the EU threshold without TED, P1_16 otherwise) and confirms it; when ANAC confirms, the
CIG of each lot is fetched (and stored read-only on the lot), then the notice is sent to
pubblica-avviso; when ANAC accepts the notice, the tender is published. The award (A2_29 /
A1_29) and the contract signature (SC1) work the same way: the lot moves only when ANAC has
confirmed the scheda. S2 (bidders, after the deadline) and NAG (no award) are sent by the RUP
from the tender page. Every call is in the tender's "Log Trasmissioni".

The kernel announces every outcome with `operation_finished` inside its own transaction; the
receiver below takes the next step in a savepoint, so a problem here never loses ANAC's outcome.

In the simulator environment (settings.GARE_MANUAL_CIG) a tender whose lots all have a typed CIG
is published without PCP, and then nothing is transmitted (the demo data and most tests).
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.anac.models import AnacOperationKind as Kind
from procurement.anac.models import AnacOperationState
from procurement.anac.operations import AVVISO_ACCEPTED
from procurement.anac.signals import operation_finished
from procurement.notifications.services import notify
from procurement.pcp import services as pcp
from procurement.pcp.models import (
    LIVE_SCHEDA_STATES,
    AppaltoState,
    PcpAppalto,
    PcpScheda,
    SchedaStatus,
)

from .. import pcp as schede
from ..models import Lot, LotStatus, Tender, TenderStatus
from .common import GareError, audit, lock_lot, lock_tender, require_staff

logger = logging.getLogger(__name__)


def manual_cig_allowed() -> bool:
    """Typing a CIG by hand is allowed only in the simulator environment (D-57)."""
    return bool(getattr(settings, "GARE_MANUAL_CIG", False))


def uses_pcp(tender: Tender) -> bool:
    """True when the tender's CIGs come from PCP (and its transitions wait for ANAC)."""
    if tender.pcp_appalto_id:
        return True
    if not manual_cig_allowed():
        return True
    return any(not lot.cig for lot in tender.lots.all())


def notice_accepted(tender: Tender) -> bool:
    appalto = tender.pcp_appalto
    return appalto is not None and appalto.avviso_state in AVVISO_ACCEPTED


def actor_for(*, user, request, tender: Tender):
    """The RUP's identity for ANAC (strong session), before or after the appalto exists."""
    appalto = tender.pcp_appalto or PcpAppalto(
        organisation=tender.organisation,
        rup=user,
        sa_tax_code=tender.organisation.tax_code,
        sa_ausa_code=tender.organisation.ausa_code,
    )
    try:
        return pcp.pcp_actor_for(user=user, request=request, appalto=appalto)
    except pcp.PcpError as exc:
        raise GareError(str(exc)) from exc


def _pcp_call(fn, **kwargs):
    try:
        return fn(**kwargs)
    except pcp.PcpError as exc:
        raise GareError(str(exc)) from exc
    except PermissionDenied as exc:
        raise GareError(str(exc) or _("Operazione riservata al RUP della gara.")) from exc


def _require_rup(tender: Tender, user) -> None:
    appalto = tender.pcp_appalto
    if appalto is not None and appalto.rup_id != user.pk:
        raise GareError(
            _("Le trasmissioni ad ANAC di questa gara sono del RUP %(rup)s.")
            % {"rup": appalto.rup.get_full_name() or appalto.rup.username}
        )


# --- publication ----------------------------------------------------------------------------


def tender_publish_request(*, user, tender: Tender, actor, now) -> Tender:
    """ "Pubblica": send the notice to ANAC; the tender is published when ANAC accepts it."""
    from .tenders import publication_problems

    require_staff(user, tender)
    with transaction.atomic():
        tender = lock_tender(tender)
        if tender.status != TenderStatus.DRAFT:
            raise GareError(_("La gara è già stata pubblicata."))
        if tender.is_template:
            raise GareError(_("Un modello non si pubblica: crea una nuova gara dal modello."))
        if tender.publication_requested_at is not None:
            raise GareError(_("La pubblicazione è già in corso: attendi l'esito di ANAC."))
        problems = publication_problems(tender)
        if tender.offer_deadline and tender.offer_deadline <= now:
            problems.append(_("Il termine di presentazione delle offerte è già passato."))
        typed = [lot for lot in tender.lots.all() if lot.cig and not lot.cig_from_pcp]
        if typed:
            problems.append(
                _(
                    "Il lotto %(n)s ha un CIG digitato: il CIG si acquisisce da ANAC con la "
                    "pubblicazione (cancellalo dalla configurazione)."
                )
                % {"n": typed[0].number}
            )
        if problems:
            raise GareError(
                _("La gara non può essere pubblicata: %(list)s") % {"list": " ".join(problems)}
            )
        _require_rup(tender, user)
        appalto = tender.pcp_appalto
        if appalto is None:
            appalto = _pcp_call(
                pcp.appalto_create,
                user=user,
                organisation=tender.organisation,
                rup=user,
                subject=tender.title[:500],
                amount=sum((lot.total_amount for lot in tender.lots.all()), 0),
                scheda_code=schede.notice_code(tender),
                owner=tender,
            )
            tender.pcp_appalto = appalto
        tender.publication_requested_at = now
        tender.publication_requested_by = user
        tender.save()
        audit(
            action="pubblicazione richiesta: invio del bando ad ANAC",
            actor=user,
            obj=tender,
            tender=tender,
            now=now,
            payload={"scheda": schede.notice_code(tender), "appalto": appalto.pk},
        )
        _next_publication_step(tender, appalto, user=user, actor=actor, now=now)
    return tender


def _next_publication_step(tender: Tender, appalto: PcpAppalto, *, user, actor, now) -> None:
    state = appalto.local_state
    if state in (AppaltoState.NONE, AppaltoState.CREATED):
        scheda = schede.notice_scheda(tender, str(appalto.codice_appalto))
        _pcp_call(
            pcp.pcp_confirm_appalto, appalto=appalto, user=user, actor=actor, scheda=scheda, now=now
        )
    elif state == AppaltoState.CONFIRMED:
        _pcp_call(
            pcp.pcp_fetch_cigs,
            appalto=appalto,
            user=user,
            actor=actor,
            now=now,
            lot_identifiers=[schede.lot_identifier(lot) for lot in tender.lots.all()],
        )
    elif state == AppaltoState.CIG_ASSIGNED and appalto.avviso_state not in AVVISO_ACCEPTED:
        _pcp_call(pcp.pcp_publish_notice, appalto=appalto, user=user, actor=actor, now=now)
    elif state == AppaltoState.CIG_ASSIGNED:
        _publish_now(tender, user=user, now=now)
    else:
        raise GareError(_("L'appalto su ANAC è stato cancellato: la gara non si può pubblicare."))


def _publish_now(tender: Tender, *, user, now) -> None:
    from .tenders import tender_publish

    tender.publication_requested_at = None
    tender.save(update_fields=["publication_requested_at"])
    tender_publish(user=user, tender=tender, now=now)


# --- schede after publication ----------------------------------------------------------------


def _send_scheda(
    *, tender: Tender, user, actor, code: str, payload: dict, now, cig: str = "", send=True
) -> PcpScheda:
    appalto = tender.pcp_appalto
    scheda = _pcp_call(
        pcp.pcp_scheda_create,
        appalto=appalto,
        user=user,
        code=code,
        payload=payload,
        now=now,
        cig=cig,
    )
    if send:
        _pcp_call(pcp.pcp_scheda_send, scheda=scheda, user=user, actor=actor, now=now)
    return scheda


def _live_scheda(tender: Tender, code: str, cig: str) -> PcpScheda | None:
    """The live scheda `code` of the lot with CIG `cig`, if any (one per lot and code)."""
    return PcpScheda.objects.filter(
        appalto=tender.pcp_appalto, code=code, cig=cig, status__in=LIVE_SCHEDA_STATES
    ).first()


def _require_pcp(tender: Tender) -> None:
    if tender.pcp_appalto_id is None or not notice_accepted(tender):
        raise GareError(
            _("La gara non è stata pubblicata tramite ANAC: non ci sono schede da trasmettere.")
        )


def _s2_refusal(tender: Tender, lot: Lot, now) -> str:
    if tender.offer_deadline is None or now < tender.offer_deadline:
        return _("L'elenco dei partecipanti si trasmette dopo il termine delle offerte.")
    if lot.status == LotStatus.OPEN_FOR_SUBMISSION:
        return _("La presentazione delle offerte per il lotto non è ancora chiusa.")
    return ""


def _nag_refusal(tender: Tender, lot: Lot, now) -> str:
    if lot.status not in (LotStatus.DESERTED, LotStatus.NOT_AWARDED):
        return _("La scheda NAG si trasmette solo per un lotto non aggiudicato.")
    return ""


#: The schede the RUP sends from the lot page: (refusal check, payload, audit action).
LOT_SCHEDE = {
    "S2": (_s2_refusal, schede.s2_payload, "scheda S2 (elenco partecipanti) inviata ad ANAC"),
    "NAG": (
        _nag_refusal,
        schede.nag_payload,
        "scheda NAG (mancata aggiudicazione) inviata ad ANAC",
    ),
}


def lot_scheda_send(*, user, lot: Lot, code: str, actor, now) -> PcpScheda:
    """S2 (the bidders, after the offer deadline) or NAG (no award) of one lot (R-GARE-145)."""
    refusal_of, payload_of, action = LOT_SCHEDE[code]
    tender = lot.tender
    require_staff(user, tender)
    _require_pcp(tender)
    _require_rup(tender, user)
    with transaction.atomic():
        lot = lock_lot(lot)
        refusal = refusal_of(tender, lot, now)
        if refusal:
            raise GareError(refusal)
        if _live_scheda(tender, code, lot.cig):
            raise GareError(
                _("La scheda %(code)s del lotto è già stata trasmessa.") % {"code": code}
            )
        scheda = _send_scheda(
            tender=tender,
            user=user,
            actor=actor,
            code=code,
            payload=payload_of(lot),
            now=now,
            cig=lot.cig,
        )
        audit(
            action=action,
            actor=user,
            obj=lot,
            tender=tender,
            now=now,
            payload={"scheda": scheda.pk},
        )
    return scheda


def bidders_send(*, user, lot: Lot, actor, now) -> PcpScheda:
    return lot_scheda_send(user=user, lot=lot, code="S2", actor=actor, now=now)


def no_award_send(*, user, lot: Lot, actor, now) -> PcpScheda:
    return lot_scheda_send(user=user, lot=lot, code="NAG", actor=actor, now=now)


def award_request(*, user, lot: Lot, actor, now, self_declaration_fallback: bool = False):
    """ "Aggiudica": A2_29 / A1_29 to ANAC; the award is adopted when ANAC confirms it."""
    from . import procedure

    tender = lot.tender
    require_staff(user, tender)
    _require_pcp(tender)
    _require_rup(tender, user)
    with transaction.atomic():
        lot = lock_lot(lot)
        if lot.pcp_pending:
            raise GareError(_("Una trasmissione ad ANAC per il lotto è in corso: attendi l'esito."))
        award = procedure.award_precheck(
            lot, now=now, self_declaration_fallback=self_declaration_fallback
        )
        code = schede.award_code(tender)
        payload = schede.award_payload(
            lot, award, admitted=procedure.admitted(lot).count(), award_date=now
        )
        scheda = _send_scheda(
            tender=tender, user=user, actor=actor, code=code, payload=payload, now=now, cig=lot.cig
        )
        lot.pcp_pending = {
            "action": "award",
            "scheda": scheda.pk,
            "user": user.pk,
            "fallback": bool(self_declaration_fallback),
        }
        lot.save(update_fields=["pcp_pending"])
        audit(
            action=f"aggiudicazione richiesta: scheda {code} inviata ad ANAC",
            actor=user,
            obj=lot,
            tender=tender,
            now=now,
            payload={"scheda": scheda.pk, "participant": award.participant_id},
        )
    return scheda


def sign_request(*, user, lot: Lot, signed_on, guarantee, actor, now):
    """ "Contratto stipulato": SC1 to ANAC; the lot is marked signed when ANAC confirms it."""
    from . import procedure

    tender = lot.tender
    require_staff(user, tender)
    _require_pcp(tender)
    _require_rup(tender, user)
    with transaction.atomic():
        lot = lock_lot(lot)
        if lot.pcp_pending:
            raise GareError(_("Una trasmissione ad ANAC per il lotto è in corso: attendi l'esito."))
        award = procedure.sign_precheck(lot, signed_on=signed_on, now=now)
        if guarantee is None or guarantee < 0:
            raise GareError(_("Indica l'importo della garanzia definitiva."))
        payload = schede.sc1_payload(lot, award, signed_on=signed_on, guarantee=guarantee)
        scheda = _send_scheda(
            tender=tender, user=user, actor=actor, code="SC1", payload=payload, now=now, cig=lot.cig
        )
        lot.pcp_pending = {
            "action": "sign",
            "scheda": scheda.pk,
            "user": user.pk,
            "signed_on": signed_on.isoformat(),
        }
        lot.save(update_fields=["pcp_pending"])
        audit(
            action="stipula comunicata: scheda SC1 inviata ad ANAC",
            actor=user,
            obj=lot,
            tender=tender,
            now=now,
            payload={"scheda": scheda.pk, "signed_on": signed_on.isoformat()},
        )
    return scheda


def tender_cancel(*, user, tender: Tender, act: str, reason: str, actor=None, now) -> Tender:
    """§5.2 `cancel(act)`: the tender is annulled by a formal act; participants are told and,
    when the tender went through PCP, ANAC gets the ANN scheda of each lot with a CIG (or, if
    the notice never got its CIGs, the appalto is cancelled at ANAC)."""
    from .common import communication_send

    require_staff(user, tender)
    act, reason = (act or "").strip(), (reason or "").strip()
    if not act or not reason:
        raise GareError(_("Indica gli estremi dell'atto di annullamento e la motivazione."))
    with transaction.atomic():
        tender = lock_tender(tender)
        if tender.status in (TenderStatus.CANCELLED, TenderStatus.CONCLUDED):
            raise GareError(_("La gara è già conclusa o annullata."))
        appalto = tender.pcp_appalto
        if appalto is not None and appalto.id_appalto is not None:
            _require_rup(tender, user)
            if actor is None:
                raise GareError(_(pcp.MSG_D13))
        before = tender.status
        tender.cancel()
        tender.cancelled_at = now
        tender.cancellation_act = act
        tender.cancellation_reason = reason
        tender.publication_requested_at = None
        tender.save()
        audit(
            action="gara annullata",
            actor=user,
            obj=tender,
            tender=tender,
            now=now,
            from_state=before,
            to_state=tender.status,
            payload={"atto": act, "motivazione": reason},
        )
        operators = {}
        for lot in tender.lots.all():
            for p in lot.participants.select_related("operator"):
                operators[p.operator_id] = p.operator
        for operator in operators.values():
            communication_send(
                user=user,
                tender=tender,
                operator=operator,
                kind="OTHER",
                subject=_("Annullamento – gara %(code)s") % {"code": tender.code},
                body=_("La gara è annullata con %(act)s: %(reason)s. Le garanzie sono svincolate.")
                % {"act": act, "reason": reason},
                now=now,
            )
        if appalto is None or appalto.id_appalto is None:
            if appalto is not None:
                _pcp_call(
                    pcp.pcp_cancel_appalto,
                    appalto=appalto,
                    user=user,
                    actor=actor,
                    motivo=reason[:200],
                    now=now,
                )
            return tender
        if appalto.local_state in (AppaltoState.CREATED, AppaltoState.CONFIRMED):
            _pcp_call(
                pcp.pcp_cancel_appalto,
                appalto=appalto,
                user=user,
                actor=actor,
                motivo=reason[:200],
                now=now,
            )
        elif appalto.local_state == AppaltoState.CIG_ASSIGNED:
            # One ANN per lot; ANAC takes one confirmation at a time per appalto, so the drafts
            # are sent one after the other (the next when the previous one has an outcome).
            for n, lot in enumerate(tender.lots.exclude(cig="").order_by("number")):
                _send_scheda(
                    tender=tender,
                    user=user,
                    actor=actor,
                    code="ANN",
                    payload=pcp.ann_payload(lot.cig),
                    now=now,
                    cig=lot.cig,
                    send=n == 0,
                )
    return tender


def _send_next_ann(tender: Tender, operation, now) -> None:
    """After the outcome of one lot's ANN, the next draft ANN of the cancelled tender."""
    if tender.status != TenderStatus.CANCELLED:
        return
    draft = (
        PcpScheda.objects.filter(
            appalto_id=operation.appalto_id, code="ANN", status=SchedaStatus.DRAFT
        )
        .order_by("created_at", "pk")
        .first()
    )
    if draft is not None:
        _pcp_call(
            pcp.pcp_scheda_send,
            scheda=draft,
            user=operation.acting_user,
            actor=operation.actor,
            now=now,
        )


def acknowledged(lot: Lot, codes) -> bool:
    """The pending transition of `lot` has its scheda (one of `codes`) confirmed by ANAC."""
    pk = (lot.pcp_pending or {}).get("scheda")
    return bool(
        pk
        and PcpScheda.objects.filter(pk=pk, code__in=codes, status=SchedaStatus.CONFIRMED).exists()
    )


# --- reacting to ANAC's outcomes -------------------------------------------------------------


def _tell(user, tender: Tender, subject: str, message: str, now) -> None:
    if user is None:
        return
    notify(
        recipients=[user],
        template="generic",
        context={"subject": subject, "message": message},
        organisation=tender.organisation,
        url=reverse("gare:tender", args=[tender.pk]),
        now=now,
    )


def _error_text(operation) -> str:
    lines = operation.error_lines() if hasattr(operation, "error_lines") else []
    return "; ".join(lines) or operation.detail or _("esito negativo")


@receiver(operation_finished, dispatch_uid="gare_on_anac_outcome")
def on_anac_outcome(sender, operation, outcome, **kwargs) -> None:
    tender = (
        Tender.objects.select_for_update(of=("self",))
        .select_related("pcp_appalto", "publication_requested_by")
        .filter(pcp_appalto_id=operation.appalto_id)
        .first()
    )
    if tender is None:
        return
    now = operation.finished_at or timezone.now()
    try:
        with transaction.atomic():
            _react(tender, operation, outcome, now)
    except Exception as exc:  # never undo ANAC's recorded outcome
        logger.exception("gare: reaction to ANAC operation %s failed", operation.pk)
        with transaction.atomic():
            _stop_publication(tender, now, str(getattr(exc, "message", exc)))
            for lot in tender.lots.exclude(pcp_pending={}):
                _clear_pending(lot, now, str(getattr(exc, "message", exc)))


def _stop_publication(tender: Tender, now, reason: str) -> None:
    if tender.publication_requested_at is None:
        return
    requester = tender.publication_requested_by
    tender.publication_requested_at = None
    tender.save(update_fields=["publication_requested_at"])
    audit(
        action="pubblicazione non riuscita",
        actor=None,
        obj=tender,
        tender=tender,
        now=now,
        payload={"motivo": reason},
    )
    _tell(
        requester,
        tender,
        _("Gara %(code)s: pubblicazione non riuscita") % {"code": tender.code},
        _(
            "ANAC non ha accettato la pubblicazione della gara %(code)s: %(reason)s. Correggi e "
            "ripeti «Pubblica»; il registro delle trasmissioni riporta i dettagli."
        )
        % {"code": tender.code, "reason": reason},
        now,
    )


def _clear_pending(lot: Lot, now, reason: str) -> None:
    pending = lot.pcp_pending or {}
    if not pending:
        return
    lot.pcp_pending = {}
    lot.save(update_fields=["pcp_pending"])
    audit(
        action="trasmissione ad ANAC non riuscita",
        actor=None,
        obj=lot,
        tender=lot.tender,
        now=now,
        payload={"azione": pending.get("action"), "motivo": reason},
    )
    from procurement.accounts.models import User

    requester = User.objects.filter(pk=pending.get("user")).first()
    label = _("aggiudicazione") if pending.get("action") == "award" else _("stipula")
    _tell(
        requester,
        lot.tender,
        _("Gara %(code)s: %(what)s non registrata") % {"code": lot.tender.code, "what": label},
        _("ANAC non ha confermato la scheda (%(reason)s): l'operazione non è stata registrata.")
        % {"reason": reason},
        now,
    )


def _react(tender: Tender, operation, outcome: str, now) -> None:
    from . import procedure

    ok = outcome == AnacOperationState.OK
    kind = operation.kind
    user = operation.acting_user
    appalto = PcpAppalto.objects.get(pk=operation.appalto_id)
    if kind in (Kind.CREA_APPALTO, Kind.MODIFICA_APPALTO, Kind.CREA_SCHEDA):
        return  # the confirmation that follows in the same click reports the outcome
    if kind in (Kind.CONFERMA_APPALTO, Kind.RECUPERA_CIG, Kind.PUBBLICA_AVVISO):
        if tender.publication_requested_at is None:
            return
        if not ok:
            _stop_publication(tender, now, _error_text(operation))
            return
        if kind == Kind.RECUPERA_CIG:
            cigs = {lot.lot_identifier: lot.cig for lot in appalto.lots.all()}
            for lot in tender.lots.select_for_update():
                lot.cig = cigs[schede.lot_identifier(lot)]
                lot.cig_from_pcp = True
                lot.save(update_fields=["cig", "cig_from_pcp"])
            audit(
                action="CIG acquisiti da ANAC",
                actor=None,
                obj=tender,
                tender=tender,
                now=now,
                payload={"cig": sorted(cigs.values())},
            )
        try:
            _next_publication_step(tender, appalto, user=user, actor=operation.actor, now=now)
        except GareError as exc:
            _stop_publication(tender, now, exc.message)
        return
    if kind != Kind.CONFERMA_SCHEDA or operation.scheda_id is None:
        return
    if operation.scheda.code == "ANN":
        _send_next_ann(tender, operation, now)
        return
    for lot in tender.lots.select_for_update():
        pending = lot.pcp_pending or {}
        if pending.get("scheda") != operation.scheda_id:
            continue
        if not ok:
            _clear_pending(lot, now, _error_text(operation))
            continue
        from procurement.accounts.models import User

        requester = User.objects.get(pk=pending["user"])
        try:
            with transaction.atomic():
                if pending.get("action") == "award":
                    procedure.award_adopt(
                        user=requester,
                        lot=lot,
                        now=now,
                        self_declaration_fallback=pending.get("fallback", False),
                    )
                elif pending.get("action") == "sign":
                    procedure.contract_sign(
                        user=requester,
                        lot=lot,
                        signed_on=datetime.date.fromisoformat(pending["signed_on"]),
                        now=now,
                    )
        except (GareError, PermissionDenied) as exc:
            _clear_pending(lot, now, getattr(exc, "message", str(exc)))
            continue
        Lot.objects.filter(pk=lot.pk).update(pcp_pending={})
