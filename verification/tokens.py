"""Issue, guess and consume one-time codes and links, of the purposes the app registered
(verification/registry.py).

A secret is bound to one user and one purpose. A new link revokes the older ones; a new code
leaves the one asked just before it alive (its mail may arrive last) and revokes the older ones.
Only `salted_hmac(purpose, user, secret)` is stored, and every check compares digests in
constant time. Guesses are counted on one row with one conditional UPDATE, so parallel guesses
cannot go past the limit.
"""

import math
import secrets
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.debug import sensitive_variables
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from verification import clock, registry
from verification.models import FailedGuesses, OneTimeSecret, SecretState


class InvalidCode(Exception):
    """A code was refused: `reason` is "wrong" (with `attempts_left` tries to go), "dead", or
    "refused" (told no more: see accounts.services.guess_code_at_address)."""

    def __init__(self, reason: str, *, attempts_left: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts_left = attempts_left

    @classmethod
    def wrong(cls, *, attempts_left: int) -> "InvalidCode":
        return cls("wrong", attempts_left=attempts_left) if attempts_left else cls.dead()

    @classmethod
    def dead(cls) -> "InvalidCode":
        return cls("dead")

    @classmethod
    def unexplained(cls) -> "InvalidCode":
        return cls("refused")


class InvalidLink(Exception):
    """A link was refused; `reason` is "expired", "invalid" or "used"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _digests(*, user_id, purpose, secret, bound_to=""):
    # `bound_to` ties a secret to what it proves (the new address a code was mailed to), so
    # that it proves nothing else. One digest per key, so secrets issued before a SECRET_KEY
    # rotation still verify.
    message = f"{user_id}:{secret}" + (f"\n{bound_to}" if bound_to else "")
    for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        yield salted_hmac(f"verification.{purpose}", message, secret=key, algorithm="sha256").hexdigest()


def _matches(row, secret, bound_to):
    return any(
        constant_time_compare(row.digest, digest)
        for digest in _digests(user_id=row.user_id, purpose=row.purpose, secret=secret, bound_to=bound_to)
    )


@sensitive_variables("secret")
@transaction.atomic
def _store_secret(*, user, purpose, secret, ttl, max_attempts, bound_to="", replace_older=True):
    if replace_older:
        revoke_secrets(user=user, purpose=purpose)
    now = clock.now()
    return OneTimeSecret.objects.create(
        user=user,
        purpose=purpose,
        digest=next(_digests(user_id=user.pk, purpose=purpose, secret=secret, bound_to=bound_to)),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
        max_attempts=max_attempts,
    )


def revoke_secrets(*, user: AbstractBaseUser, purpose: str) -> None:
    """Kill every usable secret of the user for `purpose` (after a reset, or on demand). A
    link dies; a code is let go of (it matches no account from now on), so that to whoever
    guesses at it, it reads as before: what the account does shows to nobody."""
    usable = OneTimeSecret.objects.active().filter(user=user, purpose=purpose)
    usable.filter(address_key="").update(revoked_at=clock.now())
    usable.exclude(address_key="").update(user=None)


# --- Codes -------------------------------------------------------------------------------
#
# A code is asked for an address: `open_code_challenge` writes its row at once, for every
# address alike (with no user when no account may use it), and the worker writes the code
# into it (`write_code`). The last code asked and the one before it are live (LIVE_CODES). A
# guess is counted on one row (`guess_code`): the live code the guessing browser asked for, or
# else the last one (`asked_code_challenge`, `last_code_challenge`); that row alone says how
# many tries are left, and the guess is matched against every live code. Across all the codes
# of an address, wrong guesses are counted too until a month passes without one
# (`FailedGuesses`), and past a few of them a guess must wait (`guess_wait`).

# How many codes of one purpose and address take guesses at once: the last one asked and the
# one before it, so that the code of a mail that arrives after its "send again" still works
# (issue 22). They share the last one's tries, so a guess has LIVE_CODES chances in 10**6
# where it had one (docs/security.md, "Guessing codes").
LIVE_CODES = 2


class TooManyGuesses(Exception):
    """Too many wrong codes at this address: wait `seconds`, or (None) no more guesses."""

    def __init__(self, seconds: int | None) -> None:
        super().__init__("no more guesses" if seconds is None else f"wait {seconds} s")
        self.seconds = seconds


def address_key(address: str) -> str:
    """The keyed digest an address's codes and failed guesses are found by."""
    return salted_hmac("verification.address", address, algorithm="sha256").hexdigest()


@transaction.atomic(savepoint=False)  # one transaction with the request that asks
def open_code_challenge(*, address: str, purpose: str, user: AbstractBaseUser | None) -> OneTimeSecret:
    """Record that a code for `purpose` was asked for `address`, for `user` (None: no account
    may use it, and no code will match). The code asked just before stays live; older ones
    die."""
    ttl = registry.code_purpose(purpose).ttl  # LookupError, before anything is written
    key = address_key(address)
    now = clock.now()
    asked = OneTimeSecret.objects.filter(address_key=key, purpose=purpose)
    kept = asked.values("pk")[: LIVE_CODES - 1]
    asked.active().exclude(pk__in=kept).update(revoked_at=now)
    return OneTimeSecret.objects.create(
        user=user,
        address_key=key,
        purpose=purpose,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
        max_attempts=settings.VERIFICATION_CODE_MAX_ATTEMPTS,
    )


class CodeDied(Exception):
    """The code a mail was to carry died while the mail waited: used, replaced by newer ones,
    out of tries, let go of (revoke_secrets), or expired behind retries or a backlog. The
    worker cancels the mail rather than send a code that does not work."""


def write_code(*, secret: OneTimeSecret, bound_to: str = "") -> str:
    """Return a fresh code for the challenge `secret`, whose row keeps only its digest. Each
    delivery attempt writes a new one (the code of a mail that may be lost dies with it).
    CodeDied when the challenge is no longer one a code of its account may answer: no longer
    active (`_state`, read by the same statement that writes the digest) or let go of."""
    if secret.user_id is None:
        raise CodeDied(secret.pk)
    length = settings.VERIFICATION_CODE_LENGTH
    code = f"{secrets.randbelow(10**length):0{length}d}"
    digest = next(_digests(user_id=secret.user_id, purpose=secret.purpose, secret=code, bound_to=bound_to))
    if not OneTimeSecret.objects.active().filter(pk=secret.pk, user_id=secret.user_id).update(digest=digest):
        raise CodeDied(secret.pk)
    return code


def last_code_challenge(*, address: str, purpose: str) -> OneTimeSecret | None:
    """The code last asked for `address` for `purpose`, usable or not, if any: the row that
    counts the guesses at all its live codes."""
    return OneTimeSecret.objects.filter(address_key=address_key(address), purpose=purpose).first()


@sensitive_variables("code")
def guess_code(
    *,
    challenge: OneTimeSecret | None,
    user: AbstractBaseUser | None,
    code: str,
    bound_to: str = "",
    by_the_asker: bool = True,
) -> None:
    """Spend one try of `challenge` (a live code of its address and purpose: the one the
    guessing browser asked for, or the last one asked), and use up every live code there if
    `code` is one of them and it was asked for `user`; raise InvalidCode otherwise (wrong with
    the tries left, or dead).

    Every guess, right or wrong, spends its try first, on `challenge` alone, so a code that
    has taken its last wrong guess stays dead even for the right value, and so does every
    guess counted on it; the guess that takes the last try may still be right. The browser
    that asked for the code has its tries, every other browser together has as many
    (`by_the_asker`): strangers cannot kill the asker's code."""
    if challenge is None or not _spend_attempt(challenge, by_the_asker=by_the_asker):
        raise InvalidCode.dead()
    # Every live code is weighed, for every address alike; the last one asked first.
    right = [row for row in _live_codes(challenge) if _matches(row, code, bound_to)]
    if not (right and user is not None and right[0].user_id == user.pk and challenge.used_at is None):
        spent = challenge.attempts if by_the_asker else challenge.other_attempts
        raise InvalidCode.wrong(attempts_left=challenge.max_attempts - spent - 1)
    if not _use_up(challenge, right[0]):
        raise InvalidCode.dead()  # a parallel right guess got there first


def _live(key, purpose):
    """The live codes asked for the address of digest `key` for `purpose`, the last one first."""
    return OneTimeSecret.objects.active().filter(address_key=key, purpose=purpose)


def _live_codes(challenge):
    """`challenge`, then the other live codes asked for its address and purpose, the last one
    asked first (`challenge` may be the one before it: see `asked_code_challenge`)."""
    if not challenge.address_key:
        return [challenge]
    others = _live(challenge.address_key, challenge.purpose).exclude(pk=challenge.pk)
    return [challenge, *others[: LIVE_CODES - 1]]


def asked_code_challenge(*, address: str, purpose: str, asked_for: str) -> OneTimeSecret | None:
    """The live code `asked_for` (a code's id, as the asking browser holds it) if it is one of
    `address`'s live codes for `purpose`: that browser's tries are counted on its own code,
    where nobody else's are, so a later code asked by someone else cannot spend them."""
    try:
        pk = OneTimeSecret._meta.pk.to_python(asked_for)
    except ValidationError:
        return None
    return next((row for row in _live(address_key(address), purpose)[:LIVE_CODES] if row.pk == pk), None)


def _use_up(challenge, matched):
    """Spend every live code of `challenge`'s address and purpose (one use for them all), if
    `challenge` and `matched` are still usable. `challenge` first: of parallel right guesses,
    at either code, its row lets exactly one through."""
    with transaction.atomic():
        if not _mark_used(challenge):
            return False
        if matched.pk != challenge.pk and not _mark_used(matched):
            transaction.set_rollback(True)  # revoked since it was read (a third code was asked)
            return False
        if challenge.address_key:
            _live(challenge.address_key, challenge.purpose).update(used_at=clock.now())
    return True


def lock_wrong_guesses(*, address: str) -> None:
    """Lock the count of wrong codes at `address` (made if there is none) for the current
    transaction: parallel guesses are then weighed against it one after another, where each
    would otherwise read "no wait yet" before any was counted."""
    key = address_key(address)
    FailedGuesses.objects.bulk_create(
        [FailedGuesses(address_key=key, count=0, last_at=clock.now())], ignore_conflicts=True
    )
    list(FailedGuesses.objects.select_for_update().filter(address_key=key).values_list("pk"))


def guess_wait(*, address: str, waits_apply: bool = True, limit_applies: bool = True) -> None:
    """Raise TooManyGuesses when a guess at `address`'s codes must wait (from the
    VERIFICATION_GUESSES_BEFORE_WAITS-th wrong one, doubling from a second up to an hour), or
    may not be made (VERIFICATION_GUESSES_MAX wrong ones); the count lasts until a month
    passes without a wrong one."""
    row = FailedGuesses.objects.filter(address_key=address_key(address)).first()
    if row is None:
        return
    if limit_applies and row.count >= settings.VERIFICATION_GUESSES_MAX:
        raise TooManyGuesses(None)
    over = row.count - settings.VERIFICATION_GUESSES_BEFORE_WAITS
    if waits_apply and over >= 0:
        ready_at = row.last_at + timedelta(seconds=min(2**over, MAX_GUESS_WAIT))
        wait = math.ceil((ready_at - clock.now()).total_seconds())
        if wait > 0:
            raise TooManyGuesses(wait)


# The longest wait between two guesses at one address's codes.
MAX_GUESS_WAIT = 3600


def count_wrong_guess(*, address: str) -> None:
    """Count one more wrong code at `address` (in one UPDATE, so parallel guesses all count)."""
    key = address_key(address)
    now = clock.now()
    counted = FailedGuesses.objects.filter(address_key=key).update(count=F("count") + 1, last_at=now)
    if not counted:
        FailedGuesses.objects.bulk_create(
            [FailedGuesses(address_key=key, count=0, last_at=now)], ignore_conflicts=True
        )
        FailedGuesses.objects.filter(address_key=key).update(count=F("count") + 1, last_at=now)


def _spend_attempt(row, *, by_the_asker):
    counter = "attempts" if by_the_asker else "other_attempts"
    guessable = OneTimeSecret.objects.guessable(by_the_asker=by_the_asker).filter(pk=row.pk)
    return bool(guessable.update(**{counter: F(counter) + 1}))


def _mark_used(row):
    """Spend `row` if it is still usable: read as usable a moment ago, it may have been
    revoked since (a new sign-up for the address revokes the old one's link)."""
    return bool(OneTimeSecret.objects.spendable().filter(pk=row.pk).update(used_at=clock.now()))


# --- Links ----------------------------------------------------------------------------------


# Real tokens are about 150 characters; anything far longer is not worth decoding.
MAX_TOKEN_LENGTH = 300


class _ClockSigner(TimestampSigner):
    def get_timestamp(self):
        return int(clock.now().timestamp())


def _serializer(purpose):
    # The last key signs; all of them verify, so a rotated SECRET_KEY keeps links working.
    return URLSafeTimedSerializer(
        [*settings.SECRET_KEY_FALLBACKS, settings.SECRET_KEY],
        salt=registry.link_purpose(purpose).salt,
        signer=_ClockSigner,
    )


def _link_ttl(purpose):
    return registry.link_purpose(purpose).ttl


def issue_link_token(*, user: AbstractBaseUser, purpose: str, bound_to: str = "") -> str:
    """Return a signed token carrying an opaque row id, a nonce and `bound_to` (an opaque id
    of what the link acts on; never an email)."""
    nonce = secrets.token_urlsafe(32)
    row = _store_secret(
        user=user,
        purpose=purpose,
        secret=nonce,
        bound_to=bound_to,
        ttl=_link_ttl(purpose),
        max_attempts=1,  # nothing guesses at a link: its nonce has 256 bits; it is used once
        replace_older=registry.link_purpose(purpose).replaces_older,
    )
    return _serializer(purpose).dumps([str(row.pk), nonce, *([bound_to] if bound_to else [])])


@sensitive_variables("token", "nonce")
def read_link_token(token: str, *, purpose: str) -> tuple[OneTimeSecret, str]:
    """Return (usable row, bound_to) behind `token` without changing anything; raise
    InvalidLink: "expired" (past its lifetime, revoked), "invalid" (tampered) or "used"."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidLink("invalid")
    try:
        secret_id, nonce, *bound = _serializer(purpose).loads(token, max_age=_link_ttl(purpose))
    except SignatureExpired:
        raise InvalidLink("expired") from None
    except (BadSignature, ValueError, TypeError):
        raise InvalidLink("invalid") from None
    bound_to = bound[0] if bound else ""
    row = OneTimeSecret.objects.select_related("user").filter(pk=_as_uuid(secret_id), purpose=purpose).first()
    if row is None or not isinstance(nonce, str) or not _matches(row, nonce, str(bound_to)):
        raise InvalidLink("invalid")
    if row.used_at:
        raise InvalidLink("used")
    if row.state != SecretState.ACTIVE:  # revoked links read as expired
        raise InvalidLink("expired")
    return row, bound_to


def _as_uuid(value):
    try:
        return OneTimeSecret._meta.pk.to_python(value)
    except ValidationError:
        raise InvalidLink("invalid") from None


@transaction.atomic
def consume_link_token(token: str, *, purpose: str) -> tuple[AbstractBaseUser, str]:
    """Mark the link used and return (its user, bound_to); exactly one of two parallel calls
    succeeds."""
    row, bound_to = read_link_token(token, purpose=purpose)
    if not _mark_used(row):
        raise InvalidLink("used")
    return cast(AbstractBaseUser, row.user), bound_to
