"""Querysets scoped to what a user may see, and the access helpers of the FVOE app."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q

from procurement.accounts.access import get_object_for_user, organisations_of
from procurement.anac.models import AnacTransmission
from procurement.pcp.models import PcpAppalto
from procurement.pcp.selectors import procedure_roles_of, procedure_roles_q

from .models import (
    ENDED_STATUSES,
    AuthorizationStatus,
    FvoeAuthorization,
    FvoeDocument,
    FvoeDocumentVersion,
    FvoeSkippedCheck,
)
from .services import fvoe_procedure_roles, fvoe_profile_roles, msg_no_fvoe_access


def fvoe_roles() -> list[str]:
    """The organisation-level profiles of setting FVOE_ALLOWED_ROLES (default: FVOE)."""
    return fvoe_profile_roles()


def _fvoe_appalti(user):
    """Appalti of the authorities where `user` holds the FVOE profile AND where he holds one of
    the procedure roles of FVOE_ALLOWED_PROCEDURE_ROLES (R-FVOE-002/003, D-FVOE-01)."""
    qs = PcpAppalto.objects.select_related("organisation", "rup")
    if user.is_superuser:
        return qs
    return qs.filter(organisation__in=organisations_of(user, roles=fvoe_roles())).filter(
        procedure_roles_q(user, fvoe_procedure_roles())
    )


def has_fvoe_profile(user) -> bool:
    """Whether the "Fascicolo Virtuale" menu is shown: the FVOE profile and an allowed procedure
    role on at least one appalto of that authority (R-FVOE-002)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or _fvoe_appalti(user).exists()


def appalti_for_fvoe(user):
    """Appalti where `user` may use the FVOE functions."""
    if not getattr(user, "is_authenticated", False):
        return PcpAppalto.objects.none()
    return (
        _fvoe_appalti(user)
        .annotate(
            n_operators=Count("fvoe_operators", distinct=True),
            n_authorised=Count(
                "fvoe_authorizations",
                filter=Q(fvoe_authorizations__status=AuthorizationStatus.AUTHORISED),
                distinct=True,
            ),
        )
        .order_by("-created_at")
    )


def get_appalto_for_fvoe(user, pk) -> PcpAppalto:
    """The appalto, or 404 (not visible) / 403 (visible, but no FVOE profile or no allowed
    procedure role on it)."""
    appalto = get_object_for_user(
        PcpAppalto.objects.select_related("organisation", "rup"), user, roles=fvoe_roles(), pk=pk
    )
    if not user.is_superuser and not (procedure_roles_of(user, appalto) & fvoe_procedure_roles()):
        raise PermissionDenied(msg_no_fvoe_access())
    return appalto


def get_authorization_for_user(user, pk) -> FvoeAuthorization:
    auth = (
        FvoeAuthorization.objects.select_related("appalto", "operator", "request")
        .filter(pk=pk)
        .first()
    )
    if auth is None:
        from django.http import Http404

        raise Http404
    get_appalto_for_fvoe(user, auth.appalto_id)
    return auth


def get_version_for_user(user, pk) -> FvoeDocumentVersion:
    version = FvoeDocumentVersion.objects.select_related("document__appalto").filter(pk=pk).first()
    if version is None:
        from django.http import Http404

        raise Http404
    get_appalto_for_fvoe(user, version.document.appalto_id)
    return version


def current_authorizations(appalto):
    """The latest authorisation per operator of the appalto (not superseded)."""
    return (
        FvoeAuthorization.objects.filter(appalto=appalto, superseded_by__isnull=True)
        .select_related("operator", "request", "request__requested_by")
        .order_by("operator__name")
    )


def operators_with_access(appalto):
    """R-FVOE-050: authorised, or whose access ended after documents were retrieved."""
    with_docs = FvoeDocument.objects.filter(authorization=OuterRef("pk"))
    return (
        FvoeAuthorization.objects.filter(appalto=appalto)
        .filter(
            Q(status=AuthorizationStatus.AUTHORISED)
            | (Q(status__in=ENDED_STATUSES) & Exists(with_docs))
        )
        .select_related("operator")
        .order_by("operator__name", "-requested_at")
    )


def transmissions_of(appalto):
    return AnacTransmission.objects.filter(appalto=appalto).order_by("-sent_at", "-id")


def skipped_checks(appalto):
    """R-FVOE-071: the automatic verifications not made for this appalto, with the reason."""
    return FvoeSkippedCheck.objects.filter(appalto=appalto).order_by("-at")
