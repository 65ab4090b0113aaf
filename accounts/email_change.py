"""Moving an account to a new address, and back.

The new address proves itself with a code mailed to it; until then nothing changes. When it
changes, the old address is told and may undo the change for VERIFICATION_EMAIL_UNDO_TTL: the
undo restores it, ends every session and sets the password the owner chose on the undo page,
so that whoever made the change (with a stolen session or password) is out. The undo link
proves the mailbox as a code mailed there would; a code mailed after the undo could be burnt,
or its mail allowance spent, by whoever was just thrown out, who knows the address.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts import signals
from accounts.models import EmailChange, User, email_change_code_key
from accounts.services import (
    AccountChanged,
    TooManyTries,
    guess_code_bounded,
    lock_unchanged,
    spend_mail_allowance,
)
from accounts.vocabulary import MailKind, Purpose
from verification import clock, ratelimit, suppression
from verification.outbox import queue_email
from verification.ratelimit import Scope
from verification.tokens import (
    InvalidCode,
    InvalidLink,
    consume_link_token,
    last_code_challenge,
    open_code_challenge,
    read_link_token,
    revoke_secrets,
)

# What an address change, or its undo, kills: every secret mailed to the address before.
SECRETS_OF_AN_ADDRESS = [Purpose.ACTIVATION, Purpose.PASSWORD_RESET, Purpose.LOGIN, Purpose.EMAIL_CHANGE]


class AddressTaken(Exception):
    """Another account proved the address first."""


def request_email_change(*, user: User, new_email: str, client_ip: str, retry_bounced: bool = False) -> None:
    """Record the change and mail a code to the new address. An address that belongs to
    another account gets "someone tried to use this address" instead and no code, through the
    same steps, so the page and its timing say nothing about it. Raise TooManyTries, and
    record nothing, when the client's or the address's mail allowance is used up.
    `retry_bounced`: the person confirmed an address that bounced for good, which then gets
    its one retry."""
    wait = spend_mail_allowance(email=new_email, purpose=Purpose.EMAIL_CHANGE, client_ip=client_ip)
    if wait:
        raise TooManyTries(wait)
    with transaction.atomic():
        if retry_bounced:
            suppression.retry_address(address=new_email)
        user.email_changes.pending().update(cancelled_at=clock.now())
        change = EmailChange.objects.create(
            user=user, old_email=user.email, new_email=new_email, requested_at=clock.now()
        )
        _mail_the_new_address(change)


def resend_email_change_code(*, user: User, client_ip: str) -> None:
    """Mail the pending change's new address again (the code before stays valid, in case its
    mail arrives last; the one before that dies)."""
    change = user.email_changes.pending().first()
    if change is None:
        return
    if not spend_mail_allowance(email=change.new_email, purpose=Purpose.EMAIL_CHANGE, client_ip=client_ip):
        _mail_the_new_address(change)


def _mail_the_new_address(change: EmailChange) -> None:
    holder = User.objects.holding(change.new_email).first()
    taken = holder is not None and holder != change.user and not holder.awaits_activation
    # A code row either way (none will match when the address is taken): the same work.
    challenge = open_code_challenge(
        address=email_change_code_key(change),
        purpose=Purpose.EMAIL_CHANGE,
        user=None if taken else change.user,
    )
    if taken:
        # To the address asked for (the holder's own, or one held for its undo).
        queue_email(user=holder, kind=MailKind.EMAIL_IN_USE, to_address=change.new_email, secret=challenge)
    else:
        queue_email(
            user=change.user, kind=MailKind.EMAIL_CHANGE_CODE, to_address=change.new_email, secret=challenge
        )


def cancel_email_change(*, user: User) -> None:
    user.email_changes.pending().update(cancelled_at=clock.now())
    revoke_secrets(user=user, purpose=Purpose.EMAIL_CHANGE)


def confirm_email_change(*, user: User, code: str, client_ip: str) -> EmailChange:
    """Move `user` to the pending change's new address if `code` is the one mailed there;
    raise TooManyTries, InvalidCode or AddressTaken otherwise. The caller keeps its own
    session (update_session_auth_hash); every other one ends."""
    wait = ratelimit.hit(Scope.CHECK_FROM_CLIENT, client_ip)
    if wait:
        raise TooManyTries(wait)
    change = user.email_changes.pending().first()
    if change is None:
        raise InvalidCode.dead()
    # The signed-in person is the one who asked (the session proves it), and is told how many
    # tries are left. Wrong codes count at the new address like any: else an account could
    # guess at a stranger's address for ever, five a mail, and so take it.
    guess_code_bounded(
        challenge=last_code_challenge(address=email_change_code_key(change), purpose=Purpose.EMAIL_CHANGE),
        address=change.new_email,
        user=user,
        code=code,
        bound_to=change.new_email,
        asked_here=True,
    )
    with transaction.atomic(), _restored_on_failure(user):
        try:
            lock_unchanged(user)
        except AccountChanged:  # an undo or a reset went first, and killed this code
            raise InvalidCode.dead() from None
        _move(user, to=change.new_email)
        change.completed_at = clock.now()
        change.save(update_fields=["completed_at"])
        queue_email(user=user, kind=MailKind.EMAIL_CHANGED, to_address=change.old_email)
        queue_email(user=user, kind=MailKind.EMAIL_CONFIRMED)
        signals.tell_integrators(signals.address_proven, user=user, how="change")
        signals.tell_integrators(
            signals.email_changed, user=user, old_email=change.old_email, new_email=change.new_email
        )
    return change


def read_undo_link(token: str) -> User:
    """The account an undo link would give its old address back to, without spending the
    link; raise InvalidLink."""
    row, _change = read_link_token(token, purpose=Purpose.EMAIL_CHANGE_UNDO)
    return cast(User, row.user)


def undo_email_change(*, token: str, password: str) -> User:
    """Put back the address an undo link was mailed to, end every session, set `password` and
    tell the address it replaces; return the user. Raise InvalidLink or AddressTaken.

    Undoing a change rolls back every change made after it too (their undo links die, so the
    address it restores cannot be taken away again from one of them); the undo links of
    earlier changes stay alive, so that whoever made two changes cannot undo the second and
    so kill the owner's link to the first."""
    password_hash = make_password(password)  # outside the transaction: SQLite's write lock
    with transaction.atomic():
        owner, change_id = consume_link_token(token, purpose=Purpose.EMAIL_CHANGE_UNDO)
        user = cast(User, owner)
        change = EmailChange.objects.select_for_update().filter(_named_by(change_id), user=user).first()
        if change is None or change.undone_at is not None:
            raise InvalidLink("used")
        if not EmailChange.objects.undo_alive().filter(pk=change.pk).exists():
            raise InvalidLink("expired")  # the window that held the address has closed
        replaced = user.email
        with _restored_on_failure(user):
            _move(user, to=change.old_email, password_hash=password_hash)
        # The undo link is a takeover credential for the old mailbox's reader: the address it
        # takes the account from hears of its use.
        queue_email(user=user, kind=MailKind.EMAIL_CHANGE_UNDONE, to_address=replaced)
        user.email_changes.filter(completed_at__gte=change.completed_at, undone_at=None).update(
            undone_at=clock.now()
        )
        user.email_changes.pending().update(cancelled_at=clock.now())
        signals.tell_integrators(
            signals.email_change_undone, user=user, restored_email=user.email, replaced_email=replaced
        )
    return user


def _named_by(change_id: str) -> Q:
    # Links mailed before migration 0005 name the change by its sequential id; they die
    # within VERIFICATION_EMAIL_UNDO_TTL of it, and this branch can go then.
    return Q(pk=int(change_id)) if change_id.isdigit() else Q(public_id=change_id)


@contextmanager
def _restored_on_failure(user: User) -> Iterator[None]:
    """The transaction rolls the row back; this rolls back the object the caller holds."""
    try:
        yield
    except Exception:
        user.refresh_from_db()
        raise


def _move(user: User, *, to: str, password_hash: str = "") -> None:
    """Give `user` the proven address `to` (and the password behind `password_hash`, if one):
    an unproven sign-up holding it goes; a proven account holding it, or another account's
    undo holding it (User.objects.holding), raises AddressTaken (the unique key decides a
    race)."""
    holder = User.objects.holding(to).select_for_update().exclude(pk=user.pk).first()
    if holder is not None:
        if not holder.awaits_activation:
            raise AddressTaken(to)
        holder.delete()
    user.email, user.email_verified_at = to, clock.now()
    user.session_epoch += 1
    changed = ["email", "email_verified_at", "session_epoch"]
    if password_hash:
        user.password, user.password_changed_at = password_hash, clock.now()
        changed += ["password", "password_changed_at"]
    try:
        with transaction.atomic():
            user.save(update_fields=changed)
    except IntegrityError:
        raise AddressTaken(to) from None
    for purpose in SECRETS_OF_AN_ADDRESS:
        revoke_secrets(user=user, purpose=purpose)
