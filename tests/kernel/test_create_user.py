"""`manage.py create_user` and the service behind it: idempotent, validated, all or nothing."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from procurement.accounts import services
from procurement.accounts.models import Membership, Role, User
from procurement.accounts.services import AccountsError, user_create_with_membership
from procurement.audit.models import AuditEvent
from tests.factories.kernel import OrganisationFactory, UserFactory, person_tax_code

pytestmark = pytest.mark.django_db

TAX_CODE = person_tax_code(4242)


@pytest.fixture
def org():
    return OrganisationFactory(code="comune-novara", name="Comune di Novara")


def create_user(*args: str) -> str:
    out = io.StringIO()
    call_command("create_user", *args, "--no-input", stdout=out)
    return out.getvalue()


def token_in(output: str) -> str:
    match = re.search(r"^Token API: (\w+)$", output, flags=re.MULTILINE)
    assert match, output
    return match.group(1)


def test_it_creates_the_user_the_membership_and_an_audit_event(org):
    output = create_user(
        "mrossi",
        "--organisation=comune-novara",
        "--role=rup",
        "--email=mario.rossi@comune.novara.it",
        f"--tax-code={TAX_CODE.lower()}",
        "--password=Appalti-Sicuri-2026",
    )

    user = User.objects.get(username="mrossi")
    assert user.email == "mario.rossi@comune.novara.it"
    assert user.tax_code == TAX_CODE  # normalised to upper case
    assert user.check_password("Appalti-Sicuri-2026")
    membership = Membership.objects.get(user=user)
    assert (membership.organisation, membership.role, membership.is_active) == (org, Role.RUP, True)
    assert "Utente «mrossi» creato." in output
    assert "Abilitazione aggiunta: RUP presso Comune di Novara." in output
    assert "Token API" not in output and not Token.objects.exists()
    event = AuditEvent.objects.get()
    assert (event.action, event.organisation, event.object_id) == (
        "utente creato",
        org,
        str(user.pk),
    )
    assert event.actor_label == "comando create_user"
    assert "Appalti-Sicuri-2026" not in str(event.payload)


def test_a_new_user_without_password_cannot_log_in_with_one(org):
    create_user("spid.only", "--organisation=comune-novara", "--role=buyer")

    assert not User.objects.get(username="spid.only").has_usable_password()


def test_a_second_run_changes_nothing_and_records_nothing(org):
    args = ("mrossi", "--organisation=comune-novara", "--role=rup", f"--tax-code={TAX_CODE}")
    create_user(*args, "--password=Appalti-Sicuri-2026")
    password_hash = User.objects.get(username="mrossi").password

    output = create_user(*args, "--password=Appalti-Sicuri-2026")

    assert User.objects.count() == 1 and Membership.objects.count() == 1
    assert User.objects.get().password == password_hash
    assert AuditEvent.objects.count() == 1
    assert "Utente «mrossi» già presente, nessuna modifica." in output
    assert "Abilitazione già presente: RUP presso Comune di Novara." in output


def test_the_api_token_is_created_once_and_printed_every_time(org):
    first = create_user("mrossi", "--organisation=comune-novara", "--role=rup", "--api-token")
    second = create_user("MRossi", "--organisation=comune-novara", "--role=rup", "--api-token")

    key = token_in(first)
    assert token_in(second) == key
    assert Token.objects.get().key == key
    assert Token.objects.get().user.username == "mrossi"
    assert len(key) == 40


def test_the_token_printed_opens_the_api(org):
    key = token_in(
        create_user("mrossi", "--organisation=comune-novara", "--role=rup", "--api-token")
    )

    from django.test import Client

    response = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/me/")
    assert response.status_code == 200
    assert response.json()["memberships"][0]["organisation_code"] == "comune-novara"


def test_an_existing_user_gets_another_role_and_keeps_the_first(org):
    create_user("mrossi", "--organisation=comune-novara", "--role=rup")
    other = OrganisationFactory(code="provincia-novara", name="Provincia di Novara")

    output = create_user("mrossi", "--organisation=provincia-novara", "--role=fvoe")

    roles = set(Membership.objects.values_list("organisation__code", "role"))
    assert roles == {("comune-novara", Role.RUP), (other.code, Role.FVOE)}
    assert "Abilitazione aggiunta: Profilo FVOE presso Provincia di Novara." in output
    assert AuditEvent.objects.last().action == "utente aggiornato"


def test_a_revoked_membership_is_reactivated(org):
    create_user("mrossi", "--organisation=comune-novara", "--role=rup")
    Membership.objects.update(is_active=False)

    create_user("mrossi", "--organisation=comune-novara", "--role=rup")

    assert Membership.objects.get().is_active


def test_an_update_sets_only_the_fields_given(org):
    user = UserFactory(username="mrossi", email="vecchia@example.org")
    tax_code = user.tax_code

    output = create_user(
        "mrossi", "--organisation=comune-novara", "--role=rup", "--email=nuova@example.org"
    )

    user.refresh_from_db()
    assert (user.email, user.tax_code) == ("nuova@example.org", tax_code)
    assert user.check_password("password-di-prova-1")
    assert "Utente «mrossi» aggiornato (email)." in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--organisation=non-esiste", "--role=rup"],
            "Organizzazione sconosciuta: nessuna organizzazione con codice «non-esiste».",
        ),
        (["--organisation=comune-novara", "--role=capo"], "Ruolo sconosciuto: «capo»."),
        (
            ["--organisation=comune-novara", "--role=rup", "--tax-code=RSSMRA80A01H501X"],
            "Codice fiscale non valido: RSSMRA80A01H501X",
        ),
        (
            ["--organisation=comune-novara", "--role=rup", "--email=non-una-email"],
            "Dati dell'utente non validi",
        ),
        (
            ["--organisation=comune-novara", "--role=rup", "--password=123"],
            "Questa password è interamente numerica.",
        ),
    ],
)
def test_invalid_input_is_a_clear_italian_error_and_writes_nothing(org, args, message):
    with pytest.raises(CommandError) as error:
        create_user("mrossi", *args, "--api-token")

    assert message in str(error.value)
    assert not User.objects.exists()
    assert not Membership.objects.exists()
    assert not Token.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_tax_code_of_another_user_is_refused(org):
    UserFactory(username="altro", tax_code=TAX_CODE)

    with pytest.raises(CommandError, match="codice fiscale: Utente con questo Codice fiscale"):
        create_user(
            "mrossi", "--organisation=comune-novara", "--role=rup", f"--tax-code={TAX_CODE}"
        )

    assert not User.objects.filter(username="mrossi").exists()


def test_the_organisation_and_role_options_are_required(org):
    with pytest.raises(CommandError, match="--organisation"):
        create_user("mrossi", "--role=rup")


def test_a_failure_after_the_first_writes_rolls_everything_back(org, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("audit non disponibile")

    monkeypatch.setattr(services, "audit_record", broken_audit)

    with pytest.raises(RuntimeError):
        user_create_with_membership(
            username="mrossi", organisation_code="comune-novara", role=Role.RUP, api_token=True
        )

    assert not User.objects.exists()
    assert not Membership.objects.exists()
    assert not Token.objects.exists()


def test_the_service_refuses_an_inactive_organisation(org):
    org.is_active = False
    org.save()

    with pytest.raises(AccountsError, match="non è attiva"):
        user_create_with_membership(
            username="mrossi", organisation_code="comune-novara", role=Role.RUP
        )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """An interactive stdin and scripted answers to getpass()."""
    answers: list[str] = []
    monkeypatch.setattr("sys.stdin", _Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": answers.pop(0))
    return answers


def test_an_interactive_run_asks_the_password_of_a_new_user_twice(org, terminal):
    terminal.extend(["Appalti-Sicuri-2026", "Appalti-Sicuri-2026"])

    call_command(
        "create_user", "mrossi", "--organisation=comune-novara", "--role=rup", stdout=io.StringIO()
    )

    assert User.objects.get().check_password("Appalti-Sicuri-2026")
    assert terminal == []


def test_an_interactive_run_refuses_two_different_passwords(org, terminal):
    terminal.extend(["Appalti-Sicuri-2026", "Appalti-Sicuri-2027"])

    with pytest.raises(CommandError, match="Le due password non coincidono"):
        call_command("create_user", "mrossi", "--organisation=comune-novara", "--role=rup")

    assert not User.objects.exists()


def test_an_interactive_run_does_not_ask_again_for_an_existing_user(org, terminal):
    UserFactory(username="mrossi")

    call_command(
        "create_user", "mrossi", "--organisation=comune-novara", "--role=rup", stdout=io.StringIO()
    )

    assert Membership.objects.get().user.check_password("password-di-prova-1")
