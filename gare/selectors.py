"""Querysets scoped to what a user may see, and the access helpers per object type."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404

from procurement.accounts.access import organisations_of
from procurement.accounts.models import Role

from .models import Communication, Lot, Offer, Tender, TenderStatus


def tenders_visible_to(user):
    """Published tenders are public; drafts and templates only to their authority's staff."""
    if not getattr(user, "is_authenticated", False):
        return Tender.objects.none()
    public = ~Q(status=TenderStatus.DRAFT)
    if user.is_superuser:
        return Tender.objects.all()
    own = Q(organisation__in=organisations_of(user))
    return Tender.objects.filter(public | own).distinct()


def get_tender_for_user(user, pk) -> Tender:
    try:
        return (
            tenders_visible_to(user).select_related("organisation", "delegating_entity").get(pk=pk)
        )
    except Tender.DoesNotExist as exc:
        raise Http404 from exc


def get_lot_for_user(user, pk) -> Lot:
    try:
        lot = Lot.objects.select_related("tender__organisation").get(pk=pk)
    except Lot.DoesNotExist as exc:
        raise Http404 from exc
    get_tender_for_user(user, lot.tender_id)
    return lot


def get_lot_for_manager(user, pk) -> Lot:
    """The procedure page: staff of the authority (RUP, seggio) or a commissioner of the lot."""
    from .services.procedure import can_manage

    lot = get_lot_for_user(user, pk)
    if not can_manage(user, lot):
        raise Http404
    return lot


def get_offer_for_operator(user, pk) -> Offer:
    orgs = organisations_of(user, roles=[Role.OPERATOR])
    try:
        return Offer.objects.select_related("lot__tender", "operator").get(pk=pk, operator__in=orgs)
    except Offer.DoesNotExist as exc:
        raise Http404 from exc


def communications_for(user):
    return Communication.objects.filter(
        operator__in=organisations_of(user, roles=[Role.OPERATOR])
    ).select_related("tender", "operator")
