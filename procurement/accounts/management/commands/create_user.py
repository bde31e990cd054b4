"""`manage.py create_user`: create or update a user with one role in one organisation."""

from __future__ import annotations

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from procurement.accounts.models import Role, User
from procurement.accounts.services import AccountsError, user_create_with_membership


class Command(BaseCommand):
    help = _(
        "Crea o aggiorna un utente e gli assegna un ruolo in un'organizzazione. "
        "Si può rieseguire: ciò che esiste già resta com'è."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help=_("nome utente"))
        parser.add_argument(
            "--organisation", required=True, metavar="CODICE", help=_("codice dell'organizzazione")
        )
        parser.add_argument(
            "--role",
            required=True,
            metavar="RUOLO",
            help=_("ruolo: %(roles)s") % {"roles": ", ".join(Role.values)},
        )
        parser.add_argument("--email", help=_("indirizzo e-mail"))
        parser.add_argument("--tax-code", dest="tax_code", metavar="CF", help=_("codice fiscale"))
        parser.add_argument(
            "--password",
            help=_(
                "password; senza, per un nuovo utente viene chiesta (se il terminale è "
                "interattivo) oppure l'utente accede solo con SPID/CIE"
            ),
        )
        parser.add_argument(
            "--api-token",
            action="store_true",
            help=_("crea (una volta sola) e stampa il token per l'API"),
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help=_("non fa domande"),
        )

    def handle(self, *args, **options):
        username = options["username"]
        password = options["password"]
        if (
            password is None
            and options["interactive"]
            and sys.stdin.isatty()
            and not User.objects.filter(username__iexact=username).exists()
        ):
            password = self._ask_password()
        try:
            result = user_create_with_membership(
                username=username,
                organisation_code=options["organisation"],
                role=options["role"],
                email=options["email"],
                tax_code=options["tax_code"],
                password=password,
                api_token=options["api_token"],
                actor_label=_("comando create_user"),
            )
        except AccountsError as exc:
            raise CommandError(str(exc)) from exc

        membership = result.membership
        values = {
            "user": result.user.username,
            "role": membership.get_role_display(),
            "organisation": membership.organisation.name,
        }
        if result.user_created:
            self.stdout.write(self.style.SUCCESS(_("Utente «%(user)s» creato.") % values))
        elif result.changed_fields:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Utente «%(user)s» aggiornato (%(fields)s).")
                    % {**values, "fields": ", ".join(result.changed_fields)}
                )
            )
        else:
            self.stdout.write(_("Utente «%(user)s» già presente, nessuna modifica.") % values)
        if result.membership_created:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Abilitazione aggiunta: %(role)s presso %(organisation)s.") % values
                )
            )
        else:
            self.stdout.write(
                _("Abilitazione già presente: %(role)s presso %(organisation)s.") % values
            )
        if result.token is not None:
            self.stdout.write(_("Token API: %(token)s") % {"token": result.token})

    def _ask_password(self) -> str | None:
        first = getpass.getpass(_("Password (vuota per nessuna password): "))
        if not first:
            return None
        if getpass.getpass(_("Ripeti la password: ")) != first:
            raise CommandError(_("Le due password non coincidono."))
        return first
