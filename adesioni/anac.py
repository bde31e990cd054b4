"""The AD4 scheda of an order (spec §6.4) and the reaction to ANAC outcomes (O4/O5/O7/O8, S4).

The kernel (`procurement.pcp.services`) sends and polls; it announces every final outcome with
`procurement.anac.signals.operation_finished` inside the transaction that records it, and the
receivers below move the order in that same transaction.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from decimal import Decimal

from django.db import transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.anac.signals import operation_finished, operation_stalled

from . import messages as M
from .models import OrderStatus, OutcomeNotice, OutcomeStatus, SupplyOrder
from .ocds import publish_outcome_annulled

logger = logging.getLogger(__name__)


def _amount(value: Decimal) -> float:
    # JSON has no decimal type: the number is written from the two-decimal string (D-ADE-13).
    return float(f"{Decimal(value):.2f}")


def _datetime(day: datetime.date) -> str:
    moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time(0, 0)))
    return moment.isoformat()


def _code(id_tipologica: str, code: str) -> dict:
    return {"idTipologica": id_tipologica, "codice": code}


def participants(order: SupplyOrder, lot_amount: Decimal) -> list[dict]:
    """Single OE → ruoloOE 14; RTI → lead 13 with the amount, members 10 with 0 (REG52/53/100)."""
    contract = order.contract
    members = contract.supplier_members or []
    if not members:
        return [
            {
                "codiceFiscale": contract.supplier.tax_code or contract.supplier.vat_number,
                "denominazione": contract.supplier.name,
                "ruoloOE": _code("ruoloOE", "14"),
                "tipoOE": _code("tipoOE", "1"),
                "idPartecipante": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ne:{order.pk}")),
                "paeseOperatoreEconomico": _code("paeseOperatoreEconomico", "IT"),
                "avvalimento": False,
                "importo": _amount(lot_amount),
            }
        ]
    shared = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ne-rti:{order.pk}"))
    out = []
    for member in members:
        lead = member.get("role") == "LEAD"
        out.append(
            {
                "codiceFiscale": member["tax_code"],
                "denominazione": member["name"],
                "ruoloOE": _code("ruoloOE", "13" if lead else "10"),
                "tipoOE": _code("tipoOE", "4"),
                "idPartecipante": shared,
                "paeseOperatoreEconomico": _code("paeseOperatoreEconomico", "IT"),
                "avvalimento": False,
                "importo": _amount(lot_amount if lead else Decimal("0")),
            }
        )
    return out


def ad4_anac_form(order: SupplyOrder) -> dict:
    request = order.cig_request
    org = order.organisation
    appalto = order.pcp_appalto
    amount = request.lot_amount
    qe_key = {"services": "impServizi", "supplies": "impForniture", "works": "impLavori"}[
        request.oggetto_contratto
    ]
    aggiudicazione = {
        "lotIdentifier": request.lot_identifier,
        "ccnl": _code("ccnl", request.ccnl),
        "categoria": _code("categoria", request.categoria),
        "codIstat": _code("codIstat", request.cod_istat),
        "afferenteInvestimentiPNRR": request.afferente_pnrr,
        "acquisizioneCup": request.acquisizione_cup,
        "datiBase": {
            "oggettoContratto": _code("oggettoContratto", request.oggetto_contratto),
            "oggetto": request.oggetto_lotto,
        },
        "datiBaseCPV": {
            "tipoClassificazione": _code("tipoClassificazione", "cpv"),
            "cpvPrevalente": _code("CPV", request.cpv_prevalente),
            "cpvSecondarie": [],
        },
        "datiBaseContratto": {"codNUTS": _code("codNUTS", request.cod_nuts)},
        "datiBaseAggiudicazioneAppalto": {
            "dataAggiudicazione": _datetime(request.data_aggiudicazione)
        },
        "finanziamenti": [
            {
                "tipoFinanziamento": _code("tipoFinanziamento", request.tipo_finanziamento),
                "importo": _amount(amount),
            }
        ],
        "quadroEconomicoStandard": {qe_key: _amount(amount)},
        "partecipanti": participants(order, amount),
        "strumentiElettroniciSpecifici": False,
    }
    if request.acquisizione_cup and request.cup_lotto:
        aggiudicazione["cupLotto"] = [request.cup_lotto]
    return {
        "stazioniAppaltanti": [
            {
                "codiceFiscale": org.tax_code,
                "codiceAusa": (order.cost_centre.ausa_code if order.cost_centre else "")
                or org.ausa_code,
                "codiceCentroCosto": request.cost_centre_code,
                "saTitolare": True,
                "funzioniSvolte": [_code("funzioniSvolte", request.funzioni_svolte)],
            }
        ],
        "appalto": {
            "codiceAppalto": appalto.codice_appalto,
            "cig": order.contract.parent_cig,
            "dataAdesione": _datetime(request.data_adesione),
            "relazioneUnicaSulleProcedure": request.relazione_unica_procedure,
            "opereUrbanizzazioneScomputo": request.opere_urbanizzazione_scomputo,
            "datiBase": {"oggetto": request.oggetto_appalto},
            "datiBaseSubappalti": {"subappalto": _code("subappalto", request.subappalto)},
        },
        "aggiudicazioni": [aggiudicazione],
    }


def ad4_scheda(order: SupplyOrder) -> dict:
    """SchedaComunicaAppaltoType for crea-/modifica-appalto."""
    return {
        "codice": {"idTipologica": "codiceScheda", "codice": "AD4"},
        "versione": "1.0",
        "body": {"anacForm": ad4_anac_form(order)},
    }


# --- reacting to outcomes --------------------------------------------------------------------


def _order_for_appalto(appalto) -> SupplyOrder | None:
    if appalto is None:
        return None
    return (
        SupplyOrder.objects.select_for_update(of=("self",))
        .select_related("contract", "organisation")
        .filter(pcp_appalto=appalto)
        .first()
    )


def _errors(operation) -> list[dict]:
    return list(getattr(operation, "error_codes", None) or [])


def _notify_rup(order, code, subject, body, *, email, now):
    from .services import _event

    _event(
        contract=order.contract,
        code=code,
        subject=subject,
        body=body,
        users=[order.rup],
        organisations=[order.organisation],
        url=reverse("adesioni:order_detail", args=[order.pk]),
        related_ref=order.number,
        email=email,
        now=now,
    )


def _error_text(errors) -> str:
    return "; ".join(
        f"{e.get('codice', '')} – {e.get('descrizione', '')}"
        + (f": {e['dettaglio']}" if e.get("dettaglio") else "")
        for e in errors
    )


def _audit(order, action, from_state, payload=None, now=None):
    from procurement.audit.services import audit_record

    audit_record(
        action=action,
        actor_label=_("Sistema (esito ANAC)"),
        obj=order,
        organisation=order.organisation,
        from_state=from_state,
        to_state=order.status,
        payload=payload or {},
        now=now,
    )


@receiver(operation_finished, dispatch_uid="adesioni_on_anac_outcome")
def on_anac_outcome(sender, operation, outcome, **kwargs) -> None:
    kind = str(operation.kind)
    now = timezone.now()
    scheda = getattr(operation, "scheda", None)
    appalto = getattr(operation, "appalto", None) or (scheda.appalto if scheda else None)
    order = _order_for_appalto(appalto)
    if order is None:
        return
    if kind == "conferma-appalto":
        _on_confirmation(order, operation, outcome, now)
    elif kind == "recupera-cig":
        _on_retrieval(order, operation, outcome, now)
    elif kind == "conferma-scheda" and scheda is not None and scheda.code == "ANN":
        _on_ann(order, scheda, operation, outcome, now)
    elif kind == "cancella-appalto" and outcome == "OK" and order.status == OrderStatus.DRAFT:
        order.delete_draft()
        order.save()
        _audit(order, "bozza dell'ordinativo eliminata", OrderStatus.DRAFT, now=now)


def _on_confirmation(order, operation, outcome, now) -> None:
    if order.status != OrderStatus.CIG_CONFIRMATION_PENDING:
        return  # a duplicate outcome changes nothing
    if outcome == "OK":
        order.confirmation_ok()
        order.save()
        _audit(order, "appalto confermato da ANAC", OrderStatus.CIG_CONFIRMATION_PENDING, now=now)
        _notify_rup(
            order,
            "N-13",
            _("Conferma appalto riuscita – ordinativo %(number)s") % {"number": order.number},
            _("ANAC ha confermato l’appalto: è ora possibile eseguire “Acquisisci CIG”."),
            email=False,
            now=now,
        )
        return
    errors = _errors(operation)
    order.confirmation_ko()
    order.lines_locked_at = None
    order.last_anac_error = {
        "operation": "conferma-appalto",
        "errors": errors,
        "outcome": str(outcome),
        "kind": M.anac_error_kind(outcome, errors),
    }
    order.save()
    _audit(
        order,
        "conferma appalto con esito negativo",
        OrderStatus.CIG_CONFIRMATION_PENDING,
        {"errors": errors},
        now,
    )
    _notify_rup(
        order,
        "N-14",
        _("Esito negativo ANAC – ordinativo %(number)s") % {"number": order.number},
        _("L’operazione %(operation)s ha avuto esito negativo: %(errors)s.")
        % {"operation": "conferma appalto", "errors": _error_text(errors) or outcome},
        email=True,
        now=now,
    )


def _on_retrieval(order, operation, outcome, now) -> None:
    from procurement.anac import cig as cig_check

    if order.status != OrderStatus.CIG_RETRIEVAL_PENDING:
        return
    lot = order.cig_request.lot_identifier
    found = ""
    if outcome == "OK":
        for item in (operation.result or {}).get("cigs", []):
            if item.get("lotIdentifier") == lot:
                found = (item.get("cig") or "").strip().upper()
    valid = bool(found) and cig_check.cig_is_valid_pcp(found)
    if valid:
        order.retrieval_ok(found)
        order.save()
        _audit(order, "CIG acquisito", OrderStatus.CIG_RETRIEVAL_PENDING, {"cig": found}, now)
        transaction.on_commit(lambda pk=order.pk: _queue_summary(pk))
        return
    errors = _errors(operation) or [
        {"codice": "CIG_NON_VALIDO", "descrizione": _("CIG non disponibile o non valido")}
    ]
    order.retrieval_ko()
    invalid = outcome == "OK" or any(e.get("codice") == "CIG_NON_VALIDO" for e in errors)
    order.last_anac_error = {
        "operation": "recupera-cig",
        "errors": errors,
        "invalid_cig": invalid,
        "outcome": str(outcome),
        "kind": M.anac_error_kind(outcome, errors),
    }
    order.save()
    _audit(order, "recupero CIG non riuscito", OrderStatus.CIG_RETRIEVAL_PENDING, {}, now)
    _notify_rup(
        order,
        "N-14",
        _("Esito negativo ANAC – ordinativo %(number)s") % {"number": order.number},
        _("L’operazione %(operation)s ha avuto esito negativo: %(errors)s.")
        % {"operation": "acquisisci CIG", "errors": _error_text(errors)},
        email=True,
        now=now,
    )


def _queue_summary(order_pk) -> None:
    from .tasks import render_summary_pdf

    try:
        render_summary_pdf.apply_async(args=[str(order_pk)], retry=False)
    except Exception as exc:  # broker down: the page offers a retry and the sweeper
        logger.warning("Summary render for %s not queued (%s)", order_pk, exc)


def _on_ann(order, scheda, operation, outcome, now) -> None:
    from .services import _event, adherent_users, evaluator_users, supplier_users

    if outcome != "OK":
        errors = _errors(operation)
        _notify_rup(
            order,
            "N-14",
            _("Esito negativo ANAC – ordinativo %(number)s") % {"number": order.number},
            _("L’operazione %(operation)s ha avuto esito negativo: %(errors)s.")
            % {"operation": "invio scheda ANN", "errors": _error_text(errors) or outcome},
            email=True,
            now=now,
        )
        return
    if order.status == OrderStatus.ANNULLED:
        return
    from_state = order.status
    order.annul()
    order.annulled_at = now
    order.save()
    _audit(order, "ordinativo annullato (scheda ANN)", from_state, {"scheda": str(scheda.pk)}, now)
    notice = OutcomeNotice.objects.select_for_update().filter(order=order).first()
    if notice is not None:
        if notice.status == OutcomeStatus.PUBLISHED:
            notice.annulled_flag_at = now
            notice.save(update_fields=["annulled_flag_at"])
            publish_outcome_annulled(notice, now=now)
        else:
            notice.delete()
    contract = order.contract
    _event(
        contract=contract,
        code="N-11",
        subject=_("Ordinativo %(number)s annullato (scheda ANN)") % {"number": order.number},
        body=_(
            "L’ordinativo di fornitura %(number)s (CIG %(cig)s) è stato annullato con la scheda "
            "ANN confermata da ANAC il %(confirmed_at)s."
        )
        % {
            "number": order.number,
            "cig": order.derived_cig,
            "confirmed_at": timezone.localtime(now).strftime("%d/%m/%Y"),
        },
        users=[
            order.rup,
            *adherent_users(order.organisation),
            *evaluator_users(contract),
            *supplier_users(contract),
        ],
        organisations=[order.organisation, contract.issuer, contract.supplier],
        url=reverse("adesioni:order_detail", args=[order.pk]),
        related_ref=order.number,
        now=now,
    )


@receiver(operation_stalled, dispatch_uid="adesioni_on_anac_stalled")
def on_anac_stalled(sender, operation, outcome="STALLED", **kwargs) -> None:
    scheda = getattr(operation, "scheda", None)
    appalto = getattr(operation, "appalto", None) or (scheda.appalto if scheda else None)
    order = _order_for_appalto(appalto)
    if order is None:
        return
    _notify_rup(
        order,
        "N-15",
        _("Esito ANAC in attesa – ordinativo %(number)s") % {"number": order.number},
        _("L’operazione %(operation)s è in attesa di esito da oltre 72 ore.")
        % {"operation": operation.get_kind_display()},
        email=True,
        now=timezone.now(),
    )
