"""What people do with their accounts. Views call these; each says why it exists.

Every function that takes an email answers the same way whether or not the address has an
account, so callers can show one page for all (no account enumeration).
"""

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction

from accounts.models import User
from verification import clock
from verification.mail import queue_email
from verification.models import OutboundEmail, Purpose
from verification.services import consume_activation_token, revoke_secrets

Kind = OutboundEmail.Kind


@transaction.atomic
def register_user(*, username, email, password):
    """Create an inactive account and mail its activation link; a taken address gets a
    "you already have an account" mail instead, and the caller cannot tell the difference."""
    # Hash before looking the address up, so both branches take the same time.
    password_hash = make_password(password)
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


def resend_activation(*, email):
    """Mail a new link to an account that was never activated; anything else gets nothing."""
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


def request_password_reset(*, email):
    """Mail a reset code to an active account. One that was never activated gets its
    activation link instead, since it cannot sign in yet anyway."""
    user = User.objects.get_by_email(email)
    if user is None:
        return
    if user.is_active:
        queue_email(user=user, kind=Kind.PASSWORD_RESET)
    elif user.awaits_activation:
        queue_email(user=user, kind=Kind.ACTIVATION)


@transaction.atomic
def reset_password(*, user, password):
    """Set a password proven by a code. Changing the hash ends every session of the user
    (Django checks it on each request); no session is started here."""
    user.set_password(password)
    user.save(update_fields=["password"])
    revoke_secrets(user=user, purpose=Purpose.PASSWORD_RESET)
    queue_email(user=user, kind=Kind.PASSWORD_CHANGED)
