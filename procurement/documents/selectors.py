from .models import StoredDocument


def documents_visible_to(user, *, organisation=None):
    """Documents `user` may see, newest first, optionally of one organisation only."""
    qs = StoredDocument.objects.visible_to(user).select_related("organisation", "created_by")
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    return qs.order_by("-created_at")
