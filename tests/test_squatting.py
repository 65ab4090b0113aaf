"""SECURITY.md 20: whoever proves the address sets the password. A stranger who signs up
with someone else's address holds nothing once the owner proves it."""

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import User
from accounts.tasks import sweep_accounts
from tests.factories import UserFactory
from tests.helpers import activate, activation_path, ask_for_code, mailed_code, signs_in
from verification import tokens

SIGNUP = reverse("accounts:signup")
CONFIRM = reverse("accounts:password_reset_confirm")
SQUATTER_PASSWORD = "squatters-own-passphrase-1"
OWNER_PASSWORD = "owners-own-passphrase-2"


def sign_up(deliver, username, email, password, ip="203.0.113.66"):
    return deliver(
        Client(REMOTE_ADDR=ip).post,
        SIGNUP,
        {
            "username": username,
            "email": email,
            "password1": password,
            "password2": password,
        },
    )


def test_recovering_a_squatted_address_activates_it_with_the_owners_password(
    client, db, deliver, mailoutbox, time_machine
):
    sign_up(deliver, "mallory", "victim@example.com", SQUATTER_PASSWORD)
    time_machine.advance(seconds=61)

    code = ask_for_code(client, deliver, "victim@example.com", mailoutbox)  # a code, not a link
    response = deliver(
        client.post,
        CONFIRM,
        {
            "email": "victim@example.com",
            "code": code,
            "password1": OWNER_PASSWORD,
            "password2": OWNER_PASSWORD,
        },
    )

    assert response.status_code == 302
    account = User.objects.get()
    assert account.is_active and account.email_verified_at is not None
    assert not signs_in("victim@example.com", SQUATTER_PASSWORD)
    assert signs_in("victim@example.com", OWNER_PASSWORD)
    assert not signs_in("mallory", OWNER_PASSWORD)  # the squatter's username went too (below)
    # The squatter's activation link died with the recovery.
    assert activate(Client(), activation_path(mailoutbox[0]), SQUATTER_PASSWORD).status_code == 400


def test_a_new_sign_up_replaces_one_never_activated(db, deliver, mailoutbox, time_machine):
    sign_up(deliver, "mallory", "victim@example.com", SQUATTER_PASSWORD)
    squatters_link = activation_path(mailoutbox[0])
    time_machine.advance(seconds=61)

    sign_up(deliver, "victim", "victim@example.com", OWNER_PASSWORD, ip="198.51.100.2")
    owners_link = activation_path(mailoutbox[1])

    assert activate(Client(), squatters_link, SQUATTER_PASSWORD).status_code == 400
    assert activate(Client(), owners_link, OWNER_PASSWORD).status_code == 302
    assert list(User.objects.values_list("username", "email")) == [("victim", "victim@example.com")]
    assert signs_in("victim", OWNER_PASSWORD) and not signs_in("mallory", SQUATTER_PASSWORD)


def test_a_stranger_who_signs_up_after_the_owner_cannot_have_the_owner_activate_it(
    db, deliver, mailoutbox, time_machine
):
    sign_up(deliver, "victim", "victim@example.com", OWNER_PASSWORD, ip="198.51.100.2")
    time_machine.advance(seconds=61)
    sign_up(deliver, "mallory", "victim@example.com", SQUATTER_PASSWORD)
    newest_link = activation_path(mailoutbox[-1])  # in the owner's inbox, from the stranger's sign-up

    refused = activate(Client(), newest_link, OWNER_PASSWORD)  # the owner follows it

    assert refused.context["form"].has_error("password", "wrong_password")
    assert not User.objects.get().is_active
    assert not signs_in("mallory", SQUATTER_PASSWORD)


def test_a_stranger_who_signs_up_while_the_owner_confirms_the_link_gets_nothing_activated(
    db, deliver, mailoutbox, time_machine, monkeypatch
):
    sign_up(deliver, "owner", "victim@example.com", OWNER_PASSWORD, ip="192.0.2.1")
    link = activation_path(mailoutbox[-1])
    time_machine.advance(seconds=61)
    spend = tokens._mark_used

    def stranger_signs_up_as_the_link_is_spent(row):  # after the owner's request read it as usable
        services.register_user(
            username="stranger",
            email="victim@example.com",
            password=SQUATTER_PASSWORD,
            client_ip="198.51.100.7",
        )  # replaces the unproven sign-up and revokes its link
        return spend(row)

    monkeypatch.setattr(tokens, "_mark_used", stranger_signs_up_as_the_link_is_spent)
    response = Client().post(link, {"password": OWNER_PASSWORD})

    assert response.status_code == 400  # the link died under it: nothing is activated
    assert not User.objects.get(email="victim@example.com").is_active
    assert not signs_in("stranger", SQUATTER_PASSWORD)


def test_an_unsolicited_activation_mail_cannot_be_confirmed_without_the_strangers_password(
    db, deliver, mailoutbox
):
    sign_up(deliver, "mallory", "victim@example.com", SQUATTER_PASSWORD)

    refused = activate(Client(), activation_path(mailoutbox[0]), "the-owners-usual-password-1")

    assert refused.status_code == 200 and not User.objects.get().is_active


def test_a_username_reads_as_taken_after_any_sign_up_whether_or_not_it_made_an_account(
    client, db, deliver, user, time_machine
):
    sign_up(deliver, "probe1", user.email, OWNER_PASSWORD)  # an active address: no account made
    sign_up(deliver, "probe2", "nobody@example.com", OWNER_PASSWORD)  # an account made

    answers = [
        client.post(SIGNUP, {"username": probe, "email": "x@example.com", "password1": "a", "password2": "b"})
        for probe in ("probe1", "probe2")
    ]

    assert [a.context["form"].has_error("username", "username_taken") for a in answers] == [True, True]


def test_a_proven_account_is_never_replaced(db, user, deliver, mailoutbox):
    response = sign_up(deliver, "mallory", user.email, SQUATTER_PASSWORD)

    assert response.status_code == 302
    assert User.objects.get() == user and User.objects.get().username == user.username
    assert "already have" in mailoutbox[0].subject


def test_the_sweep_deletes_sign_ups_never_activated_once_their_link_is_long_dead(db, settings, time_machine):
    pending = UserFactory(awaiting_activation=True)
    switched_off = UserFactory(deactivated=True)
    active = UserFactory()
    time_machine.advance(seconds=settings.VERIFICATION_ACTIVATION_TTL)
    assert sweep_accounts()["unactivated_accounts"] == 0

    time_machine.advance(days=1, seconds=1)
    assert sweep_accounts()["unactivated_accounts"] == 1

    assert set(User.objects.all()) == {switched_off, active} and pending.pk is not None


@pytest.mark.parametrize("address", ["new", "awaiting activation", "proven"])
def test_a_username_taken_in_a_race_is_the_same_form_error_whatever_the_address(
    client, db, monkeypatch, mailoutbox, address
):
    if address != "new":
        UserFactory(email="ada@example.com", awaiting_activation=address == "awaiting activation")

    def hash_while_someone_takes_the_username(raw):
        UserFactory(username="ada", email="first@example.com")  # after the form, before the insert
        return make_password(raw)

    monkeypatch.setattr(services, "make_password", hash_while_someone_takes_the_username)
    response = client.post(
        SIGNUP,
        {
            "username": "ada",
            "email": "ada@example.com",
            "password1": OWNER_PASSWORD,
            "password2": OWNER_PASSWORD,
        },
    )

    assert response.status_code == 200  # not a redirect for a proven address, not a 500
    assert response.context["form"].has_error("username", "username_taken")
    assert not User.objects.filter(email="ada@example.com", username="ada").exists() and not mailoutbox


@pytest.mark.parametrize("state", ["active", "deactivated"])
def test_a_reset_never_activates_an_account_staff_switched_off(client, db, deliver, mailoutbox, state):
    member = UserFactory(**{state: True} if state == "deactivated" else {})

    deliver(client.post, reverse("accounts:password_reset"), {"email": member.email})

    assert bool(mailoutbox) == (state == "active")
    if mailoutbox:
        assert mailed_code(mailoutbox[0])


def test_what_a_squatter_chose_goes_with_their_password_when_the_owner_recovers_the_address(
    client, db, deliver, mailoutbox, time_machine
):
    # An attacker helper signed up with the owner's address from a zh-hant page as
    # "Call-support-at-evil-example.com": after the owner's recovery, every mail greeted the
    # owner by that name, in the squatter's language.
    squatter = Client(REMOTE_ADDR="203.0.113.66", HTTP_ACCEPT_LANGUAGE="zh-hant")
    deliver(
        squatter.post,
        SIGNUP,
        {"username": "Call-support-at-evil", "email": "victim@example.com", "password1": SQUATTER_PASSWORD,
         "password2": SQUATTER_PASSWORD},
    )  # fmt: skip
    time_machine.advance(seconds=61)
    code = ask_for_code(client, deliver, "victim@example.com", mailoutbox)
    data = {
        "email": "victim@example.com",
        "code": code,
        "password1": OWNER_PASSWORD,
        "password2": OWNER_PASSWORD,
    }
    deliver(client.post, CONFIRM, data)

    account = User.objects.get()
    assert not account.chose_username and account.language == "en"
    notice = mailoutbox[-1]
    assert "password" in notice.subject and "Call-support" not in notice.body


def test_a_squatters_language_is_not_the_owners_before_the_owner_recovers(
    client, db, deliver, mailoutbox, time_machine
):
    # A third attacker helper signed up with the owner's address from a zh-hans page: the
    # owner's reset code, asked from an English page, came in Chinese.
    squatter = Client(REMOTE_ADDR="203.0.113.66", HTTP_ACCEPT_LANGUAGE="zh-hans")
    form = {"username": "squatter", "email": "victim@example.com", "password1": SQUATTER_PASSWORD,
            "password2": SQUATTER_PASSWORD}  # fmt: skip
    deliver(squatter.post, SIGNUP, form)
    time_machine.advance(seconds=61)

    ask_for_code(client, deliver, "victim@example.com", mailoutbox)

    assert "reset" in mailoutbox[-1].subject.lower()
