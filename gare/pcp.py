"""The PCP schede of a tender (R-GARE-145, D-57), built from the tender's own data.

Names and code lists are those of ANAC's NPA data model (shared/anac/npa/docs/modello-dati):
P2_16 / P1_16 (notice, comunicaAppalto), S2 (bidders), A2_29 / A1_29 (award), NAG (no award),
SC1 (contract signature), all sent through the kernel (`procurement.pcp.services`).
Amounts are JSON numbers written from their two-decimal string (as adesioni does, D-ADE-13).
"""

from __future__ import annotations

import base64
import datetime
import uuid
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from .models import Lot, LotStatus, Participant, ParticipantStatus, ParticipationForm, Tender

# EU thresholds (art. 14 D.Lgs. 36/2023, as updated by Reg. (EU) 2023/2495), overridable.
DEFAULT_EU_THRESHOLDS = {
    "WORKS": Decimal("5538000"),
    "SERVICES": Decimal("221000"),
    "SUPPLIES": Decimal("221000"),
}
OGGETTO_CONTRATTO = {"WORKS": "works", "SERVICES": "services", "SUPPLIES": "supplies"}

SINGLE_FORMS = {ParticipationForm.SINGLE}
CONSORTIUM_FORMS = {
    ParticipationForm.CONSORTIUM_COOPERATIVES: ("8", "2"),
    ParticipationForm.CONSORTIUM_ARTISANS: ("9", "2"),
    ParticipationForm.STABLE_CONSORTIUM: ("7", "3"),
}


def _code(id_tipologica: str, code: str) -> dict:
    return {"idTipologica": id_tipologica, "codice": code}


def _amount(value) -> float:
    return float(f"{Decimal(value):.2f}")


def _datetime(value) -> str:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()
    moment = timezone.make_aware(datetime.datetime.combine(value, datetime.time(0, 0)))
    return moment.isoformat()


def lot_identifier(lot: Lot) -> str:
    """The lotIdentifier of a lot in the notice (eForms style LOT-0001)."""
    return f"LOT-{lot.number:04d}"


def above_threshold(tender: Tender) -> bool:
    thresholds = getattr(settings, "GARE_EU_THRESHOLDS", None) or DEFAULT_EU_THRESHOLDS
    limit = thresholds.get(tender.contract_type, DEFAULT_EU_THRESHOLDS["WORKS"])
    total = sum((lot.total_amount for lot in tender.lots.all()), Decimal("0"))
    return total >= limit


def notice_code(tender: Tender) -> str:
    """P2_16 below the EU threshold without TED (the reference tender), P1_16 otherwise."""
    return "P1_16" if above_threshold(tender) else "P2_16"


def award_code(tender: Tender) -> str:
    return "A1_29" if above_threshold(tender) else "A2_29"


def _stazione(tender: Tender) -> dict:
    org = tender.organisation
    return {
        "codiceFiscale": org.tax_code,
        "codiceAusa": org.ausa_code,
        "saTitolare": True,
        "funzioniSvolte": [_code("funzioniSvolte", "1")],
    }


def _espd(tender: Tender) -> str:
    """The ESPD request (base64 XML) naming the procedure and its lots."""
    lots = "".join(
        f'<cac:ProcurementProjectLot><cbc:ID schemeAgencyID="EU-COM-GROW">'
        f"{lot_identifier(lot)}</cbc:ID></cac:ProcurementProjectLot>"
        for lot in tender.lots.all()
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<espd-req:ESPDRequest xmlns:espd-req="urn:oasis:names:specification:ubl:schema:xsd:'
        'QualificationApplicationRequest-2" xmlns:cbc="urn:oasis:names:specification:ubl:'
        'schema:xsd:CommonBasicComponents-2" xmlns:cac="urn:oasis:names:specification:ubl:'
        'schema:xsd:CommonAggregateComponents-2">'
        f"<cbc:ContractFolderID>{tender.code}</cbc:ContractFolderID>{lots}"
        "</espd-req:ESPDRequest>"
    )
    return base64.b64encode(xml.encode()).decode()


def notice_scheda(tender: Tender, codice_appalto: str) -> dict:
    """SchedaComunicaAppaltoType of the notice (P2_16 or P1_16) for crea-/modifica-appalto."""
    lots = list(tender.lots.prefetch_related("categories").order_by("number"))
    total = sum((lot.total_amount for lot in lots), Decimal("0"))
    oggetto = OGGETTO_CONTRATTO.get(tender.contract_type, "works")
    lotti = []
    for lot in lots:
        lotti.append(
            {
                "lotIdentifier": lot_identifier(lot),
                "datiBase": {
                    "oggettoContratto": _code("oggettoContratto", oggetto),
                    "oggetto": lot.title,
                    "importo": _amount(lot.total_amount),
                },
                "datiBaseContratto": {"codNUTS": _code("codNUTS", lot.nuts_code)},
                "datiBaseCPV": {
                    "tipoClassificazione": _code("tipoClassificazione", "cpv"),
                    "cpvPrevalente": _code("CPV", lot.cpv_main),
                    "cpvSecondarie": [],
                },
                "datiBaseTerminiInvio": {
                    "scadenzaPresentazioneOfferta": _datetime(tender.offer_deadline),
                    "oraScadenzaPresentazioneOfferte": timezone.localtime(
                        tender.offer_deadline
                    ).strftime("%H:%M"),
                },
                "datiBaseDocumenti": {"url": f"{settings.SITE_URL}/gare/{tender.pk}/"},
                "datiBaseAggiuntivi": {"durataContratto": lot.duration_days},
                "ccnl": _code("ccnl", lot.ccnl_code or "F015"),
                "categoria": _code(
                    "categoria",
                    next(
                        (c.category for c in lot.categories.all() if c.role == "PREVALENT"),
                        "",
                    ),
                ),
                "quadroEconomicoStandard": {
                    "impLavori": _amount(lot.works_amount),
                    "impTotaleSicurezza": _amount(lot.safety_costs),
                },
                "prestazioniComprese": _code("prestazioniComprese", "1"),
                "servizioPubblicoLocale": False,
                "ripetizioniEConsegneComplementari": False,
                "lavoroOAcquistoPrevistoInProgrammazione": True,
                "opzioniRinnovi": False,
                "ipotesiCollegamento": _code("ipotesiCollegamento", "1"),
            }
        )
    form = {
        "stazioniAppaltanti": [_stazione(tender)],
        "appalto": {
            "codiceAppalto": codice_appalto,
            "motivoUrgenza": _code("motivoUrgenza", "1"),
            "datiBase": {"oggetto": tender.title, "importo": _amount(total)},
            "datiBaseProcedura": {
                "tipoProcedura": _code("tipoProcedura", "1"),
                "cup": tender.cup,
                "determinaAContrarre": tender.decision_to_contract_ref,
            },
            "datiBaseStrumentiProcedura": {
                "accordoQuadro": _code("accordoQuadro", "none"),
                "sistemaDinamicoAcquisizione": _code("sistemaDinamicoAcquisizione", "none"),
                "astaElettronica": False,
            },
        },
        "lotti": lotti,
    }
    return {
        "codice": _code("codiceScheda", notice_code(tender)),
        "versione": "1.0",
        "body": {"anacForm": form, "espd": _espd(tender)},
    }


def _participant_rows(p: Participant) -> list[dict]:
    """PartecipanteType rows of one bidder: one row, or one per member of a grouping."""
    operator = p.operator
    shared = str(uuid.uuid5(uuid.NAMESPACE_URL, f"gare-participant:{p.pk}"))
    base = {
        "idPartecipante": shared,
        "paeseOperatoreEconomico": _code("paeseOperatoreEconomico", "IT"),
        "avvalimento": False,
    }
    if p.form in SINGLE_FORMS or not p.members:
        return [
            {
                **base,
                "codiceFiscale": operator.tax_code or operator.vat_number,
                "denominazione": p.display_name or operator.name,
                "ruoloOE": _code("ruoloOE", "3"),
                "tipoOE": _code("tipoOE", "1"),
            }
        ]
    if p.form in CONSORTIUM_FORMS:
        ruolo, tipo = CONSORTIUM_FORMS[p.form]
        return [
            {
                **base,
                "codiceFiscale": operator.tax_code or operator.vat_number,
                "denominazione": p.display_name or operator.name,
                "ruoloOE": _code("ruoloOE", ruolo),
                "tipoOE": _code("tipoOE", tipo),
            }
        ]
    from .signatories import LEAD, parse_members

    tipo = "7" if p.form == ParticipationForm.GEIE else "6" if "NETWORK" in p.form else "4"
    rows = [
        {
            **base,
            "codiceFiscale": operator.tax_code or operator.vat_number,
            "denominazione": operator.name,
            "ruoloOE": _code("ruoloOE", "1"),
            "tipoOE": _code("tipoOE", tipo),
        }
    ]
    for subject in parse_members(p.members):
        if subject.role == LEAD:
            continue
        rows.append(
            {
                **base,
                "codiceFiscale": subject.company_code or subject.text[:16],
                "denominazione": subject.text[:250],
                "ruoloOE": _code("ruoloOE", "2"),
                "tipoOE": _code("tipoOE", tipo),
            }
        )
    return rows


def bidders(lot: Lot):
    """Everyone whose offer counts at the deadline (withdrawn offers do not)."""
    return (
        lot.participants.exclude(status=ParticipantStatus.WITHDRAWN)
        .select_related("operator")
        .order_by("pk")
    )


def s2_payload(lot: Lot) -> dict:
    partecipanti = [row for p in bidders(lot) for row in _participant_rows(p)]
    return {"anacForm": {"elencoSoggetti": [{"cig": lot.cig, "partecipanti": partecipanti}]}}


def contract_value(award) -> Decimal:
    """The awardee's contract value, as the ranking run computed it (discounted works + safety)."""
    row = next(
        (o for o in award.run.result.get("offers", []) if o.get("id") == str(award.participant_id)),
        None,
    )
    value = (row or {}).get("contract_value")
    return Decimal(value) if value not in (None, "") else award.participant.lot.total_amount


def award_payload(lot: Lot, award, *, admitted: int, award_date) -> dict:
    """A2_29 / A1_29: the awardee, its amount and the result of the procedure."""
    amount = contract_value(award)
    aggiudicazione = {
        "cig": lot.cig,
        "numeroOfferteAmmesse": admitted,
        "datiBaseRisultatoProcedura": {"esitoProcedura": _code("esitoProcedura", "selec-w")},
        "datiBaseAggiudicazioneAppalto": {
            "dataAggiudicazione": _datetime(award_date),
            "importoAggiudicazione": _amount(amount),
        },
        "offerteEntroTermine": bidders(lot).count(),
        "partecipanti": [
            {**row, "aggiudicatario": True} for row in _participant_rows(award.participant)
        ],
    }
    return {
        "anacForm": {
            "appalto": {
                "datiBaseProcedura": {"tipoProcedura": _code("tipoProcedura", "1")},
                "datiBaseSubappalti": {"subappalto": _code("subappalto", "1")},
                "datiBaseStrumentiProcedura": {"astaElettronica": False},
            },
            "aggiudicazioni": [aggiudicazione],
        }
    }


def nag_payload(lot: Lot) -> dict:
    """NAG: the lot is not awarded (deserted: no offers; otherwise all rejected)."""
    reason = "no-rece" if lot.status == LotStatus.DESERTED else "all-rej"
    return {
        "anacForm": {
            "lotti": [
                {
                    "cig": lot.cig,
                    "datiBaseRisultatoProcedura": {
                        "giustificazione": _code("giustificazione", reason)
                    },
                }
            ]
        }
    }


def sc1_payload(lot: Lot, award, *, signed_on: datetime.date, guarantee) -> dict:
    start = signed_on
    end = signed_on + datetime.timedelta(days=lot.duration_days)
    return {
        "anacForm": {
            "datiContratto": {
                "codiceAusa": [lot.tender.organisation.ausa_code],
                "idPartecipante": str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"gare-participant:{award.participant_id}")
                ),
                "cig": [lot.cig],
                "dataStipula": _datetime(signed_on),
                "dataDecorrenza": _datetime(start),
                "dataScadenza": _datetime(end),
                "importoCauzione": _amount(guarantee),
            }
        }
    }
