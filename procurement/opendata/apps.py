from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpendataConfig(AppConfig):
    name = "procurement.opendata"
    label = "opendata"
    verbose_name = _("Trasparenza e dati aperti")
    default_auto_field = "django.db.models.BigAutoField"
