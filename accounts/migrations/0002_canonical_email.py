"""Store every address in canonical form (accounts/addresses.py).

Accounts whose addresses were look-alike spellings of one mailbox collapse to one: the proven
(activated) account keeps the address, never-activated duplicates are deleted. Two proven
accounts for one mailbox cannot be decided here: the migration stops and names them.
An address with no canonical form (a non-ASCII local part) is left as it was.
"""

from django.core.exceptions import ValidationError
from django.db import migrations, models

import accounts.models
from accounts.addresses import canonical_email


def canonicalise(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    owners, duplicates = {}, []
    users = User.objects.order_by(
        models.F("email_verified_at").asc(nulls_last=True), "date_joined", "pk"
    )
    for user in users.iterator():
        try:
            address = canonical_email(user.email)
        except ValidationError:
            address = user.email.lower()
        owner = owners.setdefault(address, user)
        if owner is not user:
            if user.email_verified_at is not None:
                raise RuntimeError(
                    f"Users {owner.pk} and {user.pk} both proved the mailbox {address!r}; "
                    "merge or delete one of them, then migrate again."
                )
            duplicates.append(user.pk)
    # Duplicates go first, so that no survivor's new address meets a row still holding it.
    User.objects.filter(pk__in=duplicates).delete()
    for address, user in owners.items():
        if address != user.email:
            User.objects.filter(pk=user.pk).update(email=address)

class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="email",
            field=models.EmailField(
                max_length=254,
                validators=[accounts.models.validate_canonical_email],
                verbose_name="email address",
            ),
        ),
        migrations.RunPython(canonicalise, migrations.RunPython.noop),
    ]
