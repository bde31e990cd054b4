"""AS-FVOE-05 — profiles and procedure roles (R-FVOE-002, R-FVOE-003, D-FVOE-01), through the web.

Users of the `world` fixture: Elisa (RUP of the appalto: FVOE profile, "RUP RdO" implicitly),
Giulio (FVOE profile, "RUP PdG" granted), Marco (RUP of the authority, no FVOE profile), Olga
(FVOE profile, only the procedure role "Operatore").
"""

from __future__ import annotations

import pytest
import time_machine
from django.template.loader import render_to_string
from django.test import RequestFactory

from fvoe.models import FvoeAccessRequest
from procurement.anac.models import AnacTransmission
from procurement.audit.models import AuditEvent
from procurement.pcp.models import ProcedureRole, ProcedureRoleKind
from tests.factories.kernel import aware
from tests.fvoe.conftest import EPSILON, GAMMA, strong_login

pytestmark = pytest.mark.django_db(transaction=True)

ALL_ROLES = ("RUP_RDO", "RUP_PDG", "OPERATORE")
NO_RUP_SESSION = (
    "Operazione non eseguibile: è necessaria una sessione attiva del RUP dell’appalto "
    "(Elisa Neri) con accesso mediante SPID (o CIE)."
)


def menu_visible(user) -> bool:
    """What the layout asks to decide whether to show "Fascicolo Virtuale"."""
    request = RequestFactory().get("/")
    request.user = user
    html = render_to_string("partials/nav_links.html", {"user": user}, request=request)
    assert "Negozio Elettronico" in html  # the menu itself is there
    return 'href="/fvoe/"' in html


def urls_of(world) -> dict[str, str]:
    pk = world.appalto.pk
    return {
        "landing": "/fvoe/",
        "access_list": "/fvoe/richieste-di-accesso/",
        "documents_list": "/fvoe/documenti/",
        "requests": f"/fvoe/appalti/{pk}/richieste/",
        "documents": f"/fvoe/appalti/{pk}/documenti/",
        "chronology": f"/fvoe/appalti/{pk}/cronologia-pcp/",
        "progress": f"/fvoe/appalti/{pk}/in-corso/",
    }


def assert_no_access(client, world):
    for name, url in urls_of(world).items():
        assert client.get(url).status_code == 403, name
    pk = world.appalto.pk
    send = client.post(f"/fvoe/appalti/{pk}/richieste/", {"operators": [GAMMA]})
    assert send.status_code == 403
    assert client.post(f"/fvoe/appalti/{pk}/verifica-tutti/").status_code == 403
    assert FvoeAccessRequest.objects.count() == 0
    assert AnacTransmission.objects.count() == 0


def test_step_1_no_fvoe_profile_no_menu_and_403(world, client_for):
    assert not menu_visible(world.marco)
    assert_no_access(client_for(world.marco), world)
    # The users of the authority with the profile and an allowed role do see it.
    assert menu_visible(world.elisa) and menu_visible(world.giulio)
    landing = client_for(world.giulio).get("/fvoe/").content.decode()
    assert "Richiesta di accesso FVOE" in landing and "Documenti FVOE" in landing
    # Another authority's appalto is not even revealed.
    outsider = client_for(world.outsider)
    assert outsider.get(urls_of(world)["requests"]).status_code == 404


def test_step_2_fvoe_profile_but_only_the_role_operatore_is_refused(world, client_for):
    assert ProcedureRole.objects.filter(
        user=world.olga, appalto=world.appalto, role=ProcedureRoleKind.OPERATORE
    ).exists()
    assert not menu_visible(world.olga)
    olga = client_for(world.olga)
    assert_no_access(olga, world)
    page = olga.get(urls_of(world)["requests"]).content.decode()
    assert "“RUP PdG”, “RUP RdO”" in page  # the 403 page says which roles are needed


def test_step_2_a_revoked_role_closes_the_functions(world, client_for):
    giulio = client_for(world.giulio)
    assert giulio.get(urls_of(world)["requests"]).status_code == 200
    elisa = client_for(world.elisa)
    grant = ProcedureRole.objects.get(user=world.giulio, role=ProcedureRoleKind.RUP_PDG)
    response = elisa.post(f"/fvoe/appalti/{world.appalto.pk}/ruoli/{grant.pk}/revoca/", follow=True)
    assert "Ruolo «RUP PdG» revocato a Giulio Bianchi." in response.content.decode()
    assert not menu_visible(world.giulio)
    assert giulio.get(urls_of(world)["requests"]).status_code == 403


def test_step_3_configuration_opens_the_functions_with_the_rup_identity(
    world, sim, client_for, settings
):
    settings.FVOE_ALLOWED_PROCEDURE_ROLES = ALL_ROLES
    assert menu_visible(world.olga)
    olga = client_for(world.olga)
    for name, url in urls_of(world).items():
        assert olga.get(url).status_code == 200, name
    assert "RdO 118/2026" in olga.get("/fvoe/richieste-di-accesso/").content.decode()

    with time_machine.travel(aware(2026, 11, 25, 18, 30), tick=True):
        olga = client_for(world.olga)  # a session opened at that time
        # Elisa is not logged in: the request needs her active SPID/CIE session (MSG-FV-02).
        strong_login(world.elisa, aware(2026, 11, 25, 8, 50), ended_at=aware(2026, 11, 25, 17))
        response = olga.post(
            urls_of(world)["requests"], {"operators": [EPSILON]}, follow=True
        ).content.decode()
        assert NO_RUP_SESSION in response
        assert FvoeAccessRequest.objects.count() == 0
        assert AnacTransmission.objects.count() == 0

        strong_login(world.elisa, aware(2026, 11, 25, 18, 0))
        response = olga.post(urls_of(world)["requests"], {"operators": [EPSILON]}, follow=True)
        assert "Richiesta di accesso al FVOE inviata ad ANAC per 1 operatori economici" in (
            response.content.decode()
        )
    request = FvoeAccessRequest.objects.get()
    assert request.requested_by == world.olga and request.acting_rup == world.elisa
    [sent] = AnacTransmission.objects.filter(operation="richiesta-accesso-fvoe")
    assert (sent.actor_tax_code, sent.actor_role) == (world.elisa.tax_code, "RP")
    assert sent.actor_tax_code != world.olga.tax_code


def test_the_org_profile_is_still_required_when_the_role_is_allowed(world, client_for, settings):
    # Marco is the RUP of another procedure of the authority: give him RUP RdO here explicitly.
    from procurement.pcp.services import procedure_role_grant

    procedure_role_grant(
        actor=world.elisa,
        appalto=world.appalto,
        user=world.marco,
        role=ProcedureRoleKind.RUP_RDO,
        now=aware(2026, 11, 23, 9, 0),
    )
    assert client_for(world.marco).get(urls_of(world)["requests"]).status_code == 403
    settings.FVOE_ALLOWED_ROLES = ("fvoe", "rup")  # the profile setting is configuration too
    assert client_for(world.marco).get(urls_of(world)["requests"]).status_code == 200


def test_the_rup_grants_and_revokes_roles_from_the_page(world, client_for):
    elisa = client_for(world.elisa)
    page = elisa.get(urls_of(world)["requests"]).content.decode()
    assert "Ruoli sulla procedura" in page and 'data-testid="procedure-role-form"' in page
    grant_url = f"/fvoe/appalti/{world.appalto.pk}/ruoli/assegna/"
    response = elisa.post(
        grant_url, {"user": world.olga.pk, "role": ProcedureRoleKind.RUP_PDG}, follow=True
    )
    assert "Ruolo «RUP PdG» assegnato a Olga Rossi." in response.content.decode()
    assert client_for(world.olga).get(urls_of(world)["requests"]).status_code == 200
    event = AuditEvent.objects.for_object(world.appalto).filter(
        action="ruolo sulla procedura assegnato",
        payload__utente=world.olga.username,
        payload__ruolo="RUP_PDG",
    )
    assert event.get().actor == world.elisa

    again = elisa.post(
        grant_url, {"user": world.olga.pk, "role": ProcedureRoleKind.RUP_PDG}, follow=True
    )
    assert "Olga Rossi ha già il ruolo «RUP PdG» su questa procedura." in again.content.decode()
    # A user of another authority is not among the choices.
    outsider = elisa.post(
        grant_url, {"user": world.outsider.pk, "role": ProcedureRoleKind.RUP_PDG}, follow=True
    )
    assert "Scegliere un utente della stazione appaltante e un ruolo." in (
        outsider.content.decode()
    )
    assert not ProcedureRole.objects.filter(user=world.outsider).exists()


def test_only_the_rup_or_an_administrator_manages_roles(world, client_for):
    giulio = client_for(world.giulio)  # FVOE user, but not the RUP
    page = giulio.get(urls_of(world)["requests"]).content.decode()
    assert "Ruoli sulla procedura" in page and 'data-testid="procedure-role-form"' not in page
    grant_url = f"/fvoe/appalti/{world.appalto.pk}/ruoli/assegna/"
    data = {"user": world.marco.pk, "role": ProcedureRoleKind.RUP_PDG}
    assert giulio.post(grant_url, data).status_code == 403
    assert client_for(world.marco).post(grant_url, data).status_code == 403
    assert client_for(world.outsider).post(grant_url, data).status_code == 404
    grant = ProcedureRole.objects.get(user=world.olga)
    revoke_url = f"/fvoe/appalti/{world.appalto.pk}/ruoli/{grant.pk}/revoca/"
    assert giulio.post(revoke_url).status_code == 403
    assert ProcedureRole.objects.filter(user=world.marco).count() == 0
    assert ProcedureRole.objects.filter(pk=grant.pk).exists()
