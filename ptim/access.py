"""Who may do what in PTIM (spec §7): user types, competence, one helper per object type."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from procurement.accounts.access import active_memberships, organisations_of
from procurement.accounts.models import Role

from .models import (
    AgreementOperator,
    Contract,
    Directorate,
    FrameworkAgreement,
    OrganisationProfile,
    Refusal,
    UserType,
)

AGENCY_TYPES = (UserType.AGENZIA_DT, UserType.AGENZIA_DG)
MINISTRY_TYPES = (UserType.DIFESA, UserType.MIC)


def is_dg(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or (
        active_memberships(user).filter(role=Role.DG).exists()
    )


def dt_directorates(user):
    """The Directorates for which `user` is a DT user."""
    q = Q(pk__in=[])
    for m in active_memberships(user).filter(role=Role.DT):
        cond = Q(organisation_id=m.organisation_id)
        if m.cost_centre_id:
            cond &= Q(cost_centre__isnull=True) | Q(cost_centre_id=m.cost_centre_id)
        q |= cond
    return Directorate.objects.filter(q)


def is_dt(user) -> bool:
    return active_memberships(user).filter(role=Role.DT).exists()


def is_competent_dt(user, agreement) -> bool:
    return dt_directorates(user).filter(pk=agreement.directorate_id).exists()


def can_supervise(user, agreement) -> bool:
    """Competent DT or DG: annulment, rescission, variation edits, refusals."""
    return is_dg(user) or is_competent_dt(user, agreement)


def sa_organisation(user):
    """The contracting authority the user books for (the first organisation with a profile)."""
    orgs = organisations_of(user).filter(ptim_profile__isnull=False).order_by("pk")
    return orgs.select_related("ptim_profile").first()


def user_type_of(user) -> str | None:
    memberships = active_memberships(user)
    if memberships.filter(role=Role.DG).exists():
        return UserType.AGENZIA_DG
    if memberships.filter(role=Role.DT).exists():
        return UserType.AGENZIA_DT
    org = sa_organisation(user)
    return org.ptim_profile.user_type if org else None


def owns(user, contract) -> bool:
    return organisations_of(user).filter(pk=contract.contracting_authority_id).exists()


def competence_areas(user):
    profiles = OrganisationProfile.objects.filter(organisation__in=organisations_of(user))
    area_ids = set(profiles.values_list("territorial_areas", flat=True))
    area_ids |= set(dt_directorates(user).values_list("territorial_areas", flat=True))
    area_ids.discard(None)
    return area_ids


def visible_contracts(user):
    qs = Contract.objects.all()
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if (
        is_dg(user)
        or OrganisationProfile.objects.filter(
            organisation__in=organisations_of(user), is_national=True
        ).exists()
    ):
        return qs
    return qs.filter(
        Q(contracting_authority__in=organisations_of(user))
        | Q(territorial_area_id__in=competence_areas(user))
        | Q(agreement__directorate__in=dt_directorates(user))
    ).distinct()


def visible_agreements(user):
    qs = FrameworkAgreement.objects.all()
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if (
        is_dg(user)
        or OrganisationProfile.objects.filter(
            organisation__in=organisations_of(user), is_national=True
        ).exists()
    ):
        return qs
    return qs.filter(
        Q(territorial_area_id__in=competence_areas(user)) | Q(directorate__in=dt_directorates(user))
    ).distinct()


def get_contract_for(user, *, pk=None, progressive=None, for_update=False) -> Contract:
    lookup = {"pk": pk} if pk is not None else {"progressive": progressive}
    qs = visible_contracts(user)
    try:
        contract = qs.get(**lookup)
    except Contract.DoesNotExist as exc:
        raise Http404 from exc
    if for_update:
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
    return contract


def get_agreement_for(user, *, pk) -> FrameworkAgreement:
    try:
        return visible_agreements(user).get(pk=pk)
    except FrameworkAgreement.DoesNotExist as exc:
        raise Http404 from exc


def get_membership_for(user, *, pk) -> AgreementOperator:
    m = AgreementOperator.objects.select_related("agreement", "operator").filter(pk=pk).first()
    if m is None:
        raise Http404
    if not can_supervise(user, m.agreement):
        raise PermissionDenied
    return m


def get_refusal_for(user, *, pk) -> Refusal:
    r = Refusal.objects.select_related("membership__agreement").filter(pk=pk).first()
    if r is None:
        raise Http404
    if not can_supervise(user, r.membership.agreement):
        raise PermissionDenied
    return r
