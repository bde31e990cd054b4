"""Factories for the shared kernel. Tax codes are generated valid (python-stdnum checks them)."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone
from stdnum.it import codicefiscale

from procurement.accounts.models import (
    CostCentre,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
)

_LETTERS = "BCDFGHLMNPRSTVZ"


def person_tax_code(n: int) -> str:
    """A syntactically valid codice fiscale, unique per n."""
    a = _LETTERS[n % 15] + _LETTERS[(n // 15) % 15] + _LETTERS[(n // 225) % 15]
    b = _LETTERS[(n // 3375) % 15] + "XX"
    year = f"{60 + n % 40:02d}"
    body = f"{a}{b}{year}A{(n % 28) + 1:02d}H501"
    return body + codicefiscale.calc_check_digit(body)


def organisation_tax_code(n: int) -> str:
    """A valid 11-digit codice fiscale / partita IVA, unique per n."""
    body = f"{(10_000_000 + n) % 10_000_000:07d}001"
    from stdnum import luhn

    return body + luhn.calc_check_digit(body)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Comune di Prova {n}")
    kind = OrganisationKind.CONTRACTING_AUTHORITY
    tax_code = factory.Sequence(organisation_tax_code)
    ausa_code = factory.Sequence(lambda n: f"{2000000 + n:07d}")


class CostCentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CostCentre

    organisation = factory.SubFactory(OrganisationFactory)
    code = factory.Sequence(lambda n: f"CC{n}")
    name = factory.Sequence(lambda n: f"Ufficio {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"utente{n}")
    first_name = "Mario"
    last_name = factory.Sequence(lambda n: f"Rossi{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    tax_code = factory.Sequence(person_tax_code)
    password = factory.PostGenerationMethodCall("set_password", "password-di-prova-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.BUYER


def member(organisation: Organisation, role: str = Role.BUYER, **user_kwargs) -> User:
    """A new user acting for `organisation` with `role`."""
    user = UserFactory(**user_kwargs)
    MembershipFactory(user=user, organisation=organisation, role=role)
    return user


def aware(*args) -> datetime.datetime:
    """A timezone-aware datetime in Europe/Rome: aware(2026, 11, 23, 7, 0)."""
    return timezone.make_aware(datetime.datetime(*args))
