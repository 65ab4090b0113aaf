from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from accounts.addresses import canonical_email
from accounts.models import User


class ActiveSessionBackend(ModelBackend):
    """Checks an inactive account's password too, so the sign-in form can tell the owner of an
    account staff switched off (accounts.forms.LoginForm answers one awaiting activation like
    a wrong password); sessions still belong to active users only.

    What is typed as the username may be the account's address: anything with "@" in it is
    taken for an address and nothing else (no username has one), so whether a typed address
    signs in depends on that address's account alone. Either way one password hash is
    computed, or Django's dummy one when nobody matches, so an address without an account
    reads, and takes as long, as a wrong password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and "@" in username:
            owner = _account_at(username)
            # No account there: a username no account can have, so Django's dummy hash runs.
            username = owner.get_username() if owner is not None else "@"
        return super().authenticate(request, username=username, password=password, **kwargs)

    def user_can_authenticate(self, user):
        # The sign-in form refuses inactive users in `confirm_login_allowed`.
        return True

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None


def _account_at(typed: str) -> User | None:
    try:
        return User.objects.get_by_email(canonical_email(typed))
    except ValidationError:
        return None
