import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory
from tests.helpers import signs_in
from tests.test_enumeration import comparable


def test_an_active_user_signs_in_and_out(client, user):
    response = client.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == user

    client.post(reverse("accounts:logout"))
    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_an_account_awaiting_activation_is_answered_like_a_wrong_password_with_the_way_forward(
    client, new_user
):
    right = client.post(reverse("accounts:login"), {"username": new_user.username, "password": PASSWORD})
    wrong = Client().post(reverse("accounts:login"), {"username": new_user.username, "password": "wrong-one"})

    assert right.status_code == 200 and "_auth_user_id" not in client.session
    assert right.context["form"].has_error("__all__", "invalid_login")
    assert reverse("accounts:resend_activation").encode() in right.content
    assert comparable(right, new_user.username) == comparable(wrong, new_user.username)


@pytest.mark.parametrize("sign_in_page", ["accounts:login", "admin:login"])
def test_signing_in_after_a_sign_up_with_someones_address_tells_nothing_about_that_address(
    db, user, deliver, sign_in_page
):
    # A stranger signs up with an address and a username of their own, then signs in: had
    # the sign-up made an account (no proven one held the address), the answer would differ.
    answers = []
    for username, email in [("probe1", "nobody-here@example.org"), ("probe2", user.email)]:
        stranger = Client(REMOTE_ADDR="198.51.100.9")
        deliver(
            stranger.post,
            reverse("accounts:signup"),
            {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD},
        )
        signed_in = stranger.post(reverse(sign_in_page), {"username": username, "password": PASSWORD})
        answers.append(comparable(signed_in, username))

    assert answers[0] == answers[1]


def test_an_account_switched_off_by_staff_cannot_sign_in_or_reactivate(client, db):
    switched_off = UserFactory(deactivated=True)

    response = client.post(
        reverse("accounts:login"), {"username": switched_off.username, "password": PASSWORD}
    )

    assert response.context["form"].has_error("__all__", "inactive")
    assert reverse("accounts:resend_activation").encode() not in response.content


def test_a_session_ends_when_staff_switch_the_account_off(client, user):
    client.force_login(user)
    user.is_active = False
    user.save()

    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_sign_in_follows_only_local_next_urls(client, user):
    credentials = {"username": user.username, "password": PASSWORD}

    local = client.post(reverse("accounts:login") + "?next=/admin/", credentials)
    client.post(reverse("accounts:logout"))
    offsite = client.post(reverse("accounts:login") + "?next=https://evil.example/", credentials)

    assert local.url == "/admin/"
    assert offsite.url == reverse("home")


def test_sign_out_needs_a_post_with_csrf(user):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)

    assert strict.get(reverse("accounts:logout")).status_code == 405
    assert strict.post(reverse("accounts:logout")).status_code == 403


def test_signed_in_people_who_open_sign_in_or_sign_up_go_to_their_account(client, user):
    client.force_login(user)

    for name in ("accounts:login", "accounts:signup"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url == reverse("accounts:account")


def test_the_site_has_a_favicon(client, db):
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/").content.decode()


def test_a_username_that_is_an_address_is_refused_at_sign_up(client, db):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "lin@example.org",
            "email": "me@example.net",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.context["form"].has_error("username", "at_sign")


def test_an_address_typed_at_sign_in_is_only_ever_an_address(db, user):
    """A stranger who holds a username spelled like someone's address (an account older than
    the sign-up rule, or one staff made) cannot learn from signing in with it whether that
    address has an account: it signs in as the address's account or as nobody."""
    free, taken = "nobody-here@example.org", user.email
    for probe in (free, taken):
        stranger = UserFactory(username=probe, email=f"stranger-{len(probe)}@example.net")
        stranger.set_password("the-strangers-own-passphrase")
        stranger.save()

    assert not signs_in(free, "the-strangers-own-passphrase")
    assert not signs_in(taken, "the-strangers-own-passphrase")
    assert signs_in(taken, PASSWORD)  # the address's own account
