# FVOE checks through the kernel client (R-GARE-146): RequirementVerification, its subjects and
# documents, AnacContribution.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_initial"),
        ("gare", "0004_pcp_link"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RequirementVerification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("cig", models.CharField(blank=True, max_length=10, verbose_name="CIG")),
                ("id_appalto", models.CharField(max_length=64, verbose_name="idAppalto ANAC")),
                ("status", models.CharField(choices=[("QUEUED", "In coda di invio"), ("SENDING", "In invio ad ANAC"), ("UNKNOWN", "Esito dell'invio incerto"), ("REQUESTED", "In attesa dell'autorizzazione dell'operatore"), ("AUTHORISED", "Autorizzata: fascicolo accessibile"), ("REFUSED", "Accesso negato, revocato o scaduto"), ("REJECTED", "Richiesta respinta da ANAC")], default="QUEUED", max_length=12, verbose_name="stato")),
                ("id_richiesta", models.CharField(blank=True, max_length=64, verbose_name="idRichiesta ANAC")),
                ("actor_tax_code", models.CharField(max_length=16, verbose_name="codice fiscale del RUP")),
                ("actor_role", models.CharField(default="RP", max_length=4, verbose_name="ruolo")),
                ("actor_loa", models.CharField(max_length=1, verbose_name="LoA")),
                ("actor_idp", models.CharField(max_length=8, verbose_name="IdP")),
                ("sa_ausa_code", models.CharField(blank=True, max_length=10, verbose_name="codice AUSA")),
                ("sa_tax_code", models.CharField(blank=True, max_length=16, verbose_name="codice fiscale della SA")),
                ("access_start_at", models.DateTimeField(verbose_name="autorizzazione richiesta dal")),
                ("created_at", models.DateTimeField(verbose_name="creata il")),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="inviata il")),
                ("acked_at", models.DateTimeField(blank=True, null=True, verbose_name="acquisita da ANAC il")),
                ("authorised_at", models.DateTimeField(blank=True, null=True, verbose_name="autorizzata il")),
                ("documents_retrieved_at", models.DateTimeField(blank=True, null=True, verbose_name="documenti acquisiti il")),
                ("last_polled_at", models.DateTimeField(blank=True, null=True, verbose_name="ultima verifica il")),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True, verbose_name="prossimo tentativo il")),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="tentativi")),
                ("unavailable_since", models.DateTimeField(blank=True, null=True, verbose_name="FVOE non disponibile dal")),
                ("last_error", models.TextField(blank=True, verbose_name="ultimo errore")),
                ("outcome", models.CharField(choices=[("PENDING", "In corso"), ("POSITIVE", "Positivo"), ("NEGATIVE", "Negativo")], default="PENDING", max_length=10, verbose_name="esito")),
                ("outcome_note", models.TextField(blank=True, verbose_name="motivazione dell'esito")),
                ("outcome_at", models.DateTimeField(blank=True, null=True, verbose_name="esito registrato il")),
                ("award", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="fvoe_verifications", to="gare.award", verbose_name="proposta di aggiudicazione")),
                ("lot", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="fvoe_verifications", to="gare.lot", verbose_name="lotto")),
                ("outcome_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="esito registrato da")),
                ("participant", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="fvoe_verifications", to="gare.participant", verbose_name="aggiudicatario proposto")),
                ("requested_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="avviata da")),
            ],
            options={
                "verbose_name": "verifica dei requisiti (FVOE)",
                "verbose_name_plural": "verifiche dei requisiti (FVOE)",
                "ordering": ["lot", "-created_at"],
                "indexes": [models.Index(fields=["status", "next_attempt_at"], name="gare_requir_status_76c832_idx")],
            },
        ),
        migrations.CreateModel(
            name="RequirementVerificationSubject",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tax_code", models.CharField(max_length=16, verbose_name="codice fiscale")),
                ("name", models.CharField(max_length=255, verbose_name="denominazione")),
                ("role", models.CharField(choices=[("BIDDER", "Concorrente"), ("LEAD", "Mandataria / capofila"), ("MEMBER", "Mandante / componente"), ("COMMON_BODY", "Organo comune"), ("EXECUTOR", "Consorziata esecutrice"), ("AUXILIARY", "Ausiliaria")], default="BIDDER", max_length=12, verbose_name="ruolo")),
                ("auth_state", models.CharField(blank=True, max_length=2, verbose_name="stato dell'autorizzazione")),
                ("auth_state_label", models.CharField(blank=True, max_length=100, verbose_name="descrizione dello stato")),
                ("auth_reason", models.CharField(blank=True, max_length=500, verbose_name="motivo")),
                ("authorised_at", models.DateTimeField(blank=True, null=True, verbose_name="autorizzato il")),
                ("checked_at", models.DateTimeField(blank=True, null=True, verbose_name="verificato il")),
                ("verification", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="subjects", to="gare.requirementverification")),
            ],
            options={
                "verbose_name": "soggetto della verifica FVOE",
                "verbose_name_plural": "soggetti della verifica FVOE",
                "ordering": ["verification", "pk"],
                "constraints": [models.UniqueConstraint(fields=("verification", "tax_code"), name="gare_fvoe_subject_once")],
            },
        ),
        migrations.CreateModel(
            name="RequirementVerificationDocument",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("id_documento", models.CharField(max_length=64, verbose_name="idDocumento ANAC")),
                ("type_code", models.CharField(blank=True, max_length=10, verbose_name="tipo di documento")),
                ("type_label", models.CharField(blank=True, max_length=255, verbose_name="descrizione del tipo")),
                ("title", models.CharField(blank=True, max_length=500, verbose_name="oggetto")),
                ("issued_at", models.DateTimeField(blank=True, null=True, verbose_name="emesso il")),
                ("valid_until", models.DateTimeField(blank=True, null=True, verbose_name="valido fino al")),
                ("sha256", models.CharField(blank=True, max_length=64, verbose_name="impronta SHA-256")),
                ("size", models.PositiveBigIntegerField(blank=True, null=True, verbose_name="dimensione (byte)")),
                ("retrieved_at", models.DateTimeField(blank=True, null=True, verbose_name="acquisito il")),
                ("error", models.CharField(blank=True, max_length=500, verbose_name="errore di acquisizione")),
                ("file", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="documents.documentversion", verbose_name="file acquisito")),
                ("subject", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="documents", to="gare.requirementverificationsubject")),
                ("verification", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="documents", to="gare.requirementverification")),
            ],
            options={
                "verbose_name": "documento FVOE della verifica",
                "verbose_name_plural": "documenti FVOE della verifica",
                "ordering": ["verification", "subject", "type_code", "pk"],
                "constraints": [models.UniqueConstraint(fields=("verification", "id_documento"), name="gare_fvoe_document_once")],
            },
        ),
        migrations.CreateModel(
            name="AnacContribution",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("cig", models.CharField(max_length=10, verbose_name="CIG")),
                ("amount_due", models.DecimalField(decimal_places=2, max_digits=14, verbose_name="contributo dovuto")),
                ("outcome", models.CharField(choices=[("PENDING", "Da verificare"), ("PAID", "Pagato"), ("NOT_FOUND", "Pagamento non trovato"), ("UNAVAILABLE", "FVOE non disponibile")], default="PENDING", max_length=12, verbose_name="esito")),
                ("note", models.TextField(blank=True, verbose_name="note")),
                ("checked_at", models.DateTimeField(blank=True, null=True, verbose_name="verificato il")),
                ("checked_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="verificato da")),
                ("evidence", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="gare.requirementverificationdocument", verbose_name="documento FVOE")),
                ("participant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="anac_contributions", to="gare.participant", verbose_name="concorrente")),
                ("verification", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="gare.requirementverification", verbose_name="richiesta FVOE")),
            ],
            options={
                "verbose_name": "verifica del contributo ANAC",
                "verbose_name_plural": "verifiche del contributo ANAC",
                "ordering": ["participant", "-pk"],
            },
        ),
    ]
