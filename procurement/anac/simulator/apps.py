from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnacSimulatorConfig(AppConfig):
    name = "procurement.anac.simulator"
    label = "anac_simulator"
    verbose_name = _("Simulatore ANAC")
    default_auto_field = "django.db.models.BigAutoField"
