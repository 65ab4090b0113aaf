from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from accounts.addresses import canonical_email


def validate_canonical_email(value):
    if canonical_email(value) != value:
        raise ValidationError(_("Enter the address in its canonical form."), code="not_canonical")


class AccountManager(UserManager):
    @classmethod
    def normalize_email(cls, email):
        """The canonical form where there is one (createsuperuser, the admin, the forms);
        anything else is left for the field's validator to refuse."""
        try:
            return canonical_email(email or "")
        except ValidationError:
            return super().normalize_email(email)

    def get_by_email(self, email):
        """The one user whose address is `email` (canonical form), or None."""
        return self.filter(email=email).first()


class User(AbstractUser):
    # Always stored in canonical form (accounts/addresses.py): the unique key, the rate-limit
    # key and the address mail goes to are this one string.
    email = models.EmailField(
        _("email address"), max_length=254, validators=[validate_canonical_email]
    )
    # Set when the person proves the address (activation link or a code mailed to it).
    # Distinguishes an account that was never activated (its address is unproven: whoever
    # proves it may take it over) from one that staff switched off (it stays off).
    email_verified_at = models.DateTimeField(_("email verified at"), null=True, blank=True)

    objects = AccountManager()

    REQUIRED_FIELDS = ["email"]

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    @property
    def awaits_activation(self):
        return not self.is_active and self.email_verified_at is None
