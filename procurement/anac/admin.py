"""Admin of the ANAC operations and of the transmission log: read-only (the operations engine is
the only writer); platform operators can force a check of a pending or stalled operation."""

from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import operations
from .models import AnacOperation, AnacTransmission, Trigger


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TransmissionInline(admin.TabularInline):
    model = AnacTransmission
    fk_name = "anac_operation"
    extra = 0
    can_delete = False
    fields = ["sent_at", "operation", "trigger", "http_status", "outcome", "errors", "duration_ms"]
    readonly_fields = fields
    ordering = ["id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AnacOperation)
class AnacOperationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "state",
        "appalto",
        "actor_tax_code",
        "attempts",
        "ack_at",
        "next_poll_at",
        "finished_at",
    ]
    list_filter = ["state", "kind"]
    search_fields = ["idempotency_key", "appalto__codice_appalto", "actor_tax_code"]
    date_hierarchy = "created_at"
    list_select_related = ["appalto"]
    inlines = [TransmissionInline]
    actions = ["check_now"]

    @admin.action(description=_("Verifica subito l’esito (operazioni in attesa o senza esito)"))
    def check_now(self, request, queryset):
        count = 0
        with transaction.atomic():
            for op in queryset.filter(state__in=list(operations.POLL_STATES)):
                count += operations.request_poll(
                    op, actor=None, user=None, trigger=Trigger.USER, now=timezone.now()
                )
        self.message_user(
            request, _("Verifiche richieste: %(n)s") % {"n": count}, level=messages.INFO
        )


@admin.register(AnacTransmission)
class AnacTransmissionAdmin(ReadOnlyAdmin):
    list_display = [
        "sent_at",
        "operation",
        "eservice",
        "trigger",
        "http_status",
        "outcome",
        "actor_tax_code",
        "id_appalto",
        "duration_ms",
    ]
    list_filter = ["outcome", "eservice", "operation", "trigger"]
    search_fields = ["id_appalto", "id_scheda", "trace_id", "span_id", "jti", "actor_tax_code"]
    date_hierarchy = "sent_at"
