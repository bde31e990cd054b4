import json

from django.core.management.base import BaseCommand, CommandError

from ptim.importer import ImportFailed, import_agreements


class Command(BaseCommand):
    help = "Importa Accordi Quadro, operatori e massimali da un file JSON (vedi ptim/README.md)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            with open(file, encoding="utf-8") as fh:
                payload = json.load(fh)
        except OSError as exc:
            raise CommandError(f"File non leggibile: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(f"JSON non valido: {exc}") from exc
        try:
            counts = import_agreements(payload)
        except ImportFailed as exc:
            raise CommandError(
                f"Importazione annullata, nessun dato scritto. {len(exc.errors)} errori:\n"
                + "\n".join(exc.errors)
            ) from exc
        self.stdout.write(
            f"Importati {counts['agreements']} Accordi Quadro, {counts['operators']} operatori, "
            f"{counts['memberships']} associazioni operatore-A.Q."
        )
