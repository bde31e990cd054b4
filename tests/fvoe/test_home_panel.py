"""The home page's "Fascicolo Virtuale" panel follows the menu (R-FVOE-002): shown only to who
may open /fvoe/, so it never leads to a 403 page.

Users of the `world` fixture (tests/fvoe/conftest.py): Giulio has the FVOE profile and the
procedure role "RUP PdG"; Olga has the FVOE profile but only the procedure role "Operatore".
"""

from __future__ import annotations

import re

import pytest

from procurement.pcp.models import ProcedureRole, ProcedureRoleKind

pytestmark = pytest.mark.django_db


def fvoe_panel(client) -> bool:
    html = client.get("/").content.decode()
    assert 'data-testid="panel-notifications"' in html  # the home page with its panels
    panel = re.search(r'data-testid="panel-area">(.*?)</section>', html, flags=re.S)
    return panel is not None and "Fascicolo Virtuale" in panel[1] and 'href="/fvoe/"' in panel[1]


def test_fvoe_profile_without_an_allowed_procedure_role_has_no_panel(world, client_for):
    olga = client_for(world.olga)
    assert not fvoe_panel(olga)
    assert olga.get("/fvoe/").status_code == 403


def test_fvoe_profile_with_an_allowed_procedure_role_has_the_panel(world, client_for):
    giulio = client_for(world.giulio)
    assert fvoe_panel(giulio)
    assert giulio.get("/fvoe/").status_code == 200


def test_the_panel_goes_when_the_procedure_role_goes(world, client_for):
    giulio = client_for(world.giulio)
    assert fvoe_panel(giulio)
    ProcedureRole.objects.filter(user=world.giulio, role=ProcedureRoleKind.RUP_PDG).delete()
    assert not fvoe_panel(giulio)
