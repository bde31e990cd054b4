"""Querysets scoped to what a user may see, and the access helpers of the FVOE app."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q

from procurement.accounts.access import get_object_for_user, organisations_of
from procurement.accounts.models import Role
from procurement.anac.models import AnacTransmission
from procurement.pcp.models import PcpAppalto

from .models import (
    ENDED_STATUSES,
    AuthorizationStatus,
    FvoeAuthorization,
    FvoeDocument,
    FvoeDocumentVersion,
    FvoeSkippedCheck,
)
from .services import conf


def fvoe_roles() -> list[str]:
    return list(conf("FVOE_ALLOWED_ROLES", (Role.FVOE,)))


def has_fvoe_profile(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or organisations_of(user, roles=fvoe_roles()).exists()


def appalti_for_fvoe(user):
    """Appalti of the authorities where `user` holds the FVOE profile."""
    qs = PcpAppalto.objects.select_related("organisation", "rup")
    if not user.is_superuser:
        qs = qs.filter(organisation__in=organisations_of(user, roles=fvoe_roles()))
    return qs.annotate(
        n_operators=Count("fvoe_operators", distinct=True),
        n_authorised=Count(
            "fvoe_authorizations",
            filter=Q(fvoe_authorizations__status=AuthorizationStatus.AUTHORISED),
            distinct=True,
        ),
    ).order_by("-created_at")


def get_appalto_for_fvoe(user, pk) -> PcpAppalto:
    """The appalto, or 404 (not visible) / 403 (visible, but no FVOE profile)."""
    return get_object_for_user(
        PcpAppalto.objects.select_related("organisation", "rup"), user, roles=fvoe_roles(), pk=pk
    )


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
