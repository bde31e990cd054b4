from django.urls import path

from . import views

app_name = "gare"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("nuova/", views.tender_create, name="tender_create"),
    path("<uuid:pk>/", views.tender_detail, name="tender"),
    path("<uuid:pk>/modifica/", views.tender_edit, name="tender_edit"),
    path("<uuid:pk>/documenti/", views.tender_document_upload, name="tender_document"),
    path("<uuid:pk>/pubblica/", views.tender_publish, name="tender_publish"),
    path("<uuid:pk>/annulla/", views.tender_cancel, name="tender_cancel"),
    path("<uuid:pk>/chiarimenti/", views.clarifications, name="clarifications"),
    path("chiarimenti/<int:pk>/rispondi/", views.clarification_answer, name="clarification_answer"),
    path("comunicazioni/", views.communications, name="communications"),
    path("comunicazioni/<int:pk>/letta/", views.communication_read, name="communication_read"),
    path("lotti/<int:pk>/offerta/", views.offer_page, name="offer"),
    path("lotti/<int:pk>/offerta/<slug:action>/", views.offer_action, name="offer_action"),
    path("lotti/<int:pk>/accesso/<int:file_pk>/", views.access_file, name="access_file"),
    path("offerte/<uuid:pk>/ricevuta/", views.receipt, name="receipt"),
    path("lotti/<int:pk>/", views.lot_procedure, name="lot"),
    path("lotti/<int:pk>/azioni/<slug:action>/", views.lot_action, name="lot_action"),
    path("lotti/<int:pk>/coefficienti/", views.coefficients, name="coefficients"),
    path("file/<int:pk>/", views.envelope_file_download, name="envelope_file"),
    path("<uuid:tender_pk>/bando/<int:pk>/", views.public_document, name="public_document"),
]

# Minutes and award documents (PDF), gare/views_documents.py.
from . import views_documents  # noqa: E402

urlpatterns += [
    path(
        "lotti/<int:pk>/sedute/<int:session_pk>/verbale.pdf",
        views_documents.session_minutes,
        name="session_minutes",
    ),
    path(
        "lotti/<int:pk>/aggiudicazione.pdf", views_documents.award_document, name="award_document"
    ),
    # The ranking page lives with the documents: both gate the offered values (matrix row 26).
    path("lotti/<int:pk>/graduatoria/", views_documents.ranking, name="ranking"),
    path(
        "lotti/<int:pk>/documenti/<int:doc_pk>/",
        views_documents.document_download,
        name="document_download",
    ),
    path(
        "lotti/<int:pk>/documenti/<int:doc_pk>/firmato/",
        views_documents.document_signed_download,
        name="document_signed",
    ),
    path(
        "lotti/<int:pk>/documenti/<int:doc_pk>/firma/",
        views_documents.document_sign_upload,
        name="document_sign",
    ),
    path(
        "lotti/<int:pk>/sedute/<int:session_pk>/verbale/modifica/",
        views_documents.minutes_edit,
        name="minutes_edit",
    ),
]

# Offer validity extension (gare/views_validity.py).
from . import views_validity  # noqa: E402

urlpatterns += [
    path(
        "lotti/<int:pk>/proroga-validita/",
        views_validity.validity_request,
        name="validity_request",
    ),
    path(
        "comunicazioni/<int:pk>/conferma-validita/",
        views_validity.validity_confirm_view,
        name="validity_confirm",
    ),
]

# Read API (gare/api.py), under /gare/api/ as the other apps do.
from . import api  # noqa: E402

urlpatterns += [
    path("api/gare/", api.TenderList.as_view(), name="api_tenders"),
    path("api/gare/<uuid:pk>/", api.TenderDetail.as_view(), name="api_tender"),
    path("api/lotti/<int:pk>/", api.LotDetail.as_view(), name="api_lot"),
    path("api/lotti/<int:pk>/calcoli/", api.ScoreRunList.as_view(), name="api_lot_runs"),
    path(
        "api/gare/<uuid:pk>/chiarimenti/",
        api.ClarificationList.as_view(),
        name="api_tender_clarifications",
    ),
    path("api/lotti/<int:pk>/esito/", api.LotResult.as_view(), name="api_lot_result"),
]

# Write API of the operator's submission flow (gare/api_write.py).
from . import api_write  # noqa: E402

urlpatterns += [
    path("api/lotti/<int:pk>/offerta/", api_write.OfferState.as_view(), name="api_offer"),
    path(
        "api/lotti/<int:pk>/offerta/buste/<str:envelope>/file/",
        api_write.EnvelopeFileAdd.as_view(),
        name="api_offer_file_add",
    ),
    path(
        "api/lotti/<int:pk>/offerta/file/<int:file_pk>/",
        api_write.EnvelopeFileRemove.as_view(),
        name="api_offer_file",
    ),
    path(
        "api/lotti/<int:pk>/offerta/buste/<str:envelope>/dati/",
        api_write.EnvelopeDataSet.as_view(),
        name="api_offer_data",
    ),
    path(
        "api/lotti/<int:pk>/offerta/invia/",
        api_write.OfferSubmit.as_view(),
        name="api_offer_submit",
    ),
    path(
        "api/lotti/<int:pk>/offerta/ritira/",
        api_write.OfferWithdraw.as_view(),
        name="api_offer_withdraw",
    ),
    path(
        "api/offerte/<uuid:pk>/ricevuta/",
        api_write.OfferReceipt.as_view(),
        name="api_offer_receipt",
    ),
]

# Requirement verification through FVOE (gare/views_verification.py, R-GARE-146).
from . import views_verification  # noqa: E402

urlpatterns += [
    path(
        "lotti/<int:pk>/verifica-fvoe/",
        views_verification.verification_fvoe,
        name="verification_fvoe",
    ),
    path(
        "lotti/<int:pk>/verifica-fvoe/avvia/",
        views_verification.verification_fvoe_start,
        name="verification_fvoe_start",
    ),
    path(
        "verifiche-fvoe/<int:pk>/aggiorna/",
        views_verification.verification_fvoe_refresh,
        name="verification_fvoe_refresh",
    ),
    path(
        "verifiche-fvoe/<int:pk>/esito/",
        views_verification.verification_fvoe_outcome,
        name="verification_fvoe_outcome",
    ),
    path(
        "verifiche-fvoe/documenti/<int:pk>/",
        views_verification.verification_fvoe_document,
        name="verification_fvoe_document",
    ),
]
