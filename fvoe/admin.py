from django.contrib import admin

from .models import (
    FvoeAccessRequest,
    FvoeAppaltoOperator,
    FvoeAuthorization,
    FvoeDocument,
    FvoeDocumentRequest,
    FvoeDocumentRequestItem,
    FvoeDocumentVersion,
    FvoeMaintenanceWindow,
)


@admin.register(FvoeAppaltoOperator)
class FvoeAppaltoOperatorAdmin(admin.ModelAdmin):
    list_display = ["name", "tax_code", "source", "appalto"]
    list_filter = ["source"]
    search_fields = ["name", "tax_code"]


class AuthorizationInline(admin.TabularInline):
    model = FvoeAuthorization
    fields = ["operator", "status", "requested_at", "last_checked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(FvoeAccessRequest)
class FvoeAccessRequestAdmin(admin.ModelAdmin):
    list_display = ["appalto", "requested_by", "status", "created_at", "id_richiesta"]
    list_filter = ["status"]
    readonly_fields = ["status"]
    inlines = [AuthorizationInline]


@admin.register(FvoeAuthorization)
class FvoeAuthorizationAdmin(admin.ModelAdmin):
    list_display = ["operator", "appalto", "status", "requested_at", "last_checked_at"]
    list_filter = ["status", "last_check_trigger"]
    search_fields = ["operator_tax_code", "operator__name"]
    # D-FVOE-13: the access key is never shown.
    exclude = ["access_key_encrypted"]
    readonly_fields = ["status"]


class VersionInline(admin.TabularInline):
    model = FvoeDocumentVersion
    fields = ["version_no", "file_name", "actual_size", "sha256", "retrieved_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(FvoeDocument)
class FvoeDocumentAdmin(admin.ModelAdmin):
    list_display = ["type_code", "type_label", "operator_tax_code", "origin", "retrieval_state"]
    list_filter = ["origin", "retrieval_state", "type_code"]
    inlines = [VersionInline]


class ItemInline(admin.TabularInline):
    model = FvoeDocumentRequestItem
    extra = 0


@admin.register(FvoeDocumentRequest)
class FvoeDocumentRequestAdmin(admin.ModelAdmin):
    list_display = ["type_code", "authorization", "status", "is_open", "created_at"]
    list_filter = ["status", "is_open"]
    readonly_fields = ["status"]
    inlines = [ItemInline]


@admin.register(FvoeMaintenanceWindow)
class FvoeMaintenanceWindowAdmin(admin.ModelAdmin):
    """R-FVOE-083: ANAC's announced maintenance windows (scheduled calls are postponed)."""

    list_display = ["starts_at", "ends_at", "note"]
