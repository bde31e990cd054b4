from .models import Notification


def notifications_for(*, user):
    return Notification.objects.filter(recipient=user)


def unread_count(*, user) -> int:
    return notifications_for(user=user).filter(read_at__isnull=True).count()
