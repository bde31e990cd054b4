from procurement.accounts.access import get_object_for_user

from .models import StoredDocument


def get_document_for_user(user, *, uuid, for_update: bool = False) -> StoredDocument:
    return get_object_for_user(StoredDocument.objects.all(), user, for_update=for_update, uuid=uuid)
