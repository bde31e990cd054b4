from django.urls import path

from . import api, views

app_name = "ptim"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("contratti/inserimento/", views.contract_create, name="contract-create"),
    path(
        "contratti/inserimento/aggiornamento/",
        views.contract_create_live,
        name="contract-create-live",
    ),
    path("contratti/esporta.csv", views.contract_export, name="contract-export"),
    path("contratti/", views.contract_search, name="contract-search"),
    path("contratti/<int:pk>/", views.contract_detail, name="contract-detail"),
    path("contratti/<int:pk>/<slug:action>/", views.contract_action, name="contract-action"),
    path(
        "contratti/<int:pk>/documenti/<int:doc_pk>/",
        views.contract_document,
        name="contract-document",
    ),
    path("varianti/<int:pk>/<slug:action>/", views.variation_action, name="variation-action"),
    path("ricevute/<int:pk>/", views.receipt_download, name="receipt"),
    path("accordi-quadro/", views.agreement_list, name="agreement-list"),
    path("accordi-quadro/<int:pk>/", views.agreement_detail, name="agreement-detail"),
    path(
        "accordi-quadro/<int:pk>/<slug:action>/",
        views.agreement_action,
        name="agreement-action",
    ),
    path("operatori/", views.operator_management, name="operator-management"),
    path("operatori/<int:membership_pk>/rifiuti/", views.refusals, name="refusals"),
    path(
        "operatori/<int:membership_pk>/rifiuti/<slug:action>/",
        views.refusal_action,
        name="refusal-action",
    ),
    path("reportistica/", views.operator_report, name="operator-report"),
    path("reportistica/<int:membership_pk>/", views.operator_history, name="operator-history"),
    path("guida/", views.guide, name="guide"),
    path("guida/versioni/", views.guide_versions, name="guide-versions"),
    path("api/accordi-quadro/", api.AgreementList.as_view(), name="api-agreements"),
    path("api/contratti/", api.ContractBook.as_view(), name="api-contract-book"),
    path("api/contratti/riprenotazione/", api.ContractRebook.as_view(), name="api-contract-rebook"),
    path("api/contratti/<int:pk>/", api.ContractDetail.as_view(), name="api-contract"),
    path(
        "api/varianti/<int:pk>/<slug:action>/",
        api.VariationAction.as_view(),
        name="api-variation-action",
    ),
    path(
        "api/rifiuti/<int:pk>/<slug:action>/",
        api.RefusalAction.as_view(),
        name="api-refusal-action",
    ),
    path(
        "api/contratti/<int:pk>/<slug:action>/",
        api.ContractAction.as_view(),
        name="api-contract-action",
    ),
]
