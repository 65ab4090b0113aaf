import secrets
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils.translation import gettext_lazy as _

from verification import clock, registry


class SecretState(models.TextChoices):
    ACTIVE = "active", _("active")
    USED = "used", _("used")
    REVOKED = "revoked", _("revoked")
    LOCKED = "locked", _("locked: too many guesses")
    EXPIRED = "expired", _("expired")


def _state():
    """The single definition of a secret's state, and so of "still usable" (ACTIVE): one SQL
    expression, which filters, updates and the admin's list all use."""
    return Case(
        When(used_at__isnull=False, then=Value(SecretState.USED)),
        When(revoked_at__isnull=False, then=Value(SecretState.REVOKED)),
        When(attempts__gte=F("max_attempts"), then=Value(SecretState.LOCKED)),
        When(expires_at__lte=clock.now(), then=Value(SecretState.EXPIRED)),
        default=Value(SecretState.ACTIVE),
        output_field=models.CharField(),
    )


class OneTimeSecretQuerySet(models.QuerySet):
    def active(self):
        return self.filter(state=SecretState.ACTIVE)

    def guessable(self, *, by_the_asker: bool):
        """Codes that take a guess from the browser that asked for them, or (by_the_asker
        False) from any other: alive, with tries left, used or not (a used code takes guesses
        like a code no account may use, so that its use shows to nobody)."""
        counter = "attempts" if by_the_asker else "other_attempts"
        return self.filter(
            state__in=[SecretState.ACTIVE, SecretState.USED], **{f"{counter}__lt": F("max_attempts")}
        )

    def spendable(self):
        """Usable by the guess that was just counted: that guess may have taken the last try,
        and may still be the right one."""
        return self.filter(state__in=[SecretState.ACTIVE, SecretState.LOCKED])


class OneTimeSecretManager(models.Manager.from_queryset(OneTimeSecretQuerySet)):
    def get_queryset(self):
        # Every row read comes with its `state`, computed by the database at read time.
        return super().get_queryset().annotate(state=_state())


class OneTimeSecret(models.Model):
    """A code or a link nonce that proves its holder reads one user's mailbox.

    Only a keyed digest of the secret is stored; the plaintext exists in the mail alone. A
    code's row is written when the code is asked for, for every address alike (it counts the
    guesses, and says what the code page shows); the worker writes the code's digest when it
    builds the mail.
    """

    # Random, so that links carry an id that says nothing about other users.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Empty for a code asked for an address that no account may use it at: it never matches.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="one_time_secrets",
        null=True,
        blank=True,
    )
    # A keyed digest of the address a code was asked for (codes only): its guesses are found
    # by it, whether or not the address has an account.
    address_key = models.CharField(max_length=64, blank=True, editable=False)
    # A name the app registered (verification/registry.py).
    purpose = models.CharField(_("purpose"), max_length=32)
    # Empty until the worker writes the code (never, for a code that no account may use).
    digest = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=clock.now, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    # Guesses from the browser that asked for the code (all of them, for a link)...
    attempts = models.PositiveSmallIntegerField(_("wrong or right guesses"), default=0)
    # ...and from any other browser, so that strangers' wrong guesses cannot kill the code for
    # the one who asked for it. Each may make max_attempts.
    other_attempts = models.PositiveSmallIntegerField(_("guesses from other browsers"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("max guesses"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    # Set when a newer secret for the same purpose kills this one (a link: the next one; a
    # code: the second one after it), or a completed reset does.
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = OneTimeSecretManager()

    class Meta:
        verbose_name = _("code or link")
        verbose_name_plural = _("codes and links")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "purpose", "-created_at"]),
            models.Index(fields=["address_key", "purpose", "-created_at"]),
            # The sweep's look for secrets past their retention.
            models.Index(fields=["expires_at"], name="verification_secret_expires"),
        ]

    def __str__(self):
        return f"{registry.purpose_label(self.purpose)} for {self.user or 'no account'}"

    def takes_guesses(self, *, by_the_asker: bool) -> bool:
        """What `guessable()` says of this row as it was read (its `state` included)."""
        spent = self.attempts if by_the_asker else self.other_attempts
        return self.state in (SecretState.ACTIVE, SecretState.USED) and spent < self.max_attempts


class FailedGuesses(models.Model):
    """Wrong codes guessed at one address (until a month passes without one), across all its codes: the
    account-wide bound of NIST SP 800-63B 5.2.2 (verification/tokens.py `guess_wait`).

    Keyed by the address's digest, so every address, with an account or not, has the same."""

    address_key = models.CharField(max_length=64, unique=True)
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["last_at"], name="verification_guesses_last")]

    def __str__(self):
        return f"{self.count} wrong codes, last at {self.last_at:%Y-%m-%d %H:%M}"


def new_message_id():
    """`<random@site-host>`, its random part from `secrets` (SECURITY.md 27): a bounce that
    names it is about a mail this site sent. `email.utils.make_msgid` draws from `random`."""
    return f"<{secrets.token_urlsafe(24)}@{urlsplit(settings.SITE_URL).hostname}>"


class OutboundEmail(models.Model):
    """One mail the site owes a user. The request records it; a Django-Q2 job delivers it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        RETRYING = "retrying", _("retrying")
        FAILED = "failed", _("failed")
        # By staff, or by the worker when its code died before it could go (`last_error` says).
        CANCELLED = "cancelled", _("cancelled")
        NO_RECIPIENT = "no_recipient", _("no account: nothing sent")
        # Accepted, then returned by the receiving side (verification/bounces.py).
        BOUNCED = "bounced", _("bounced")
        # Not sent: its address is on the suppression list.
        SUPPRESSED = "suppressed", _("suppressed: address does not take mail")

    # The status groups, spelled once.
    NOT_STARTED = [Status.QUEUED, Status.RETRYING]  # no job has them; they may be held back
    WAITING = [*NOT_STARTED, Status.SENDING]
    DONE = [
        Status.SENT,
        Status.FAILED,
        Status.CANCELLED,
        Status.NO_RECIPIENT,
        Status.BOUNCED,
        Status.SUPPRESSED,
    ]

    # A name the app registered (verification/registry.py), with its priority and composer.
    kind = models.CharField(_("kind"), max_length=32)
    # The recipient is whatever address this user has when the mail goes out: never a typed
    # one. Empty for a request about an address without an account: the request records the
    # same row either way (so it does the same work and takes the same time), and the worker
    # closes this one without sending anything.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="outbound_emails",
        null=True,
        blank=True,
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Where the mail goes when that is not the user's address of the moment: the new address
    # an address change must prove, or the old one it is told about. Set by the site from its
    # own records, never typed into this field.
    to_address = models.EmailField(_("to"), max_length=254, blank=True)
    # The language of the page the mail was asked from; the mail is written in it.
    language = models.CharField(_("language"), max_length=16, blank=True)
    # Lower is claimed first: set by `queue_email` from the kind (registry.MailKind.priority).
    priority = models.PositiveSmallIntegerField(_("priority"), default=1, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When a retrying mail is due, or a waiting one once the server could not be reached;
    # empty for a mail due at once.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # A job that claimed the mail owns it until then; after that another job may take it over.
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True)
    # The code this mail carries: asked for by the request, written by the worker.
    secret = models.ForeignKey(
        OneTimeSecret, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    message_id = models.CharField(_("Message-ID"), max_length=255, default=new_message_id, editable=False)
    created_at = models.DateTimeField(_("created"), default=clock.now, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound email")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            # The claim's order among waiting mail (sent mail is kept for weeks).
            models.Index(fields=["status", "priority", "id"]),
            # The send rate over the last minute, for staff.
            models.Index(fields=["sent_at"]),
            # The sweep's look for mail past its retention.
            models.Index(fields=["created_at"], name="verification_mail_created"),
        ]

    def __str__(self):
        return f"{registry.mail_kind_label(self.kind)} to {self.user}"

    @property
    def recipient(self) -> str:
        """Where the mail goes: `to_address`, else its user's address of the moment (the field
        the user model names with EMAIL_FIELD: contrib.auth's User, or any other)."""
        return self.to_address or getattr(self.user, self.user.get_email_field_name())

    @classmethod
    def abandoned(cls, *, last_attempt: bool | None = None):
        """Mails whose sender stopped while sending them (its lease ran out); of those, the
        ones on an attempt before the last (to be taken up again) or on the last (to be
        failed: the sweep does it)."""
        stopped = Q(status=cls.Status.SENDING, lease_expires_at__lt=clock.now())
        if last_attempt is None:
            return stopped
        on_the_last = Q(attempts__gte=settings.VERIFICATION_MAIL_MAX_ATTEMPTS)
        return stopped & (on_the_last if last_attempt else ~on_the_last)

    @classmethod
    def claimable(cls):
        """Mails a job may take now: due ones, and ones whose sender stopped before their
        last attempt (a provider that kills workers costs at most the attempts allowed)."""
        now = clock.now()
        due = Q(status__in=cls.NOT_STARTED) & (Q(next_attempt_at=None) | Q(next_attempt_at__lte=now))
        return cls.objects.filter(due | cls.abandoned(last_attempt=False))


class MessageAttempt(models.Model):
    """One attempt at delivering an OutboundEmail, by the Message-ID it went out with (each
    attempt has its own: it carries a new code). A bounce names one; it tells which address
    did not take the mail, and which mail a late bounce is about."""

    email = models.ForeignKey(OutboundEmail, on_delete=models.CASCADE, related_name="sent_attempts")
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    # The address this attempt went to, as the site stored it (canonical).
    recipient = models.EmailField(_("to"), max_length=254)
    created_at = models.DateTimeField(_("created"), default=clock.now)
    bounced_at = models.DateTimeField(_("bounced"), null=True, blank=True)
    bounce_permanent = models.BooleanField(_("permanent bounce"), null=True, blank=True)
    bounce_reason = models.TextField(_("bounce reason"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        indexes = [models.Index(fields=["recipient", "-created_at"])]

    def __str__(self):
        return self.message_id


class Suppression(models.Model):
    """An address that mail no longer goes to: it bounced for good, or its owner complained
    (providers such as 163 block senders who keep mailing addresses that do not exist)."""

    class Source(models.TextChoices):
        BOUNCE = "bounce", _("permanent bounce")
        COMPLAINT = "complaint", _("complaint")
        STAFF = "staff", _("staff")

    # Canonical, as the site stores addresses (the app canonicalises a typed one first).
    address = models.EmailField(_("address"), max_length=254, unique=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("since"), default=clock.now)
    # The one retry its owner may ask for after a bounce (a mailbox broken for a day is not
    # lost for ever); a second bounce suppresses it again, with no retry left.
    retried_at = models.DateTimeField(_("retried by its owner"), null=True, blank=True)
    lifted = models.BooleanField(_("lifted"), default=False)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self):
        return self.address


class BounceMailboxCursor(models.Model):
    """How far the bounce reader has read one mailbox (verification/bounces.py): each poll
    fetches only mail that arrived since, so the rest of the box is neither re-read nor
    touched. A new UIDVALIDITY (the box was rebuilt) starts it again."""

    mailbox = models.CharField(max_length=64, unique=True)  # a digest of the URL without its password
    uidvalidity = models.BigIntegerField()
    last_uid = models.BigIntegerField(default=0)

    def __str__(self):
        return f"read up to UID {self.last_uid}"


class SendAllowance(models.Model):
    """The one row of the shared send-rate cap (verification/sendrate.py): messages that may go
    to the mail provider now, refilled at VERIFICATION_MAIL_RATE per second."""

    tokens = models.FloatField()
    refilled_at = models.DateTimeField()

    def __str__(self):
        return f"{self.tokens:.2f} sends allowed at {self.refilled_at:%H:%M:%S}"


class RateLimitBucket(models.Model):
    """One client's or address's use of one action, for the rate limits (verification/ratelimit.py).

    The key is a keyed digest, so typed addresses and client IPs are not kept in clear.
    """

    scope = models.CharField(max_length=32)
    key = models.CharField(max_length=64)
    # The POSIX time the next hit is due at, were hits evenly spaced (GCRA's theoretical
    # arrival time): the further ahead of now, the more of the allowance is in use.
    tat = models.FloatField(default=0)
    # Whether the last hit passed: read back by the statement that counted it.
    counted = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="verification_ratelimit_scope_key")
        ]
        indexes = [models.Index(fields=["updated_at"])]

    def __str__(self):
        return f"{self.scope} {self.key[:8]}"
