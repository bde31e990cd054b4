from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PtimConfig(AppConfig):
    name = "ptim"
    verbose_name = _("Gestione contratti (PTIM)")

    def ready(self):
        from procurement.documents.uses import (
            EML,
            OFFICE_TYPES,
            PDF,
            PKCS7,
            DocumentUse,
            register_use,
        )

        for code, label, types, size in (
            ("ptim_acceptance", _("Accettazione del contratto (PTIM)"), OFFICE_TYPES, None),
            (
                "ptim_stipula",
                _("Documento di stipula del contratto (PTIM)"),
                frozenset({PDF}),
                5 * 1024 * 1024,
            ),
            ("ptim_waiver", _("Scansione rinuncia dell’impresa (PTIM)"), OFFICE_TYPES, None),
            (
                "ptim_variation",
                _("Documento autorizzativo della variazione (PTIM)"),
                OFFICE_TYPES,
                None,
            ),
            (
                "ptim_annulment_request",
                _("Istanza di annullamento della Stazione Appaltante (PTIM)"),
                frozenset({PDF, PKCS7, EML}),
                5 * 1024 * 1024,
            ),
            (
                "ptim_guide",
                _("Guida operativa (PTIM)"),
                frozenset({PDF}),
                20 * 1024 * 1024,
            ),
            (
                "ptim_rescission",
                _("Documento di rescissione/risoluzione (PTIM)"),
                frozenset({PDF}),
                None,
            ),
        ):
            register_use(DocumentUse(code=code, label=label, content_types=types, max_size=size))
