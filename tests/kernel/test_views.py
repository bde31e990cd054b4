"""The kernel's pages through Django's test client: login, logout, profile switch, areas, admin."""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import re

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.utils import timezone

from procurement.accounts.middleware import SESSION_KEY as MEMBERSHIP_SESSION_KEY
from procurement.accounts.models import Membership
from procurement.audit.models import AuditEvent
from procurement.notifications.models import EmailOutbox, Notification, OutboxStatus
from procurement.pcp.models import AppaltoState
from tests.factories.kernel import MembershipFactory, UserFactory
from tests.factories.pcp import PcpAppaltoFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = "/account/accedi/"
AREAS = [
    ("/negozio-elettronico/", "Negozio Elettronico"),
    ("/fvoe/", "Fascicolo Virtuale dell'Operatore Economico"),
    ("/ptim/", "Gestione Contratti"),
    ("/gare/", "Gare"),
]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Every test logs in through the login form: the production hasher would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser_client(db) -> Client:
    admin_user = UserFactory(username="amministratore", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    client.user = admin_user
    return client


# --- login and logout ------------------------------------------------------------------------


def test_the_login_page_is_italian_and_offers_spid_cie():
    html = Client().get(LOGIN_URL).content.decode()
    assert '<html lang="it">' in html
    assert "Accedi alla piattaforma" in html
    assert '<label for="id_username"' in html and '<label for="id_password"' in html
    assert 'href="/account/accesso-forte/"' in html
    assert "Entra con SPID/CIE" in html


def test_a_wrong_password_shows_the_italian_error(trio):
    client = Client()
    response = client.post(LOGIN_URL, {"username": trio.owner.username, "password": "sbagliata"})
    assert response.status_code == 200
    assert "Nome utente o password non corretti." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_login_returns_to_the_page_asked_for(trio):
    response = Client().post(
        LOGIN_URL + "?next=/gare/",
        {"username": trio.owner.username, "password": "password-di-prova-1", "next": "/gare/"},
    )
    assert response.status_code == 302 and response["Location"] == "/gare/"


def test_the_login_does_not_redirect_to_another_site(trio):
    response = Client().post(
        LOGIN_URL,
        {
            "username": trio.owner.username,
            "password": "password-di-prova-1",
            "next": "https://example.com/",
        },
    )
    assert response["Location"] == "/"


def test_logout_is_post_only(trio, client_for):
    client = client_for(trio.owner)
    assert client.get("/account/esci/").status_code == 405
    assert client.get("/").status_code == 200  # still logged in

    response = client.post("/account/esci/")
    assert response.status_code == 302 and response["Location"] == LOGIN_URL
    assert client.get("/").status_code == 302
    assert "Sei uscito dalla piattaforma." in client.get(LOGIN_URL).content.decode()


@pytest.mark.parametrize(
    "url", ["/", "/negozio-elettronico/", "/fvoe/", "/ptim/", "/gare/", "/notifiche/"]
)
def test_pages_require_login(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?next={url}"


# --- layout ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "title"), AREAS)
def test_the_navigation_leads_to_the_four_areas(trio, client_for, url, title):
    # Each workflow app owns its landing page (and who may see it); the kernel owns the menu.
    html = html_lib.unescape(client_for(trio.colleague).get("/").content.decode())
    label = {"/fvoe/": "Fascicolo Virtuale"}.get(url, title)
    link = re.search(rf'href="{url}"[^>]*>\s*<span>{re.escape(label)}</span>', html)
    # An app may hide its area (AppConfig.menu_visible): the FVOE menu only for the FVOE profile
    # with an allowed procedure role (R-FVOE-002; shown to them in tests/fvoe/test_roles.py).
    assert bool(link) == (url != "/fvoe/")
    assert trio.organisation.name in html


def test_the_layout_has_landmarks_and_a_skip_link(trio, client_for):
    html = client_for(trio.owner).get("/").content.decode()
    assert html.index('href="#main-content"') < html.index("<header")
    assert '<main id="main-content"' in html
    assert 'aria-label="Navigazione principale"' in html
    assert "<footer" in html
    assert re.search(r'href="/"\s+aria-current="page"', html)


def test_the_header_shows_organisation_role_and_unread_notifications(trio, client_for):
    Notification.objects.create(
        recipient=trio.owner,
        template="generic",
        subject="Ordinativo da firmare",
        body="Testo",
        created_at=timezone.now(),
    )
    html = client_for(trio.owner).get("/").content.decode()
    assert re.search(r'data-testid="header-organisation">\s*Comune di Bellinzago Novarese', html)
    assert re.search(r'data-testid="header-role">.*Punto ordinante', html)
    assert re.search(r'data-testid="unread-count">1<', html)
    assert "notifica non letta" in html  # the count is spelled out for screen readers
    assert "Ordinativo da firmare" in html  # listed in the home panel too


def test_static_assets_of_bootstrap_italia_are_served_from_our_static_files(trio, client_for):
    html = client_for(trio.owner).get("/").content.decode()
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S)  # the package comments out a carousel
    paths = set(re.findall(r'(?:href|src)="/static/([^"#?]+)', html))
    assert {"css/bootstrap-italia.min.css", "js/bootstrap-italia.bundle.min.js"} <= paths
    assert "svg/sprites.svg" in paths
    for path in [*paths, "fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-regular.woff2"]:
        assert finders.find(path), f"{path} is not a static file"


def test_every_inline_script_is_allowed_by_the_csp_without_unsafe_inline(trio, client_for):
    response = client_for(trio.owner).get("/")
    policy = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", policy).group(1)
    assert "'unsafe-inline'" not in script_src
    for body in re.findall(r"<script>(.*?)</script>", response.content.decode(), flags=re.S):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src, body


@override_settings(DEBUG=False)
def test_error_pages_are_italian(trio, client_for):
    response = client_for(trio.owner).get("/non-esiste/")
    assert response.status_code == 404
    assert "Pagina non trovata" in response.content.decode()
    assert "Si è verificato un errore" in render_to_string("500.html")


# --- home page -------------------------------------------------------------------------------


def test_the_home_of_a_rup_lists_the_appalti_waiting_on_pcp(trio, client_for):
    PcpAppaltoFactory(organisation=trio.organisation, rup=trio.colleague, subject="Server cloud")
    PcpAppaltoFactory(organisation=trio.other_organisation, subject="Appalto di altri")
    html = client_for(trio.colleague).get("/").content.decode()
    assert "Appalti su PCP" in html
    assert "Server cloud" in html
    assert "Appalto di altri" not in html
    assert str(AppaltoState.NONE.label) in html


def test_a_user_without_memberships_is_told_so(db, client_for):
    html = client_for(UserFactory()).get("/").content.decode()
    assert "Non hai abilitazioni attive" in html


def test_the_home_of_a_superuser_shows_the_system_status(superuser_client):
    html = superuser_client.get("/").content.decode()
    assert "Stato del sistema" in html
    assert "E-mail non recapitate" in html


# --- strong authentication (dev provider) ----------------------------------------------------


def test_the_dev_identity_page_lists_the_test_identities(trio):
    html = Client().get("/account/accesso-forte/dev/").content.decode()
    assert trio.owner.tax_code in html
    assert "Punto ordinante · Comune di Bellinzago Novarese" in html


@override_settings(DEBUG=False)
def test_the_dev_identity_page_is_404_when_debug_is_false(trio):
    client = Client()
    assert client.get("/account/accesso-forte/dev/").status_code == 404
    response = client.post(
        "/account/accesso-forte/dev/", {"tax_code": trio.owner.tax_code, "level": 2}
    )
    assert response.status_code == 404
    assert "_auth_user_id" not in client.session


# --- profile switcher ------------------------------------------------------------------------


def test_the_profile_switcher_changes_the_acting_membership(trio, client_for):
    second = MembershipFactory(user=trio.owner, organisation=trio.other_organisation)
    client = client_for(trio.owner)
    html = client.get("/").content.decode()
    assert f'name="membership" value="{second.pk}"' in html

    response = client.post("/account/profilo/", {"membership": second.pk, "next": "/gare/"})
    assert response.status_code == 302 and response["Location"] == "/gare/"
    assert client.session[MEMBERSHIP_SESSION_KEY] == second.pk
    html = client.get("/gare/").content.decode()
    assert re.search(r'data-testid="header-organisation">\s*Comune di Novara', html)


def test_the_profile_switcher_refuses_a_membership_of_another_user(trio, client_for):
    client = client_for(trio.owner)
    mine = Membership.objects.get(user=trio.owner)
    client.get("/")
    others = Membership.objects.get(user=trio.outsider)
    response = client.post("/account/profilo/", {"membership": others.pk})
    assert response.status_code == 403
    assert "Profilo non disponibile." in response.content.decode()
    assert client.session.get(MEMBERSHIP_SESSION_KEY) in (None, mine.pk)
    assert re.search(
        r'data-testid="header-organisation">\s*Comune di Bellinzago Novarese',
        client.get("/").content.decode(),
    )


@pytest.mark.parametrize("value", ["", "abc", "999999"])
def test_the_profile_switcher_refuses_garbage(trio, client_for, value):
    response = client_for(trio.owner).post("/account/profilo/", {"membership": value})
    assert response.status_code == 403


def test_the_profile_switcher_is_post_only(trio, client_for):
    assert client_for(trio.owner).get("/account/profilo/").status_code == 405


# --- admin -----------------------------------------------------------------------------------


def test_the_admin_index_is_italian_for_a_superuser(superuser_client):
    html = superuser_client.get("/admin/").content.decode()
    assert '<html lang="it"' in html
    assert "Amministrazione della piattaforma e-procurement" in html
    for label in [
        "Utenti",
        "Organizzazioni",
        "Uffici / centri di costo",
        "Abilitazioni",
        "Accessi",
        "Eventi di audit",
        "Esecuzioni di job",
        "Appalti PCP",
        "Notifiche",
        "E-mail in uscita",
    ]:
        assert label in html, label


@pytest.mark.parametrize(
    "model",
    [
        "accounts/user",
        "accounts/organisation",
        "accounts/costcentre",
        "accounts/membership",
        "accounts/strongauthsession",
        "audit/auditevent",
        "core/jobrun",
        "pcp/pcpappalto",
        "notifications/notification",
        "notifications/emailoutbox",
    ],
)
def test_every_kernel_changelist_renders(superuser_client, trio, model):
    assert superuser_client.get(f"/admin/{model}/").status_code == 200


def test_user_and_organisation_pages_show_memberships_inline(superuser_client, trio):
    html = superuser_client.get(f"/admin/accounts/user/{trio.owner.pk}/change/").content.decode()
    assert "Codice fiscale" in html and trio.owner.tax_code in html
    assert "abilitazioni (organizzazioni e ruoli)" in html.lower()
    url = f"/admin/accounts/organisation/{trio.organisation.pk}/change/"
    html = superuser_client.get(url).content.decode()
    assert "Utenti abilitati" in html


@pytest.mark.parametrize("model", ["audit/auditevent", "accounts/strongauthsession", "core/jobrun"])
def test_evidence_cannot_be_added_in_admin(superuser_client, model):
    assert superuser_client.get(f"/admin/{model}/add/").status_code == 403


def test_audit_events_are_view_only_in_admin(superuser_client, trio):
    from procurement.audit.services import audit_record

    event = audit_record(action="creato", actor=trio.owner, obj=trio.organisation)
    change_url = f"/admin/audit/auditevent/{event.pk}/change/"
    html = superuser_client.get(change_url).content.decode()
    assert "creato" in html and 'name="_save"' not in html
    assert superuser_client.post(change_url, {"action": "altro"}).status_code == 403
    delete_url = f"/admin/audit/auditevent/{event.pk}/delete/"
    assert superuser_client.post(delete_url, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action == "creato"


def test_the_state_of_a_pcp_appalto_is_read_only_in_admin(superuser_client, trio):
    appalto = PcpAppaltoFactory(organisation=trio.organisation, rup=trio.colleague)
    url = f"/admin/pcp/pcpappalto/{appalto.pk}/change/"
    html = superuser_client.get(url).content.decode()
    assert 'name="local_state"' not in html
    assert "Non ancora trasmesso" in html
    response = superuser_client.post(
        url,
        {
            "subject": "Oggetto corretto",
            "scheda_code": "",
            "amount": "",
            "local_state": AppaltoState.CIG_ASSIGNED,
            "lots-TOTAL_FORMS": "0",
            "lots-INITIAL_FORMS": "0",
            "lots-MIN_NUM_FORMS": "0",
            "lots-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    appalto.refresh_from_db()
    assert appalto.subject == "Oggetto corretto"
    assert appalto.local_state == AppaltoState.NONE


def _outbox(status: str, attempts: int = 8) -> EmailOutbox:
    return EmailOutbox.objects.create(
        to="rup@example.org",
        subject="Ordinativo",
        body_text="Testo",
        status=status,
        attempts=attempts,
        last_error="SMTPServerDisconnected",
        created_at=timezone.now(),
    )


def test_reinvia_puts_failed_emails_back_in_the_queue(
    superuser_client, django_capture_on_commit_callbacks
):
    failed = [_outbox(OutboxStatus.FAILED), _outbox(OutboxStatus.FAILED)]
    sent = _outbox(OutboxStatus.SENT, attempts=1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = superuser_client.post(
            "/admin/notifications/emailoutbox/",
            {"action": "requeue", "_selected_action": [r.pk for r in [*failed, sent]]},
            follow=True,
        )
    assert "2 e-mail rimesse in coda." in response.content.decode()
    for row in failed:
        row.refresh_from_db()
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)
    sent.refresh_from_db()
    assert sent.status == OutboxStatus.SENT
    events = AuditEvent.objects.filter(action="e-mail rimessa in coda")
    assert events.count() == 2
    assert {e.actor_id for e in events} == {superuser_client.user.pk}
    assert {(e.from_state, e.to_state) for e in events} == {("failed", "pending")}
    assert len(callbacks) == 2  # one hand-over to Celery per requeued e-mail


def test_reinvia_needs_the_change_permission(db):
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_emailoutbox"))
    row = _outbox(OutboxStatus.FAILED)
    client = Client()
    client.force_login(staff)
    html = client.get("/admin/notifications/emailoutbox/").content.decode()
    assert "Reinvia" not in html
    client.post(
        "/admin/notifications/emailoutbox/", {"action": "requeue", "_selected_action": [row.pk]}
    )
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
