import importlib

from django.core.management import call_command
from django.core.management.base import BaseCommand

from procurement.celery import WORKFLOW_APPS
from procurement.core.demo import DEMO_PASSWORD, USERS, seed_demo


class Command(BaseCommand):
    help = "Carica (o aggiorna) i dati dimostrativi: organizzazioni e un utente per ruolo."

    def handle(self, *args, **options):
        created = seed_demo()
        self.stdout.write(
            "Dati dimostrativi pronti (nuovi: {organisations} organizzazioni, {users} utenti, "
            "{memberships} abilitazioni).".format(**created)
        )
        try:
            call_command("make_test_ca", verbosity=0)
        except Exception as exc:  # the demo works without signatures; say why they are missing
            self.stderr.write(f"CA di prova non creata: {exc}")
        for label in WORKFLOW_APPS:
            try:
                module = importlib.import_module(f"{label}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{label}.demo":
                    raise
                continue
            # Each workflow app's demo.seed() is re-runnable and returns a line for the console.
            self.stdout.write(str(module.seed()))
        if options["verbosity"] >= 1:
            self.stdout.write(f"Utenti dimostrativi (password «{DEMO_PASSWORD}»):")
            for user in USERS:
                self.stdout.write(f"  {user.username:<20} {user.role:<13} {user.org}")
