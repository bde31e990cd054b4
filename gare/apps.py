from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GareConfig(AppConfig):
    name = "gare"
    verbose_name = _("Gare")
