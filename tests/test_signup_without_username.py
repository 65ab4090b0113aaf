"""A site may sign people up with their address alone (VERIFICATION_SIGNUP_USERNAME=false, as
allauth's ACCOUNT_SIGNUP_FIELDS allows): they sign in with it, and nobody sees the username
the account is given."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.helpers import activate, activation_path

PASSWORD = "a-long-and-unusual-passphrase"


@pytest.fixture
def address_only(settings):
    settings.VERIFICATION_SIGNUP_USERNAME = False


def sign_up(client, deliver, email="lin@example.com"):
    return deliver(
        client.post,
        reverse("accounts:signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def test_the_sign_up_page_asks_for_no_username(client, db, address_only):
    page = client.get(reverse("accounts:signup")).content.decode()

    assert 'name="username"' not in page and 'name="email"' in page


def test_an_address_alone_signs_up_activates_and_signs_in(client, db, deliver, mailoutbox, address_only):
    answer = sign_up(client, deliver)
    [mail] = mailoutbox
    activate(client, activation_path(mail), password=PASSWORD)
    client.logout()

    signed_in = client.post(reverse("accounts:login"), {"username": "lin@example.com", "password": PASSWORD})
    account = client.get(reverse("accounts:account")).content.decode()

    user = User.objects.get()
    assert answer.status_code == 302 and signed_in.status_code == 302
    assert user.username.startswith("u-") and user.username not in account + mail.body
    assert "lin@example.com" in account


def test_the_api_signs_up_with_an_address_alone(client, db, deliver, mailoutbox, address_only):
    answer = deliver(
        client.post,
        "/api/v1/signup",
        {"email": "lin@example.com", "password1": PASSWORD, "password2": PASSWORD},
        content_type="application/json",
        HTTP_X_SESSION_TOKEN="",
    )

    assert answer.status_code == 202 and len(mailoutbox) == 1


def test_by_default_sign_up_asks_for_a_username(client, db, deliver, mailoutbox):
    refused = Client().post(
        reverse("accounts:signup"), {"email": "lin@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )

    assert refused.context["form"].has_error("username", "required") and not mailoutbox
