from django.contrib.auth.backends import ModelBackend


class ActiveSessionBackend(ModelBackend):
    """Checks an inactive account's password too, so the sign-in form can tell the owner of an
    account staff switched off (accounts.forms.LoginForm answers one awaiting activation like
    a wrong password); sessions still belong to active users only."""

    def user_can_authenticate(self, user):
        # The sign-in form refuses inactive users in `confirm_login_allowed`.
        return True

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None
