"""Admin of notifications and of the e-mail outbox: read-only, plus "Reinvia" for failed e-mails."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import EmailAttachment, EmailOutbox, Notification
from .services import outbox_requeue


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "organisation", "subject", "read_at"]
    list_filter = ["template", "organisation", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject", "recipient__username", "recipient__last_name", "template"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient", "organisation"]
    fields = [
        "recipient",
        "organisation",
        "template",
        "subject",
        "body",
        "url",
        "created_at",
        "read_at",
    ]
    readonly_fields = fields


class EmailAttachmentInline(admin.TabularInline):
    model = EmailAttachment
    extra = 0
    fields = ["filename", "mimetype", "source_type", "source_id", "source_field"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EmailOutbox)
class EmailOutboxAdmin(ReadOnlyAdmin):
    inlines = [EmailAttachmentInline]
    list_display = [
        "created_at",
        "to",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status"]
    search_fields = ["to", "subject", "last_error"]
    date_hierarchy = "created_at"
    fields = [
        "notification",
        "to",
        "subject",
        "body_text",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "sent_at",
    ]
    readonly_fields = fields
    actions = ["requeue"]

    @admin.action(description=_("Reinvia le e-mail non recapitate"), permissions=["requeue"])
    def requeue(self, request, queryset):
        count = outbox_requeue(ids=queryset.values_list("pk", flat=True), user=request.user)
        if count:
            self.message_user(
                request,
                ngettext(
                    "%(count)d e-mail rimessa in coda.",
                    "%(count)d e-mail rimesse in coda.",
                    count,
                )
                % {"count": count},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                _("Nessuna e-mail da reinviare: si possono reinviare solo quelle non recapitate."),
                messages.WARNING,
            )

    def has_requeue_permission(self, request) -> bool:
        # The admin shows the outbox read-only; requeueing needs the model's change permission.
        return request.user.has_perm("notifications.change_emailoutbox")
