"""What people do with their accounts. Views call these; each says why it exists.

Every function that takes an email answers the same way whether or not the address has an
account, so callers can show one page for all (no account enumeration).
"""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction

from accounts.models import User
from verification import clock, ratelimit
from verification.outbox import queue_email
from verification.models import OneTimeSecret, OutboundEmail, Purpose
from verification.ratelimit import first_refusal
from verification.services import InvalidCode, check_code, consume_activation_token, revoke_secrets

Kind = OutboundEmail.Kind


class TooManyTries(Exception):
    def __init__(self, seconds):
        super().__init__(f"try again in {seconds} s")
        self.seconds = seconds


def _address_key(email):
    return email.strip().lower()


def may_send_mail(*, email, client_ip):
    """Spend the client's and the address's mail allowance. Keyed by the address as typed
    (normalized), whether or not it has an account, so a refusal tells nothing either."""
    return not first_refusal(("request_from_ip", client_ip), ("mail_to_address", _address_key(email)))


def register_user(*, username, email, password, client_ip):
    """Create an inactive account and mail its activation link; a taken address gets a
    "you already have an account" mail instead, and the caller cannot tell the difference.
    Over a rate limit nothing happens, and the caller still cannot tell."""
    # Hash first: in every branch, so all take the same time, and outside the transaction,
    # so SQLite's write lock is not held while Argon2 works.
    password_hash = make_password(password)
    with transaction.atomic():
        if not may_send_mail(email=email, client_ip=client_ip):
            return None
        owner = User.objects.get_by_email(email)
        if owner is None:
            try:
                with transaction.atomic():
                    user = User.objects.create(
                        username=username, email=email, password=password_hash, is_active=False
                    )
            except IntegrityError:  # the same address registered a moment ago, in parallel
                owner = User.objects.get_by_email(email)
                if owner is None:  # the username was the clash: the form will say so next time
                    raise
            else:
                queue_email(user=user, kind=Kind.ACTIVATION)
                return user
        queue_email(user=owner, kind=Kind.ACCOUNT_EXISTS)
        return None


def resend_activation(*, email, client_ip):
    """Mail a new link to an account that was never activated; anything else gets nothing."""
    if not may_send_mail(email=email, client_ip=client_ip):
        return
    user = User.objects.get_by_email(email)
    if user is not None and user.awaits_activation:
        queue_email(user=user, kind=Kind.ACTIVATION)


@transaction.atomic
def activate_account(*, token):
    """Spend the activation link and let its user sign in."""
    user = consume_activation_token(token)
    user.is_active = True
    user.email_verified_at = clock.now()
    user.save(update_fields=["is_active", "email_verified_at"])
    revoke_secrets(user=user, purpose=Purpose.ACTIVATION)
    return user


def request_password_reset(*, email, client_ip):
    """Mail a reset code to an active account. One that was never activated gets its
    activation link instead, since it cannot sign in yet anyway."""
    if not may_send_mail(email=email, client_ip=client_ip):
        return
    user = User.objects.get_by_email(email)
    if user is None:
        return
    if user.is_active:
        queue_email(user=user, kind=Kind.PASSWORD_RESET)
    elif user.awaits_activation:
        queue_email(user=user, kind=Kind.ACTIVATION)


def seconds_until_next_mail(*, email):
    """How long before a mail to `email` is allowed again (0: now)."""
    return ratelimit.seconds_until_allowed("mail_to_address", _address_key(email))


def check_reset_code(*, email, code, client_ip):
    """Spend `code` and return its user, or raise TooManyTries or InvalidCode.

    An address with no usable code (unknown, inactive, expired, used up) is answered from
    its own history instead: tries left since the last code was mailed to it. So a wrong guess
    reads the same whether or not the address has an account.
    """
    key = _address_key(email)
    wait = first_refusal(("check_from_ip", client_ip), ("check_for_address", key))
    if wait:
        raise TooManyTries(wait)
    user = User.objects.get_by_email(email)
    if user is not None and user.is_active:
        try:
            check_code(user=user, purpose=Purpose.PASSWORD_RESET, code=code)
            return user
        except InvalidCode as refused:
            # A wrong guess at a live code, or a code already used: only its owner sees these.
            if refused.attempts_left is not None or _latest_code_is_used(user):
                raise
    raise InvalidCode(attempts_left=_attempts_left_by_history(key))


def _latest_code_is_used(user):
    latest = OneTimeSecret.objects.filter(user=user, purpose=Purpose.PASSWORD_RESET).first()
    return latest is not None and latest.used_at is not None


def _attempts_left_by_history(key):
    last_mail = max(ratelimit.recent_hits("mail_to_address", key), default=None)
    if last_mail is None or last_mail <= clock.now().timestamp() - settings.VERIFICATION_CODE_TTL:
        return None
    guesses = sum(t >= last_mail for t in ratelimit.recent_hits("check_for_address", key))
    return max(settings.VERIFICATION_CODE_MAX_ATTEMPTS - guesses, 0) or None


def reset_password(*, user, password):
    """Set a password proven by a code. Changing the hash ends every session of the user
    (Django checks it on each request); no session is started here."""
    user.set_password(password)  # hashing, outside the transaction
    with transaction.atomic():
        user.save(update_fields=["password"])
        revoke_secrets(user=user, purpose=Purpose.PASSWORD_RESET)
        queue_email(user=user, kind=Kind.PASSWORD_CHANGED)
