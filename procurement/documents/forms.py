from django import forms
from django.utils.translation import gettext_lazy as _

from .uses import selectable_uses


def _use_choices():
    return [(use.code, use.label) for use in selectable_uses()]


class DocumentUploadForm(forms.Form):
    title = forms.CharField(label=_("Titolo"), max_length=255)
    use = forms.ChoiceField(label=_("Tipo di documento"), choices=_use_choices)
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, PDF firmato (PAdES) o busta firmata .p7m (CAdES), documenti d'ufficio."),
    )


class DocumentReplaceForm(forms.Form):
    file = forms.FileField(label=_("Nuova versione del file"))
