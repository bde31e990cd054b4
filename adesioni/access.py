"""Who may see and do what in the Negozio Elettronico (spec §8.1), one helper per object type.

Parties: the adhering bodies act through users with the BUYER or RUP role of their organisation;
the banditore through the contract's enabled users (those with `can_evaluate` decide); the
supplier through the users of the supplier organisation. Outsiders get 404.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from procurement.accounts.access import active_memberships, organisations_of
from procurement.accounts.models import Role

from .models import (
    Adhesion,
    AdhesionStatus,
    ContractEnabledUser,
    ContractStatus,
    FrameworkContract,
    OrderStatus,
    SupplyOrder,
)

ADHERENT_ROLES = (Role.BUYER, Role.RUP)


def adherent_organisations(user):
    return organisations_of(user, roles=ADHERENT_ROLES)


def is_adherent_operator(user, organisation) -> bool:
    return adherent_organisations(user).filter(pk=organisation.pk).exists()


def _adherent_memberships(user):
    return active_memberships(user).filter(role__in=list(ADHERENT_ROLES))


def adherent_scope(user) -> tuple[list, list]:
    """(organisations the user acts for as a whole, cost centres the user is limited to).

    A membership without a cost centre covers the whole organisation; one with a cost centre
    covers only that CdC (spec §1.2: actions are performed "as" a cost centre, R-ADE-037).
    """
    wide, centres = set(), set()
    for organisation_id, cost_centre_id in _adherent_memberships(user).values_list(
        "organisation_id", "cost_centre_id"
    ):
        if cost_centre_id is None:
            wide.add(organisation_id)
        else:
            centres.add(cost_centre_id)
    return list(wide), list(centres)


def own_q(user) -> Q:
    """Adhesions/orders of the user's organisations (as a whole) or of the user's CdC."""
    wide, centres = adherent_scope(user)
    return Q(organisation_id__in=wide) | Q(cost_centre_id__in=centres)


def acts_for(user, obj) -> bool:
    """May `user` act on this adhesion or order as aderente (organisation and cost centre)?"""
    wide, centres = adherent_scope(user)
    return obj.organisation_id in wide or (
        obj.cost_centre_id is not None and obj.cost_centre_id in centres
    )


def acting_cost_centre(user, organisation, membership=None):
    """The CdC a new adhesion/order belongs to: the current profile's, if it has one.

    Returns (ok, cost_centre): ok is False when the user may not act for `organisation`.
    """
    wide, centres = adherent_scope(user)
    chosen = getattr(membership, "cost_centre", None) if membership is not None else None
    if chosen is not None and chosen.organisation_id == organisation.pk and chosen.pk in centres:
        return True, chosen
    if organisation.pk in wide:
        return (
            True,
            chosen if chosen is not None and chosen.organisation_id == organisation.pk else None,
        )
    from procurement.accounts.models import CostCentre

    own = CostCentre.objects.filter(pk__in=centres, organisation=organisation).first()
    return own is not None, own


def enabled_rows():
    """Enabled users that may act now: a row tied to a CdC of the banditore counts only while an
    active membership of the user covers that CdC (the whole organisation or that CdC)."""
    from procurement.accounts.models import Membership

    covering = (
        Membership.objects.active()
        .filter(
            user_id=OuterRef("user_id"), organisation_id=OuterRef("cost_centre__organisation_id")
        )
        .filter(Q(cost_centre__isnull=True) | Q(cost_centre_id=OuterRef("cost_centre_id")))
    )
    return ContractEnabledUser.objects.filter(Q(cost_centre__isnull=True) | Exists(covering))


def is_evaluator(user, contract: FrameworkContract) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if contract.issuer_rup_id == user.pk:
        return True
    return enabled_rows().filter(contract=contract, user=user, can_evaluate=True).exists()


def is_issuer_user(user, contract: FrameworkContract) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return (
        is_evaluator(user, contract)
        or enabled_rows().filter(contract=contract, user=user).exists()
        or organisations_of(user).filter(pk=contract.issuer_id).exists()
    )


def is_supplier_user(user, contract: FrameworkContract) -> bool:
    return organisations_of(user).filter(pk=contract.supplier_id).exists()


def contracts_visible_to(user):
    """Published and closed contracts for everybody logged in; drafts for their issuer."""
    qs = FrameworkContract.objects.select_related("issuer", "supplier")
    if user.is_superuser:
        return qs
    issuer_ids = enabled_rows().filter(user=user).values("contract_id")
    return qs.filter(
        Q(status__in=[ContractStatus.PUBLISHED, ContractStatus.CLOSED])
        | Q(pk__in=issuer_ids)
        | Q(issuer_rup=user)
    )


def get_contract_for_user(user, *, pk) -> FrameworkContract:
    try:
        return contracts_visible_to(user).get(pk=pk)
    except (FrameworkContract.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def _ids(queryset) -> list:
    return list(queryset.values_list("pk", flat=True))


def _issuer_contract_ids(user) -> list:
    enabled = enabled_rows().filter(user=user).values_list("contract_id", flat=True)
    return list(
        FrameworkContract.objects.filter(Q(pk__in=list(enabled)) | Q(issuer_rup=user)).values_list(
            "pk", flat=True
        )
    )


def adhesions_visible_to(user, contract: FrameworkContract | None = None):
    """Own organisations' adhesions (not deleted); the banditore sees them from the first send."""
    qs = Adhesion.objects.select_related("contract", "organisation").exclude(
        status=AdhesionStatus.DELETED
    )
    if contract is not None:
        qs = qs.filter(contract=contract)
    if user.is_superuser:
        return qs
    own = own_q(user)
    issuer = Q(contract_id__in=_issuer_contract_ids(user))
    issuer &= Q(status__in=[AdhesionStatus.SENT, AdhesionStatus.APPROVED])
    return qs.filter(own | issuer)


def get_adhesion_for_user(user, *, pk, for_update=False) -> Adhesion:
    qs = adhesions_visible_to(user)
    if for_update:
        qs = Adhesion.objects.select_for_update(of=("self",)).filter(pk__in=qs.values("pk"))
    try:
        return qs.get(pk=pk)
    except (Adhesion.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


SENT_AND_LATER = [
    OrderStatus.SENT,
    OrderStatus.APPROVED,
    OrderStatus.REFUSED,
    OrderStatus.ANNULLED,
]


def orders_visible_to(user, contract: FrameworkContract | None = None):
    """Own organisations' orders; the banditore's from the sending; the supplier's once approved."""
    qs = SupplyOrder.objects.select_related("contract", "organisation", "adhesion").exclude(
        status=OrderStatus.DELETED
    )
    if contract is not None:
        qs = qs.filter(contract=contract)
    if user.is_superuser:
        return qs
    # Small id lists computed first: the planner then uses plain IN lists on indexed columns.
    own = own_q(user)
    issuer = Q(contract_id__in=_issuer_contract_ids(user)) & Q(sent_at__isnull=False)
    supplied = list(
        FrameworkContract.objects.filter(supplier_id__in=_ids(organisations_of(user))).values_list(
            "pk", flat=True
        )
    )
    supplier = Q(contract_id__in=supplied) & Q(approved_at__isnull=False)
    return qs.filter(own | issuer | supplier)


def get_order_for_user(user, *, pk, for_update=False) -> SupplyOrder:
    qs = orders_visible_to(user)
    if for_update:
        qs = SupplyOrder.objects.select_for_update(of=("self",)).filter(pk__in=qs.values("pk"))
    try:
        return qs.get(pk=pk)
    except (SupplyOrder.DoesNotExist, ValueError) as exc:
        raise Http404 from exc
