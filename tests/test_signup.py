import pytest
from django.urls import reverse

from accounts.forms import SignUpForm
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


def signup_form(username):
    return SignUpForm(data={**SIGNUP, "username": username})


@pytest.mark.parametrize(
    "username",
    [
        "\u0430lice",  # Cyrillic а, then Latin: reads as "alice"
        "p\u0430yp\u0430l",
        "g\u03bfogle",  # Greek omicron
        "\u0410dmin_1",
    ],
)
def test_a_username_that_mixes_look_alike_scripts_is_refused(db, username):
    form = signup_form(username)

    assert form.has_error("username", "mixed_scripts")


@pytest.mark.parametrize(
    "username",
    [
        "alice.smith+1-home-2",  # digits and . _ - + belong to no script
        "алиса",  # all Cyrillic
        "ελένη",  # all Greek
        "王小明",  # all Han
        "やまだ太郎",  # Hiragana with Han, as Japanese is written
        "タロー",  # Katakana with its long-vowel mark
        "김철수",  # Hangul
        "bob王",  # Latin with Han: not look-alikes (UTS #39, highly restrictive)
    ],
)
def test_a_username_in_one_script_or_one_writing_system_is_accepted(db, username):
    form = signup_form(username)

    assert form.is_valid(), form.errors


def test_the_mixed_scripts_refusal_is_written_in_chinese_too(client, db):
    data = {**SIGNUP, "username": "\u0430lice"}

    response = client.post(reverse("accounts:signup"), data, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert "用户名请只用一种文字书写" in response.content.decode()
