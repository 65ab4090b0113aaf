import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, Q, Subquery, Value, When
from django.db.models.functions import Lower, Upper
from django.db.models.lookups import Exact
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from accounts.addresses import canonical_email, shown_email
from verification import clock


def validate_canonical_email(value):
    if canonical_email(value) != value:
        raise ValidationError(_("Enter the address in its canonical form."), code="not_canonical")


class UsernameQuerySet(models.QuerySet):
    def with_username(self, username):
        """Rows whose username is `username`, by the one comparison of usernames, for accounts
        and sign-up claims alike: both sides folded by the database (`UPPER()`, indexed on
        each table). A second fold elsewhere (Python's `lower()` keeps ς and σ apart,
        `UPPER()` does not) would answer "taken" differently for a username only a claim
        holds, and so tell whether the address the sign-up gave had a proven account."""
        return self.filter(Exact(Upper("username"), Upper(Value(username))))


class AccountQuerySet(UsernameQuerySet):
    def with_email(self, email):
        """The account at `email` (canonical form), compared as the unique key LOWER(email)
        is, so that its index serves the look-up (stored addresses are lower-case already)."""
        return self.filter(Exact(Lower("email"), Value(email)))


class AccountManager(UserManager.from_queryset(AccountQuerySet)):
    @classmethod
    def normalize_email(cls, email):
        """The canonical form where there is one (createsuperuser, the admin, the forms);
        anything else is left for the field's validator to refuse."""
        try:
            return canonical_email(email or "")
        except ValidationError:
            return super().normalize_email(email)

    def holding(self, email):
        """The accounts that `email` (canonical form) belongs to, the holder first: while an
        undo link for the address is alive, the account that the undo would restore (so that
        nobody else can prove the address meanwhile and make the undo fail); then the account
        whose address it is. One statement, the same for every address."""
        undoing = EmailChange.objects.undo_alive().filter(old_email=email).values("user_id")[:1]
        # LOWER(email), as the unique key is, so that its index serves the look-up.
        return (
            self.alias(email_key=Lower("email"))
            .filter(Q(email_key=email) | Q(pk=Subquery(undoing)))
            .order_by(Case(When(email_key=email, then=Value(1)), default=Value(0)), "pk")
        )

    def get_by_email(self, email):
        """The account whose address is `email` (canonical form), or None; None too while the
        address is held for another account's undo: no code or link mailed there may reach
        any account but the holder, which has another address now."""
        holder = self.holding(email).first()
        return holder if holder is not None and holder.email == email else None


class User(AbstractUser):
    # Always stored in canonical form (accounts/addresses.py): the unique key, the rate-limit
    # key and the address mail goes to are this one string.
    email = models.EmailField(_("email address"), max_length=254, validators=[validate_canonical_email])
    # Set when the person proves the address (activation link or a code mailed to it).
    # Distinguishes an account that was never activated (its address is unproven: whoever
    # proves it may take it over) from one that staff switched off (it stays off).
    email_verified_at = models.DateTimeField(_("email verified at"), null=True, blank=True)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    # Part of what every session of the user is checked against: raising it ends them all
    # (a change of address ends the other sessions, its undo every one).
    session_epoch = models.PositiveIntegerField(default=0, editable=False)
    # The language mail to this person is written in, whoever asks for it (a thief's browser
    # must not choose the words of the owner's notice). Set at sign-up, by the switcher while
    # signed in, and at a sign-in while still empty (accounts older than the field). A code of
    # LANGUAGES; the database default serves rows written by SQL.
    language = models.CharField(_("language"), max_length=15, blank=True, default="", db_default="")
    # An IANA zone the account page shows times in; empty: the language's (accounts/time_zone.py).
    time_zone = models.CharField(_("time zone"), max_length=63, blank=True, default="", db_default="")

    objects = AccountManager()

    REQUIRED_FIELDS = ["email"]

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]
        indexes = [models.Index(Upper("username"), name="accounts_user_username_fold")]

    # Usernames the site makes up: nobody chose them, so no page or mail greets anyone by one.
    MADE_UP_USERNAME = "u-"

    @classmethod
    def made_up_username(cls) -> str:
        return f"{cls.MADE_UP_USERNAME}{secrets.token_hex(8)}"

    @property
    def chose_username(self) -> bool:
        return settings.VERIFICATION_SIGNUP_USERNAME and not self.username.startswith(self.MADE_UP_USERNAME)

    @property
    def display_name(self):
        """What pages call the person: their username, or, where sign-up asks for none, their
        address (shown with a Unicode domain)."""
        if settings.VERIFICATION_SIGNUP_USERNAME:
            return self.get_username()
        return shown_email(self.email)

    @property
    def awaits_activation(self):
        return not self.is_active and self.email_verified_at is None

    def _get_session_auth_hash(self, secret=None):
        # Django's hash covers the password; the epoch joins it (from 1 on, so that sessions
        # made before the field existed stay valid).
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class UsernameClaim(models.Model):
    """A username sign-ups asked for (one row per fold). It reads as taken until the sweep
    deletes it, after any unproven account those sign-ups may have made (accounts/tasks.py),
    so "taken" is the same answer whether or not a sign-up made an account (it makes none for
    an address that has a proven one)."""

    username = models.CharField(_("username"), max_length=150)
    claimed_at = models.DateTimeField(_("claimed"), default=clock.now)

    objects = UsernameQuerySet.as_manager()

    class Meta:
        verbose_name = _("username claim")
        constraints = [models.UniqueConstraint(Upper("username"), name="accounts_claim_username_fold")]
        indexes = [models.Index(fields=["claimed_at"])]

    def __str__(self):
        return self.username


class EmailChangeQuerySet(models.QuerySet):
    def pending(self):
        """Asked for, not done nor cancelled, and its code may still be alive."""
        since = clock.now() - timedelta(seconds=settings.VERIFICATION_CODE_TTL)
        return self.filter(completed_at=None, cancelled_at=None, requested_at__gt=since)

    def undo_alive(self):
        """Done, not undone, and its undo link may still be used: the one definition of the
        undo window (the link's own lifetime starts a moment later, when it is mailed)."""
        since = clock.now() - timedelta(seconds=settings.VERIFICATION_EMAIL_UNDO_TTL)
        return self.filter(completed_at__gt=since, undone_at=None)

    def spent(self):
        """Changes that can no longer matter, whose addresses need not be kept: never done,
        once their code is dead; done, once the undo window is over; undone, after
        VERIFICATION_RETENTION_DAYS (the record of a thrown-out thief, for staff)."""
        now = clock.now()
        return self.filter(
            Q(completed_at=None, requested_at__lte=now - timedelta(seconds=settings.VERIFICATION_CODE_TTL))
            | Q(
                undone_at=None,
                completed_at__lte=now - timedelta(seconds=settings.VERIFICATION_EMAIL_UNDO_TTL),
            )
            | Q(undone_at__lte=now - timedelta(days=settings.VERIFICATION_RETENTION_DAYS))
        )


class EmailChange(models.Model):
    """A move of an account to a new address: asked for, proven by a code mailed to the new
    address, told to the old one (which may undo it for VERIFICATION_EMAIL_UNDO_TTL)."""

    # What the undo link names: random, so links say nothing of how many changes there were.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_changes")
    old_email = models.EmailField(_("old address"), max_length=254)
    new_email = models.EmailField(_("new address"), max_length=254)
    requested_at = models.DateTimeField(_("asked for"))
    completed_at = models.DateTimeField(_("done"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)

    objects = EmailChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("change of address")
        verbose_name_plural = _("changes of address")
        ordering = ["-requested_at"]
        # Who holds an address (AccountManager.holding) is asked on every request about one.
        indexes = [models.Index(fields=["old_email", "completed_at"])]

    def __str__(self):
        return f"{self.user}: {self.old_email} → {self.new_email}"


def email_change_code_key(change: EmailChange) -> str:
    """What the code of a change is asked for: one account's move to the address (another
    account's move there must not kill its code)."""
    return f"{change.user_id}>{change.new_email}"
