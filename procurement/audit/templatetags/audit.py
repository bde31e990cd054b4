from django import template

from procurement.audit.models import AuditEvent

register = template.Library()


@register.simple_tag
def history_for(obj, limit: int = 50):
    """The latest audit events of `obj`, newest first (the page already checked access to obj)."""
    return list(AuditEvent.objects.for_object(obj).select_related("actor").order_by("-id")[:limit])
