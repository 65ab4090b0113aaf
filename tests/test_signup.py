from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory
from tests.helpers import activation_path

SIGNUP = {
    "username": "ada",
    "email": "Ada@Example.COM",
    "password1": "a-long-and-unusual-passphrase",
    "password2": "a-long-and-unusual-passphrase",
}


def test_signup_creates_inactive_account_and_mails_activation_link(client, db, deliver, mailoutbox):
    response = deliver(client.post, reverse("accounts:signup"), SIGNUP)

    assert response.status_code == 302
    assert response.url == reverse("accounts:signup_done")
    user = User.objects.get(username="ada")
    assert not user.is_active
    assert user.email == "ada@example.com"  # stored in canonical form
    assert user.check_password(SIGNUP["password1"])
    [message] = mailoutbox
    assert message.to == ["ada@example.com"]
    assert "Activate" in message.subject
    assert activation_path(message)
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html" and activation_path(message).strip("/") in html


def test_signup_with_taken_email_looks_the_same_and_mails_the_owner(client, db, deliver, mailoutbox):
    owner = UserFactory(email="ada@example.com")

    response = deliver(client.post, reverse("accounts:signup"), SIGNUP)

    assert response.status_code == 302
    assert response.url == reverse("accounts:signup_done")
    assert list(User.objects.all()) == [owner]
    [message] = mailoutbox
    assert message.to == [owner.email]
    assert "already have" in message.subject
    assert "/accounts/login/" in message.body and "/accounts/password-reset/" in message.body


def test_signup_refuses_weak_or_mismatched_passwords(client, db, mailoutbox):
    weak = {**SIGNUP, "password1": "ada", "password2": "ada"}
    mismatched = {**SIGNUP, "password2": "something-else-entirely"}

    for data in (weak, mismatched):
        response = client.post(reverse("accounts:signup"), data)
        assert response.status_code == 200
        assert response.context["form"].has_error("password2" if data is mismatched else "password1")

    assert not User.objects.exists()
    assert mailoutbox == []


def test_signup_refuses_a_taken_username_case_insensitively(client, db):
    UserFactory(username="Ada")

    response = client.post(reverse("accounts:signup"), SIGNUP)

    assert response.context["form"].has_error("username", "username_taken")
    assert User.objects.count() == 1


def test_signup_rejects_newlines_and_overlong_fields(client, db, mailoutbox):
    cases = [
        {**SIGNUP, "email": "ada@example.com\nBcc: victim@example.com"},
        {**SIGNUP, "email": "a" * 250 + "@example.com"},
        {**SIGNUP, "password1": "x" * 129, "password2": "x" * 129},
    ]
    for data in cases:
        response = client.post(reverse("accounts:signup"), data)
        assert response.status_code == 200
        assert response.context["form"].errors

    assert not User.objects.exists()
    assert mailoutbox == []


def test_signup_page_renders_the_form_with_bootstrap(client, db):
    response = client.get(reverse("accounts:signup"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "form-control" in html and "bootstrap.min.css" in html
    assert 'autocomplete="new-password"' in html
