"""Issue, check and consume one-time codes and activation links.

A secret is bound to one user and one purpose; issuing a new one revokes the older ones. Only
`salted_hmac(purpose, user, secret)` is stored, and every check compares digests in constant
time. Guesses are counted on the row with one conditional UPDATE, so parallel guesses cannot
go past the limit.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.debug import sensitive_variables
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from verification import clock
from verification.models import OneTimeSecret, Purpose, SecretState


class InvalidCode(Exception):
    """A code was refused: wrong with `attempts_left` tries to go, or dead (None)."""

    def __init__(self, *, attempts_left: int | None = None) -> None:
        super().__init__("wrong code" if attempts_left else "no usable code")
        self.attempts_left = attempts_left

    @classmethod
    def wrong(cls, *, attempts_left: int) -> "InvalidCode":
        return cls(attempts_left=attempts_left or None)

    @classmethod
    def dead(cls) -> "InvalidCode":
        return cls(attempts_left=None)


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
    """Kill every usable secret of the user for `purpose` (after a reset, or on demand)."""
    OneTimeSecret.objects.active().filter(user=user, purpose=purpose).update(revoked_at=clock.now())


# --- Codes -------------------------------------------------------------------------------


def code_ttl(purpose: str) -> int:
    """Seconds a code for `purpose` lives."""
    if purpose == Purpose.LOGIN:
        return settings.VERIFICATION_LOGIN_CODE_TTL
    return settings.VERIFICATION_CODE_TTL


def issue_code(*, user: AbstractBaseUser, purpose: str, bound_to: str = "") -> str:
    """Return a fresh numeric code for `user`; only its digest is kept."""
    length = settings.VERIFICATION_CODE_LENGTH
    code = f"{secrets.randbelow(10**length):0{length}d}"
    _store_secret(
        user=user,
        purpose=purpose,
        secret=code,
        bound_to=bound_to,
        ttl=code_ttl(purpose),
        max_attempts=settings.VERIFICATION_CODE_MAX_ATTEMPTS,
    )
    return code


@sensitive_variables("code")
def check_code(*, user: AbstractBaseUser, purpose: str, code: str, bound_to: str = "") -> None:
    """Consume the user's current code if `code` is it; raise InvalidCode otherwise.

    Every guess, right or wrong, spends one attempt first, so a code that has taken its
    last wrong guess stays dead even for the right value.
    """
    row = OneTimeSecret.objects.active().filter(user=user, purpose=purpose).first()
    if row is None or not _spend_attempt(row):
        raise InvalidCode.dead()
    if not _matches(row, code, bound_to):
        raise InvalidCode.wrong(attempts_left=row.max_attempts - row.attempts - 1)
    if not _mark_used(row):
        raise InvalidCode.dead()  # a parallel right guess got there first


def _spend_attempt(row):
    return bool(OneTimeSecret.objects.active().filter(pk=row.pk).update(attempts=F("attempts") + 1))


def _mark_used(row):
    """Spend `row` if it is still usable: read as usable a moment ago, it may have been
    revoked since (a new sign-up for the address revokes the old one's link)."""
    return bool(OneTimeSecret.objects.active().filter(pk=row.pk).update(used_at=clock.now()))


# --- Links ----------------------------------------------------------------------------------


# Real tokens are about 150 characters; anything far longer is not worth decoding.
MAX_TOKEN_LENGTH = 300


@dataclass(frozen=True)
class LinkKind:
    salt: str  # one itsdangerous salt per purpose: a token for one is void for another
    ttl_setting: str
    replaces_older: bool  # a new link of the purpose kills the user's older ones


LINKS: dict[str, LinkKind] = {
    Purpose.ACTIVATION: LinkKind("verification.activation", "VERIFICATION_ACTIVATION_TTL", True),
    # Several address changes may each owe an undo to a different old address.
    Purpose.EMAIL_CHANGE_UNDO: LinkKind(
        "verification.email_change_undo", "VERIFICATION_EMAIL_UNDO_TTL", False
    ),
}


class _ClockSigner(TimestampSigner):
    def get_timestamp(self):
        return int(clock.now().timestamp())


def _serializer(purpose):
    # The last key signs; all of them verify, so a rotated SECRET_KEY keeps links working.
    return URLSafeTimedSerializer(
        [*settings.SECRET_KEY_FALLBACKS, settings.SECRET_KEY],
        salt=LINKS[purpose].salt,
        signer=_ClockSigner,
    )


def _link_ttl(purpose):
    return getattr(settings, LINKS[purpose].ttl_setting)


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
        replace_older=LINKS[purpose].replaces_older,
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
    return row.user, bound_to


def issue_activation_token(*, user: AbstractBaseUser) -> str:
    return issue_link_token(user=user, purpose=Purpose.ACTIVATION)


def read_activation_token(token: str) -> OneTimeSecret:
    """The usable activation row behind `token`; a link of an active account reads as used."""
    row, _ = read_link_token(token, purpose=Purpose.ACTIVATION)
    if row.user.is_active:
        raise InvalidLink("used")
    return row


@transaction.atomic
def consume_activation_token(token: str) -> AbstractBaseUser:
    row = read_activation_token(token)
    if not _mark_used(row):
        raise InvalidLink("used")
    return row.user
