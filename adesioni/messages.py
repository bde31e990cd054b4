"""Message catalogue of the spec (Appendix B), verbatim; identifiers as in the spec."""

from django.utils.translation import gettext_lazy as _

MSG_01 = _(
    "Per poter finalizzare l’invio dell’ordine è necessario integrare la richiesta del CIG "
    "tramite il bottone “Conferma appalto”."
)
MSG_02 = _(
    "La richiesta di conferma appalto è in corso, si prega di attendere. Per verificare l’esito "
    "è necessario ricaricare la pagina corrente. Una volta ottenuta la verifica positiva è "
    "necessario eseguire la funzione “Recupera CIG”."
)
MSG_03 = _(
    "Il totale delle righe dell’ordine non corrisponde al totale dell’ordine inserito in fase di "
    "richiesta del CIG."
)
MSG_04 = _(
    "La richiesta di recupera CIG è in corso, si prega di attendere. Per visualizzare il CIG è "
    "necessario ricaricare la pagina. L’esito della richiesta è consultabile nella sezione Log "
    "Trasmissioni. Una volta recuperato il CIG è necessario procedere secondo il flusso previsto "
    "per la pubblicazione."
)
MSG_05 = _(
    "La richiesta di invio scheda è in corso. Si prega di attendere, fino a quando l’esito sarà "
    "disponibile sul Log Trasmissioni. Si prega di ricarica la pagina. Successivamente verifica "
    "l’invio tramite l’apposito pulsante."
)
MSG_D01 = _("Confermi l’invio dell’adesione?")
MSG_D02 = _("L’adesione è stata inviata correttamente.")
MSG_D03 = _("L’invio dell’adesione è stato ritirato: l’adesione è tornata in bozza.")
MSG_D04 = _("Confermi l’invio dell’ordinativo di fornitura?")
MSG_D05 = _(
    "L’ordinativo di fornitura è stato inviato correttamente. In attesa del nulla osta di Regione."
)
MSG_D06_A = _(
    "Attenzione: l’atto di adesione / contratto attuativo e la scheda di sintesi oltre che "
    "caricati in piattaforma devono essere inviati al Fornitore tramite PEC all’indirizzo "
    "%(pec)s."
)
MSG_D06_B = _(
    "Attenzione: l’atto di adesione / contratto attuativo e la scheda di sintesi, insieme "
    "all’Accordo Data Protection, oltre che caricati in piattaforma devono essere inviati al "
    "Fornitore tramite PEC all’indirizzo %(pec)s."
)
MSG_D07 = _(
    "L’esito è stato pubblicato correttamente ed è visibile nella sezione “Aggiudicazioni e "
    "affidamenti”."
)
MSG_D08 = _("La scheda di sintesi è in preparazione: ricaricare la pagina tra qualche secondo.")
MSG_D09 = _(
    "Attenzione: il totale degli ordinativi dell’adesione %(code)s (€ %(sum)s) supera l’importo "
    "di adesione (€ %(amount)s)."
)
MSG_D10 = _("ANAC ha restituito un esito negativo. Correggere i dati e ripetere l’operazione.")
MSG_D11 = _(
    "L’esito non è ancora disponibile dopo oltre 72 ore. La verifica prosegue automaticamente; se "
    "la situazione persiste contattare l’assistenza."
)
MSG_D12 = _(
    "Il CIG restituito da ANAC non è disponibile o non è valido. Ripetere “Acquisisci CIG”; se il "
    "problema persiste contattare l’assistenza."
)
MSG_D13 = _("Operazione riservata al RUP dell’ordinativo autenticato con SPID, CIE o CNS.")
MSG_D14 = _(
    "Nell’ipotesi A non deve essere caricata documentazione negli spazi Piano dei Fabbisogni e "
    "Progetto dei Fabbisogni."
)
MSG_D15 = _("Documento obbligatorio mancante: %(label)s.")
MSG_D16 = _(
    "L’invio della scheda ANN non è possibile perché è già stata inviata una scheda della fase di "
    "esecuzione."
)
MSG_D18 = _(
    "Il servizio ANAC non è al momento raggiungibile. L’operazione verrà ritentata "
    "automaticamente; l’esito sarà visibile nel Log Trasmissioni."
)
MSG_D19 = _("Il documento deve essere firmato digitalmente (formato CAdES .p7m o PAdES).")
MSG_D20 = _("Operazione non consentita nello stato attuale. Ricaricare la pagina.")
MSG_D21 = _(
    "Il file caricato non corrisponde alla scheda di sintesi generata dal sistema per questo "
    "ordinativo."
)
MSG_D22 = _("Indicare la motivazione del rifiuto (almeno 10 caratteri).")
MSG_D17 = _(
    "L’utente non risulta registrato e profilato come Responsabile Unico del Progetto sui servizi "
    "ANAC per questa stazione appaltante (%(codice)s – %(descrizione)s)."
)

#: The operation ended FAILED (PDND or ANAC unreachable after the retries): MSG-D18.
UNREACHABLE = "unreachable"
#: SEC0x, ERR1, AUT01: the RUP is not registered/profiled at ANAC for this authority (MSG-D17).
NOT_AUTHORISED = "not_authorised"
#: Any other refusal: MSG-D10 with one line per error.
REJECTED = "rejected"


def anac_error_kind(outcome: str, errors) -> str:
    from procurement.anac.errors import NOT_AUTHORISED_CODES

    if str(outcome) == "FAILED":
        return UNREACHABLE
    if any(str(e.get("codice", "")) in NOT_AUTHORISED_CODES for e in errors or []):
        return NOT_AUTHORISED
    return REJECTED


def anac_error_display(error: dict | None) -> dict | None:
    """What the red alert says for a stored ANAC error (§6.6 "HTTP errors on any call")."""
    if not error:
        return None
    errors = list(error.get("errors") or [])
    kind = error.get("kind") or anac_error_kind(error.get("outcome", "KO"), errors)
    lines = [
        f"{e.get('codice', '')} – {e.get('descrizione', '')}"
        + (
            f": {e['dettaglio']}"
            if e.get("dettaglio") and e.get("dettaglio") != e.get("descrizione")
            else ""
        )
        for e in errors
    ]
    if kind == UNREACHABLE:
        return {"kind": kind, "title": str(MSG_D18), "lines": []}
    if kind == NOT_AUTHORISED:
        from procurement.anac.errors import NOT_AUTHORISED_CODES

        auth = [e for e in errors if str(e.get("codice", "")) in NOT_AUTHORISED_CODES]
        return {
            "kind": kind,
            "title": " ".join(
                str(MSG_D17) % {"codice": e.get("codice", ""), "descrizione": e.get("descrizione")}
                for e in auth
            ),
            "lines": [],
        }
    return {"kind": kind, "title": str(MSG_D10), "lines": lines}
