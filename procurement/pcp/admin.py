"""Admin of the PCP appalti. Records are created by the procedures (pcp.services.appalto_create)
and moved through their states by the ANAC client, so states and ANAC identifiers are read-only
here: `local_state` is a protected FSM field that only its transitions may change."""

from django.contrib import admin

from .models import PcpAppalto, PcpLot, PcpScheda


class PcpLotInline(admin.TabularInline):
    model = PcpLot
    extra = 0
    fields = ["lot_identifier", "cig", "anac_state"]
    readonly_fields = ["cig", "anac_state"]


@admin.register(PcpAppalto)
class PcpAppaltoAdmin(admin.ModelAdmin):
    list_display = [
        "subject",
        "organisation",
        "rup",
        "local_state",
        "anac_state",
        "amount",
        "created_at",
    ]
    list_filter = ["local_state", "anac_state", "organisation"]
    search_fields = [
        "subject",
        "codice_appalto",
        "id_appalto",
        "organisation__name",
        "rup__last_name",
        "rp_tax_code",
        "lots__cig",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["organisation", "rup"]
    fieldsets = [
        (None, {"fields": ["subject", "scheda_code", "amount", "organisation", "rup"]}),
        (
            "PCP",
            {
                "fields": [
                    "local_state",
                    "anac_state",
                    "codice_appalto",
                    "id_appalto",
                    "sa_tax_code",
                    "sa_ausa_code",
                    "rp_tax_code",
                    "owner_type",
                    "owner_id",
                    "created_at",
                    "updated_at",
                    "archived_at",
                ]
            },
        ),
    ]
    readonly_fields = [
        "organisation",
        "rup",
        "local_state",
        "anac_state",
        "codice_appalto",
        "id_appalto",
        "sa_tax_code",
        "sa_ausa_code",
        "rp_tax_code",
        "owner_type",
        "owner_id",
        "created_at",
        "updated_at",
        "archived_at",
    ]
    inlines = [PcpLotInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PcpScheda)
class PcpSchedaAdmin(admin.ModelAdmin):
    list_display = ["code", "appalto", "status", "anac_state", "id_scheda", "created_at", "sent_at"]
    list_filter = ["code", "status", "anac_state"]
    search_fields = ["appalto__codice_appalto", "id_scheda"]
    list_select_related = ["appalto"]
    readonly_fields = [
        "appalto",
        "code",
        "version",
        "id_scheda",
        "status",
        "anac_state",
        "payload",
        "created_by",
        "created_at",
        "sent_at",
        "sent_by",
        "confirmed_at",
        "deleted_at",
        "last_errors",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
