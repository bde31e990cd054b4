"""Services of the accounts app: one function per step, keyword-only, audited."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import password_validation
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token
from stdnum.it import codicefiscale

from procurement.audit.services import audit_record

from .models import Membership, Organisation, Role, User


class AccountsError(Exception):
    """An error the caller can fix (unknown organisation, invalid tax code, ...), in Italian."""


@dataclass(frozen=True)
class UserMembershipResult:
    user: User
    membership: Membership
    user_created: bool
    membership_created: bool
    changed_fields: list[str] = field(default_factory=list)
    token: str | None = None
    token_created: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            self.user_created
            or self.membership_created
            or self.changed_fields
            or self.token_created
        )


def _messages(error: ValidationError) -> str:
    """One line: "codice fiscale: ...; e-mail: ..." (field names as users know them)."""
    if not hasattr(error, "error_dict"):
        return "; ".join(error.messages)
    parts = []
    for name, errors in error.message_dict.items():
        prefix = "" if name == NON_FIELD_ERRORS else f"{User._meta.get_field(name).verbose_name}: "
        parts.extend(prefix + message for message in errors)
    return "; ".join(parts)


def user_create_with_membership(
    *,
    username: str,
    organisation_code: str,
    role: str,
    email: str | None = None,
    tax_code: str | None = None,
    password: str | None = None,
    api_token: bool = False,
    actor: User | None = None,
    actor_label: str | None = None,
) -> UserMembershipResult:
    """Create or update `username` and give them `role` in the organisation `organisation_code`.

    Idempotent: a second call with the same arguments changes nothing and records nothing.
    `email`, `tax_code` and `password` are set only when given; a new user without a password
    gets an unusable one (they log in through SPID/CIE). With `api_token`, the user's API token
    is created once and returned on every call. All or nothing: an invalid value leaves no row.
    """
    if role not in Role.values:
        raise AccountsError(
            _("Ruolo sconosciuto: «%(role)s». Ruoli ammessi: %(roles)s.")
            % {"role": role, "roles": ", ".join(Role.values)}
        )
    with transaction.atomic():
        organisation = Organisation.objects.filter(code=organisation_code).first()
        if organisation is None:
            raise AccountsError(
                _("Organizzazione sconosciuta: nessuna organizzazione con codice «%(code)s».")
                % {"code": organisation_code}
            )
        if not organisation.is_active:
            raise AccountsError(
                _("L'organizzazione «%(code)s» non è attiva.") % {"code": organisation_code}
            )

        user = User.objects.select_for_update().filter(username__iexact=username).first()
        user_created = user is None
        if user_created:
            user = User(username=username)
        changed_fields = []
        updates = {
            "email": email,
            "tax_code": codicefiscale.compact(tax_code) if tax_code else tax_code,
        }
        for name, value in updates.items():
            if value is not None and getattr(user, name) != value:
                setattr(user, name, value)
                changed_fields.append(name)
        try:
            # The password is checked by the password validators below, not as a field.
            user.full_clean(exclude=["password"])
            if password is not None:
                password_validation.validate_password(password, user=user)
        except ValidationError as exc:
            raise AccountsError(
                _("Dati dell'utente non validi: %(errors)s") % {"errors": _messages(exc)}
            ) from exc
        if password is not None and not user.check_password(password):
            user.set_password(password)
            changed_fields.append("password")
        elif user_created:
            user.set_unusable_password()
        if user_created or changed_fields:
            user.save()

        membership, membership_created = Membership.objects.get_or_create(
            user=user, organisation=organisation, role=role, cost_centre=None
        )
        if not membership_created and (not membership.is_active or membership.valid_until):
            # Asked for the role again: the membership is active with no end date.
            membership.is_active = True
            membership.valid_until = None
            membership.save(update_fields=["is_active", "valid_until"])
            changed_fields.append("membership")

        token_key = None
        token_created = False
        if api_token:
            token, token_created = Token.objects.get_or_create(user=user)
            token_key = token.key

        result = UserMembershipResult(
            user=user,
            membership=membership,
            user_created=user_created,
            membership_created=membership_created,
            changed_fields=changed_fields,
            token=token_key,
            token_created=token_created,
        )
        if result.changed:
            audit_record(
                action=_("utente creato") if user_created else _("utente aggiornato"),
                actor=actor,
                actor_label=actor_label,
                obj=user,
                organisation=organisation,
                payload={
                    "username": user.username,
                    "role": role,
                    "membership_created": membership_created,
                    # Which fields changed, never their values (password, token).
                    "changed_fields": changed_fields,
                    "api_token_created": token_created,
                },
            )
    return result
