"""Create the Django-Q2 schedule that reads bounces from the IMAP mailbox every minute
(idempotent; the job does nothing while VERIFICATION_BOUNCE_IMAP_URL is empty)."""

from django.db import migrations

POLL = "verification.poll_bounce_mailbox"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=POLL,
        defaults={
            "func": "verification.tasks.poll_bounce_mailbox",
            "schedule_type": "I",  # Schedule.MINUTES
            "minutes": 1,
            "repeats": -1,
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=POLL).delete()


class Migration(migrations.Migration):
    dependencies = [("verification", "0012_message_attempts_and_suppressions")]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
