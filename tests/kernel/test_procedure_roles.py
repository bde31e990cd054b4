"""Procedure roles on a PCP appalto: grant/revoke permission, audit, implicit RUP RdO, admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from procurement.accounts.models import Role
from procurement.audit.models import AuditEvent
from procurement.pcp.models import ProcedureRole, ProcedureRoleKind
from procurement.pcp.selectors import appalti_with_procedure_roles, procedure_roles_of
from procurement.pcp.services import PcpError, procedure_role_grant, procedure_role_revoke
from tests.factories.kernel import OrganisationFactory, UserFactory, aware, member
from tests.factories.pcp import rup_appalto

pytestmark = pytest.mark.django_db

NOW = aware(2026, 11, 23, 10, 0)
PDG = ProcedureRoleKind.RUP_PDG


@pytest.fixture
def appalto():
    return rup_appalto(subject="RdO 118/2026")


def grant(appalto, actor, user, role=PDG):
    return procedure_role_grant(actor=actor, appalto=appalto, user=user, role=role, now=NOW)


def events(appalto, action):
    return AuditEvent.objects.for_object(appalto).filter(action=action)


def test_the_rup_grants_a_role_and_it_is_audited(appalto):
    user = member(appalto.organisation, Role.FVOE)
    assert procedure_roles_of(user, appalto) == set()
    row = grant(appalto, appalto.rup, user)
    assert (row.granted_by, row.created_at, row.role) == (appalto.rup, NOW, "RUP_PDG")
    assert procedure_roles_of(user, appalto) == {"RUP_PDG"}
    [event] = events(appalto, "ruolo sulla procedura assegnato")
    assert event.actor == appalto.rup and event.organisation == appalto.organisation
    assert event.payload == {"utente": user.username, "codice_fiscale": user.tax_code, "ruolo": PDG}
    assert event.created_at == NOW


def test_the_rup_holds_rup_rdo_implicitly_and_so_does_the_rp_at_anac(appalto):
    assert procedure_roles_of(appalto.rup, appalto) == {"RUP_RDO"}
    new_rp = member(appalto.organisation, Role.RUP)
    appalto.rp_tax_code = new_rp.tax_code  # taken in charge at ANAC by another RUP (D-FVOE-02)
    appalto.save(update_fields=["rp_tax_code"])
    assert procedure_roles_of(new_rp, appalto) == {"RUP_RDO"}
    assert set(appalti_with_procedure_roles(new_rp, ["RUP_RDO"])) == {appalto}
    assert not appalti_with_procedure_roles(new_rp, ["RUP_PDG"]).exists()
    colleague = member(appalto.organisation, Role.RUP)
    assert procedure_roles_of(colleague, appalto) == set()
    assert not appalti_with_procedure_roles(colleague, ["RUP_RDO", "RUP_PDG"]).exists()


def test_others_cannot_grant_or_revoke(appalto):
    colleague = member(appalto.organisation, Role.RUP)  # RUP of the authority, not of the appalto
    fvoe_user = member(appalto.organisation, Role.FVOE)
    with pytest.raises(PermissionDenied, match="Solo il RUP dell’appalto"):
        grant(appalto, colleague, fvoe_user)
    with pytest.raises(PermissionDenied):
        grant(appalto, fvoe_user, fvoe_user)  # nobody grants himself a role
    assert not ProcedureRole.objects.exists()
    grant(appalto, appalto.rup, fvoe_user)
    with pytest.raises(PermissionDenied):
        procedure_role_revoke(actor=colleague, appalto=appalto, user=fvoe_user, role=PDG, now=NOW)
    with pytest.raises(PermissionDenied):  # a granted RUP PdG does not manage roles either
        grant(appalto, fvoe_user, colleague)
    assert ProcedureRole.objects.count() == 1
    assert not events(appalto, "ruolo sulla procedura revocato").exists()


def test_an_administrator_of_the_authority_and_staff_may_grant(appalto):
    admin = member(appalto.organisation, Role.ADMIN)
    staff = UserFactory(is_staff=True)
    first, second = (member(appalto.organisation, Role.FVOE) for _ in range(2))
    assert grant(appalto, admin, first).granted_by == admin
    assert grant(appalto, staff, second).granted_by == staff
    foreign_admin = member(OrganisationFactory(), Role.ADMIN)
    with pytest.raises(PermissionDenied):
        grant(appalto, foreign_admin, first, ProcedureRoleKind.OPERATORE)


def test_bad_input_gets_an_italian_message_and_writes_nothing(appalto):
    user = member(appalto.organisation, Role.FVOE)
    stranger = member(OrganisationFactory(), Role.FVOE)
    with pytest.raises(PcpError, match="Ruolo sulla procedura non valido"):
        grant(appalto, appalto.rup, user, "PRESIDENTE")
    with pytest.raises(PcpError, match="non opera per"):
        grant(appalto, appalto.rup, stranger)
    grant(appalto, appalto.rup, user)
    with pytest.raises(PcpError, match="ha già il ruolo «RUP PdG» su questa procedura"):
        grant(appalto, appalto.rup, user)
    with pytest.raises(PcpError, match="non ha il ruolo «Operatore» assegnato"):
        procedure_role_revoke(
            actor=appalto.rup,
            appalto=appalto,
            user=user,
            role=ProcedureRoleKind.OPERATORE,
            now=NOW,
        )
    with pytest.raises(PcpError, match="non ha il ruolo «RUP RdO» assegnato"):
        # the RUP's implicit role is not a grant: it follows the appalto's RUP
        procedure_role_revoke(
            actor=appalto.rup,
            appalto=appalto,
            user=appalto.rup,
            role=ProcedureRoleKind.RUP_RDO,
            now=NOW,
        )
    assert ProcedureRole.objects.count() == 1
    assert events(appalto, "ruolo sulla procedura assegnato").count() == 1


def test_revoke_removes_the_grant_and_is_audited(appalto):
    user = member(appalto.organisation, Role.FVOE)
    grant(appalto, appalto.rup, user)
    grant(appalto, appalto.rup, user, ProcedureRoleKind.OPERATORE)
    procedure_role_revoke(actor=appalto.rup, appalto=appalto, user=user, role=PDG, now=NOW)
    assert procedure_roles_of(user, appalto) == {"OPERATORE"}
    [event] = events(appalto, "ruolo sulla procedura revocato")
    assert event.actor == appalto.rup and event.payload["ruolo"] == PDG


def test_admin_grants_and_revokes_through_the_services(appalto, admin_client, admin_user):
    user = member(appalto.organisation, Role.FVOE)
    stranger = member(OrganisationFactory(), Role.FVOE)
    appalto_page = admin_client.get(f"/admin/pcp/pcpappalto/{appalto.pk}/change/")
    assert "nessun ruolo assegnato" in appalto_page.content.decode()
    add = "/admin/pcp/procedurerole/add/"
    refused = admin_client.post(add, {"appalto": appalto.pk, "user": stranger.pk, "role": PDG})
    assert refused.status_code == 200
    assert "non può avere ruoli sulla procedura" in refused.content.decode()
    assert not ProcedureRole.objects.exists()

    response = admin_client.post(add, {"appalto": appalto.pk, "user": user.pk, "role": PDG})
    assert response.status_code == 302, response.content.decode()[:3000]
    row = ProcedureRole.objects.get()
    assert (row.user, row.role, row.granted_by) == (user, PDG, admin_user)
    assert events(appalto, "ruolo sulla procedura assegnato").get().actor == admin_user
    appalto_page = admin_client.get(f"/admin/pcp/pcpappalto/{appalto.pk}/change/")
    assert str(row) in appalto_page.content.decode()

    twice = admin_client.post(add, {"appalto": appalto.pk, "user": user.pk, "role": PDG})
    assert twice.status_code == 200 and ProcedureRole.objects.count() == 1

    response = admin_client.post(f"/admin/pcp/procedurerole/{row.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ProcedureRole.objects.exists()
    assert events(appalto, "ruolo sulla procedura revocato").get().actor == admin_user
