"""Username claims get a table of their own (they were rate-limit rows keyed by Python's
lower(), a fold other than the accounts' one): issue 19, point 1."""

import django.db.models.functions.text
from django.db import migrations, models

import verification.clock


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_address_changes"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsernameClaim",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("username", models.CharField(max_length=150, verbose_name="username")),
                ("claimed_at", models.DateTimeField(default=verification.clock.now, verbose_name="claimed")),
            ],
            options={
                "verbose_name": "username claim",
                "indexes": [models.Index(fields=["claimed_at"], name="accounts_us_claimed_7afaaa_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        django.db.models.functions.text.Upper("username"), name="accounts_claim_username_fold"
                    )
                ],
            },
        ),
    ]
