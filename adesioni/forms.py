"""Forms of the Negozio Elettronico: they parse input; the services decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from procurement.accounts.models import (
    CostCentre,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
)

from .models import ContractKind, DocumentKind, Hypothesis, MessageKind, Party

OGGETTO_CONTRATTO = [
    ("services", _("Servizi")),
    ("supplies", _("Forniture")),
    ("works", _("Lavori")),
]
FUNZIONI_SVOLTE = [
    ("1", _("Solo aggiudicazione")),
    ("2", _("Aggiudicazione e stipula")),
    ("3", _("Aggiudicazione, stipula ed esecuzione")),
    ("4", _("Proposta di aggiudicazione")),
]
TIPO_FINANZIAMENTO = [
    ("A", _("Fondi di bilancio della stazione appaltante")),
    ("B", _("Fondi di bilancio di altre amministrazioni")),
    ("C", _("Fondi PNRR / PNC")),
    ("D", _("Fondi comunitari")),
    ("E", _("Altro")),
]
CATEGORIA = [("FS", _("Fornitura di servizi")), ("FB", _("Fornitura di beni"))]
SUBAPPALTO = [("no", _("No")), ("si", _("Sì")), ("nd", _("Non noto"))]

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StyledForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif not isinstance(widget, forms.RadioSelect):
                widget.attrs.setdefault("class", "form-control")


class AdhesionStep1Form(StyledForm):
    hypothesis = forms.ChoiceField(
        label=_("Ipotesi"), choices=Hypothesis.choices, widget=forms.RadioSelect
    )
    amount = forms.DecimalField(
        label=_("Importo di adesione (€)"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
    )
    planned_end_date = forms.DateField(
        label=_("Data di scadenza prevista dell'adesione"), required=False, widget=DATE
    )


class AmountHelperForm(StyledForm):
    plan_date = forms.DateField(label=_("Data del piano dei fabbisogni"), widget=DATE)
    lines = forms.CharField(
        label=_("Voci del listino"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Una voce per riga: descrizione; prezzo unitario; quantità (es. Backup; 40,00; 12)"
        ),
    )

    def clean_lines(self):
        out = []
        for raw in self.cleaned_data["lines"].splitlines():
            if not raw.strip():
                continue
            parts = [p.strip() for p in raw.split(";")]
            if len(parts) != 3:
                raise forms.ValidationError(
                    _("Ogni riga deve avere descrizione; prezzo; quantità.")
                )
            try:
                price = Decimal(parts[1].replace(".", "").replace(",", "."))
                qty = Decimal(parts[2].replace(",", "."))
            except Exception as exc:
                raise forms.ValidationError(
                    _("Prezzo o quantità non validi: %(r)s") % {"r": raw}
                ) from exc
            out.append((parts[0], price, qty))
        if not out:
            raise forms.ValidationError(_("Inserire almeno una voce."))
        return out


class ReasonForm(StyledForm):
    reason = forms.CharField(
        label=_("Motivazione del rifiuto"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class CigRequestForm(StyledForm):
    """ "Richiedi CIG": the mandatory data of the AD4 scheda (§6.4)."""

    rup = forms.ModelChoiceField(label=_("RUP dell'ordinativo"), queryset=User.objects.none())
    oggetto_appalto = forms.CharField(label=_("Oggetto dell'appalto"), max_length=500)
    oggetto_lotto = forms.CharField(label=_("Oggetto del lotto"), max_length=500)
    oggetto_contratto = forms.ChoiceField(
        label=_("Oggetto del contratto"), choices=OGGETTO_CONTRATTO
    )
    lot_amount = forms.DecimalField(
        label=_("Totale dell'ordine (€, IVA esclusa)"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
    )
    data_adesione = forms.DateField(label=_("Data di adesione"), widget=DATE)
    data_aggiudicazione = forms.DateField(label=_("Data di aggiudicazione"), widget=DATE)
    cpv_prevalente = forms.RegexField(
        label=_("CPV prevalente"),
        regex=r"^\d{8}$",
        help_text=_("Otto cifre, senza cifra di controllo."),
    )
    cod_nuts = forms.RegexField(label=_("Codice NUTS 3"), regex=r"^IT[A-Z0-9]{3}$")
    cod_istat = forms.RegexField(label=_("Codice ISTAT del comune"), regex=r"^\d{3,6}$")
    ccnl = forms.CharField(label=_("CCNL applicato"), max_length=20)
    categoria = forms.ChoiceField(label=_("Categoria"), choices=CATEGORIA)
    tipo_finanziamento = forms.ChoiceField(
        label=_("Tipo di finanziamento"), choices=TIPO_FINANZIAMENTO
    )
    funzioni_svolte = forms.ChoiceField(
        label=_("Funzioni svolte"), choices=FUNZIONI_SVOLTE, initial="3"
    )
    cost_centre_code = forms.CharField(label=_("Codice del centro di costo"), max_length=50)
    afferente_pnrr = forms.BooleanField(label=_("Afferente a investimenti PNRR"), required=False)
    acquisizione_cup = forms.BooleanField(label=_("Acquisizione CUP"), required=False)
    cup_lotto = forms.CharField(label=_("CUP del lotto"), max_length=15, required=False)
    relazione_unica_procedure = forms.BooleanField(
        label=_("Relazione unica sulle procedure redatta"), required=False, initial=True
    )
    opere_urbanizzazione_scomputo = forms.BooleanField(
        label=_("Opere di urbanizzazione a scomputo"), required=False
    )
    subappalto = forms.ChoiceField(label=_("Subappalto"), choices=SUBAPPALTO, initial="no")

    def __init__(self, *args, organisation=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organisation is not None:
            rups = Membership.objects.active().filter(organisation=organisation, role=Role.RUP)
            self.fields["rup"].queryset = User.objects.filter(
                pk__in=rups.values("user_id"), tax_code__isnull=False
            )

    def clean(self):
        data = super().clean()
        # REG19: at least one CUP when acquisizioneCup is true.
        if data.get("acquisizione_cup") and not data.get("cup_lotto"):
            self.add_error("cup_lotto", _("Indicare almeno un codice CUP (acquisizione CUP = sì)."))
        return data

    def cig_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("rup")
        return data


class LineForm(StyledForm):
    description = forms.CharField(label=_("Descrizione"), max_length=500)
    unit_price = forms.DecimalField(
        label=_("Importo unitario (€)"), max_digits=14, decimal_places=2, min_value=0
    )
    quantity = forms.DecimalField(
        label=_("Quantità"), max_digits=12, decimal_places=3, min_value=Decimal("0.001")
    )


class OutcomeForm(StyledForm):
    award_date = forms.DateField(label=_("Data di aggiudicazione"), widget=DATE)
    duration_from = forms.DateField(label=_("Durata dal"), widget=DATE, required=False)
    duration_to = forms.DateField(label=_("Durata al"), widget=DATE)
    notes = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class MessageForm(StyledForm):
    kind = forms.ChoiceField(
        label=_("Tipo"),
        choices=[
            (MessageKind.COMMUNICATION, _("Comunicazione")),
            (MessageKind.CLARIFICATION, _("Chiarimento")),
        ],
    )
    recipient_party = forms.ChoiceField(label=_("Destinatario"), choices=[])
    subject = forms.CharField(label=_("Oggetto"), max_length=255)
    body = forms.CharField(label=_("Testo"), widget=forms.Textarea(attrs={"rows": 5}))
    attachment = forms.FileField(label=_("Allegato"), required=False)

    def __init__(self, *args, sender_party=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = {
            Party.ADHERENT: [Party.ISSUER, Party.SUPPLIER],
            Party.ISSUER: [Party.ADHERENT, Party.SUPPLIER],
            Party.SUPPLIER: [Party.ISSUER, Party.ADHERENT],
        }.get(sender_party, [])
        self.fields["recipient_party"].choices = [(p, Party(p).label) for p in choices]


# --- contract configuration (banditore) -------------------------------------------------------

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
HYPOTHESES_CHOICES = [
    ("AB", _("Ipotesi A e B")),
    ("A", _("Solo ipotesi A")),
    ("B", _("Solo ipotesi B")),
]
SLOT_KINDS = [
    (k.value, k.label)
    for k in DocumentKind
    if k not in (DocumentKind.CONTRACT_DOCUMENT, DocumentKind.TEMPLATE, DocumentKind.ATTACHMENT)
]


class ContractForm(StyledForm):
    kind = forms.ChoiceField(label=_("Tipologia"), choices=ContractKind.choices)
    title = forms.CharField(label=_("Oggetto"), max_length=500)
    description = forms.CharField(
        label=_("Descrizione"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    parent_cig = forms.CharField(label=_("CIG principale"), max_length=10)
    cup = forms.CharField(label=_("CUP"), max_length=15, required=False)
    contract_amount = forms.DecimalField(
        label=_("Importo del contratto (€)"), max_digits=14, decimal_places=2
    )
    supplier = forms.ModelChoiceField(
        label=_("Fornitore aggiudicatario"),
        queryset=Organisation.objects.filter(kind=OrganisationKind.ECONOMIC_OPERATOR),
    )
    supplier_members = forms.CharField(
        label=_("Componenti RTI"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Una riga per componente: denominazione; codice fiscale; mandataria|mandante"),
    )
    supplier_pec = forms.EmailField(label=_("PEC del fornitore"))
    issuer_cost_centre = forms.ModelChoiceField(
        label=_("CdC banditore"), queryset=CostCentre.objects.none(), required=False
    )
    round_count = forms.IntegerField(
        label=_("Numero di fasi di invio documentazione (round)"), min_value=1, max_value=10
    )
    is_extension = forms.BooleanField(label=_("Proroga"), required=False)
    suggested_adhesion_end = forms.DateField(
        label=_("Scadenza suggerita delle adesioni"), widget=DATE, required=False
    )
    expiry_at = forms.DateTimeField(
        label=_("Scadenza del contratto"),
        widget=DATETIME,
        required=False,
        help_text=_("Vuota: scadenza non definita."),
    )
    support_text = forms.CharField(
        label=_("Testo per l'assistenza"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args, issuer=None, published=False, **kwargs):
        super().__init__(*args, **kwargs)
        if issuer is not None:
            self.fields["issuer_cost_centre"].queryset = CostCentre.objects.filter(
                organisation=issuer
            )
        if published:
            from .configuration import PUBLISHED_FIELDS

            for name, field in self.fields.items():
                if name not in PUBLISHED_FIELDS:
                    field.disabled = True
                    field.required = False


class ExpiryForm(StyledForm):
    expiry_at = forms.DateTimeField(label=_("Scadenza"), widget=DATETIME, required=False)


class RequirementForm(StyledForm):
    scope = forms.ChoiceField(
        label=_("Sezione"),
        choices=[
            ("round", _("Richieste documenti per adesione")),
            ("order", _("Richieste per ordinativi fornitura")),
        ],
    )
    round_no = forms.IntegerField(label=_("Round"), min_value=0, initial=0, required=False)
    code = forms.CharField(label=_("Codice"), max_length=20)
    label = forms.CharField(label=_("Descrizione"), max_length=255)
    document_kind = forms.ChoiceField(label=_("Tipo di documento"), choices=SLOT_KINDS)
    hypotheses = forms.ChoiceField(label=_("Ipotesi"), choices=HYPOTHESES_CHOICES)
    mandatory = forms.BooleanField(label=_("Obbligatorio"), required=False, initial=True)
    signature_required = forms.BooleanField(label=_("Firma digitale richiesta"), required=False)


class ContractDocumentForm(StyledForm):
    kind = forms.ChoiceField(
        label=_("Tipo"),
        choices=[
            (DocumentKind.CONTRACT_DOCUMENT, DocumentKind.CONTRACT_DOCUMENT.label),
            (DocumentKind.TEMPLATE, DocumentKind.TEMPLATE.label),
        ],
    )
    title = forms.CharField(label=_("Titolo"), max_length=255)
    file = forms.FileField(label=_("File"))


class EnabledUserForm(StyledForm):
    user = forms.ModelChoiceField(label=_("Utente"), queryset=User.objects.none())
    cost_centre = forms.ModelChoiceField(
        label=_("Centro di costo"),
        queryset=CostCentre.objects.none(),
        required=False,
        help_text=_("Vuoto: opera per l'intera amministrazione banditrice."),
    )
    can_evaluate = forms.BooleanField(label=_("Valuta adesioni e ordinativi"), required=False)

    def __init__(self, *args, contract=None, **kwargs):
        super().__init__(*args, **kwargs)
        if contract is not None:
            from .configuration import enabled_user_candidates, enabled_user_cost_centres

            self.fields["user"].queryset = enabled_user_candidates(contract)
            self.fields["cost_centre"].queryset = enabled_user_cost_centres(contract)
