"""Issue, check and consume one-time codes and activation links.

A secret is bound to one user and one purpose; issuing a new one revokes the older ones. Only
`salted_hmac(purpose, user, secret)` is stored, and every check compares digests in constant
time. Guesses are counted on the row with one conditional UPDATE, so parallel guesses cannot
go past the limit.
"""

import secrets
from datetime import timedelta

from django.conf import settings
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

    def __init__(self, *, attempts_left=None):
        super().__init__("wrong code" if attempts_left else "no usable code")
        self.attempts_left = attempts_left

    @classmethod
    def wrong(cls, *, attempts_left):
        return cls(attempts_left=attempts_left or None)

    @classmethod
    def dead(cls):
        return cls(attempts_left=None)


class InvalidLink(Exception):
    """An activation link was refused; `reason` is "expired", "invalid" or "used"."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _digests(*, user_id, purpose, secret):
    # One digest per key, so secrets issued before a SECRET_KEY rotation still verify.
    for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        yield salted_hmac(
            f"verification.{purpose}", f"{user_id}:{secret}", secret=key, algorithm="sha256"
        ).hexdigest()


def _matches(row, secret):
    return any(
        constant_time_compare(row.digest, digest)
        for digest in _digests(user_id=row.user_id, purpose=row.purpose, secret=secret)
    )


@sensitive_variables("secret")
@transaction.atomic
def _store_secret(*, user, purpose, secret, ttl, max_attempts):
    revoke_secrets(user=user, purpose=purpose)
    now = clock.now()
    return OneTimeSecret.objects.create(
        user=user,
        purpose=purpose,
        digest=next(_digests(user_id=user.pk, purpose=purpose, secret=secret)),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
        max_attempts=max_attempts,
    )


def revoke_secrets(*, user, purpose):
    """Kill every usable secret of the user for `purpose` (after a reset, or on demand)."""
    OneTimeSecret.objects.active().filter(user=user, purpose=purpose).update(
        revoked_at=clock.now()
    )


# --- Codes -------------------------------------------------------------------------------


def code_ttl(purpose):
    """Seconds a code for `purpose` lives."""
    if purpose == Purpose.LOGIN:
        return settings.VERIFICATION_LOGIN_CODE_TTL
    return settings.VERIFICATION_CODE_TTL


def issue_code(*, user, purpose):
    """Return a fresh numeric code for `user`; only its digest is kept."""
    length = settings.VERIFICATION_CODE_LENGTH
    code = f"{secrets.randbelow(10**length):0{length}d}"
    _store_secret(
        user=user,
        purpose=purpose,
        secret=code,
        ttl=code_ttl(purpose),
        max_attempts=settings.VERIFICATION_CODE_MAX_ATTEMPTS,
    )
    return code


@sensitive_variables("code")
def check_code(*, user, purpose, code):
    """Consume the user's current code if `code` is it; raise InvalidCode otherwise.

    Every guess, right or wrong, spends one attempt first, so a code that has taken its
    last wrong guess stays dead even for the right value.
    """
    row = OneTimeSecret.objects.active().filter(user=user, purpose=purpose).first()
    if row is None or not _spend_attempt(row):
        raise InvalidCode.dead()
    if not _matches(row, code):
        raise InvalidCode.wrong(attempts_left=row.max_attempts - row.attempts - 1)
    if not _mark_used(row):
        raise InvalidCode.dead()  # a parallel right guess got there first


def _spend_attempt(row):
    return bool(
        OneTimeSecret.objects.active()
        .filter(pk=row.pk)
        .update(attempts=F("attempts") + 1)
    )


def _mark_used(row):
    return bool(OneTimeSecret.objects.filter(pk=row.pk, used_at=None).update(used_at=clock.now()))


# --- Activation links ----------------------------------------------------------------------


# Real tokens are about 150 characters; anything far longer is not worth decoding.
MAX_TOKEN_LENGTH = 300


class _ClockSigner(TimestampSigner):
    def get_timestamp(self):
        return int(clock.now().timestamp())


def _serializer():
    # The last key signs; all of them verify, so a rotated SECRET_KEY keeps links working.
    return URLSafeTimedSerializer(
        [*settings.SECRET_KEY_FALLBACKS, settings.SECRET_KEY],
        salt="verification.activation",
        signer=_ClockSigner,
    )


def issue_activation_token(*, user):
    """Return a signed token carrying an opaque row id and a nonce (never the email)."""
    nonce = secrets.token_urlsafe(32)
    row = _store_secret(
        user=user,
        purpose=Purpose.ACTIVATION,
        secret=nonce,
        ttl=settings.VERIFICATION_ACTIVATION_TTL,
        max_attempts=1,  # nothing guesses at a link: its nonce has 256 bits; it is used once
    )
    return _serializer().dumps([str(row.pk), nonce])


@sensitive_variables("token", "nonce")
def read_activation_token(token):
    """Return the usable row behind `token` without changing anything; raise InvalidLink."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidLink("invalid")
    try:
        secret_id, nonce = _serializer().loads(
            token, max_age=settings.VERIFICATION_ACTIVATION_TTL
        )
    except SignatureExpired:
        raise InvalidLink("expired") from None
    except (BadSignature, ValueError, TypeError):
        raise InvalidLink("invalid") from None
    row = OneTimeSecret.objects.select_related("user").filter(
        pk=_as_uuid(secret_id), purpose=Purpose.ACTIVATION
    ).first()
    if row is None or not isinstance(nonce, str) or not _matches(row, nonce):
        raise InvalidLink("invalid")
    if row.used_at or row.user.is_active:
        raise InvalidLink("used")
    if row.state != SecretState.ACTIVE:  # revoked or locked links read as expired
        raise InvalidLink("expired")
    return row


def _as_uuid(value):
    try:
        return OneTimeSecret._meta.pk.to_python(value)
    except ValidationError:
        raise InvalidLink("invalid") from None


@transaction.atomic
def consume_activation_token(token):
    """Mark the link used and return its user; exactly one of two parallel calls succeeds."""
    row = read_activation_token(token)
    if not _mark_used(row):
        raise InvalidLink("used")
    return row.user
