from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from procurement.accounts.models import Organisation, Role, User
from tests.browser import (  # noqa: F401 (fixtures for browser tests in every folder)
    browser,
    fast_password_hashing,
    log_in,
    output_dir,
    page,
    page_watch,
)
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


def pytest_collection_modifyitems(items):
    # A test that drives a browser is an e2e test wherever it lives (`make e2e` selects -m e2e).
    for item in items:
        if "page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keep the outcome of the test body on the item, so `page` can screenshot failures.
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


def pytest_terminal_summary(terminalreporter):
    # Issue "open data": every release the suite publishes is validated against the official
    # OCDS 1.1.5 schema by ocds_publish (an invalid one raises and fails its test).
    from procurement.opendata.services import VALIDATED

    if VALIDATED:
        detail = ", ".join(f"{source} {n}" for source, n in sorted(VALIDATED.items()))
        terminalreporter.write_line(
            f"OCDS releases validated against the 1.1.5 schema, 0 errors: "
            f"{sum(VALIDATED.values())} ({detail})"
        )
