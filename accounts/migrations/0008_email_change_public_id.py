import uuid

from django.db import migrations, models


def give_each_change_its_own_id(apps, schema_editor):
    EmailChange = apps.get_model("accounts", "EmailChange")
    for change in EmailChange.objects.filter(public_id=None).only("pk"):
        change.public_id = uuid.uuid4()
        change.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_address_change_index"),
    ]

    operations = [
        # Nullable first: a default would give every existing row the same id.
        migrations.AddField(
            model_name="emailchange",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(give_each_change_its_own_id, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="emailchange",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
