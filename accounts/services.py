"""What people do with their accounts. Views and forms call these; each says why it exists.

Addresses arrive in canonical form (accounts/addresses.py). Every function that takes an
address answers the same way, and does the same database work, whether or not it has an
account, so callers can show one page for all (no account enumeration).
"""

from typing import cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction

from accounts import addresses
from accounts.models import User
from verification import clock, ratelimit
from verification.models import OutboundEmail, Purpose
from verification.outbox import queue_email
from verification.ratelimit import Scope
from verification.services import (
    InvalidCode,
    check_code,
    code_ttl,
    consume_activation_token,
    read_activation_token,
    revoke_secrets,
)

Kind = OutboundEmail.Kind


class TooManyTries(Exception):
    def __init__(self, seconds: int) -> None:
        super().__init__(f"try again in {seconds} s")
        self.seconds = seconds


class AccountChanged(Exception):
    """Another request changed the account's password or address while this one ran (an
    undo, a reset, a change): writing this one's change would undo that one."""


def lock_unchanged(user: User, *, loaded_password: str | None = None) -> None:
    """Lock `user`'s row for the current transaction, and raise AccountChanged unless its
    password and session epoch are still what this request loaded (`loaded_password`: the
    hash as loaded, when the object holds a new one already). Without it, a request that
    loaded the user before an undo or a reset committed would write over what they did."""
    password = user.password if loaded_password is None else loaded_password
    unchanged = User.objects.select_for_update().filter(
        pk=user.pk, password=password, session_epoch=user.session_epoch
    )
    if not list(unchanged.values_list("pk", flat=True)):
        raise AccountChanged


class UsernameTaken(Exception):
    """A parallel sign-up took the username between the form's check and the insert."""


def spend_mail_allowance(*, email: str, purpose: str, client_ip: str) -> int:
    """Spend the client's and the address's mail allowance; return 0, or the seconds to wait
    when one is used up. Keyed by the address whether or not it has an account, so a refusal
    tells nothing about one."""
    return ratelimit.hit(Scope.REQUEST_FROM_CLIENT, client_ip) or _spend_address_allowance(
        email=email, purpose=purpose
    )


def _address_allowance(*, email: str, purpose: str) -> list[tuple[Scope, str]]:
    # Per inbox (sub-addresses share it). The cooldown first: its refusal should not use up
    # the hourly allowance.
    inbox = addresses.inbox_key(email)
    return [(Scope.MAIL_COOLDOWN, f"{purpose}:{inbox}"), (Scope.MAIL_TO_ADDRESS, inbox)]


def _spend_address_allowance(*, email: str, purpose: str) -> int:
    wait = ratelimit.spend(*_address_allowance(email=email, purpose=purpose))
    if not wait and addresses.inbox_key(email) != email:
        # The code page reads the last mail to the address itself (spend_code): that history
        # is kept under the address as typed; the limit above is the inbox's.
        ratelimit.record(Scope.MAIL_TO_ADDRESS, email)
    return wait


def mail_from_staff(*, user: User, kind: str, purpose: str) -> bool:
    """Queue a mail staff chose to send; it spends the address's allowance like a request of
    the person's own (so the code page's history sees it, and no one bombs an inbox from the
    admin). Return whether it was queued."""
    if _spend_address_allowance(email=user.email, purpose=purpose):
        return False
    queue_email(user=user, kind=kind)
    return True


def seconds_until_next_mail(*, email: str, purpose: str) -> int:
    """How long before a mail of `purpose` to `email` is allowed again (0: now)."""
    return max(
        ratelimit.seconds_until_allowed(scope, key)
        for scope, key in _address_allowance(email=email, purpose=purpose)
    )


def register_user(*, username: str, email: str, password: str, client_ip: str) -> None:
    """Create an inactive account and mail its activation link. An address whose account was
    never activated is taken over by the new sign-up (its owner has not proven it); an
    address with a proven account gets "you already have an account" instead. The caller
    cannot tell these apart, nor a refusal by the address's rate limit."""
    # The per-client limit first: it does not depend on the address, and it spares the hasher.
    if ratelimit.hit(Scope.REQUEST_FROM_CLIENT, client_ip):
        return
    # Hashed in every branch, so all take the same time, and outside the transaction, so
    # SQLite's write lock is not held while Argon2 works.
    password_hash = make_password(password)
    try:
        _sign_up(username=username, email=email, password_hash=password_hash)
    except IntegrityError:
        if not User.objects.filter(email=email).exists():
            raise UsernameTaken(username) from None
        # A parallel sign-up for this address committed first; now ours finds it.
        try:
            _sign_up(username=username, email=email, password_hash=password_hash)
        except IntegrityError:
            raise UsernameTaken(username) from None


def username_is_taken(username: str) -> bool:
    """Taken by an account, or asked for by a sign-up lately (which may have made none)."""
    return User.objects.filter(username__iexact=username).exists() or bool(
        ratelimit.recent_hits(Scope.USERNAME_CLAIM, username.lower())
    )


@transaction.atomic
def _sign_up(*, username: str, email: str, password_hash: str) -> None:
    ratelimit.hit(Scope.USERNAME_CLAIM, username.lower())
    if _spend_address_allowance(email=email, purpose=Purpose.ACTIVATION):
        return
    owner = User.objects.select_for_update().filter(email=email).first()
    # Taken since the form looked (by a parallel sign-up): the same answer for every address,
    # including one whose proven account would otherwise only be mailed.
    holders = User.objects.filter(username__iexact=username)
    if (holders.exclude(pk=owner.pk) if owner else holders).exists():
        raise UsernameTaken(username)
    if owner is None:
        user = User.objects.create(username=username, email=email, password=password_hash, is_active=False)
        queue_email(user=user, kind=Kind.ACTIVATION)
    elif owner.awaits_activation:
        # Whoever signed up before never proved the address: the new sign-up replaces theirs,
        # and their link dies now.
        owner.username, owner.password, owner.date_joined = username, password_hash, clock.now()
        owner.save(update_fields=["username", "password", "date_joined"])
        revoke_secrets(user=owner, purpose=Purpose.ACTIVATION)
        queue_email(user=owner, kind=Kind.ACTIVATION)
    else:
        queue_email(user=owner, kind=Kind.ACCOUNT_EXISTS)


def resend_activation(*, email: str, client_ip: str) -> None:
    """Mail a new link to an account that was never activated; anything else gets nothing,
    through the same steps (a mail record without a recipient)."""
    if spend_mail_allowance(email=email, purpose=Purpose.ACTIVATION, client_ip=client_ip):
        return
    user = User.objects.get_by_email(email)
    awaits = user is not None and user.awaits_activation
    queue_email(user=user if awaits else None, kind=Kind.ACTIVATION)


class WrongPassword(Exception):
    """The password is not the one this sign-up was made with."""


def check_password(*, user: AbstractBaseUser, password: str, client_ip: str) -> None:
    """Raise TooManyTries or WrongPassword unless `password` is the user's. Wrong passwords
    count against the client, as at sign-in (never against the account: strangers could
    lock its owner out): counted before the check, and taken back when it is right, so
    parallel guesses cannot all pass the limit."""
    wait = ratelimit.hit(Scope.FAILED_SIGNIN_FROM_CLIENT, client_ip)
    if wait:
        raise TooManyTries(wait)
    if not user.check_password(password):
        raise WrongPassword
    ratelimit.refund(Scope.FAILED_SIGNIN_FROM_CLIENT, client_ip)


def spend_session_allowance(*, user: User) -> int:
    """Count a new session for `user` (its password was right); return 0, or the seconds to
    wait when the account has had too many lately. Keyed by the account and its sessions'
    hash: a new password (a code proves the mailbox) starts a new count, so whoever spent it
    with a stolen password does not keep the owner out."""
    return ratelimit.hit(Scope.NEW_SESSION_FOR_ACCOUNT, f"{user.pk}:{user.get_session_auth_hash()}")


def activate_account(*, token: str, password: str, client_ip: str) -> User:
    """Spend the activation link and let its user sign in. The link proves the mailbox; the
    password proves this is the sign-up its reader made, not one a stranger made with their
    address (which the reader might activate by following the mail). Wrong passwords count
    against the client like wrong passwords at sign-in."""
    check_password(user=read_activation_token(token).user, password=password, client_ip=client_ip)
    with transaction.atomic():
        user = cast(User, consume_activation_token(token))
        _prove_address(user)
    return user


def _prove_address(user: User) -> None:
    user.is_active = True
    user.email_verified_at = clock.now()
    user.save(update_fields=["is_active", "email_verified_at"])
    revoke_secrets(user=user, purpose=Purpose.ACTIVATION)


def may_recover(user: User | None) -> bool:
    """Who may set a password with a code: active accounts, and never-activated ones (the
    code proves the address, so it activates them); not accounts that staff switched off."""
    return user is not None and (user.is_active or user.awaits_activation)


def may_sign_in(user: User | None) -> bool:
    return user is not None and user.is_active


def request_password_reset(*, email: str, client_ip: str) -> None:
    """Mail a reset code to an account that may recover; anything else gets nothing,
    through the same steps (a mail record without a recipient)."""
    if spend_mail_allowance(email=email, purpose=Purpose.PASSWORD_RESET, client_ip=client_ip):
        return
    user = User.objects.get_by_email(email)
    queue_email(user=user if may_recover(user) else None, kind=Kind.PASSWORD_RESET)


def reset_password_with_code(*, email: str, code: str, password: str, client_ip: str) -> User:
    """Set the password of the account at `email` if `code` is its reset code; raise
    TooManyTries or InvalidCode otherwise. The guess is counted (and committed) first, so a
    refusal still spends a try."""
    wait = ratelimit.hit(Scope.CHECK_FROM_CLIENT, client_ip)
    if wait:
        raise TooManyTries(wait)
    user = User.objects.get_by_email(email)
    spend_code(
        email=email, code=code, purpose=Purpose.PASSWORD_RESET, user=user if may_recover(user) else None
    )
    try:
        set_new_password(user=user, password=password)
    except AccountChanged:  # an undo or another reset went first, and killed this code
        raise InvalidCode.dead() from None
    return user


def request_sign_in_code(*, email: str, client_ip: str) -> None:
    """Mail a sign-in code to an active account; one never activated gets its activation
    link instead (a code would sign in to an account that cannot sign in yet); anything
    else gets nothing, through the same steps."""
    if spend_mail_allowance(email=email, purpose=Purpose.LOGIN, client_ip=client_ip):
        return
    user = User.objects.get_by_email(email)
    if user is not None and user.awaits_activation:
        queue_email(user=user, kind=Kind.ACTIVATION)
    else:
        queue_email(user=user if may_sign_in(user) else None, kind=Kind.LOGIN_CODE)


def sign_in_with_code(*, email: str, code: str, client_ip: str) -> User:
    """Return the active user whose sign-in code `code` is, or raise TooManyTries or
    InvalidCode. The code proves the address again; every other sign-in code of the user
    dies. Wrong codes count against the client like wrong passwords."""
    wait = ratelimit.seconds_until_allowed(Scope.FAILED_SIGNIN_FROM_CLIENT, client_ip) or ratelimit.hit(
        Scope.CHECK_FROM_CLIENT, client_ip
    )
    if wait:
        raise TooManyTries(wait)
    user = User.objects.get_by_email(email)
    try:
        spend_code(email=email, code=code, purpose=Purpose.LOGIN, user=user if may_sign_in(user) else None)
    except InvalidCode:
        ratelimit.hit(Scope.FAILED_SIGNIN_FROM_CLIENT, client_ip)
        raise
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(email_verified_at=clock.now())
        revoke_secrets(user=user, purpose=Purpose.LOGIN)
    return user


def spend_code(*, email: str, code: str, purpose: str, user: User | None, bound_to: str = "") -> None:
    """Spend one guess at `user`'s `purpose` code, mailed to `email`; return if it is right,
    raise InvalidCode otherwise (always, when `user` is None: no account may use it).

    What the page says (tries left, or dead) comes from the address's own history, the same
    for every address: guesses since the last mail to it, within a code's lifetime. The code's
    row, for an account, only decides whether this guess is right.
    """
    tries_left = _tries_left(email, ttl=code_ttl(purpose))
    if not tries_left:
        raise InvalidCode.dead()
    ratelimit.hit(Scope.GUESS_AT_ADDRESS, email)
    if user is not None:
        try:
            check_code(user=user, purpose=purpose, code=code, bound_to=bound_to)
            return
        except InvalidCode:
            pass
    raise InvalidCode.wrong(attempts_left=tries_left - 1)


def _tries_left(email: str, *, ttl: int) -> int:
    last_mail = max(ratelimit.recent_hits(Scope.MAIL_TO_ADDRESS, email), default=None)
    if last_mail is None or last_mail <= clock.now().timestamp() - ttl:
        return 0
    guesses = sum(t >= last_mail for t in ratelimit.recent_hits(Scope.GUESS_AT_ADDRESS, email))
    return max(settings.VERIFICATION_CODE_MAX_ATTEMPTS - guesses, 0)


def set_new_password(*, user: User, password: str) -> None:
    """Set a password proven by a code, or by the current one (a signed-in change). Changing
    the hash ends every session of the user (Django checks it on each request; a signed-in
    change keeps its own with update_session_auth_hash); the owner is told by mail. A code
    proves the address, so an account never activated is activated, with this password: a
    password set by whoever signed up without proving the address never survives. Raise
    AccountChanged if another request changed the password or address since `user` was
    loaded."""
    loaded_password = user.password
    user.set_password(password)  # hashing, outside the transaction
    user.password_changed_at = clock.now()
    with transaction.atomic():
        lock_unchanged(user, loaded_password=loaded_password)
        user.save(update_fields=["password", "password_changed_at"])
        if user.awaits_activation:
            _prove_address(user)
        revoke_secrets(user=user, purpose=Purpose.PASSWORD_RESET)
        queue_email(user=user, kind=Kind.PASSWORD_CHANGED)
