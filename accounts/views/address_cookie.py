"""The address a code was asked for, so the code page can fill it in, and the id of the code
asked for, which makes this browser the one that asked (accounts.services.Browser).

A signed cookie in the browser that typed it, for as long as a code lives, on the code pages'
path only. Not the session: that would write a session row, with the typed address in it, for
every request from anyone. Never the code.
"""

from django.conf import settings
from django.urls import reverse

from verification import clock


class AddressCookie:
    def __init__(self, name, *, path_url_name, ttl_setting):
        self.name = name
        self.salt = f"accounts.{name}"
        self.path_url_name = path_url_name
        self.ttl_setting = ttl_setting

    @property
    def max_age(self):
        return getattr(settings, self.ttl_setting)

    def remember(self, response, email, code_id):
        asked_at = int(clock.now().timestamp())
        response.set_signed_cookie(
            self.name,
            f"{email} {code_id} {asked_at}",  # a canonical address has no space
            salt=self.salt,
            max_age=self.max_age,
            path=reverse(self.path_url_name),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )

    def recall(self, request):
        """The address, the code id and the time (POSIX) this browser asked for a code at
        ("", "" and 0 when none)."""
        value = request.get_signed_cookie(self.name, default="", salt=self.salt, max_age=self.max_age)
        email, code_id, asked_at = (value.split(" ") + ["", "", ""])[:3]
        return email, code_id, int(asked_at) if asked_at.isdigit() else 0

    def forget(self, response):
        response.delete_cookie(self.name, path=reverse(self.path_url_name))


RESET_ADDRESS = AddressCookie(
    "reset_email", path_url_name="accounts:password_reset", ttl_setting="VERIFICATION_CODE_TTL"
)
SIGN_IN_ADDRESS = AddressCookie(
    "sign_in_email", path_url_name="accounts:login_code_request", ttl_setting="VERIFICATION_LOGIN_CODE_TTL"
)
