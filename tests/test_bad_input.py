"""SECURITY.md "Bad input": every form answers a clear error (200/400), never a 500, and no
row changes."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import User
from tests.factories import UserFactory
from verification.models import OneTimeSecret, OutboundEmail

NASTY = [
    "",
    " ",
    "x" * 10_000,
    "nul\x00byte",
    "emoji 🙂📧",
    "\u202eRTL override\u202c",
    "'; DROP TABLE accounts_user; --",
    "{{ settings.SECRET_KEY }}{% debug %}",
    "<script>alert(1)</script>",
    "line\r\nBcc: victim@example.com",
    "１２３４５６",
    "١٢٣٤٥٦",
]

FORMS = {
    "accounts:signup": ["username", "email", "password1", "password2"],
    "accounts:login": ["username", "password"],
    "accounts:resend_activation": ["email"],
    "accounts:password_reset": ["email"],
    "accounts:password_reset_confirm": ["email", "code", "password1", "password2"],
}
VALID = {
    "username": "ada",
    "email": "ada@example.com",
    "password": "a-long-and-unusual-passphrase",
    "password1": "a-long-and-unusual-passphrase",
    "password2": "a-long-and-unusual-passphrase",
    "code": "123456",
}


def row_counts():
    return [m.objects.count() for m in (User, OneTimeSecret, OutboundEmail)]


@pytest.fixture
def member(db):
    return UserFactory(email="ada@example.com", username="ada")


@pytest.mark.parametrize("url_name", FORMS)
@pytest.mark.parametrize("value", NASTY, ids=range(len(NASTY)))
def test_every_field_takes_nasty_input_without_an_error_page(client, member, url_name, value):
    for field in FORMS[url_name]:
        before = row_counts()
        data = {**{name: VALID[name] for name in FORMS[url_name]}, field: value}

        response = client.post(reverse(url_name), data)

        assert response.status_code in (200, 302), (field, response.status_code)
        if response.status_code == 200:  # refused: a form error, and nothing written
            assert response.context["form"].errors, field
            assert row_counts() == before, field
    member.refresh_from_db()
    assert member.check_password("correct-horse-battery-staple")


@pytest.mark.parametrize(
    "token", ["", "x" * 5000, "%00", "..%2F..%2Fetc", "WyIxIiwiMiJd.abc.def", "🙂" * 100]
)
def test_nasty_activation_tokens_get_the_invalid_link_page(client, member, token):
    for method in (client.get, client.post):
        response = method(f"/accounts/activate/{token}/")
        assert response.status_code in (400, 404)


def test_missing_csrf_token_is_refused_with_403(member):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    for url_name in FORMS:
        assert strict.post(reverse(url_name), VALID).status_code == 403
    assert row_counts() == [1, 0, 0]


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=st.text(max_size=40))
def test_any_typed_code_is_a_form_answer_never_a_crash(client, member, typed):
    response = client.post(
        reverse("accounts:password_reset_confirm"), {**VALID, "email": member.email, "code": typed}
    )

    assert response.status_code == 200
    assert response.context["form"].has_error("code")
    assert OneTimeSecret.objects.count() == 0


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=st.one_of(st.text(max_size=300), st.emails()))
def test_any_typed_email_gets_the_neutral_answer_or_a_form_error(client, member, settings, typed):
    settings.VERIFICATION_REQUESTS_PER_IP_PER_HOUR = 10**6
    response = client.post(reverse("accounts:password_reset"), {"email": typed})

    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert response.context["form"].has_error("email")
    assert User.objects.count() == 1
