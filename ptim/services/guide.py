"""PTIM services: the operational guide ("GUIDA OPERATIVA", R-PTIM-141, D-50)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from procurement.audit.services import audit_record

from ..access import is_dg
from ..models import GuideDocument
from .base import PtimError
from .documents import _pdf_only, _upload


def publish_guide(*, user, uploaded, note: str = "", now) -> GuideDocument:
    """A DG user publishes a new version of the guide (PDF); earlier versions stay stored."""
    if not is_dg(user):
        raise PermissionDenied(_("Operazione riservata alla Direzione Generale."))
    _pdf_only(uploaded)
    note = " ".join((note or "").split())
    if len(note) > 255:
        raise PtimError(_("Note di versione: al massimo 255 caratteri."))
    from procurement.accounts.access import organisations_of

    organisation = organisations_of(user).order_by("pk").first()
    if organisation is None:
        raise PermissionDenied
    with transaction.atomic():
        # Serialise publications (also the first one, when there is no row to lock): the
        # version numbers never collide.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('ptim_guide'))")
        else:
            list(GuideDocument.objects.select_for_update().order_by("-version")[:1])
        last = GuideDocument.objects.aggregate(v=Max("version"))["v"] or 0
        document = _upload(
            user=user,
            organisation=organisation,
            use="ptim_guide",
            title=_("Guida operativa PTIM v%(v)s") % {"v": last + 1},
            uploaded=uploaded,
            now=now,
        )
        guide = GuideDocument.objects.create(
            version=last + 1, document=document, note=note, published_at=now, published_by=user
        )
        audit_record(
            action="pubblicazione guida operativa",
            actor=user,
            obj=guide,
            organisation=organisation,
            to_state=f"v{guide.version}",
            payload={"document": document.pk, "note": note},
            now=now,
        )
    return guide


def current_guide() -> GuideDocument | None:
    return GuideDocument.objects.select_related("document").order_by("-version").first()
