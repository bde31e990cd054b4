from django.contrib import admin

from . import models


class CeilingInline(admin.TabularInline):
    model = models.ChapterCeiling
    extra = 0


class MembershipInline(admin.TabularInline):
    model = models.AgreementOperator
    extra = 0
    fields = (
        "operator",
        "ranking_position",
        "score",
        "discount_pct",
        "base_threshold",
        "increase_share",
        "status",
    )
    readonly_fields = ("increase_share", "status")


@admin.register(models.FrameworkAgreement)
class FrameworkAgreementAdmin(admin.ModelAdmin):
    list_display = (
        "identifier",
        "name",
        "territorial_area",
        "valid_from",
        "valid_until",
        "base_amount",
        "cancelled",
    )
    list_filter = ("period", "territorial_area", "cancelled")
    search_fields = ("identifier", "name")
    inlines = [CeilingInline, MembershipInline]


class ClearanceInline(admin.TabularInline):
    model = models.SecurityClearance
    extra = 0


@admin.register(models.EconomicOperator)
class EconomicOperatorAdmin(admin.ModelAdmin):
    list_display = ("name", "tax_code", "vat_number", "pec")
    search_fields = ("name", "tax_code", "vat_number")
    inlines = [ClearanceInline]


@admin.register(models.Contract)
class ContractAdmin(admin.ModelAdmin):
    """Read-only: every change goes through the services (pages and API)."""

    list_display = (
        "progressive",
        "state",
        "contracting_authority",
        "membership",
        "total_amount",
        "booking_date",
    )
    list_filter = ("state", "agreement")
    search_fields = ("progressive", "intervention_identifier", "description")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


for model in (
    models.ReferencePeriod,
    models.Lot,
    models.TerritorialArea,
    models.SpendingChapter,
    models.InterventionCategory,
    models.InterventionType,
    models.OrganisationProfile,
    models.Directorate,
    models.AvailabilityShortfall,
    models.Receipt,
):
    admin.site.register(model)


@admin.register(models.Refusal)
class RefusalAdmin(admin.ModelAdmin):
    list_display = ("contract", "membership", "booked_at", "handling_deadline", "justified")

    def has_change_permission(self, request, obj=None):
        return False
