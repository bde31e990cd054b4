from django.contrib import admin

from .models import OcdsRelease, PublicProcedure


@admin.register(OcdsRelease)
class OcdsReleaseAdmin(admin.ModelAdmin):
    list_display = ("release_id", "ocid", "date", "source")
    list_filter = ("source",)
    search_fields = ("ocid", "release_id")
    readonly_fields = [f.name for f in OcdsRelease._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PublicProcedure)
class PublicProcedureAdmin(admin.ModelAdmin):
    list_display = ("title", "buyer_name", "cig", "is_notice", "is_award", "last_release_at")
    list_filter = ("source", "is_notice", "is_award", "annulled")
    search_fields = ("title", "cig", "ocid", "buyer_name")
    readonly_fields = [f.name for f in PublicProcedure._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
