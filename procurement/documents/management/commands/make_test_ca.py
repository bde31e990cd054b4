from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from stdnum.it import codicefiscale

from procurement.documents import testca


class Command(BaseCommand):
    help = (
        "Crea (se manca) una CA di prova e un certificato di firma per una persona, e firma un "
        "documento di esempio in PAdES e CAdES (.p7m). Solo per sviluppo, demo e test."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir",
            default=str(Path(settings.VAR_DIR) / "test-ca"),
            help="Cartella di destinazione (predefinita: VAR_DIR/test-ca).",
        )
        parser.add_argument(
            "--name", default=testca.DEFAULT_SIGNER_NAME, help="Nome e cognome del firmatario."
        )
        parser.add_argument(
            "--tax-code",
            default=testca.DEFAULT_SIGNER_TAX_CODE,
            help="Codice fiscale del firmatario (anche nella forma TINIT-<CF>).",
        )

    def handle(self, *args, **options):
        tax_code = testca.normalise_tax_code(options["tax_code"])
        if not codicefiscale.is_valid(tax_code):
            raise CommandError(f"Codice fiscale non valido: {options['tax_code']}")
        name = " ".join(options["name"].split())
        if not name:
            raise CommandError("Indica il nome del firmatario.")
        folder = Path(options["dir"])
        result, written = testca.ensure_test_ca(folder, name=name, tax_code=tax_code)
        if options["verbosity"] >= 1:
            if written:
                self.stdout.write(f"Scritti in {folder}: {', '.join(written)}")
            else:
                self.stdout.write(f"CA di prova già presente in {folder}: nulla da fare.")
            trusted = {str(Path(p).resolve()) for p in settings.SIGNATURE_TRUST_ROOTS}
            if str(result.ca_pem.resolve()) not in trusted and str(folder.resolve()) not in trusted:
                self.stdout.write(
                    self.style.WARNING(
                        f"Attenzione: {result.ca_pem} non è in SIGNATURE_TRUST_ROOTS, le firme "
                        "di prova risulteranno non attendibili."
                    )
                )
