import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from procurement.accounts.models import Membership, Organisation, OrganisationKind, Role, User
from procurement.core.demo import USERS
from tests.factories.kernel import CostCentreFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_wrong_tax_code_is_refused_in_italian():
    user = UserFactory.build(tax_code="RSSMRA80A01H501X")  # wrong check character
    with pytest.raises(ValidationError) as excinfo:
        user.full_clean()
    assert "Codice fiscale non valido" in str(excinfo.value)


def test_tax_code_is_stored_compact_and_upper_case():
    user = UserFactory(tax_code="rssmra 80a01 h501u")
    user.refresh_from_db()
    assert user.tax_code == "RSSMRA80A01H501U"


def test_an_economic_operator_needs_a_tax_code_or_vat_number():
    org = Organisation(code="oe-x", name="Impresa X", kind=OrganisationKind.ECONOMIC_OPERATOR)
    with pytest.raises(ValidationError, match="codice fiscale o partita IVA"):
        org.full_clean()


def test_a_wrong_vat_number_is_refused():
    org = OrganisationFactory.build(vat_number="12345678901")
    with pytest.raises(ValidationError, match="Partita IVA non valida"):
        org.full_clean()


def test_a_membership_cost_centre_must_belong_to_its_organisation():
    org = OrganisationFactory()
    foreign_centre = CostCentreFactory()
    membership = Membership(
        user=UserFactory(), organisation=org, cost_centre=foreign_centre, role=Role.BUYER
    )
    with pytest.raises(ValidationError, match="non appartiene"):
        membership.full_clean()


def test_seed_demo_is_rerunnable_without_duplicates():
    call_command("seed_demo", verbosity=0)
    counts = (User.objects.count(), Organisation.objects.count(), Membership.objects.count())
    call_command("seed_demo", verbosity=0)
    assert counts == (
        User.objects.count(),
        Organisation.objects.count(),
        Membership.objects.count(),
    )
    # Every kernel demo user exists (the workflow apps add their own demo users).
    assert set(User.objects.values_list("username", flat=True)) >= {u.username for u in USERS}
    # One user per role, each with a valid tax code.
    assert {m.role for m in Membership.objects.all()} == set(Role.values)
    for user in User.objects.all():
        user.full_clean()


def test_no_model_change_is_missing_a_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_production_settings_fail_loudly_without_a_secret_key(tmp_path):
    env = {
        "DEBUG": "False",
        "ALLOWED_HOSTS": "example.org",
        "PATH": "/usr/bin:/bin",
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
            "'procurement.settings'; django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {
        "DEBUG": "False",
        "ALLOWED_HOSTS": "example.org",
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "x" * 20 + "production-like-secret-key-for-the-check-0123456789",
        "STRONG_AUTH_PROVIDER": "saml",
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
