"""URLs of the simulator, mounted under /anac-sim/ when settings.ANAC_SIMULATOR is true.

Each e-service lives under its path of settings.ANAC_ESERVICE_PATHS, as on ANAC's gateway.
"""

from django.conf import settings
from django.urls import include, path

from . import control, fvoe_urls, pcp_urls, security

urlpatterns = [
    path("pdnd/token.oauth2", security.token_oauth2, name="anac-sim-token"),
    path("_control/", include(control.urlpatterns)),
]
for _eservice, _patterns in {**pcp_urls.ESERVICE_URLS, **fvoe_urls.ESERVICE_URLS}.items():
    urlpatterns.append(path(f"{settings.ANAC_ESERVICE_PATHS[_eservice]}/", include(_patterns)))
