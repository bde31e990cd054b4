"""A user of one organisation cannot see or change another organisation's objects."""

import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404

from procurement.accounts.access import (
    get_object_for_user,
    get_organisation_for_user,
    has_role,
    organisations_of,
    require_role,
)
from procurement.accounts.models import Membership, Role
from procurement.pcp.models import PcpAppalto
from tests.factories.pcp import PcpAppaltoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def appalto(trio):
    return PcpAppaltoFactory(organisation=trio.organisation, rup=trio.colleague)


def test_owner_and_colleague_see_the_object_the_outsider_does_not(trio, appalto):
    qs = PcpAppalto.objects.all()
    assert get_object_for_user(qs, trio.owner, pk=appalto.pk) == appalto
    assert get_object_for_user(qs, trio.colleague, pk=appalto.pk) == appalto
    with pytest.raises(Http404):
        get_object_for_user(qs, trio.outsider, pk=appalto.pk)
    assert list(PcpAppalto.objects.visible_to(trio.outsider)) == []
    assert list(PcpAppalto.objects.visible_to(trio.owner)) == [appalto]


def test_a_role_restricted_change_is_refused_to_a_colleague_without_the_role(trio, appalto):
    qs = PcpAppalto.objects.all()
    with transaction.atomic():
        locked = get_object_for_user(
            qs, trio.colleague, pk=appalto.pk, for_update=True, roles=[Role.RUP]
        )
    assert locked == appalto
    with pytest.raises(PermissionDenied):
        get_object_for_user(qs, trio.owner, pk=appalto.pk, roles=[Role.RUP])
    # The outsider gets 404 even asking with a role they do hold elsewhere.
    with pytest.raises(Http404):
        get_object_for_user(qs, trio.outsider, pk=appalto.pk, roles=[Role.BUYER])


def test_an_ended_membership_gives_no_access(trio, appalto):
    Membership.objects.filter(user=trio.owner).update(is_active=False)
    with pytest.raises(Http404):
        get_object_for_user(PcpAppalto.objects.all(), trio.owner, pk=appalto.pk)
    assert not organisations_of(trio.owner).exists()


def test_anonymous_users_see_nothing(appalto):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        get_object_for_user(PcpAppalto.objects.all(), AnonymousUser(), pk=appalto.pk)


def test_organisation_access_helper(trio):
    assert get_organisation_for_user(trio.owner, pk=trio.organisation.pk) == trio.organisation
    with pytest.raises(Http404):
        get_organisation_for_user(trio.outsider, pk=trio.organisation.pk)


def test_roles_are_per_organisation(trio):
    assert has_role(trio.colleague, Role.RUP, trio.organisation)
    assert not has_role(trio.colleague, Role.RUP, trio.other_organisation)
    with pytest.raises(PermissionDenied, match="RUP"):
        require_role(trio.owner, Role.RUP)


def test_unknown_objects_are_404_not_500(trio):
    with pytest.raises(Http404):
        get_object_for_user(PcpAppalto.objects.all(), trio.owner, codice_appalto=str(uuid.uuid4()))
