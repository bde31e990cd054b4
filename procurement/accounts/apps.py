from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "procurement.accounts"
    label = "accounts"
    verbose_name = _("Utenti e organizzazioni")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
