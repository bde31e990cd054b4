from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FvoeConfig(AppConfig):
    name = "fvoe"
    verbose_name = _("Fascicolo Virtuale OE")
