from django.db import migrations


def forwards(apps, schema_editor):
    from ptim.reference import seed_reference

    seed_reference(apps)


class Migration(migrations.Migration):
    dependencies = [("ptim", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
