"""Issue 19, point 6 and what was seen with it: the undo link of an address change names
the change by an opaque id, rides in the fragment, is heard of by the address it replaces,
and the change's record goes once it can no longer matter."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

from django.test import Client
from django.urls import reverse
from itsdangerous import URLSafeTimedSerializer

from accounts import email_change
from accounts.models import EmailChange
from accounts.tasks import sweep_accounts
from accounts.vocabulary import Purpose
from tests.test_account import NEW_PASSWORD, UNDO, move_to, undo, undo_token
from verification import clock
from verification.models import OutboundEmail
from verification.tokens import issue_link_token


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


def test_the_undo_link_carries_its_token_in_the_fragment_only(client, user, deliver, mailoutbox):
    client.force_login(user)
    link = move_to(client, deliver, mailoutbox, "new@example.org")

    assert urlsplit(link).path == UNDO and undo_token(link)
    assert link in mailoutbox[-2].alternatives[0][0].replace("&amp;", "&")  # the button too


def test_the_undo_page_changes_nothing_on_get_and_posts_the_token_from_its_form(
    client, user, deliver, mailoutbox
):
    client.force_login(user)
    owners_address = user.email
    link = move_to(client, deliver, mailoutbox, "new@example.org")
    owner = Client()

    page = owner.get(link)

    assert page.status_code == 200 and page["Referrer-Policy"] == "strict-origin"
    body = page.content.decode()
    assert 'name="token"' in body and "js/code-from-link.js" in body and 'action="' + UNDO in body
    user.refresh_from_db()
    assert user.email == "new@example.org"
    assert undo(deliver, link, owner).status_code == 302
    user.refresh_from_db()
    assert user.email == owners_address


def test_a_link_with_the_token_in_its_path_shows_the_same_form_posting_to_the_page_without_it(
    client, user, deliver, mailoutbox
):
    client.force_login(user)
    link = move_to(client, deliver, mailoutbox, "new@example.org")
    old_style = reverse("accounts:email_change_undo_in_path", args=[undo_token(link)])

    page = Client().get(old_style).content.decode()

    assert f'value="{undo_token(link)}"' in page and 'action="' + UNDO + '"' in page
    assert "u***@example.com" not in page  # the address it puts back is not the one shown
    assert "n***@example.org" in page


def test_an_undo_tells_the_address_it_replaces_without_a_secret(client, user, deliver, mailoutbox):
    client.force_login(user)
    owners_address = user.email
    link = move_to(client, deliver, mailoutbox, "new@example.org")
    since = len(mailoutbox)

    undo(deliver, link)

    [notice] = [m for m in mailoutbox[since:] if m.to == ["new@example.org"]]
    assert "undone" in notice.subject
    for body in (notice.body, notice.alternatives[0][0]):
        assert owners_address not in body and "u***@example.com" in body
        assert "token" not in body and "/accounts/email/undo/" not in body
    assert not re.search(r"\b\d{6}\b", notice.body)  # no code
    assert OutboundEmail.objects.get(to_address="new@example.org", kind="email_change_undone")


def test_a_fresh_proof_of_the_new_address_leaves_the_undo_alive(
    client, user, deliver, mailoutbox, time_machine
):
    # Whoever moved the account reads the new address: were its proof to end the window,
    # a thief would sign in by code there at once and the owner's undo would be gone.
    client.force_login(user)
    owners_address = user.email
    link = move_to(client, deliver, mailoutbox, "thief@example.net")
    time_machine.advance(seconds=61)
    thief = Client()
    deliver(thief.post, reverse("accounts:login_code_request"), {"email": "thief@example.net"})
    code = re.search(r"^\s+(\d{6})\r?$", mailoutbox[-1].body, flags=re.MULTILINE).group(1)
    signed_in = thief.post(reverse("accounts:login_code"), {"email": "thief@example.net", "code": code})
    assert signed_in.status_code == 302

    assert undo(deliver, link).status_code == 302
    user.refresh_from_db()
    assert user.email == owners_address
