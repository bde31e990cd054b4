"""Admin of the audit trail, view only: the chain is append-only, nobody adds, edits or deletes."""

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "actor_label",
        "organisation",
        "action",
        "object_repr",
        "state_change",
    ]
    list_filter = ["organisation", "content_type"]
    search_fields = ["actor_label", "action", "object_repr", "object_id", "hash"]
    date_hierarchy = "created_at"
    list_select_related = ["organisation", "content_type"]
    fields = [
        "created_at",
        "actor",
        "actor_label",
        "organisation",
        "content_type",
        "object_id",
        "object_repr",
        "action",
        "from_state",
        "to_state",
        "payload_pretty",
        "prev_hash",
        "hash",
    ]
    readonly_fields = fields
    actions = None

    @admin.display(description=_("stato"))
    def state_change(self, obj: AuditEvent) -> str:
        if not (obj.from_state or obj.to_state):
            return ""
        return f"{obj.from_state or '—'} → {obj.to_state or '—'}"

    @admin.display(description=_("dati"))
    def payload_pretty(self, obj: AuditEvent) -> str:
        return format_html(
            "<pre class='audit-payload'>{}</pre>",
            json.dumps(obj.payload, indent=2, ensure_ascii=False, sort_keys=True),
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
