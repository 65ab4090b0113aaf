from django.db import migrations


def claim_security_notices_first(apps, schema_editor):
    """Notices already waiting that OutboundEmail.WAITED_FOR now claims with the codes."""
    OutboundEmail = apps.get_model("verification", "OutboundEmail")
    OutboundEmail.objects.filter(kind__in=["email_changed", "password_changed"]).update(priority=0)


class Migration(migrations.Migration):
    dependencies = [
        ("verification", "0008_mail_for_an_undone_change"),
    ]

    operations = [
        migrations.RunPython(claim_security_notices_first, migrations.RunPython.noop),
    ]
