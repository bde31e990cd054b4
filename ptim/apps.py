from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PtimConfig(AppConfig):
    name = "ptim"
    verbose_name = _("Gestione contratti (PTIM)")
