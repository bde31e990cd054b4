from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GareConfig(AppConfig):
    name = "gare"
    verbose_name = _("Gare")

    def ready(self) -> None:
        from procurement.documents.uses import (
            OFFICE_TYPES,
            SIGNED_CONTAINER_TYPES,
            DocumentUse,
            register_use,
        )

        from .services import transmissions  # noqa: F401 (receiver of ANAC outcomes)

        register_use(
            DocumentUse(
                code="gare_tender_document",
                label=_("Documento di gara"),
                content_types=OFFICE_TYPES,
            )
        )
        # Offer files: 15 MB is the reference limit [§13]; the tender's own limit is checked too.
        register_use(
            DocumentUse(
                code="gare_offer_file",
                label=_("Documento dell'offerta"),
                content_types=OFFICE_TYPES,
                max_size=50 * 1024 * 1024,
            )
        )
        register_use(
            DocumentUse(
                code="gare_offer_signed",
                label=_("Documento dell'offerta firmato digitalmente"),
                content_types=SIGNED_CONTAINER_TYPES,
                signature_required=True,
                max_size=50 * 1024 * 1024,
            )
        )
