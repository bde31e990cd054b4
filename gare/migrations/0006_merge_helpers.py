# Joins the three migrations written in parallel on top of 0004_pcp_link.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("gare", "0005_fvoe_verification"),
        ("gare", "0005_minutes_text"),
        ("gare", "0005_validity_guarantee"),
    ]

    operations = []
