"""ANAC tests: the real client, over real HTTP, against the simulator on the live server."""

from __future__ import annotations

import pytest

from procurement.anac.simulator import endpoint


@pytest.fixture(autouse=True)
def simulator_answers_conform_to_the_official_documents():
    """Every answer the simulator gives in a test is validated against ANAC's OpenAPI files."""
    endpoint.CONFORMANCE_FAILURES.clear()
    yield
    failures = list(endpoint.CONFORMANCE_FAILURES)
    endpoint.CONFORMANCE_FAILURES.clear()
    assert failures == [], "\n\n".join(failures)


@pytest.fixture
def anac_live(live_server, settings):
    """Point the ANAC client at the simulator served by the live server."""
    base = live_server.url + "/anac-sim"
    settings.ANAC_BASE_URL = base
    settings.PDND_TOKEN_URL = base + "/pdnd/token.oauth2"
    settings.ANAC_ESERVICE_URLS = {}
    return base
