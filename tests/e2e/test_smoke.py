"""The kernel's pages in a real browser: log in, see who you act as, no console or CSP errors."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from procurement.accounts.models import Role, StrongAuthSession
from procurement.notifications.models import Notification
from tests.factories.kernel import MembershipFactory, OrganisationFactory, member
from tests.factories.pcp import PcpAppaltoFactory

pytestmark = pytest.mark.e2e

PASSWORD = "password-di-prova-1"


def test_password_login_lands_on_the_home_page(page, page_watch, output_dir):
    organisation = OrganisationFactory(name="Comune di Bellinzago Novarese")
    user = member(organisation, Role.RUP, first_name="Giulia", last_name="Bianchi")
    Notification.objects.create(
        recipient=user,
        organisation=organisation,
        template="generic",
        subject="Nuovo ordinativo da confermare su PCP",
        body="L'ordinativo n. 12 attende la tua conferma.",
        created_at=timezone.now(),
    )
    PcpAppaltoFactory(
        organisation=organisation, rup=user, subject="Servizi di hosting per il portale"
    )

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/account/accedi/\?next=/$"))
    expect(page.locator("html")).to_have_attribute("lang", "it")
    page.get_by_label("Nome utente", exact=True).fill(user.username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_test_id("login-submit").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Benvenuto, Giulia Bianchi")
    expect(page.get_by_test_id("header-organisation")).to_have_text(organisation.name)
    expect(page.get_by_test_id("header-role")).to_contain_text("RUP")
    expect(page.get_by_test_id("unread-count")).to_have_text("1")
    expect(page.get_by_test_id("panel-notifications")).to_contain_text("Nuovo ordinativo")
    expect(page.get_by_test_id("panel-pcp")).to_contain_text("Servizi di hosting per il portale")
    navigation = page.get_by_role("navigation", name="Navigazione principale")
    for area in ("Negozio Elettronico", "Gestione Contratti", "Gare"):
        expect(navigation.get_by_role("link", name=area)).to_be_visible()
    # Without the FVOE profile and a procedure role the FVOE area is not offered (R-FVOE-002).
    expect(navigation.get_by_role("link", name="Fascicolo Virtuale")).to_have_count(0)
    expect(navigation.get_by_role("link", name="Pagina iniziale")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_role("main")).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_be_visible()

    page.screenshot(path=str(output_dir / "home.png"), full_page=True)
    page_watch.assert_clean()


def test_profile_switcher_changes_the_organisation_in_the_header(page, page_watch, output_dir):
    first = OrganisationFactory(name="Comune di Arona")
    second = OrganisationFactory(name="Provincia di Novara")
    user = member(first, Role.BUYER)
    other = MembershipFactory(user=user, organisation=second, role=Role.RUP)

    page.goto("/account/accedi/")
    page.get_by_label("Nome utente", exact=True).fill(user.username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("header-organisation")).to_have_text("Comune di Arona")

    page.get_by_test_id("current-profile").click()
    expect(page.get_by_test_id(f"switch-profile-{other.pk}")).to_be_visible()
    page.screenshot(path=str(output_dir / "profile-menu.png"))
    page.get_by_test_id(f"switch-profile-{other.pk}").click()

    expect(page.get_by_test_id("header-organisation")).to_have_text("Provincia di Novara")
    expect(page.get_by_test_id("header-role")).to_contain_text("RUP")
    expect(page.get_by_test_id("messages")).to_contain_text("Ora operi come RUP")
    page_watch.assert_clean()


def test_spid_cie_login_through_the_dev_provider(page, page_watch, settings, output_dir):
    settings.DEBUG = True  # the dev provider exists only in development
    settings.STRONG_AUTH_PROVIDER = "dev"
    organisation = OrganisationFactory(name="Regione Toscana")
    user = member(organisation, Role.FVOE, first_name="Luca", last_name="Verdi")

    page.goto("/account/accedi/")
    page.get_by_role("link", name="Entra con SPID/CIE").click()
    expect(page).to_have_url(re.compile(r"/account/accesso-forte/dev/"))
    page.get_by_label(re.compile(rf"Luca Verdi · {user.tax_code}")).check()
    page.get_by_label("SPID livello 2").check()
    page.screenshot(path=str(output_dir / "dev-strong-login.png"), full_page=True)
    page.get_by_test_id("dev-identity-submit").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("header-organisation")).to_have_text("Regione Toscana")
    expect(page.get_by_test_id("header-role")).to_contain_text("Profilo FVOE")
    expect(page.get_by_test_id("messages")).to_contain_text("livello 2")
    session = StrongAuthSession.objects.get(user=user)
    assert (session.provider, session.idp_type, session.loa) == ("dev", "SPID", 2)
    page_watch.assert_clean()
