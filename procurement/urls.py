from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from adesioni import views as adesioni_views

admin.site.site_header = _("Amministrazione della piattaforma e-procurement")
admin.site.site_title = _("Amministrazione e-procurement")
admin.site.index_title = _("Gestione")

urlpatterns = [
    path("", include("procurement.core.urls")),
    path("account/", include("procurement.accounts.urls")),
    path("documenti/", include("procurement.documents.urls")),
    path("notifiche/", include("procurement.notifications.urls")),
    path("negozio-elettronico/", include("adesioni.urls")),
    # The area's first address, kept for bookmarks and links already sent by e-mail.
    re_path(r"^adesioni/(?P<rest>.*)$", adesioni_views.legacy_prefix_redirect),
    path("fvoe/", include("fvoe.urls")),
    path("ptim/", include("ptim.urls")),
    path("gare/", include("gare.urls")),
    path("trasparenza/", include("procurement.opendata.urls")),
    path("api/ocds/", include("procurement.opendata.api_urls")),
    path("api/", include("procurement.core.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's init script as a file of its own: our CSP has no
    # 'unsafe-inline' for scripts, and the plain view inlines it.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

if settings.ANAC_SIMULATOR:
    # The ANAC/PDND simulator (development, demo, tests): the client reaches it over HTTP.
    urlpatterns += [path("anac-sim/", include("procurement.anac.simulator.urls"))]

if settings.BENCH_ENABLED:
    # The benchmark floor (procurement/core/bench_views.py), only in `make bench` runs.
    urlpatterns += [path("bench/", include("procurement.core.bench_views"))]

# Under /api/ these answer with a problem+json body; elsewhere with Django's pages.
handler404 = "procurement.core.api.page_not_found"
handler500 = "procurement.core.api.server_error"
