from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path("", views.document_list, name="list"),
    path("carica/", views.document_upload_view, name="upload"),
    path("<uuid:uuid>/", views.document_detail, name="detail"),
    path("<uuid:uuid>/nuova-versione/", views.version_upload, name="replace"),
    path("<uuid:uuid>/v<int:number>/scarica/", views.version_download, name="download"),
]
