"""Issue 19, point 2: while the undo link of an address change is alive, the old address
belongs to the account the undo would restore. A thief who moved the account away cannot
sign up a squatter there for the owner to prove, and so cannot make the undo fail."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.vocabulary import Purpose
from tests.factories import PASSWORD, UserFactory
from tests.helpers import link_in, path_of
from tests.test_account import NEW_PASSWORD, move_to, undo
from tests.test_squatting import sign_up
from verification.tokens import issue_link_token

OWNER_CHOSEN = "owners-chosen-passphrase-7"


@pytest.fixture
def moved_away(client, user, deliver, mailoutbox, time_machine):
    """The thief, signed in with the owner's password, has moved the account to their own
    address; returns (the owner's address, the undo link mailed there)."""
    client.force_login(user)
    owners_address = user.email
    link = move_to(client, deliver, mailoutbox, "thief@example.net")
    time_machine.advance(seconds=61)
    return owners_address, link


def mailed_to(mailoutbox, address, since):
    return [m for m in mailoutbox[since:] if m.to == [address]]


def codes_in(messages):
    return [c for m in messages for c in re.findall(r"^\s+(\d{6})\r?$", m.body, flags=re.MULTILINE)]


def test_a_squatter_the_owner_recovers_by_code_cannot_make_the_undo_fail(
    user, moved_away, deliver, mailoutbox, time_machine
):
    owners_address, link = moved_away
    since = len(mailoutbox)
    sign_up(deliver, "the-squatter", owners_address, "the-thiefs-passphrase-9")
    answers = mailed_to(mailoutbox, owners_address, since)
    time_machine.advance(seconds=61)

    # (A) The owner sets a password with whatever code the address is mailed.
    since = len(mailoutbox)
    deliver(Client().post, reverse("accounts:password_reset"), {"email": owners_address})
    for code in codes_in(mailed_to(mailoutbox, owners_address, since)):
        deliver(
            Client().post,
            reverse("accounts:password_reset_confirm"),
            {"email": owners_address, "code": code, "password1": OWNER_CHOSEN, "password2": OWNER_CHOSEN},
        )

    assert undo(deliver, link).status_code == 302
    user.refresh_from_db()
    assert user.email == owners_address and user.check_password(NEW_PASSWORD)
    [answer] = answers  # the sign-up was answered like one for a taken address
    assert "already has an account" in answer.body and "puts it back" in answer.body
    assert not User.objects.filter(username="the-squatter").exists()


def test_a_squatter_made_with_the_owners_password_cannot_make_the_undo_fail(
    user, moved_away, deliver, mailoutbox
):
    owners_address, link = moved_away
    since = len(mailoutbox)
    sign_up(deliver, "the-squatter", owners_address, PASSWORD)  # the thief knows it

    # (B) The owner opens whatever activation link arrives and types their usual password.
    for message in mailed_to(mailoutbox, owners_address, since):
        if "/accounts/activate/" in message.body:
            Client().post(path_of(link_in(message.body, "/accounts/activate/")), {"password": PASSWORD})

    assert undo(deliver, link).status_code == 302
    user.refresh_from_db()
    assert user.email == owners_address


def test_no_code_for_a_held_address_reaches_another_account(user, moved_away, deliver, mailoutbox):
    # An unproven sign-up made before the hold existed (or by any other way in).
    owners_address, link = moved_away
    squatter = UserFactory(username="old-squatter", email=owners_address, awaiting_activation=True)
    its_link = reverse(
        "accounts:activate", args=[issue_link_token(purpose=Purpose.ACTIVATION, user=squatter)]
    )
    since = len(mailoutbox)

    for url in ("accounts:password_reset", "accounts:login_code_request", "accounts:resend_activation"):
        deliver(Client(REMOTE_ADDR="203.0.113.7").post, reverse(url), {"email": owners_address})

    assert mailed_to(mailoutbox, owners_address, since) == []
    assert Client().post(its_link, {"password": PASSWORD}).status_code == 400
    assert undo(deliver, link).status_code == 302
    assert not User.objects.filter(pk=squatter.pk).exists()  # the undo took the address back


def test_the_address_is_free_again_once_the_undo_window_ends(
    user, moved_away, deliver, mailoutbox, time_machine, settings
):
    owners_address, link = moved_away
    time_machine.advance(seconds=settings.VERIFICATION_EMAIL_UNDO_TTL)

    sign_up(deliver, "newcomer", owners_address, "a-newcomers-passphrase-3")

    assert User.objects.filter(username="newcomer", email=owners_address).exists()
    assert undo(deliver, link).status_code == 400


def test_the_account_the_undo_would_restore_may_move_back_by_code(
    client, user, moved_away, deliver, mailoutbox
):
    owners_address, _link = moved_away
    deliver(
        client.post,
        reverse("accounts:email_change"),
        {"new_email": owners_address, "current_password": PASSWORD},
    )

    assert mailoutbox[-1].to == [owners_address] and codes_in(mailoutbox[-1:])


def test_another_account_cannot_move_to_a_held_address(user, moved_away, deliver, mailoutbox):
    owners_address, link = moved_away
    accomplice = UserFactory()
    its_browser = Client()
    its_browser.force_login(accomplice)
    since = len(mailoutbox)

    deliver(
        its_browser.post,
        reverse("accounts:email_change"),
        {"new_email": owners_address, "current_password": PASSWORD},
    )

    [told] = mailed_to(mailoutbox, owners_address, since)
    assert "nothing changed and no code was sent" in told.body and not codes_in([told])
    assert undo(deliver, link).status_code == 302
