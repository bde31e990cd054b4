"""Layout in a real browser: small screens, keyboard users, the Italian admin under the CSP."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from procurement.accounts.models import Role
from procurement.notifications.models import EmailOutbox, Notification, OutboxStatus
from tests.factories.kernel import OrganisationFactory, UserFactory, member

pytestmark = pytest.mark.e2e


def test_on_a_phone_the_menu_opens_from_the_burger_button(page, page_watch, log_in, output_dir):
    user = member(OrganisationFactory(name="Comune di Oleggio"), Role.DT)
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(user)
    expect(page.get_by_test_id("header-role")).to_be_visible()
    navigation = page.get_by_role("navigation", name="Navigazione principale")
    expect(navigation.get_by_role("link", name="Gare")).to_be_hidden()
    page.screenshot(path=str(output_dir / "home-mobile.png"), full_page=True)

    page.get_by_role("button", name="Mostra o nascondi il menu").click()
    expect(navigation.get_by_role("link", name="Gare")).to_be_visible()
    # The menu slides in from the left: wait until it has arrived before the screenshot.
    menu = page.locator("#nav-main .menu-wrapper")
    for _ in range(40):  # polled from Python: an in-page predicate would need 'unsafe-eval'
        if menu.bounding_box()["x"] >= 0:
            break
        page.wait_for_timeout(50)
    page.screenshot(path=str(output_dir / "menu-mobile.png"))
    navigation.get_by_role("link", name="Gestione Contratti").click()

    expect(page).to_have_url(re.compile(r"/ptim/$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page_watch.assert_clean()


def test_a_keyboard_user_can_skip_to_the_content(page, page_watch, log_in):
    log_in(member(OrganisationFactory(), Role.BUYER))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Vai al contenuto principale")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # visible once focused
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main-content$"))
    expect(page.locator("#main-content")).to_be_focused()
    page_watch.assert_clean()


def test_the_profile_menu_opens_with_the_keyboard(page, page_watch, log_in):
    log_in(member(OrganisationFactory(), Role.OPERATOR))
    button = page.get_by_test_id("current-profile")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_test_id("logout")).to_be_visible()
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/account/accedi/$"))
    expect(page.get_by_role("status")).to_contain_text("Sei uscito dalla piattaforma.")
    page_watch.assert_clean()


def test_the_admin_is_italian_and_clean_under_the_csp(page, page_watch, log_in, output_dir):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    EmailOutbox.objects.create(
        to="rup@example.org",
        subject="Ordinativo da firmare",
        body_text="Testo",
        status=OutboxStatus.FAILED,
        attempts=8,
        created_at="2026-11-23T07:00:00+01:00",
    )
    log_in(admin_user)
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Amministrazione della piattaforma e-procurement"))
    expect(page.get_by_role("link", name="Eventi di audit")).to_be_visible()
    page.screenshot(path=str(output_dir / "admin.png"), full_page=True)

    page.goto("/admin/notifications/emailoutbox/")
    page.get_by_role("checkbox", name=re.compile("Seleziona")).first.check()
    page.get_by_role("combobox", name="Azione:").select_option("requeue")
    page.get_by_role("button", name="Vai").click()
    expect(page.get_by_text("1 e-mail rimessa in coda.")).to_be_visible()
    for url in ["/admin/audit/auditevent/", "/admin/accounts/user/", "/admin/pcp/pcpappalto/"]:
        page.goto(url)
    page_watch.assert_clean()


def test_a_wrong_password_is_explained_in_italian(page, page_watch, output_dir):
    user = member(OrganisationFactory(), Role.BUYER)
    page.goto("/account/accedi/")
    page.get_by_label("Nome utente", exact=True).fill(user.username)
    page.get_by_label("Password", exact=True).fill("sbagliata")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_role("alert")).to_have_text("Nome utente o password non corretti.")
    expect(page.get_by_label("Nome utente", exact=True)).to_have_value(user.username)
    page.screenshot(path=str(output_dir / "login-error.png"), full_page=True)
    page_watch.assert_clean()


def test_reading_a_notification_updates_the_count_in_the_header(
    page, page_watch, log_in, output_dir
):
    user = member(OrganisationFactory(), Role.AQ_RUP)
    for subject in ("Adesione da valutare", "Ordinativo confermato su PCP"):
        Notification.objects.create(
            recipient=user,
            template="generic",
            subject=subject,
            body="Dettagli della comunicazione.",
            created_at=timezone.now(),
        )
    log_in(user)
    expect(page.get_by_test_id("unread-count")).to_have_text("2")
    page.get_by_test_id("notifications-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifiche")
    expect(page.get_by_test_id("notifications-link")).to_have_attribute("aria-current", "page")
    page.screenshot(path=str(output_dir / "notifications.png"), full_page=True)
    page.get_by_role("button", name="Segna come letta").first.click()
    expect(page.get_by_test_id("unread-count")).to_have_text("1")
    page_watch.assert_clean()
