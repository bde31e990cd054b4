from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import (
    Adhesion,
    AdhesionDocument,
    AdhesionSubmission,
    CigRequest,
    ContractDocument,
    ContractEnabledUser,
    ContractMessage,
    FrameworkContract,
    OrderDocument,
    OrderLine,
    OrderRequirement,
    OutcomeNotice,
    RoundRequirement,
    SupplyOrder,
)


class RoundRequirementInline(admin.TabularInline):
    model = RoundRequirement
    extra = 0


class OrderRequirementInline(admin.TabularInline):
    model = OrderRequirement
    extra = 0


class ContractDocumentInline(admin.TabularInline):
    model = ContractDocument
    extra = 0
    raw_id_fields = ["version"]


class EnabledUserInline(admin.TabularInline):
    model = ContractEnabledUser
    extra = 0
    raw_id_fields = ["user"]


@admin.register(FrameworkContract)
class FrameworkContractAdmin(admin.ModelAdmin):
    list_display = ["title", "parent_cig", "issuer", "supplier", "status", "expiry_at"]
    list_filter = ["status", "kind"]
    search_fields = ["title", "parent_cig"]
    readonly_fields = ["status", "published_at", "closed_at"]
    actions = ["publish"]
    inlines = [
        ContractDocumentInline,
        RoundRequirementInline,
        OrderRequirementInline,
        EnabledUserInline,
    ]

    @admin.action(description=_("Pubblica nel Negozio Elettronico"))
    def publish(self, request, queryset):
        from .services import AdesioniError, contract_publish

        for contract in queryset:
            try:
                contract_publish(user=request.user, contract_id=contract.pk, now=timezone.now())
            except AdesioniError as exc:
                self.message_user(request, f"{contract}: {exc}", messages.ERROR)
            else:
                self.message_user(request, _("Contratto pubblicato: %s") % contract)


class AdhesionDocumentInline(admin.TabularInline):
    model = AdhesionDocument
    extra = 0
    readonly_fields = ["round_no", "requirement", "version", "is_current"]
    can_delete = False


class SubmissionInline(admin.TabularInline):
    model = AdhesionSubmission
    extra = 0
    readonly_fields = [f.name for f in AdhesionSubmission._meta.fields]
    can_delete = False


@admin.register(Adhesion)
class AdhesionAdmin(admin.ModelAdmin):
    list_display = ["code", "contract", "organisation", "hypothesis", "amount", "status"]
    list_filter = ["status", "hypothesis"]
    search_fields = ["code", "organisation__name"]
    readonly_fields = ["status", "code", "code_year", "code_seq", "first_sent_at", "approved_at"]
    inlines = [AdhesionDocumentInline, SubmissionInline]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ["position", "description", "unit_price", "quantity", "line_total"]
    can_delete = False


class OrderDocumentInline(admin.TabularInline):
    model = OrderDocument
    extra = 0
    readonly_fields = ["requirement", "version", "is_current"]
    can_delete = False


@admin.register(SupplyOrder)
class SupplyOrderAdmin(admin.ModelAdmin):
    list_display = ["number", "contract", "organisation", "derived_cig", "lines_total", "status"]
    list_filter = ["status"]
    search_fields = ["number", "derived_cig", "organisation__name"]
    readonly_fields = ["status", "number", "derived_cig", "lines_total", "pcp_appalto"]
    inlines = [OrderLineInline, OrderDocumentInline]


admin.site.register(CigRequest)
admin.site.register(OutcomeNotice)


@admin.register(ContractMessage)
class ContractMessageAdmin(admin.ModelAdmin):
    list_display = ["subject", "contract", "kind", "sender_party", "sent_at"]
    list_filter = ["kind"]
