from django.conf import settings


def platform(request):
    """Header data: the membership the user acts with and the unread notifications count."""
    user = getattr(request, "user", None)
    unread = 0
    memberships = []
    if user is not None and user.is_authenticated:
        from procurement.accounts.access import active_memberships
        from procurement.notifications.selectors import unread_count

        unread = unread_count(user=user)
        memberships = list(active_memberships(user).order_by("organisation__name", "role"))
    return {
        "platform_name": "e-procurement PA",
        "current_membership": getattr(request, "membership", None),
        "user_memberships": memberships,
        "unread_notifications": unread,
        "strong_auth_provider": settings.STRONG_AUTH_PROVIDER,
    }
