"""Admin of the PCP appalti. Records are created by the procedures (pcp.services.appalto_create)
and moved through their states by the ANAC client, so states and ANAC identifiers are read-only
here: `local_state` is a protected FSM field that only its transitions may change."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import PcpAppalto, PcpLot, PcpScheda, ProcedureRole
from .services import (
    PcpError,
    procedure_role_grant,
    procedure_role_grant_check,
    procedure_role_revoke,
)


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
        (
            None,
            {
                "fields": [
                    "subject",
                    "scheda_code",
                    "amount",
                    "organisation",
                    "rup",
                    "procedure_roles_display",
                ]
            },
        ),
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
        "procedure_roles_display",
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

    @admin.display(description=_("ruoli sulla procedura"))
    def procedure_roles_display(self, obj):
        url = reverse("admin:pcp_procedurerole_changelist") + f"?appalto__id__exact={obj.pk}"
        grants = [str(grant) for grant in obj.procedure_roles.select_related("user")]
        return format_html(
            '{} <a href="{}">{}</a>',
            "; ".join(grants) or _("nessun ruolo assegnato (il RUP ha «RUP RdO» di diritto)"),
            url,
            _("Gestisci"),
        )


class ProcedureRoleForm(forms.ModelForm):
    actor = None  # set by ProcedureRoleAdmin.get_form

    class Meta:
        model = ProcedureRole
        fields = ["appalto", "user", "role"]

    def clean(self):
        data = super().clean()
        if all(data.get(name) for name in ("appalto", "user", "role")):
            try:
                procedure_role_grant_check(
                    actor=self.actor, appalto=data["appalto"], user=data["user"], role=data["role"]
                )
            except (PcpError, PermissionDenied) as exc:
                raise ValidationError(str(exc)) from exc
        return data


@admin.register(ProcedureRole)
class ProcedureRoleAdmin(admin.ModelAdmin):
    """Grants are added or revoked (never edited), always through the audited services."""

    form = ProcedureRoleForm
    list_display = ["appalto", "user", "role", "granted_by", "created_at"]
    list_filter = ["role", "appalto__organisation"]
    search_fields = ["appalto__subject", "appalto__codice_appalto", "user__username"]
    list_select_related = ["appalto", "user", "granted_by"]
    autocomplete_fields = ["appalto", "user"]
    readonly_fields = ["granted_by", "created_at"]

    def has_change_permission(self, request, obj=None):
        return False  # revoke and grant again

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj, form, change):
        grant = procedure_role_grant(  # the form has run procedure_role_grant_check
            actor=request.user,
            appalto=obj.appalto,
            user=obj.user,
            role=obj.role,
            now=timezone.now(),
        )
        obj.pk, obj.granted_by, obj.created_at = grant.pk, grant.granted_by, grant.created_at

    def delete_model(self, request, obj):
        procedure_role_revoke(
            actor=request.user,
            appalto=obj.appalto,
            user=obj.user,
            role=obj.role,
            now=timezone.now(),
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("appalto", "user"):
            self.delete_model(request, obj)


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
