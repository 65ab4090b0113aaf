from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class AccountManager(UserManager):
    def get_by_email(self, email):
        """The one user whose address matches `email` regardless of case, or None."""
        return self.filter(email__iexact=self.normalize_email(email)).first()


class User(AbstractUser):
    email = models.EmailField(_("email address"), max_length=254)
    # Set once, when the person opens their activation link. Distinguishes an account that was
    # never activated (it may get a new link) from one that staff switched off (it may not).
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
