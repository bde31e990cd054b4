"""Admin of PTIM.

AQ master data (agreements, their ceilings and operators, economic operators and clearances),
contracts and refusals are read-only here: they change only through the services (pages, API,
`ptim_import_aq`), which check permissions, lock the AQ and write the audit trail (R-PTIM-012).
The reference tables the spec leaves to the DG (D-19: categories, intervention types; periods,
lots, areas, chapters, profiles, directorates) are editable only by DG users, and every save
or deletion writes an audit event with the old and new values.
"""

from django.contrib import admin
from django.forms.models import model_to_dict

from procurement.audit.services import audit_record

from . import models
from .access import is_dg


class ReadOnlyAdmin(admin.ModelAdmin):
    """Every change goes through the services (pages and API)."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, *args):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False


class CeilingInline(ReadOnlyInline):
    model = models.ChapterCeiling


class MembershipInline(ReadOnlyInline):
    model = models.AgreementOperator
    fields = (
        "operator",
        "ranking_position",
        "score",
        "discount_pct",
        "base_threshold",
        "increase_share",
        "status",
    )


@admin.register(models.FrameworkAgreement)
class FrameworkAgreementAdmin(ReadOnlyAdmin):
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


class ClearanceInline(ReadOnlyInline):
    model = models.SecurityClearance


@admin.register(models.EconomicOperator)
class EconomicOperatorAdmin(ReadOnlyAdmin):
    list_display = ("name", "tax_code", "vat_number", "pec")
    search_fields = ("name", "tax_code", "vat_number")
    inlines = [ClearanceInline]


@admin.register(models.Contract)
class ContractAdmin(ReadOnlyAdmin):
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


@admin.register(models.Refusal)
class RefusalAdmin(ReadOnlyAdmin):
    list_display = ("contract", "membership", "booked_at", "handling_deadline", "justified")


for model in (models.AvailabilityShortfall, models.Receipt):
    admin.site.register(model, ReadOnlyAdmin)


def _snapshot(obj) -> dict:
    data = model_to_dict(obj)
    return {k: (list(v) if isinstance(v, (list, tuple, set)) else v) for k, v in data.items()}


def _plain(value):
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, (list, tuple, set)) or (
        hasattr(value, "__iter__") and not isinstance(value, (str, bytes, dict))
    ):
        return sorted(getattr(v, "pk", v) for v in value)
    return value


class AuditedDGAdmin(admin.ModelAdmin):
    """Reference tables: DG users only, every save and deletion audited (R-PTIM-149)."""

    def _allowed(self, request) -> bool:
        return is_dg(request.user)

    def has_add_permission(self, request, *args):
        return self._allowed(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        before = (
            {k: _plain(v) for k, v in _snapshot(type(obj).objects.get(pk=obj.pk)).items()}
            if change and obj.pk
            else {}
        )
        super().save_model(request, obj, form, change)
        request._ptim_audit = (obj, before, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj, before, change = request._ptim_audit
        after = {k: _plain(v) for k, v in _snapshot(obj).items()}
        changes = {
            k: {"before": before.get(k), "after": v} for k, v in after.items() if before.get(k) != v
        }
        audit_record(
            action=f"admin: {'modifica' if change else 'inserimento'} {obj._meta.verbose_name}",
            actor=request.user,
            obj=obj,
            payload={"changes": changes},
        )

    def delete_model(self, request, obj):
        audit_record(
            action=f"admin: eliminazione {obj._meta.verbose_name}",
            actor=request.user,
            obj=obj,
            payload={"before": {k: _plain(v) for k, v in _snapshot(obj).items()}},
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


for model in (
    models.ReferencePeriod,
    models.Lot,
    models.TerritorialArea,
    models.SpendingChapter,
    models.InterventionCategory,
    models.InterventionType,
    models.OrganisationProfile,
    models.Directorate,
):
    admin.site.register(model, AuditedDGAdmin)
