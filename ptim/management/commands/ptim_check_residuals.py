from django.core.management.base import BaseCommand, CommandError

from ptim.services import residual_differences


class Command(BaseCommand):
    help = (
        "Ricalcola l'impegno di ogni contratto dal suo stato e dalle sue variazioni "
        "e segnala le differenze."
    )

    def handle(self, *args, **options):
        diffs = residual_differences()
        for line in diffs:
            self.stdout.write(line)
        if diffs:
            raise CommandError(f"{len(diffs)} differenze trovate.")
        self.stdout.write("Nessuna differenza: le disponibilità residue sono coerenti.")
