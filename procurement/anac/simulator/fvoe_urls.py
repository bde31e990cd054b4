"""Simulated FVOE e-service: {"FVOE": [path(...), ...]}.

Not simulated yet: the FVOE operations (richiesta-accesso-fvoe and the others of
specs/fvoe-openapi.json) come with their client module; until then the e-service has no paths.
"""

ESERVICE_URLS: dict[str, list] = {}
