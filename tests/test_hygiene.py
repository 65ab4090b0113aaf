"""What a stranger could read or plant around the flows: tokens in logs, typed addresses in
session rows, chosen names in mail to unproven addresses, pages framed or scripted."""

import io
import logging

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.tasks import sweep_accounts
from tests.helpers import activation_path, sign_up


@pytest.fixture
def console_log():
    """What the site's console log handler writes, while the test runs."""
    [console] = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    written = io.StringIO()
    previous = console.setStream(written)
    yield written
    console.setStream(previous)


def test_a_refused_activation_link_is_redacted_from_every_logger(
    client, db, deliver, mailoutbox, console_log
):
    path = sign_up(client, deliver, mailoutbox)
    token = path.rstrip("/").rsplit("/", 1)[1]

    response = Client(enforce_csrf_checks=True).post(path)  # no CSRF cookie: django.security.csrf logs

    assert response.status_code == 403
    assert "Forbidden (CSRF cookie not set.): /accounts/activate/[redacted]/" in console_log.getvalue()
    assert token not in console_log.getvalue()


def test_asking_for_a_code_writes_no_session_and_keeps_no_typed_address(db, deliver):
    typed = "someone@example.com"

    response = deliver(Client().post, reverse("accounts:password_reset"), {"email": typed})

    assert response.status_code == 302
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()


def test_the_sweep_deletes_expired_sessions(client, user):
    client.force_login(user)
    Session.objects.update(expire_date="2000-01-01T00:00:00Z")

    sweep_accounts()

    assert not Session.objects.exists()


def test_mail_to_an_unproven_address_greets_no_one_by_a_chosen_name(client, db, deliver, mailoutbox):
    phishing_name = "Prize_claim_at_prize.evil.example"
    deliver(
        client.post,
        reverse("accounts:signup"),
        {
            "username": phishing_name,
            "email": "victim@example.com",
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
    )

    [message] = mailoutbox
    assert activation_path(message)
    assert phishing_name not in message.body
    assert phishing_name not in message.alternatives[0][0]
    assert message.body.startswith("Hello,")


def test_mail_to_a_proven_address_greets_its_owner(client, user, deliver, mailoutbox):
    deliver(client.post, reverse("accounts:password_reset"), {"email": user.email})

    assert mailoutbox[0].body.startswith(f"Hello {user.username},")


@pytest.mark.parametrize(
    "url", ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password-reset/code/"]
)
def test_pages_allow_only_this_sites_files_and_no_framing(client, db, url):
    policy = client.get(url)["Content-Security-Policy"]

    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


def test_pages_carry_no_inline_script_or_style(client, db):
    for url in ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password-reset/"]:
        html = client.get(url).content.decode()
        assert "style=" not in html and "<script>" not in html, url
