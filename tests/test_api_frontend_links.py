"""Mailed links for a separate front end (SECURITY.md 25): built from
VERIFICATION_FRONTEND_URLS, never from the request; left empty, this site's pages."""

import os

import pytest

from harness.processes import manage
from tests.api_client import ApiClient
from tests.factories import PASSWORD
from tests.helpers import mailed_code

FRONT_END = {
    "activate": "https://app.example.com/activate/{token}",
    "reset": "https://app.example.com/reset",
    "sign_in_code": "https://app.example.com/code#email={email}&code={code}",
    "undo": "https://app.example.com/undo#{token}",
    "sign_in": "https://app.example.com/sign-in",
}


@pytest.fixture
def front_end(settings):
    settings.VERIFICATION_FRONTEND_URLS = FRONT_END


def test_mail_points_at_the_front_end_when_it_has_pages(front_end, db, deliver, mailoutbox, user):
    body = {"username": "ada", "email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD}
    deliver(ApiClient().post, "/signup", body)
    deliver(ApiClient().post, "/sign-in-code", {"email": user.email})
    deliver(ApiClient().post, "/password-reset", {"email": user.email})

    activation, sign_in_code, reset = (m.body for m in mailoutbox)
    assert "https://app.example.com/activate/" in activation and "/accounts/activate/" not in activation
    assert f"https://app.example.com/code#email={user.email.replace('@', '%40')}&code=" in sign_in_code
    assert "https://app.example.com/reset" in reset
    assert "/accounts/" not in reset + sign_in_code + activation  # no link to this site's pages


def test_the_undo_link_goes_to_the_front_end_too(front_end, user, deliver, mailoutbox):
    app = ApiClient(app=True)
    app.post("/session", {"username": user.username, "password": PASSWORD})
    deliver(app.post, "/account/email", {"new_email": "moved@example.org", "current_password": PASSWORD})
    deliver(app.post, "/account/email/confirm", {"code": mailed_code(mailoutbox[-1])})

    notice = next(m for m in mailoutbox if m.to == [user.email])
    assert "https://app.example.com/undo#" in notice.body


def test_without_front_end_urls_mail_points_at_this_sites_pages(db, deliver, mailoutbox):
    body = {"username": "ada", "email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD}
    deliver(ApiClient().post, "/signup", body)

    assert "http://testserver/accounts/activate/" in mailoutbox[0].body


@pytest.mark.parametrize(
    "value", ['{"activation": "https://x/{token}"}', '{"activate": "https://x/{nonce}"}']
)
def test_a_mistyped_front_end_url_stops_the_site_at_start(value):
    env = {**os.environ, "VERIFICATION_FRONTEND_URLS": value, "DEBUG": "true", "DJANGO_ENV_FILE": ""}

    checked = manage("check", env=env, check=False)

    assert checked.returncode != 0 and "VERIFICATION_FRONTEND_URLS" in checked.stderr
