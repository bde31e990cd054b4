from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from procurement.accounts.models import Membership, User
from procurement.pcp.models import ProcedureRoleKind

from .document_requests import requestable_types


class AccessRequestForm(forms.Form):
    operators = forms.MultipleChoiceField(
        label=_("Operatori economici"), widget=forms.CheckboxSelectMultiple, required=False
    )
    end_date = forms.DateField(
        label=_("Fine autorizzazione (facoltativa)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Se non indicata, ANAC considera l'autorizzazione valida fino al 31/12/2099."),
    )

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["operators"].choices = list(choices)


class DocumentRequestForm(forms.Form):
    type_code = forms.ChoiceField(label=_("Tipo di documento"))
    matr_OE = forms.CharField(label=_("Matricola INPS (matr_OE)"), required=False, max_length=20)
    anno = forms.CharField(label=_("Anno"), required=False, max_length=4)
    tipoDocumentoOE = forms.CharField(
        label=_("Documento richiesto all'operatore"), required=False, max_length=255
    )
    dettaglioDocumentoOE = forms.CharField(
        label=_("Dettaglio"),
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type_code"].choices = [
            (code, f"{code} – {label}") for code, label in requestable_types()
        ]

    def request_data(self) -> dict:
        data = {}
        for name in ("matr_OE", "anno", "tipoDocumentoOE", "dettaglioDocumentoOE"):
            value = (self.cleaned_data.get(name) or "").strip()
            if value:
                data[name] = value
        return data


class ProcedureRoleForm(forms.Form):
    """ "Ruoli sulla procedura": a user of the authority and the role to give him."""

    user = forms.ModelChoiceField(label=_("Utente"), queryset=None, empty_label=_("Scegliere…"))
    role = forms.ChoiceField(label=_("Ruolo sulla procedura"))

    def __init__(self, *args, appalto, **kwargs):
        super().__init__(*args, **kwargs)
        members = Membership.objects.active().filter(organisation=appalto.organisation)
        self.fields["user"].queryset = (
            User.objects.filter(is_active=True, pk__in=members.values("user_id"))
            .order_by("last_name", "first_name", "username")
            .distinct()
        )
        self.fields["user"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["role"].choices = ProcedureRoleKind.choices
