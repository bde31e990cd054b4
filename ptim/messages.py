"""The user-facing texts of spec Appendix A (verbatim where the manual quotes them)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .amounts import euro

A01 = gettext_lazy(
    "Si rammenta che, in caso di mancato utilizzo del suddetto applicativo da parte delle "
    "Stazioni Appaltanti sopraindicate, l’affidamento dei lavori di cui all’art. 12, comma 2, "
    "lettere a) e b) del D.L. n. 98/2011 non si ritiene valido né efficace e gli appaltatori non "
    "potranno avanzare alcuna pretesa circa il relativo affidamento, in conformità a quanto "
    "previsto dagli AA.QQ. sottoscritti."
)
A02 = gettext_lazy(
    "Si rammenta che l’importo dei lavori dovrà essere determinato, a pena di annullamento, "
    "esclusivamente a misura e sulla base del Prezziario indicato nell’Accordo Quadro "
    "sottoscritto dall’operatore selezionato."
)
A06 = gettext_lazy(
    "ATTENZIONE: Si ricorda che la ricevuta non viene inviata in automatico all’operatore "
    "selezionato. Resta, infatti, onere della Stazione Appaltante notificarla a mezzo pec nello "
    "stesso giorno della prenotazione, all’operatore selezionato. È perentorio che il giorno della "
    "notifica coincida effettivamente con la data di prenotazione, al fine di evitare che il "
    "computo dei 10 gg. decorra da un momento ad essa successivo."
)
A07 = gettext_lazy(
    "Si ricorda, inoltre che, entro i predetti 10 gg., l’operatore deve prendere visione della "
    "documentazione tecnica di progetto ed effettuare il relativo sopralluogo."
)
A17 = gettext_lazy(
    "La prenotazione è stata annullata automaticamente per scadenza del termine di 10 giorni. "
    "La mancata comunicazione della scelta dell’operatore entro il termine è da considerarsi "
    "RIFIUTO INGIUSTIFICATO, fatti salvi particolari motivi ritenuti giustificati dalla Stazione "
    "Appaltante. Occorre: a) riprenotare l’operatore richiamando il progressivo annullato "
    "mediante la funzione «Riprenotazione operatore per annullamento contratto»; b) inserire la "
    "rinuncia dell’operatore riprenotato mediante la funzione «Rinuncia Impresa»; c) dichiarare "
    "formalmente l’inutile decorso del termine concesso ed allegare tale dichiarazione a sistema "
    "(che varrà come rinuncia); d) procedere alla prenotazione dell’operatore successivo, "
    "automaticamente assegnato dal sistema."
)
A08 = gettext_lazy(
    "L’operatore non può confermare il contratto in quanto la/le classifica/che NOS/NOSI "
    "richieste sono decadute/annullate. Il sistema procederà ad individuare un nuovo operatore"
)
A11 = gettext_lazy(
    "L’Importo dei lavori pianificato deve essere compreso tra 40.000,00 e 2.582.000,00 euro."
)
A12 = gettext_lazy(
    "La mail personale d’ufficio del RUP/Referente non può coincidere con la mail istituzionale "
    "dell’Ufficio di appartenenza."
)
A14 = gettext_lazy(
    "Soltanto per gli «Interventi del Sistema Accentrato delle Manutenzioni» è obbligatorio "
    "ricorrere agli operatori degli Accordi Quadro. Per le altre tipologie di intervento si deve "
    "ricorrere alle ordinarie procedure di affidamento previste dalla normativa vigente."
)
A15 = gettext_lazy("Allegare il documento richiesto.")
A19 = gettext_lazy("Il documento di stipula del contratto deve essere un file in formato .pdf.")
A20 = gettext_lazy("Il documento non può avere dimensioni superiori a 5 MB.")
A21 = gettext_lazy("Inserire almeno un documento autorizzativo.")
A22 = gettext_lazy("È possibile inserire al massimo 5 documenti autorizzativi.")
A25 = gettext_lazy(
    "La proroga del termine di stipula può essere concessa una sola volta ed entro il termine "
    "originario di 40 giorni dall’accettazione."
)
A32 = gettext_lazy(
    "La D.T. competente dovrà, in ogni caso, notificare mediante provvedimento formale "
    "all’operatore stesso l’avvenuta esclusione dall’applicativo."
)
A39 = gettext_lazy(
    "Per le Amministrazioni usuarie l’Importo dei lavori pianificato deve essere inferiore a "
    "100.000,00 euro."
)
A40 = gettext_lazy(
    "Valorizzare gli importi OG1, OG2 e OG11 (anche con 0): almeno uno deve essere maggiore di "
    "zero e la loro somma non può superare l’Importo dei lavori pianificato."
)
A42 = gettext_lazy(
    "Da non compilare in fase di prima prenotazione: il campo serve esclusivamente al recupero "
    "di una precedente prenotazione annullata."
)
REQUIRED = gettext_lazy("Campo obbligatorio.")
TOO_LONG = gettext_lazy("Il testo non può superare 4000 caratteri.")

_A03_HEAD = (
    "In riferimento all’Accordo Quadro con identificativo {identificativo_aq}, denominato "
    "{denominazione_aq} nell’ambito territoriale di {ambito_territoriale} non è individuabile "
    "alcun operatore ad esso associato che possa eseguire l’intervento con importo lavori "
    "pianificato pari a euro {importo_lavori_pianificato} da parte della Stazione Appaltante "
    "{stazione_appaltante} "
)
_CAUSE_CAPACITY = "a causa dell’incapienza degli importi disponibili a livello di Accordo quadro."
_CAUSE_CLEARANCE = (
    "in quanto nessun operatore disponibile possiede la classifica NOS/NOSI richiesta "
    "({classifica})."
)
_TAIL_SA = (
    " Si prega, pertanto, di contattare la DT di riferimento al fine di verificare la procedura "
    "necessaria per l’esecuzione dell’intervento."
)
_TAIL_MINISTRY = (
    " Codesto Ministero, pertanto, potrà curare direttamente le procedure di selezione degli "
    "operatori a cui affidare gli eventuali ulteriori interventi, non ricorrendo in tali casi la "
    "sanzione di nullità di cui all’art. 12, comma 7, del citato D.L. n. 98/2011."
)


def unavailability(
    *, agreement, planned, sa_name, ministry: bool, cause="capacity", clearance=""
) -> str:
    """A-03, A-04 (Difesa/MIC) or A-05 (clearance), with the DT line."""
    text = _(_A03_HEAD).format(
        identificativo_aq=agreement.identifier,
        denominazione_aq=agreement.name,
        ambito_territoriale=agreement.territorial_area.name,
        importo_lavori_pianificato=euro(planned),
        stazione_appaltante=sa_name,
    )
    if cause == "clearance":
        text += _(_CAUSE_CLEARANCE).format(classifica=clearance)
    else:
        text += _(_CAUSE_CAPACITY)
    text += _(_TAIL_MINISTRY) if ministry else _(_TAIL_SA)
    return text


def dt_line(agreement) -> str:
    d = agreement.directorate
    return _("Direzione Territoriale di riferimento: %(n)s – %(e)s.") % {
        "n": d.name,
        "e": d.institutional_email,
    }


def a09(agreement) -> str:
    d = agreement.directorate
    return _(
        "Non ci sono Accordi Quadro in grado di soddisfare l’esigenza richiesta: non risultano "
        "ulteriori operatori disponibili per la prenotazione. Prendere immediatamente contatto con "
        "la Direzione Territoriale competente (%(n)s – %(e)s), che informerà tempestivamente la "
        "U.O. Manutenzioni e Performance del Patrimonio Immobiliare della DG per conoscere la "
        "procedura da intraprendere per l’esecuzione dell’intervento."
    ) % {"n": d.name, "e": d.institutional_email}


def a10(period, area, lot) -> str:
    return _(
        "Per il periodo di riferimento %(p)s e l’ambito territoriale %(a)s non esistono Accordi "
        "Quadro vigenti per il %(l)s: non è possibile proseguire nell’inserimento del contratto."
    ) % {"p": period, "a": area, "l": lot}


def a13(identifier, progressive) -> str:
    return _(
        "Esiste già un contratto attivo (non annullato) con lo stesso Identificativo MU "
        "%(i)s: contratto n. %(p)s."
    ) % {"i": identifier, "p": progressive}


def a16(deadline) -> str:
    return _(
        "Il termine di 10 giorni dalla prenotazione è scaduto il %(d)s: il contratto è stato "
        "annullato automaticamente."
    ) % {"d": deadline.strftime("%d/%m/%Y")}


def a18(deadline) -> str:
    return _(
        "Il termine per la stipula del contratto è scaduto il %(d)s: non è più possibile "
        "confermare il contratto."
    ) % {"d": deadline.strftime("%d/%m/%Y")}


def a23(chapter, residual, amount) -> str:
    return _(
        "Operazione non consentita: con la variazione il residuo del massimale relativo al "
        "capitolo di spesa %(c)s dell’Accordo Quadro diventerebbe negativo (residuo attuale "
        "€ %(r)s; importo della variazione € %(a)s). Inviare formale istanza alla DT competente, "
        "che informerà l’Ufficio Manutenzioni e Performance del Patrimonio Immobiliare della DG."
    ) % {"c": chapter, "r": euro(residual), "a": euro(amount)}


def a24(operator, residual_after) -> str:
    return _(
        "Attenzione: con la variazione la disponibilità residua dell’operatore %(o)s diventerà "
        "negativa (€ %(r)s). Si desidera proseguire con l’operazione?"
    ) % {"o": operator, "r": euro(residual_after)}


def a27(progressive, state) -> str:
    return _(
        "Il contratto n. %(p)s si trova nello stato «%(s)s»: non è possibile riprenotarlo."
    ) % {"p": progressive, "s": state}


def a28(progressive) -> str:
    return _(
        "Il progressivo %(p)s non corrisponde a un contratto annullato della propria Stazione "
        "Appaltante."
    ) % {"p": progressive}


def a29(progressive, last) -> str:
    return _(
        "La riprenotazione può riguardare esclusivamente l’ultima delle prenotazioni effettuate ed "
        "annullate: il contratto n. %(p)s è già stato riprenotato (ultimo progressivo: %(u)s)."
    ) % {"p": progressive, "u": last}


def a30(deadline) -> str:
    return _(
        "Il termine per la gestione del rifiuto è scaduto il %(d)s. Formulare istanza di sblocco "
        "all’Ufficio Manutenzioni e Performance del Patrimonio Immobiliare della DG."
    ) % {"d": deadline.strftime("%d/%m/%Y")}


def a33(operator, reason) -> str:
    return _(
        "L’operatore %(o)s non è prenotabile (%(m)s): non è possibile riprenotarlo. Procedere con "
        "un nuovo inserimento."
    ) % {"o": operator, "m": reason}


def a34(prog1, prog2, date1, date2) -> str:
    return _(
        "Esclusione automatica: due rifiuti consecutivi non giustificati (contratti n. %(p1)s e "
        "n. %(p2)s, prenotazioni del %(d1)s e del %(d2)s)."
    ) % {"p1": prog1, "p2": prog2, "d1": date1, "d2": date2}


def a35(progressive) -> str:
    return _(
        "Il termine per inserire a sistema le motivazioni del rifiuto espresso per il contratto "
        "prog. %(p)s è scaduto. Contattare urgentemente la U.O. Manutenzioni e Performance del "
        "Patrimonio Immobiliare."
    ) % {"p": progressive}


def a36(operator, amount) -> str:
    return _(
        "La disponibilità degli operatori è cambiata: l’operatore ora individuato è %(o)s "
        "(importo complessivo dell’appalto € %(i)s). Verificare i dati e confermare nuovamente."
    ) % {"o": operator, "i": euro(amount)}


def a41(reason) -> str:
    return _("L’incremento del massimale non è consentito: %(m)s.") % {"m": reason}


# confirmation prompts shown before the operation is sent (static ptim/ptim.js).
def a37_accept(progressive) -> str:
    return _("Confermi l’accettazione del contratto n. %(p)s?") % {"p": progressive}


def a37_confirm(progressive) -> str:
    return _(
        "Confermi la conferma del contratto n. %(p)s? Il contratto passerà nello stato Definitivo."
    ) % {"p": progressive}


def a37_extend(date) -> str:
    return _(
        "Confermi la proroga del termine di stipula al %(d)s? La proroga è concessa una sola volta."
    ) % {"d": date.strftime("%d/%m/%Y")}


def a37_annul(progressive) -> str:
    return _("Confermi l’annullamento del contratto n. %(p)s?") % {"p": progressive}


def a37_justification() -> str:
    return _("Confermi la giustificazione inserita? L’operazione non è modificabile.")


def a37_exclude(operator) -> str:
    return _("Confermi l’esclusione dell’operatore %(o)s?") % {"o": operator}


def a37_readmit(operator) -> str:
    return _("Confermi la riammissione dell’operatore %(o)s?") % {"o": operator}
