"""Who may see and change what.

Objects that belong to an organisation are visible to the users with an active membership in that
organisation (and to superusers). Each object type has one access helper built on
`get_object_for_user`; views, the API and admin actions use it, never a hand-written filter.
An outsider gets 404, not 403, so the existence of another organisation's object is not revealed.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404
from django.utils.translation import gettext as _

from .models import Membership, Organisation, Role


def active_memberships(user):
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return (
        Membership.objects.active().filter(user=user).select_related("organisation", "cost_centre")
    )


def organisations_of(user, *, roles: Iterable[str] | None = None):
    """The organisations `user` acts for (optionally only through the given roles)."""
    memberships = active_memberships(user)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return Organisation.objects.filter(pk__in=memberships.values("organisation_id"))


def has_role(user, role: str, organisation: Organisation | None = None) -> bool:
    if getattr(user, "is_superuser", False) and role == Role.ADMIN:
        return True
    qs = active_memberships(user).filter(role=role)
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    return qs.exists()


def require_role(user, role: str, organisation: Organisation | None = None) -> None:
    if not has_role(user, role, organisation):
        raise PermissionDenied(
            _("Operazione non consentita: serve il ruolo «%(role)s».") % {"role": Role(role).label}
        )


def get_object_for_user(
    queryset: models.QuerySet,
    user,
    *,
    for_update: bool = False,
    roles: Iterable[str] | None = None,
    **lookup,
):
    """The object matching `lookup` among those `user` may see, or 404.

    The queryset's model must have an `organisation` foreign key. With `roles`, the user must act
    for the object's organisation with one of them (else 403). With `for_update`, the row is
    locked (call it inside `transaction.atomic()`).
    """
    if not getattr(user, "is_authenticated", False):
        raise Http404
    visible = queryset
    if not user.is_superuser:
        visible = visible.filter(organisation__in=organisations_of(user))
    if for_update:
        visible = visible.select_for_update(of=("self",))
    try:
        obj = visible.get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404 from exc
    if roles is not None and not user.is_superuser:
        allowed = organisations_of(user, roles=roles).filter(pk=obj.organisation_id).exists()
        if not allowed:
            raise PermissionDenied(_("Non hai il ruolo necessario per questa operazione."))
    return obj


def get_organisation_for_user(user, *, pk) -> Organisation:
    """Access helper for organisations: members see their own organisation."""
    if not getattr(user, "is_authenticated", False):
        raise Http404
    qs = Organisation.objects.all() if user.is_superuser else organisations_of(user)
    try:
        return qs.get(pk=pk)
    except Organisation.DoesNotExist as exc:
        raise Http404 from exc
