from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdesioniConfig(AppConfig):
    name = "adesioni"
    verbose_name = _("Negozio elettronico (adesioni)")

    def ready(self) -> None:
        from procurement.documents.uses import (
            OFFICE_TYPES,
            PDF,
            SIGNED_CONTAINER_TYPES,
            DocumentUse,
            register_use,
        )

        from . import anac  # noqa: F401 (connects the ANAC outcome receivers)

        register_use(
            DocumentUse(
                code="adesioni_signed",
                label=_("Documento firmato digitalmente (Negozio Elettronico)"),
                content_types=SIGNED_CONTAINER_TYPES,
                signature_required=True,
            )
        )
        register_use(
            DocumentUse(
                code="adesioni_document",
                label=_("Documento (Negozio Elettronico)"),
                content_types=OFFICE_TYPES,
            )
        )
        register_use(
            DocumentUse(
                code="adesioni_summary_generated",
                label=_("Scheda di sintesi ordinativo di fornitura"),
                content_types=frozenset({PDF}),
            )
        )
        register_use(
            DocumentUse(
                code="adesioni_summary_signed",
                label=_("Scheda di sintesi ordinativo di fornitura firmata"),
                content_types=SIGNED_CONTAINER_TYPES,
                signature_required=True,
            )
        )
