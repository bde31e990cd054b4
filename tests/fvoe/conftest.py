"""FVOE tests: the app's services and pages against the ANAC simulator, over real HTTP.

Common data of spec fvoe.md §10: an authority, the RUP in charge (Elisa), an FVOE user
(Giulio), a user without the FVOE profile (Marco), an appalto with idAppalto, three bidders
(Gamma, Delta, Epsilon) and one invited operator that did not bid (Eta).

Procedure roles (R-FVOE-002, D-FVOE-01): Elisa is the appalto's RUP, so she holds "RUP RdO"
implicitly; Giulio is granted "RUP PdG" by Elisa; Olga has the FVOE profile but only the
procedure role "Operatore" (AS-FVOE-05 step 2).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from fvoe.models import OperatorSource
from fvoe.services import appalto_operator_register
from procurement.accounts.models import IdpType, Role, StrongAuthSession, User
from procurement.celery import app as celery_app
from procurement.pcp.models import PcpAppalto, ProcedureRoleKind
from procurement.pcp.services import procedure_role_grant
from tests.anac.conftest import (  # noqa: F401 (fixtures)
    anac_live,
    simulator_answers_conform_to_the_official_documents,
)
from tests.factories.kernel import OrganisationFactory, aware, member
from tests.factories.pcp import PcpAppaltoFactory

GAMMA, DELTA, EPSILON, ETA = "01987654322", "04555666777", "07000123450", "03131313136"
ID_APPALTO = uuid.UUID("3f0c2a9e-5b7d-4c1e-9a51-6d2f8e4b7c10")


@dataclass
class World:
    appalto: PcpAppalto
    elisa: User  # RUP in charge (RP at ANAC), also FVOE
    giulio: User  # FVOE profile
    marco: User  # RUP of the authority, no FVOE profile
    outsider: User  # FVOE profile in another authority
    olga: User  # FVOE profile, procedure role "Operatore" only


@pytest.fixture
def world(db) -> World:
    org = OrganisationFactory(name="Comune di Esempio", ausa_code="0000123456")
    other = OrganisationFactory(name="Comune di Altrove")
    elisa = member(org, Role.RUP, first_name="Elisa", last_name="Neri")
    from procurement.accounts.models import Membership

    Membership.objects.create(user=elisa, organisation=org, role=Role.FVOE)
    giulio = member(org, Role.FVOE, first_name="Giulio", last_name="Bianchi")
    marco = member(org, Role.RUP, first_name="Marco", last_name="Gialli")
    outsider = member(other, Role.FVOE)
    olga = member(org, Role.FVOE, first_name="Olga", last_name="Rossi")
    appalto = PcpAppaltoFactory(
        organisation=org,
        rup=elisa,
        id_appalto=ID_APPALTO,
        subject="RdO 118/2026 – Servizi di manutenzione del verde",
    )
    for code, name, source in [
        (GAMMA, "Gamma S.r.l.", OperatorSource.OFFER),
        (DELTA, "Delta S.p.A.", OperatorSource.OFFER),
        (EPSILON, "Epsilon Soc. Coop.", OperatorSource.OFFER),
        (ETA, "Eta S.r.l.", OperatorSource.INVITED),
    ]:
        appalto_operator_register(appalto=appalto, tax_code=code, name=name, source=source)
    for user, role in [(giulio, ProcedureRoleKind.RUP_PDG), (olga, ProcedureRoleKind.OPERATORE)]:
        procedure_role_grant(actor=elisa, appalto=appalto, user=user, role=role, now=timezone.now())
    return World(
        appalto=appalto, elisa=elisa, giulio=giulio, marco=marco, outsider=outsider, olga=olga
    )


def strong_login(user, at, *, idp=IdpType.SPID, loa=2, hours=8, ended_at=None):
    """Record a SPID/CIE login of `user` at `at` (what the strong-auth provider would do)."""
    return StrongAuthSession.objects.create(
        user=user,
        provider="dev",
        idp_type=idp,
        loa=loa,
        spid_level=loa if idp == IdpType.SPID else None,
        anac_loa="4" if loa >= 3 else "3",
        authenticated_at=at,
        expires_at=at + timedelta(hours=hours),
        ended_at=ended_at,
    )


class SimControl:
    """The simulator's control API (/anac-sim/_control/fvoe/), over HTTP."""

    def __init__(self, base: str):
        self.base = base + "/_control"

    def post(self, path: str, data: dict) -> dict:
        response = httpx.post(f"{self.base}/{path}", json=data, timeout=10)
        assert response.status_code < 300, response.text
        return response.json()

    def script(self, tax_code: str, behaviour: str, **extra) -> dict:
        return self.post(
            "fvoe/scripts", {"codiceFiscale": tax_code, "behaviour": behaviour, **extra}
        )

    def answer(self, azione: str, tax_code: str, motivo: str = "") -> dict:
        return self.post(
            f"fvoe/access/{azione}",
            {"idAppalto": str(ID_APPALTO), "codiceFiscale": tax_code, "motivo": motivo},
        )

    def config(self, **fields) -> dict:
        return self.post("config", fields)


@pytest.fixture
def sim(anac_live) -> SimControl:  # noqa: F811
    control = SimControl(anac_live)
    control.post("fvoe/reset", {})
    for code in (GAMMA, DELTA, EPSILON):
        control.script(code, "manual")
    return control


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks handed to Celery after commit run at once, in the same thread."""
    # The app reads its settings with the CELERY_ namespace: set the namespaced key.
    previous = celery_app.conf.task_always_eager
    celery_app.conf["CELERY_TASK_ALWAYS_EAGER"] = True
    yield
    celery_app.conf["CELERY_TASK_ALWAYS_EAGER"] = previous


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


__all__ = ["DELTA", "EPSILON", "ETA", "GAMMA", "ID_APPALTO", "aware", "strong_login"]
