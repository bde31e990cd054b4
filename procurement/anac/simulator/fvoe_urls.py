"""Simulated FVOE e-service: {"FVOE": [path(...), ...]} (views in fvoe_views.py).

The operations the platform uses (spec fvoe.md §6.2); the FVA/FVPQ operations of
specs/fvoe-openapi.json and the internal autorizza-accesso-fvoe are not simulated (the operator's
answer is given through the control API, see fvoe_views).
"""

from django.urls import path

from . import fvoe_views as v

ESERVICE_URLS: dict[str, list] = {
    "FVOE": [
        path("richiesta-accesso-fvoe", v.richiesta_accesso_fvoe),
        path("verifica-richiesta-accesso-fvoe", v.verifica_richiesta_accesso_fvoe),
        path("ricerca-documenti-fvoe", v.ricerca_documenti_fvoe),
        path("recupera-documento-fvoe", v.recupera_documento_fvoe),
        path("richiedi-documenti", v.richiedi_documenti),
        path("verifica-stato-richiesta-documento", v.verifica_stato_richiesta_documento),
        path("recupera-storico-documento-fvoe", v.recupera_storico_documento_fvoe),
    ],
}
