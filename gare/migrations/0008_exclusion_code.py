from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gare", "0007_tender_cancel"),
    ]

    operations = [
        migrations.AddField(
            model_name="exclusion",
            name="code",
            field=models.CharField(blank=True, max_length=40, verbose_name="codice del motivo"),
        ),
    ]
