"""What every service of the app shares: the domain error, permissions, communications."""

from __future__ import annotations

import secrets

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.accounts.access import has_role, organisations_of
from procurement.accounts.models import Membership, OrganisationKind, Role
from procurement.audit.services import audit_record
from procurement.notifications.services import notify

from ..models import Communication, Lot, Tender

#: Roles of the contracting authority that run the procedure (RPA/RUP of the SUA).
STAFF_ROLES = (Role.RUP,)


class GareError(Exception):
    """A request refused for a reason the user can understand; `message` is Italian."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class StrongAuthRequired(GareError):
    """The step needs SPID/CIE (LoA >= 2) and the current authentication has less: the API
    answers 403, the pages send the user to the strong login (R-GARE-002, R-GARE-003)."""


def fmt_dt(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M:%S") if value else "—"


def new_receipt_no(prefix: str, now) -> str:
    return f"{prefix}-{timezone.localtime(now):%Y%m%d%H%M%S}-{secrets.token_hex(3).upper()}"


def is_staff_of(user, tender: Tender, roles=STAFF_ROLES) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return any(has_role(user, role, tender.organisation) for role in roles)


def require_staff(user, tender: Tender, roles=STAFF_ROLES) -> None:
    if not is_staff_of(user, tender, roles):
        raise PermissionDenied(_("Operazione riservata al RUP della stazione appaltante."))


def operator_orgs(user):
    """The economic operators the user acts for (role «Utente operatore economico»)."""
    return organisations_of(user, roles=[Role.OPERATOR]).filter(
        kind=OrganisationKind.ECONOMIC_OPERATOR
    )


def require_operator(user, operator) -> None:
    if not operator_orgs(user).filter(pk=operator.pk).exists():
        raise PermissionDenied(_("Non operi per questo operatore economico."))


def operator_users(operator):
    from procurement.accounts.models import User

    ids = Membership.objects.active().filter(organisation=operator).values("user_id")
    return User.objects.filter(pk__in=ids)


def lock_lot(lot: Lot) -> Lot:
    return Lot.objects.select_for_update(of=("self",)).select_related("tender").get(pk=lot.pk)


def lock_tender(tender: Tender) -> Tender:
    return Tender.objects.select_for_update(of=("self",)).get(pk=tender.pk)


def audit(*, action, actor, obj, tender, now, from_state="", to_state="", payload=None):
    return audit_record(
        action=action,
        actor=actor,
        obj=obj,
        organisation=tender.organisation,
        from_state=from_state,
        to_state=to_state,
        payload=payload,
        now=now,
    )


def communication_send(
    *, user, tender: Tender, operator, kind: str, subject: str, body: str, now, legal_deadline=None
) -> Communication:
    """An individual communication with its receipt, written with the change that causes it."""
    with transaction.atomic():
        comm = Communication.objects.create(
            tender=tender,
            operator=operator,
            kind=kind,
            subject=subject[:255],
            body=body,
            sent_at=now,
            sent_by=user if user is not None and user.pk else None,
            receipt_no=new_receipt_no("COM", now),
            legal_deadline=legal_deadline,
        )
        audit(
            action="comunicazione inviata",
            actor=user,
            obj=comm,
            tender=tender,
            now=now,
            payload={"kind": kind, "operator": operator.pk, "receipt": comm.receipt_no},
        )
        notify(
            recipients=list(operator_users(operator)),
            template="gare_communication",
            context={
                "subject": comm.subject,
                "body": body,
                "receipt_no": comm.receipt_no,
                "tender_code": tender.code,
            },
            organisation=operator,
            url=reverse("gare:communications"),
            now=now,
        )
    return comm
