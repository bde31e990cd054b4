from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnacConfig(AppConfig):
    name = "procurement.anac"
    label = "anac"
    verbose_name = _("Servizi ANAC")
    default_auto_field = "django.db.models.BigAutoField"
