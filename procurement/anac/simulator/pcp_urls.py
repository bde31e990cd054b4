"""Simulated PCP e-services: {e-service name: [path(...), ...]} (views in pcp_views.py).

Operations are grouped by the tags of specs/pcp-openapi.json (rollback-scheda is serviziComuni).
"""

from django.urls import path

from . import pcp_views as v

ESERVICE_URLS: dict[str, list] = {
    "ComunicaAppalto": [
        path("crea-appalto", v.crea_appalto),
        path("modifica-appalto", v.modifica_appalto),
        path("cancella-appalto", v.cancella_appalto),
        path("conferma-appalto", v.conferma_appalto),
        path("recupera-cig", v.recupera_cig),
        path("ricerca-appalto", v.ricerca_appalto),
        path("consulta-appalto", v.consulta_appalto),
    ],
    "ServiziComuni": [
        path("esito-operazione", v.esito_operazione),
        path("stato-appalto", v.stato_appalto),
        path("rollback-scheda", v.rollback_scheda),
    ],
    "ComunicaPostPubblicazione": [
        path("crea-scheda", v.crea_scheda),
        path("conferma-scheda", v.conferma_scheda),
        path("cancella-scheda", v.cancella_scheda),
        path("consulta-scheda", v.consulta_scheda),
        path("ricerca-scheda", v.ricerca_scheda),
    ],
    "PubblicaAvviso": [
        path("pubblica-avviso", v.pubblica_avviso),
        path("stato-avviso", v.stato_avviso),
    ],
}
