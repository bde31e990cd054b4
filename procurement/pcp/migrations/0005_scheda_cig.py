"""The CIG a scheda concerns; one live ANN per CIG instead of per appalto (multi-lot tenders)."""

from django.db import migrations, models


def fill_cig(apps, schema_editor):
    PcpScheda = apps.get_model("pcp", "PcpScheda")
    for pk, payload in PcpScheda.objects.values_list("pk", "payload").iterator():
        form = (payload or {}).get("anacForm") if isinstance(payload, dict) else None
        cig = form.get("cig") if isinstance(form, dict) else None
        if isinstance(cig, str) and 0 < len(cig.strip()) <= 10:
            PcpScheda.objects.filter(pk=pk).update(cig=cig.strip())


class Migration(migrations.Migration):
    dependencies = [
        ("pcp", "0004_avviso"),
    ]

    operations = [
        migrations.AddField(
            model_name="pcpscheda",
            name="cig",
            field=models.CharField(blank=True, max_length=10, verbose_name="CIG"),
        ),
        migrations.RemoveConstraint(
            model_name="pcpscheda",
            name="pcp_one_live_ann_per_appalto",
        ),
        migrations.RunPython(fill_cig, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="pcpscheda",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("code", "ANN"), ("status__in", ["DRAFT", "SENDING", "CONFIRMED", "ERROR"])
                ),
                fields=("appalto", "cig"),
                name="pcp_one_live_ann_per_cig",
            ),
        ),
    ]
