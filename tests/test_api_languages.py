"""Every refusal of the API comes in the request's language: English and zh-hans, each
endpoint's own refusals (the codes are the same in both)."""

import re

import pytest

from tests.api_client import ApiClient, error_codes
from tests.factories import PASSWORD

CJK = re.compile(r"[\u4e00-\u9fff]")
PASSWORDS = {"password1": "short", "password2": "other"}


def signed_in(client, user):
    client.post("/session", {"username": user.username, "password": PASSWORD})
    return client


REFUSALS = [
    (
        "signup",
        lambda c, u: c.post("/signup", {"username": u.username, "email": "x@example.com", **PASSWORDS}),
    ),
    ("activation", lambda c, u: c.post("/activation", {"token": "nope", "password": "x"})),
    ("activation/resend", lambda c, u: c.post("/activation/resend", {"email": "not an address"})),
    ("session", lambda c, u: c.post("/session", {"username": u.username, "password": "wrong"})),
    ("session (signed out)", lambda c, u: c.get("/session")),
    ("sign-in-code", lambda c, u: c.post("/sign-in-code", {"email": "not an address"})),
    ("sign-in-code/confirm", lambda c, u: c.post("/sign-in-code/confirm", {"email": u.email, "code": "12"})),
    ("password-reset", lambda c, u: c.post("/password-reset", {})),
    (
        "password-reset/confirm",
        lambda c, u: c.post("/password-reset/confirm", {"email": u.email, "code": "123456", **PASSWORDS}),
    ),
    ("account", lambda c, u: c.get("/account")),
    (
        "account/email",
        lambda c, u: signed_in(c, u).post("/account/email", {"new_email": u.email, "current_password": "x"}),
    ),
    (
        "account/email/confirm",
        lambda c, u: signed_in(c, u).post("/account/email/confirm", {"code": "123456"}),
    ),
    ("account/email/undo", lambda c, u: c.post("/account/email/undo", {"token": "nope", **PASSWORDS})),
    (
        "account/password",
        lambda c, u: signed_in(c, u).post("/account/password", {"current_password": "x", **PASSWORDS}),
    ),
    ("csrf", lambda c, u: ApiClient(language=c.language, enforce_csrf_checks=True).post("/password-reset")),
]


@pytest.mark.parametrize("name, refuse", REFUSALS, ids=[name for name, _ in REFUSALS])
def test_every_refusal_is_in_the_requests_language(name, refuse, user):
    english = refuse(ApiClient(app=True), user)
    chinese = refuse(ApiClient(app=True, language="zh-hans"), user)

    assert 400 <= english.status_code < 500
    assert english.status_code == chinese.status_code
    assert error_codes(english) == error_codes(chinese)
    for error in chinese.json()["errors"]:
        assert CJK.search(error["message"]), error
    for error in english.json()["errors"]:
        assert not CJK.search(error["message"]), error
