"""Issue 19, point 6 and what was seen with it: the undo link of an address change names
the change by an opaque id, rides in the fragment, is heard of by the address it replaces,
and the change's record goes once it can no longer matter."""

from datetime import timedelta

from itsdangerous import URLSafeTimedSerializer

from accounts import email_change
from accounts.models import EmailChange
from accounts.tasks import sweep_accounts
from tests.test_account import NEW_PASSWORD, move_to, undo_token
from verification import clock
from verification.models import Purpose
from verification.services import issue_link_token


def test_the_undo_link_names_the_change_by_an_opaque_id(client, user, deliver, mailoutbox):
    client.force_login(user)
    link = move_to(client, deliver, mailoutbox, "new@example.org")

    _valid, (_secret, _nonce, bound) = URLSafeTimedSerializer("unused").loads_unsafe(undo_token(link))

    change = user.email_changes.get()
    assert bound == str(change.public_id) and bound != str(change.pk)


def test_the_sweep_deletes_changes_of_address_once_they_can_no_longer_matter(user, settings, time_machine):
    def change(**moments):
        return EmailChange.objects.create(
            user=user,
            old_email="a@example.com",
            new_email="b@example.com",
            requested_at=clock.now(),
            **moments,
        )

    now = clock.now()
    pending, cancelled = change(), change(cancelled_at=now)
    completed, undone = change(completed_at=now), change(completed_at=now, undone_at=now)

    def kept():
        sweep_accounts()
        return set(EmailChange.objects.values_list("pk", flat=True))

    time_machine.advance(seconds=settings.VERIFICATION_CODE_TTL - 1)
    assert kept() == {pending.pk, cancelled.pk, completed.pk, undone.pk}
    time_machine.advance(seconds=2)  # the code is dead: nothing pending can complete
    assert kept() == {completed.pk, undone.pk}
    time_machine.advance(seconds=settings.VERIFICATION_EMAIL_UNDO_TTL)  # nothing to undo
    assert kept() == {undone.pk}
    time_machine.now = now + timedelta(days=settings.VERIFICATION_RETENTION_DAYS, seconds=1)
    assert kept() == set()


def test_an_undo_link_mailed_before_the_opaque_id_still_works(client, user, deliver, mailoutbox):
    client.force_login(user)
    owners_address = user.email
    move_to(client, deliver, mailoutbox, "new@example.org")
    change = user.email_changes.get()
    token = issue_link_token(user=user, purpose=Purpose.EMAIL_CHANGE_UNDO, bound_to=str(change.pk))

    email_change.undo_email_change(token=token, password=NEW_PASSWORD)

    user.refresh_from_db()
    assert user.email == owners_address
