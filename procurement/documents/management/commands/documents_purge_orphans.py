from django.core.management.base import BaseCommand

from procurement.documents.services import document_purge_orphan_files


class Command(BaseCommand):
    help = "Rimuove i file di documenti rimasti senza versione (transazioni annullate)."

    def handle(self, *args, **options):
        removed = document_purge_orphan_files()
        for name in removed:
            self.stdout.write(f"rimosso {name}")
        self.stdout.write(f"File orfani rimossi: {len(removed)}.")
