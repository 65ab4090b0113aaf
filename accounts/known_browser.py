"""Browsers an account has signed in with. NIST SP 800-63B 5.2.2 caps wrong guesses at an
account's codes; a browser the account signed in with before is how its owner keeps guessing
when strangers' wrong guesses have reached that cap (docs/security.md, "Guessing codes").

The cookie holds a keyed digest of the account, of its password hash and session epoch, and
of the last time its mailbox was proven: it names nobody. It dies with every new password and
whenever the mailbox is proven again (a reset or sign-in by code, a change of address, its
undo), so that whoever signed in before the owner took the account back, or changed its
password, keeps nothing; the browser that made the change is remembered again at once
(`stay_signed_in`). A known browser is let past the address's cap on wrong codes, not its
waits (accounts/services.py `guess_code_bounded`): it may be a thief's, with the password.
"""

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils.crypto import constant_time_compare, salted_hmac

COOKIE = "known_browser"
MAX_AGE = 365 * 24 * 60 * 60


def proof_of(user) -> str:
    proven = user.email_verified_at.isoformat() if user.email_verified_at else ""
    return salted_hmac(
        "accounts.known_browser",
        f"{user.pk}:{user.password}:{user.session_epoch}:{proven}",
        algorithm="sha256",
    ).hexdigest()


def is_of(proof: str, user) -> bool:
    """Whether `proof` (a browser's cookie) says that `user` signed in with that browser."""
    return bool(proof) and user is not None and constant_time_compare(proof, proof_of(user))


def proof_in(request) -> str:
    return request.COOKIES.get(COOKIE, "")


@receiver(user_logged_in)
def _remember_the_sign_in(sender, request, user, **kwargs):
    # Strangers' wrong codes at the address still count: forgetting them here would tell a
    # stranger who pushed the count up when the owner signs in. This browser, being known,
    # may guess past their cap.
    if request is not None:
        request.known_browser_proof = proof_of(user)


def stay_signed_in(request, user) -> None:
    """After this browser changed the account's password or address: keep its session (every
    other one ends) and its standing as a browser the account signed in with."""
    update_session_auth_hash(request, user)
    request.known_browser_proof = proof_of(user)


class RememberSignIns:
    """Sets the cookie on the response to a request that signed someone in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        proof = getattr(request, "known_browser_proof", None)
        if proof:
            response.set_cookie(
                COOKIE,
                proof,
                max_age=MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
