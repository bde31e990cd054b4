from django.urls import path

from . import views

app_name = "fvoe"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("richieste-di-accesso/", views.access_request_list, name="access_request_list"),
    path("documenti/", views.documents_list, name="documents_list"),
    path("appalti/<int:appalto_pk>/richieste/", views.access_requests, name="access_requests"),
    path("appalti/<int:appalto_pk>/documenti/", views.documents, name="documents"),
    path("appalti/<int:appalto_pk>/cronologia-pcp/", views.chronology, name="chronology"),
    path(
        "appalti/<int:appalto_pk>/ruoli/assegna/",
        views.procedure_role_grant,
        name="procedure_role_grant",
    ),
    path(
        "appalti/<int:appalto_pk>/ruoli/<int:grant_pk>/revoca/",
        views.procedure_role_revoke,
        name="procedure_role_revoke",
    ),
    path("appalti/<int:appalto_pk>/verifica-tutti/", views.verify_all, name="verify_all"),
    path("autorizzazioni/<int:auth_pk>/verifica/", views.verify, name="verify"),
    path("autorizzazioni/<int:auth_pk>/aggiorna/", views.refresh_documents, name="refresh"),
    path(
        "autorizzazioni/<int:auth_pk>/richiedi-documento/",
        views.request_document,
        name="request_document",
    ),
    path(
        "richieste-documento/<uuid:request_pk>/verifica/",
        views.poll_document_request,
        name="poll_document_request",
    ),
    path("versioni/<int:version_pk>/scarica/", views.download, name="download"),
    path("appalti/<int:appalto_pk>/in-corso/", views.progress, name="progress"),
    path("documenti/<int:document_pk>/storico/", views.document_history, name="document_history"),
]
