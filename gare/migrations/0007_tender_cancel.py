from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("gare", "0006_merge_helpers")]

    operations = [
        migrations.AddField(
            model_name="tender",
            name="cancelled_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="annullata il"),
        ),
        migrations.AddField(
            model_name="tender",
            name="cancellation_act",
            field=models.CharField(
                blank=True, max_length=255, verbose_name="atto di annullamento"
            ),
        ),
        migrations.AddField(
            model_name="tender",
            name="cancellation_reason",
            field=models.TextField(blank=True, verbose_name="motivazione dell'annullamento"),
        ),
    ]
