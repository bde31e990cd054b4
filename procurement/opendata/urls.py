from django.urls import path

from . import views

app_name = "opendata"

urlpatterns = [
    path("", views.index, name="index"),
    path("bandi/", views.notices, name="notices"),
    path("bandi.csv", views.notices_csv, name="notices-csv"),
    path("affidamenti/", views.awards, name="awards"),
    path("affidamenti.csv", views.awards_csv, name="awards-csv"),
    path("procedura/<str:ocid>/", views.detail, name="detail"),
    path("opendata/", views.opendata, name="opendata"),
    path("opendata/index.json", views.opendata_index, name="opendata-index"),
]
