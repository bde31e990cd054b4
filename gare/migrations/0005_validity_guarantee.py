import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_initial"),
        ("gare", "0004_pcp_link"),
    ]

    operations = [
        migrations.AddField(
            model_name="validityreply",
            name="guarantee",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="documents.documentversion",
                verbose_name="garanzia provvisoria prorogata",
            ),
        ),
        migrations.AddField(
            model_name="validityreply",
            name="guarantee_sha256",
            field=models.CharField(
                blank=True, max_length=64, verbose_name="impronta SHA-256 della garanzia"
            ),
        ),
    ]
