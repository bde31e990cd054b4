"""Admin: read-mostly views of the tenders; sealed data are never shown (S-31)."""

from django.contrib import admin

from . import models


class LotInline(admin.TabularInline):
    model = models.Lot
    extra = 0
    fields = (
        "number",
        "title",
        "cig",
        "works_amount",
        "safety_costs",
        "labour_cost_estimate",
        "status",
    )
    readonly_fields = ("status",)


@admin.register(models.Tender)
class TenderAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "organisation", "status", "offer_deadline", "is_template")
    list_filter = ("status", "is_template")
    search_fields = ("code", "title")
    readonly_fields = ("status", "published_at", "created_by", "created_at")
    exclude = ("wrapped_key",)
    inlines = [LotInline]


@admin.register(models.Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("display_name", "lot", "form", "status")
    list_filter = ("status",)
    readonly_fields = ("status", "current_offer")


@admin.register(models.Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ("operator", "lot", "version_no", "status", "submitted_at", "receipt_no")
    list_filter = ("status",)
    readonly_fields = [f.name for f in models.Offer._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(models.Envelope)
class EnvelopeAdmin(admin.ModelAdmin):
    list_display = ("offer", "type", "state", "sealed_at", "opened_at")
    exclude = ("sealed_data",)
    readonly_fields = (
        "offer",
        "type",
        "state",
        "sha256",
        "sealed_at",
        "opened_at",
        "opened_in_session",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.EnvelopeFile)
class EnvelopeFileAdmin(admin.ModelAdmin):
    list_display = ("original_name", "envelope", "requirement_code", "size", "signature_ok")
    exclude = ("storage_name",)
    readonly_fields = (
        "envelope",
        "requirement_code",
        "original_name",
        "size",
        "sha256",
        "content_type",
        "signature_ok",
        "signature_report",
        "uploaded_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


for model in (
    models.LotWorkCategory,
    models.TenderDocument,
    models.SubmissionAttempt,
    models.Clarification,
    models.Communication,
    models.Session,
    models.RemedyRequest,
    models.Exclusion,
    models.CommissionMember,
    models.ScoreRun,
    models.ImprovementOffer,
    models.AnomalyReview,
    models.Award,
    models.RectificationRequest,
    models.AdminCheckItem,
    models.SingleCentreCase,
    models.TenderSuspension,
    models.CriterionReopening,
):
    admin.site.register(model)


@admin.register(models.GareDocument)
class GareDocumentAdmin(admin.ModelAdmin):
    """Minutes and award documents: produced and signed through the procedure, never edited."""

    list_display = ("lot", "kind", "key", "version", "status", "sha256")
    list_filter = ("kind", "status")
    search_fields = ("lot__tender__code", "lot__cig", "key")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
