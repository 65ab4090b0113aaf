from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from accounts.addresses import canonical_email
from accounts.models import User


class ActiveSessionBackend(ModelBackend):
    """Checks an inactive account's password too, so the sign-in form can tell the owner of an
    account staff switched off (accounts.forms.LoginForm answers one awaiting activation like
    a wrong password); sessions still belong to active users only.

    What is typed as the username may be the account's address: the account at that address
    signs in with its password, else it is taken for a username (which may contain "@").
    Either way one password hash is computed, or Django's dummy one when nobody matches, so
    an address without an account reads, and takes as long, as a wrong password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        owner = _account_at(username)
        if owner is not None:
            username = owner.get_username()
        return super().authenticate(request, username=username, password=password, **kwargs)

    def user_can_authenticate(self, user):
        # The sign-in form refuses inactive users in `confirm_login_allowed`.
        return True

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None


def _account_at(typed: str | None) -> User | None:
    if not typed or "@" not in typed:
        return None
    try:
        return User.objects.get_by_email(canonical_email(typed))
    except ValidationError:
        return None
