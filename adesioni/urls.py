from django.urls import path

from . import api, views, views_config

app_name = "adesioni"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("contratti/", views.contract_list, name="contract_list"),
    path("contratti/<uuid:pk>/", views.contract_detail, name="contract_detail"),
    path("contratti/<uuid:pk>/pubblica/", views.contract_publish, name="contract_publish"),
    path("contratti/nuovo/", views_config.contract_new, name="contract_new"),
    path(
        "contratti/<uuid:pk>/configura/",
        views_config.contract_configure,
        name="contract_configure",
    ),
    path(
        "contratti/<uuid:pk>/configura/scadenza/",
        views_config.contract_config_expiry,
        name="contract_config_expiry",
    ),
    path(
        "contratti/<uuid:pk>/configura/documenti/",
        views_config.contract_config_document,
        name="contract_config_document",
    ),
    path(
        "contratti/<uuid:pk>/configura/documenti/<int:document_id>/elimina/",
        views_config.contract_config_document_delete,
        name="contract_config_document_delete",
    ),
    path(
        "contratti/<uuid:pk>/configura/richieste/",
        views_config.contract_config_requirement,
        name="contract_config_requirement",
    ),
    path(
        "contratti/<uuid:pk>/configura/richieste/<str:scope>/<int:requirement_id>/elimina/",
        views_config.contract_config_requirement_delete,
        name="contract_config_requirement_delete",
    ),
    path(
        "contratti/<uuid:pk>/configura/utenti/",
        views_config.contract_config_user,
        name="contract_config_user",
    ),
    path(
        "contratti/<uuid:pk>/configura/utenti/<int:enabled_id>/elimina/",
        views_config.contract_config_user_delete,
        name="contract_config_user_delete",
    ),
    path("contratti/<uuid:pk>/chiudi/", views_config.contract_close, name="contract_close"),
    path(
        "contratti/<uuid:pk>/documenti/<int:document_id>/",
        views_config.contract_document,
        name="contract_document",
    ),
    path("contratti/<uuid:pk>/richiedi-adesione/", views.adhesion_create, name="adhesion_create"),
    path("contratti/<uuid:pk>/nuovo-ordine/", views.order_create, name="order_create"),
    path("contratti/<uuid:pk>/comunicazioni/nuova/", views.message_create, name="message_create"),
    path(
        "contratti/<uuid:pk>/comunicazioni/<int:message_id>/",
        views.message_detail,
        name="message_detail",
    ),
    path("adesioni/<uuid:pk>/", views.adhesion_detail, name="adhesion_detail"),
    path("adesioni/<uuid:pk>/modifica/", views.adhesion_edit, name="adhesion_edit"),
    path("adesioni/<uuid:pk>/invia/", views.adhesion_send, name="adhesion_send"),
    path("adesioni/<uuid:pk>/ritira/", views.adhesion_withdraw, name="adhesion_withdraw"),
    path("adesioni/<uuid:pk>/elimina/", views.adhesion_delete, name="adhesion_delete"),
    path("adesioni/<uuid:pk>/approva/", views.adhesion_approve, name="adhesion_approve"),
    path("adesioni/<uuid:pk>/rifiuta/", views.adhesion_refuse, name="adhesion_refuse"),
    path(
        "adesioni/<uuid:pk>/documenti/<int:version_id>/",
        views.adhesion_document,
        name="adhesion_document",
    ),
    path("ordini/<uuid:pk>/", views.order_detail, name="order_detail"),
    path("ordini/<uuid:pk>/richiesta-cig/", views.order_cig_request, name="order_cig_request"),
    path("ordini/<uuid:pk>/adesione/", views.order_choose_adhesion, name="order_adhesion"),
    path("ordini/<uuid:pk>/righe/", views.order_line_save, name="order_line_save"),
    path(
        "ordini/<uuid:pk>/righe/<int:line_id>/elimina/",
        views.order_line_delete,
        name="order_line_delete",
    ),
    path("ordini/<uuid:pk>/documenti/", views.order_document_upload, name="order_document_upload"),
    path(
        "ordini/<uuid:pk>/documenti/<int:version_id>/", views.order_document, name="order_document"
    ),
    path(
        "ordini/<uuid:pk>/conferma-appalto/",
        views.order_confirm_appalto,
        name="order_confirm_appalto",
    ),
    path("ordini/<uuid:pk>/acquisisci-cig/", views.order_acquire_cig, name="order_acquire_cig"),
    path("ordini/<uuid:pk>/scheda-sintesi.pdf", views.order_summary_pdf, name="order_summary_pdf"),
    path("ordini/<uuid:pk>/scheda-firmata/", views.order_signed_summary, name="order_signed"),
    path("ordini/<uuid:pk>/invia/", views.order_send, name="order_send"),
    path("ordini/<uuid:pk>/pec/", views.order_pec, name="order_pec"),
    path("ordini/<uuid:pk>/avvisi/", views.order_banners, name="order_banners"),
    path(
        "ordini/<uuid:pk>/schede/<int:scheda_id>/",
        views.scheda_detail,
        name="scheda_detail",
    ),
    path(
        "ordini/<uuid:pk>/schede/<int:scheda_id>/avvisi/",
        views.scheda_banner,
        name="scheda_banner",
    ),
    path("ordini/<uuid:pk>/approva/", views.order_approve, name="order_approve"),
    path("ordini/<uuid:pk>/rifiuta/", views.order_refuse, name="order_refuse"),
    path("ordini/<uuid:pk>/riapri/", views.order_reopen, name="order_reopen"),
    path("ordini/<uuid:pk>/elimina/", views.order_delete, name="order_delete"),
    path("ordini/<uuid:pk>/esito/", views.outcome_edit, name="outcome_edit"),
    path("ordini/<uuid:pk>/esito/pubblica/", views.outcome_publish, name="outcome_publish"),
    path("ordini/<uuid:pk>/schede/ann/", views.scheda_ann_create, name="scheda_ann_create"),
    path(
        "ordini/<uuid:pk>/schede/<int:scheda_id>/invia/",
        views.scheda_ann_send,
        name="scheda_ann_send",
    ),
    path(
        "ordini/<uuid:pk>/schede/<int:scheda_id>/verifica/",
        views.scheda_ann_verify,
        name="scheda_ann_verify",
    ),
    path(
        "ordini/<uuid:pk>/schede/<int:scheda_id>/elimina/",
        views.scheda_ann_delete,
        name="scheda_ann_delete",
    ),
    path("aggiudicazioni/", views.public_outcomes, name="public_outcomes"),
    path("api/contratti/", api.ContractList.as_view(), name="api_contracts"),
    path("api/contratti/<uuid:pk>/", api.ContractDetail.as_view(), name="api_contract"),
    path("api/adesioni/", api.AdhesionList.as_view(), name="api_adhesions"),
    path("api/adesioni/<uuid:pk>/", api.AdhesionDetail.as_view(), name="api_adhesion"),
    path("api/adesioni/<uuid:pk>/invia/", api.AdhesionSend.as_view(), name="api_adhesion_send"),
    path(
        "api/adesioni/<uuid:pk>/ritira/",
        api.AdhesionWithdraw.as_view(),
        name="api_adhesion_withdraw",
    ),
    path("api/ordini/", api.OrderList.as_view(), name="api_orders"),
    path("api/ordini/<uuid:pk>/", api.OrderDetail.as_view(), name="api_order"),
    path("api/ordini/<uuid:pk>/invia/", api.OrderSend.as_view(), name="api_order_send"),
]
