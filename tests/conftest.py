from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from procurement.accounts.models import Organisation, Role, User
from tests.factories.kernel import OrganisationFactory, member
from tests.services import celery_on_redis, celery_worker, redis_server  # noqa: F401 (fixtures)


@dataclass
class Trio:
    """The owner of an object, a colleague in the same organisation, and an outsider."""

    organisation: Organisation
    other_organisation: Organisation
    owner: User
    colleague: User
    outsider: User


@pytest.fixture
def trio(db) -> Trio:
    org = OrganisationFactory(name="Comune di Bellinzago Novarese")
    other = OrganisationFactory(name="Comune di Novara")
    return Trio(
        organisation=org,
        other_organisation=other,
        owner=member(org, Role.BUYER),
        colleague=member(org, Role.RUP),
        outsider=member(other, Role.BUYER),
    )


@pytest.fixture
def client_for():
    """client_for(user) -> a test client logged in as user (password login, LoA 1)."""

    def make(user: User) -> Client:
        client = Client()
        response = client.post(
            "/account/accedi/", {"username": user.username, "password": "password-di-prova-1"}
        )
        assert response.status_code == 302, response.content[:500]
        return client

    return make
