"""Create the Django-Q2 schedule that sweeps accounts every hour (idempotent)."""

from django.db import migrations

SWEEP = "accounts.sweep_accounts"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=SWEEP,
        defaults={
            "func": "accounts.tasks.sweep_accounts",
            "schedule_type": "H",  # Schedule.HOURLY
            "repeats": -1,
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SWEEP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_canonical_email"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
