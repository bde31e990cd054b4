"""Admin of users, organisations, cost centres, memberships and logins (in Italian)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import CostCentre, Membership, Organisation, StrongAuthSession, User


class MembershipInlineForUser(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ["organisation", "cost_centre", "role", "is_active", "valid_until", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["organisation", "cost_centre"]
    verbose_name = _("abilitazione")
    verbose_name_plural = _("abilitazioni (organizzazioni e ruoli)")


class MembershipInlineForOrganisation(admin.TabularInline):
    model = Membership
    fk_name = "organisation"
    extra = 0
    fields = ["user", "cost_centre", "role", "is_active", "valid_until", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user", "cost_centre"]
    verbose_name = _("abilitazione")
    verbose_name_plural = _("utenti abilitati")


class CostCentreInline(admin.TabularInline):
    model = CostCentre
    extra = 0
    fields = ["code", "name", "ausa_code", "territorial_scope"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = [
        "username",
        "last_name",
        "first_name",
        "tax_code",
        "email",
        "is_active",
        "is_staff",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "memberships__role"]
    search_fields = ["username", "first_name", "last_name", "email", "tax_code"]
    ordering = ["last_name", "first_name", "username"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (
            _("Dati personali"),
            {"fields": ["first_name", "last_name", "tax_code", "email", "phone"]},
        ),
        (
            _("Permessi"),
            {
                "classes": ["collapse"],
                "fields": [
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ],
            },
        ),
        (_("Date importanti"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "username",
                    "first_name",
                    "last_name",
                    "tax_code",
                    "email",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]
    readonly_fields = ["last_login", "date_joined"]
    inlines = [MembershipInlineForUser]

    def get_inlines(self, request, obj):
        # Memberships are added once the user exists (the add page has no inlines).
        return self.inlines if obj is not None else []


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "kind",
        "tax_code",
        "ausa_code",
        "territorial_scope",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code", "tax_code", "vat_number", "ausa_code"]
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["name", "code", "kind", "is_active"]}),
        (
            _("Identificativi"),
            {"fields": ["tax_code", "vat_number", "ausa_code"]},
        ),
        (
            _("Recapiti e competenza"),
            {"fields": ["territorial_scope", "pec", "address", "created_at"]},
        ),
    ]
    inlines = [CostCentreInline, MembershipInlineForOrganisation]


@admin.register(CostCentre)
class CostCentreAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "organisation", "ausa_code", "territorial_scope"]
    list_filter = ["organisation"]
    search_fields = ["name", "code", "organisation__name", "ausa_code"]
    autocomplete_fields = ["organisation"]
    list_select_related = ["organisation"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "cost_centre", "role", "is_active", "valid_until"]
    list_filter = ["role", "is_active", "organisation"]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__tax_code",
        "organisation__name",
    ]
    autocomplete_fields = ["user", "organisation", "cost_centre"]
    list_select_related = ["user", "organisation", "cost_centre"]
    readonly_fields = ["created_at"]


@admin.register(StrongAuthSession)
class StrongAuthSessionAdmin(admin.ModelAdmin):
    """Logins are evidence (who acted with which level of assurance): nobody edits them."""

    list_display = [
        "authenticated_at",
        "user",
        "provider",
        "idp_type",
        "loa",
        "anac_loa",
        "expires_at",
        "ended_at",
    ]
    list_filter = ["provider", "idp_type", "loa"]
    search_fields = ["user__username", "user__last_name", "user__tax_code", "ip_address"]
    date_hierarchy = "authenticated_at"
    list_select_related = ["user"]
    fields = [
        "user",
        "provider",
        "idp_type",
        "loa",
        "spid_level",
        "anac_loa",
        "ip_address",
        "user_agent",
        "authenticated_at",
        "expires_at",
        "ended_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
