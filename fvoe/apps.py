from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FvoeConfig(AppConfig):
    name = "fvoe"
    verbose_name = _("Fascicolo Virtuale OE")

    def menu_visible(self, user) -> bool:
        """R-FVOE-002: the menu only for the FVOE profile with an allowed procedure role."""
        from .selectors import has_fvoe_profile

        return has_fvoe_profile(user)
