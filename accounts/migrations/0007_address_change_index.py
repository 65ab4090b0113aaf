"""Changes away from an address, found by that address (issue 24), indexed without locking
writes to the table: concurrently on PostgreSQL, hence not atomic."""

from django.db import migrations, models

from verification.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0006_username_fold_index"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="emailchange",
            index=models.Index(fields=["old_email", "completed_at"], name="accounts_em_old_ema_94acb5_idx"),
        ),
    ]
