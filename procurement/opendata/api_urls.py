from django.urls import path

from . import api

urlpatterns = [
    path("releases", api.releases, name="ocds-releases"),
    path("records", api.records, name="ocds-records"),
]
