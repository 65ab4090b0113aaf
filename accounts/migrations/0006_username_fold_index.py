"""The index of the one username fold (accounts.models.UsernameQuerySet), built without
locking writes to a table that may hold millions of rows: concurrently on PostgreSQL, hence
not atomic (issues 19 and 24)."""

import django.db.models.functions.text
from django.db import migrations, models

from verification.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0005_username_claims"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="user",
            index=models.Index(django.db.models.functions.text.Upper("username"), name="accounts_user_username_fold"),
        ),
    ]
