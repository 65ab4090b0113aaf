"""What the sweeps look for past its retention, on an index (issue 24), built without
locking writes: concurrently on PostgreSQL, hence not atomic."""

from django.db import migrations, models

from verification.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("verification", "0010_rate_limits_in_one_statement"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="outboundemail",
            index=models.Index(fields=["created_at"], name="verification_mail_created"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="onetimesecret",
            index=models.Index(fields=["expires_at"], name="verification_secret_expires"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="failedguesses",
            index=models.Index(fields=["last_at"], name="verification_guesses_last"),
        ),
    ]
