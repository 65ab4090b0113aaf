"""What people do with their accounts. Views and forms call these; each says why it exists.

Addresses arrive in canonical form (accounts/addresses.py). Every function that takes an
address answers the same way, and does the same database work, whether or not it has an
account, so callers can show one page for all (no account enumeration).
"""

import functools
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import translation

from accounts import addresses, known_browser, signals
from accounts.models import User, UsernameClaim
from accounts.vocabulary import MailKind, Purpose
from verification import clock, ratelimit, suppression
from verification.models import OneTimeSecret
from verification.outbox import queue_email
from verification.ratelimit import Scope
from verification.tokens import (
    InvalidCode,
    InvalidLink,
    TooManyGuesses,
    asked_code_challenge,
    consume_link_token,
    count_wrong_guess,
    guess_code,
    guess_wait,
    last_code_challenge,
    lock_wrong_guesses,
    open_code_challenge,
    read_link_token,
    revoke_secrets,
)


class TooManyTries(Exception):
    def __init__(self, seconds: int) -> None:
        super().__init__(f"try again in {seconds} s")
        self.seconds = seconds


class CodesClosed(TooManyTries):
    """So many wrong codes were tried at the address that none is taken any more, but from a
    browser the account signed in with before (docs/security.md, "Guessing codes")."""

    def __init__(self) -> None:
        super().__init__(0)


@dataclass(frozen=True)
class Browser:
    """What the browser that guesses a code proves of itself: the code it asked for (the id
    in its signed address cookie), and the account it signed in with before, if any."""

    asked_for: str = ""
    signed_in_proof: str = ""  # accounts/known_browser.py


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


def spend_mail_allowance(*, email: str, purpose: str, client_ip: str, known_here: bool = False) -> int:
    """Spend the client's and the address's mail allowance; return 0, or the seconds to wait
    when one is used up. Keyed by the address whether or not it has an account, so a refusal
    tells nothing about one; `known_here`: asked from a browser the address's account signed
    in with, which has an allowance of its own."""
    return ratelimit.hit(Scope.REQUEST_FROM_CLIENT, client_ip) or _spend_address_allowance(
        email=email, purpose=purpose, known_here=known_here
    )


def _spend_address_allowance(*, email: str, purpose: str, known_here: bool = False) -> int:
    """Spend the address's cooldown for `purpose` and its hourly allowance, per inbox
    (sub-addresses share them); 0, or the seconds to wait. The cooldown first: its refusal
    does not use up the hourly allowance. A browser the account signed in with spends a
    cooldown and an allowance of its own, as large: a stranger who spends the address's (and
    can keep it spent, asking once a minute) cannot hold the owner's codes back from there."""
    inbox = addresses.inbox_key(email)
    if known_here:
        inbox = f"known:{inbox}"
    # Per purpose too: a request that mails nothing (a new activation link for an account
    # that is active) must not spend what reset and sign-in codes need; to hold those back a
    # stranger must mail the owner codes, which the owner then sees (an attacker helper held
    # them back, silently, with activation requests).
    return ratelimit.spend(
        (Scope.MAIL_COOLDOWN, f"{purpose}:{inbox}"), (Scope.MAIL_TO_ADDRESS, f"{purpose}:{inbox}")
    )


def mail_from_staff(*, user: User, kind: str, purpose: str) -> bool:
    """Queue a mail staff chose to send; it spends the address's allowance like a request of
    the person's own (no one bombs an inbox from the admin). Return whether it was queued."""
    if _spend_address_allowance(email=user.email, purpose=purpose):
        return False
    if purpose == Purpose.ACTIVATION:
        queue_email(user=user, kind=kind)
    else:
        _mail_code(email=user.email, purpose=purpose, kind=kind, user=user)
    return True


def _mail_code(*, email: str, purpose: str, kind: str, user: User | None, to: User | None = None) -> str:
    """Record a code asked for `email`, for `user` (None: no account may use it), and the mail
    that carries it (to `user`, or to `to`); return the code's id, which the asking browser
    keeps (Browser.asked_for)."""
    challenge = open_code_challenge(address=email, purpose=purpose, user=user)
    queue_email(user=to or user, kind=kind, secret=challenge)
    return str(challenge.pk)


def refused_code_id() -> str:
    """What a request refused by a limit answers instead of its code's id: an id like any, of
    no code, so that the asking browser's cookie looks the same whether or not someone else
    asked for the address a moment before (which is what the cooldown refuses)."""
    return str(uuid.uuid4())


def resend_wait(*, asked_at: float) -> int:
    """Seconds before the browser that asked at `asked_at` may ask again: its own cooldown.
    Not the address's: that one moves when anyone asks for the address, and would tell."""
    return max(0, math.ceil(asked_at + settings.VERIFICATION_MAIL_COOLDOWN - clock.now().timestamp()))


def register_user(
    *,
    username: str,
    email: str,
    password: str,
    client_ip: str,
    language: str = "",
    retry_bounced: bool = False,
) -> None:
    """Create an inactive account and mail its activation link. An address whose account was
    never activated is taken over by the new sign-up (its owner has not proven it); an
    address with a proven account, or held for an account's undo (User.objects.holding),
    gets "you already have an account" instead. The caller cannot tell these apart, nor a
    refusal by the address's rate limit. `retry_bounced`: the person confirmed an address that
    bounced for good, which then gets its one retry, once the limits let the mail go."""
    # The per-client limit first: it does not depend on the address, and it spares the hasher.
    if ratelimit.hit(Scope.REQUEST_FROM_CLIENT, client_ip):
        return
    # A site that asks for no username gives each account one that nobody sees or types.
    username = username or User.made_up_username()
    # Hashed in every branch, so all take the same time, and outside the transaction, so
    # SQLite's write lock is not held while Argon2 works.
    password_hash = make_password(password)
    sign_up = functools.partial(
        _sign_up,
        username=username,
        email=email,
        password_hash=password_hash,
        language=language,
        retry=retry_bounced,
    )
    try:
        sign_up()
    except IntegrityError:
        if not User.objects.with_email(email).exists():
            raise UsernameTaken(username) from None
        # A parallel sign-up for this address committed first; now ours finds it.
        try:
            sign_up()
        except IntegrityError:
            raise UsernameTaken(username) from None


def username_is_taken(username: str) -> bool:
    """Taken by an account, or claimed by a sign-up that the sweep has not yet forgotten (it
    may have made no account), both compared by the database's one fold."""
    return (
        User.objects.with_username(username).exists()
        or UsernameClaim.objects.with_username(username).exists()
    )


@transaction.atomic
def _sign_up(*, username: str, email: str, password_hash: str, language: str, retry: bool) -> None:
    _claim_username(username)
    if _spend_address_allowance(email=email, purpose=Purpose.ACTIVATION):
        return
    if retry:
        suppression.retry_address(address=email)
    owner = User.objects.holding(email).select_for_update().first()
    # Taken since the form looked (by a parallel sign-up): the same answer for every address,
    # including one whose proven account would otherwise only be mailed.
    holders = User.objects.with_username(username)
    if (holders.exclude(pk=owner.pk) if owner else holders).exists():
        raise UsernameTaken(username)
    if owner is None:
        user = User.objects.create(
            username=username, email=email, password=password_hash, is_active=False, language=language
        )
        queue_email(user=user, kind=MailKind.ACTIVATION)
        signals.tell_integrators(signals.user_signed_up, user=user)
    elif owner.email != email:
        # Held for the undo of a change away from it: told there, with the way back.
        queue_email(user=owner, kind=MailKind.ACCOUNT_EXISTS, to_address=email)
    elif owner.awaits_activation:
        # Whoever signed up before never proved the address: the new sign-up replaces theirs,
        # and their link dies now.
        owner.username, owner.password, owner.date_joined = username, password_hash, clock.now()
        owner.language = language
        owner.save(update_fields=["username", "password", "date_joined", "language"])
        revoke_secrets(user=owner, purpose=Purpose.ACTIVATION)
        queue_email(user=owner, kind=MailKind.ACTIVATION)
        signals.tell_integrators(signals.user_signed_up, user=owner)
    else:
        queue_email(user=owner, kind=MailKind.ACCOUNT_EXISTS)


def _claim_username(username: str) -> None:
    # Claimed whatever happens next (no account for a proven address, or a refusal by the
    # address's allowance), so that "taken" never depends on the address. The claim's row
    # stays locked until the sign-up commits: a parallel sign-up for the same username, in
    # any case, waits for it here and then finds its account.
    now = clock.now()
    if UsernameClaim.objects.with_username(username).update(claimed_at=now):
        return
    try:
        with transaction.atomic():
            UsernameClaim.objects.create(username=username, claimed_at=now)
    except IntegrityError:  # a parallel sign-up claimed it first, and has committed
        UsernameClaim.objects.with_username(username).update(claimed_at=now)


@transaction.atomic
def resend_activation(*, email: str, client_ip: str) -> None:
    """Mail a new link to an account that was never activated; anything else gets nothing,
    through the same steps (a mail record without a recipient)."""
    if spend_mail_allowance(email=email, purpose=Purpose.ACTIVATION, client_ip=client_ip):
        return
    user = User.objects.get_by_email(email)
    awaits = user is not None and user.awaits_activation
    queue_email(user=user if awaits else None, kind=MailKind.ACTIVATION)


class WrongPassword(Exception):
    """The password is not the one this sign-up was made with."""


def verify_password_counting_failures(*, user: AbstractBaseUser, password: str, client_ip: str) -> None:
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


def read_activation_link(token: str) -> OneTimeSecret:
    """The usable activation row behind `token`, without spending it; the link of an account
    that is active by now reads as used."""
    row, _ = read_link_token(token, purpose=Purpose.ACTIVATION)
    if row.user is None or row.user.is_active:  # a link always has its user
        raise InvalidLink("used")
    return row


def activate_account(*, token: str, password: str, client_ip: str) -> User:
    """Spend the activation link and let its user sign in. The link proves the mailbox; the
    password proves this is the sign-up its reader made, not one a stranger made with their
    address (which the reader might activate by following the mail). Wrong passwords count
    against the client like wrong passwords at sign-in."""
    signed_up = cast(User, read_activation_link(token).user)
    verify_password_counting_failures(user=signed_up, password=password, client_ip=client_ip)
    with transaction.atomic():
        user = cast(User, consume_link_token(token, purpose=Purpose.ACTIVATION)[0])
        if user.is_active:  # proven some other way (a reset code) since it was read
            raise InvalidLink("used")
        if User.objects.get_by_email(user.email) != user:  # held for another account's undo
            raise InvalidLink("expired")
        _prove_address(user)
        signals.tell_integrators(signals.address_proven, user=user, how="activation")
    return user


def _drop_what_the_sign_up_chose(user: User) -> None:
    """A code recovers a never-activated account: whoever signed up may have been a stranger
    with the owner's address, so their choices go with their password. The username becomes
    one nobody chose (no mail greets by it), and mail is written in the language of the page
    the owner recovered it from (an attacker helper had the owner greeted in a stranger's
    words, in a language the stranger picked)."""
    user.username = User.made_up_username()
    language = translation.get_language() or ""
    user.language = language if language in dict(settings.LANGUAGES) else ""
    user.save(update_fields=["username", "language"])


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


@transaction.atomic
def request_password_reset(*, email: str, client_ip: str, signed_in_proof: str = "") -> str:
    """Mail a reset code to an account that may recover; anything else gets nothing,
    through the same steps (a code and a mail record without a recipient). Return the code's
    id (refused_code_id() when a limit refused). `signed_in_proof`: the asking browser's
    (accounts/known_browser.py)."""
    user = User.objects.get_by_email(email)
    known_here = known_browser.is_of(signed_in_proof, user)
    if spend_mail_allowance(
        email=email, purpose=Purpose.PASSWORD_RESET, client_ip=client_ip, known_here=known_here
    ):
        return refused_code_id()
    return _mail_code(
        email=email, purpose=Purpose.PASSWORD_RESET, kind=MailKind.PASSWORD_RESET, user=_if(may_recover, user)
    )


def _if(may: Callable[[User | None], bool], user: User | None) -> User | None:
    return user if may(user) else None


def reset_password_with_code(
    *, email: str, code: str, password: str, client_ip: str, browser: Browser = Browser()
) -> User:
    """Set the password of the account at `email` if `code` is its reset code; raise
    TooManyTries or InvalidCode otherwise. The guess is counted (and committed) first, so a
    refusal still spends a try."""
    wait = ratelimit.hit(Scope.CHECK_FROM_CLIENT, client_ip)
    if wait:
        raise TooManyTries(wait)
    user = User.objects.get_by_email(email)
    guess_code_at_address(
        email=email, code=code, purpose=Purpose.PASSWORD_RESET, user=_if(may_recover, user), browser=browser
    )
    try:
        set_new_password(user=user, password=password, by_code=True)
    except AccountChanged:  # an undo or another reset went first, and killed this code
        raise InvalidCode.dead() from None
    # set_new_password has committed: these are sent at once.
    signals.tell_integrators(signals.address_proven, user=user, how="reset")
    signals.tell_integrators(signals.password_reset, user=user)
    return user


def may_sign_in_by_code(user: User | None) -> bool:
    """Active accounts, but not staff: a mailed code alone never opens a staff session (a
    mailbox is a weaker secret than a staff password)."""
    return may_sign_in(user) and not (user.is_staff or user.is_superuser)  # type: ignore[union-attr]


@transaction.atomic
def request_sign_in_code(*, email: str, client_ip: str, signed_in_proof: str = "") -> str:
    """Mail a sign-in code to an active account that may sign in by code; one never activated
    gets its activation link instead (a code would sign in to an account that cannot sign in
    yet); anything else gets nothing, through the same steps. Return the code's id
    (refused_code_id() when a limit refused). `signed_in_proof`: as request_password_reset."""
    user = User.objects.get_by_email(email)
    known_here = known_browser.is_of(signed_in_proof, user)
    if spend_mail_allowance(email=email, purpose=Purpose.LOGIN, client_ip=client_ip, known_here=known_here):
        return refused_code_id()
    awaits = user is not None and user.awaits_activation
    if awaits:
        # A code row all the same, which no account may use: the same work, and the code page
        # answers alike. The mail carries the activation link instead.
        return _mail_code(email=email, purpose=Purpose.LOGIN, kind=MailKind.ACTIVATION, user=None, to=user)
    return _mail_code(
        email=email, purpose=Purpose.LOGIN, kind=MailKind.LOGIN_CODE, user=_if(may_sign_in_by_code, user)
    )


def sign_in_with_code(*, email: str, code: str, client_ip: str, browser: Browser = Browser()) -> User:
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
        guess_code_at_address(
            email=email,
            code=code,
            purpose=Purpose.LOGIN,
            user=_if(may_sign_in_by_code, user),
            browser=browser,
        )
    except InvalidCode:
        ratelimit.hit(Scope.FAILED_SIGNIN_FROM_CLIENT, client_ip)
        raise
    with transaction.atomic():
        # On the object too: the browser's known-browser proof is made from it at login().
        user.email_verified_at = clock.now()
        User.objects.filter(pk=user.pk).update(email_verified_at=user.email_verified_at)
        revoke_secrets(user=user, purpose=Purpose.LOGIN)
        signals.tell_integrators(signals.address_proven, user=user, how="sign_in_code")
        signals.tell_integrators(signals.signed_in_by_code, user=user)
    return user


def guess_code_at_address(
    *, email: str, code: str, purpose: str, user: User | None, browser: Browser, bound_to: str = ""
) -> None:
    """Spend one guess at the live `purpose` codes asked for `email` (the last one and the one
    before it: a late mail still works); return if `code` is one of them and it is `user`'s
    (never, when `user` is None: no account may use it). Raise TooManyTries when guesses at
    the address must wait, CodesClosed when they may not be made, and InvalidCode otherwise.

    The try is counted on the code this browser asked for, if it is live, as the asker's: no
    one else's tries are counted there, so a code someone asked after it cannot take them
    away (an attacker helper asked one a minute after the owner and spent its tries, killing
    the owner's code). Any other browser's try is counted on the last code's row, apart from
    its asker's. Only the asker is told how many tries are left (to any other, a wrong guess
    would say whether someone was mailed a code for the address lately). Wrong guesses at all
    the address's codes are counted too: past a few, guesses wait, but from the browser that
    asked (while its code takes its guesses); past many, only a browser the account signed in
    with may guess."""
    challenge = asked_code_challenge(
        address=email, purpose=purpose, asked_for=browser.asked_for
    ) or last_code_challenge(address=email, purpose=purpose)
    guess_code_bounded(
        challenge=challenge,
        address=email,
        user=user,
        code=code,
        bound_to=bound_to,
        asked_here=challenge is not None and browser.asked_for == str(challenge.pk),
        known_here=known_browser.is_of(browser.signed_in_proof, user),
    )


def guess_code_bounded(
    *,
    challenge: OneTimeSecret | None,
    address: str,
    user: User | None,
    code: str,
    bound_to: str = "",
    asked_here: bool,
    known_here: bool = False,
) -> None:
    """Spend one guess at `challenge` (and the live code before it), within the bound on
    wrong codes at `address` across all its codes (docs/security.md, "Guessing codes"); raise
    as guess_code_at_address. The count at the address is locked while the guess is weighed,
    spent and counted."""
    refused: Exception | None = None
    with transaction.atomic():
        lock_wrong_guesses(address=address)
        if challenge is not None:  # as it is now, under the lock (a parallel guess may have spent it)
            challenge = OneTimeSecret.objects.filter(pk=challenge.pk).first()
        # The asker skips the waits only while its code still takes its guesses: past that,
        # its guesses are anyone's (else one mail would buy endless quick guesses).
        asking = asked_here and challenge is not None and challenge.takes_guesses(by_the_asker=True)
        try:
            # A known browser may guess past the cap, but waits like anyone: it may be a thief's
            # with the password, killing each code the owner is mailed (an attacker helper).
            guess_wait(address=address, waits_apply=not asking, limit_applies=not known_here)
            guess_code(challenge=challenge, user=user, code=code, bound_to=bound_to, by_the_asker=asked_here)
        except TooManyGuesses as wait:
            refused = CodesClosed() if wait.seconds is None else TooManyTries(wait.seconds)
        except InvalidCode as wrong:
            count_wrong_guess(address=address)
            refused = wrong if asked_here else InvalidCode.unexplained()
        # A right code forgets nothing either: only an address with an account can take one,
        # so a count that dropped would tell a stranger that, and when its owner used a code.
    if refused is not None:  # raised once the transaction is committed: the try counts
        raise refused


def set_new_password(*, user: User, password: str, by_code: bool = False) -> None:
    """Set a password proven by a code (`by_code`), or by the current one (a signed-in
    change). Changing the hash ends every session of the user (Django checks it on each
    request; a signed-in change keeps its own with update_session_auth_hash); the owner is
    told by mail. A code proves the address: an account never activated is activated, with
    this password (a password set by whoever signed up without proving the address never
    survives), and browsers signed in before no longer count as the owner's
    (accounts/known_browser.py). Raise AccountChanged if another request changed the
    password or address since `user` was loaded."""
    if not by_code and (wait := ratelimit.hit(Scope.PASSWORD_CHANGE_FOR_ACCOUNT, str(user.pk))):
        raise TooManyTries(wait)
    loaded_password = user.password
    user.set_password(password)  # hashing, outside the transaction
    user.password_changed_at = clock.now()
    with transaction.atomic():
        lock_unchanged(user, loaded_password=loaded_password)
        user.save(update_fields=["password", "password_changed_at"])
        if by_code:
            if user.awaits_activation:
                _drop_what_the_sign_up_chose(user)
            _prove_address(user)
        revoke_secrets(user=user, purpose=Purpose.PASSWORD_RESET)
        queue_email(user=user, kind=MailKind.PASSWORD_CHANGED)
        signals.tell_integrators(signals.password_changed, user=user)
