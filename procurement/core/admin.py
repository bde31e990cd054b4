"""Admin of the periodic job runs: read-only, they are the record of what the scheduler did."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import JobRun


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "job",
        "key",
        "status",
        "progress",
        "failed",
        "finished_at",
        "host",
    ]
    list_filter = ["status", "job", "trigger"]
    search_fields = ["key", "job", "host", "error"]
    date_hierarchy = "started_at"
    fields = [
        "key",
        "job",
        "slot",
        "trigger",
        "host",
        "status",
        "started_at",
        "finished_at",
        "total",
        "done",
        "failed",
        "summary",
        "error",
    ]
    readonly_fields = fields

    @admin.display(description=_("avanzamento"))
    def progress(self, obj: JobRun) -> str:
        return f"{obj.done}/{obj.total}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
