"""Admin of documents, view only: files arrive through the upload services, which type, hash,
verify and audit them; originals are never edited or deleted."""

from django.contrib import admin
from django.db.models import Count
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import DocumentVersion, StoredDocument


class DocumentVersionInline(admin.TabularInline):
    model = DocumentVersion
    extra = 0
    can_delete = False
    show_change_link = False
    fields = ["number", "file_summary", "upload_summary", "signature_result"]
    readonly_fields = fields
    ordering = ["-number"]
    verbose_name = _("versione")
    verbose_name_plural = _("versioni (la più recente per prima)")

    @admin.display(description=_("file"))
    def file_summary(self, obj: DocumentVersion) -> str:
        url = reverse("documents:download", args=[obj.document.uuid, obj.number])
        return format_html(
            '<a href="{}">{}</a><br><small>{} · {}<br>SHA-256 <code title="{}">{}…</code></small>',
            url,
            obj.original_name,
            obj.content_type_label,
            filesizeformat(obj.size),
            obj.sha256,
            obj.sha256[:16],
        )

    @admin.display(description=_("caricato"))
    def upload_summary(self, obj: DocumentVersion) -> str:
        return format_html(
            "{}<br><small>{}</small>",
            date_format(timezone.localtime(obj.uploaded_at), "d/m/Y H:i"),
            obj.uploaded_by,
        )

    @admin.display(description=_("firma digitale"))
    def signature_result(self, obj: DocumentVersion) -> str:
        return render_to_string("documents/admin_signature.html", {"version": obj})

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StoredDocument)
class StoredDocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "organisation", "use", "version_count", "created_by", "created_at"]
    list_filter = ["use", "organisation"]
    search_fields = ["title", "uuid", "versions__sha256", "versions__signer_tax_code"]
    date_hierarchy = "created_at"
    list_select_related = ["organisation", "created_by"]
    fields = ["uuid", "title", "organisation", "use_label", "created_by", "created_at", "page_link"]
    readonly_fields = fields
    inlines = [DocumentVersionInline]
    actions = None

    def get_queryset(self, request):
        # Staff see the documents of the organisations they act for, superusers all of them.
        return (
            StoredDocument.objects.visible_to(request.user)
            .select_related("organisation", "created_by")
            .annotate(version_total=Count("versions"))
        )

    @admin.display(description=_("uso"))
    def use_label(self, obj: StoredDocument) -> str:
        return obj.use_label

    @admin.display(description=_("versioni"), ordering="version_total")
    def version_count(self, obj: StoredDocument) -> int:
        return obj.version_total

    @admin.display(description=_("pagina del documento"))
    def page_link(self, obj: StoredDocument) -> str:
        url = reverse("documents:detail", args=[obj.uuid])
        return format_html('<a href="{}">{}</a>', url, _("Apri"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
