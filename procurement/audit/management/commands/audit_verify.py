from django.core.management.base import BaseCommand, CommandError

from procurement.audit.services import audit_verify_chain


class Command(BaseCommand):
    help = "Verifica la catena di hash degli eventi di audit."

    def handle(self, *args, **options):
        report = audit_verify_chain()
        if not report.ok:
            raise CommandError(
                f"Catena di audit NON integra all'evento {report.first_bad_id}: {report.reason} "
                f"({report.checked} eventi verificati prima)."
            )
        self.stdout.write(self.style.SUCCESS(f"Catena di audit integra: {report.checked} eventi."))
