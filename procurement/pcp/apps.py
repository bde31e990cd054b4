from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PcpConfig(AppConfig):
    name = "procurement.pcp"
    label = "pcp"
    verbose_name = _("Appalti PCP")
