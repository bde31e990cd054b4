from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("Nome utente o password non corretti."),
        "inactive": _("Questo utente è disattivato."),
    }


class DevIdentityForm(forms.Form):
    LEVELS = [(2, _("SPID livello 2")), (3, _("SPID livello 3 / CIE"))]
    tax_code = forms.CharField(label=_("Identità di prova"), max_length=16)
    level = forms.TypedChoiceField(label=_("Livello"), choices=LEVELS, coerce=int, initial=2)
