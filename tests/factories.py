import factory
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from accounts.models import User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = Password(PASSWORD)
    is_active = True
    email_verified_at = factory.LazyFunction(timezone.now)

    class Params:
        # Signed up, never opened the activation link.
        awaiting_activation = factory.Trait(is_active=False, email_verified_at=None)
        # Activated once, then switched off by staff.
        deactivated = factory.Trait(is_active=False)
