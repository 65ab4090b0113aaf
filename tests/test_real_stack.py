"""The whole product as a person meets it: gunicorn, a real `qcluster` worker and a real SMTP
server, sharing one database (a SQLite file, or PostgreSQL in bin/test's second pass)."""

from urllib.parse import parse_qs, urlsplit

import pytest

from harness.http_browser import HttpBrowser
from harness.processes import Stack, scratch_database
from harness.smtp_sink import SmtpSink, text_body
from tests.helpers import code_in, link_in

pytestmark = pytest.mark.slow

PASSWORD = "a-long-and-unusual-passphrase"
NEW_PASSWORD = "another-long-passphrase-99"


@pytest.fixture
def site(tmp_path):
    """A running site; yields (base_url, sink, stack)."""
    with SmtpSink() as sink, scratch_database(tmp_path) as database_url:
        # This person asks for a code right after signing up: no per-address cooldown.
        stack = Stack(
            database_url=database_url, smtp_port=sink.port, tmp_path=tmp_path, VERIFICATION_MAIL_COOLDOWN="0"
        )
        with stack.qcluster(), stack.web():
            yield stack.base_url, sink, stack


def test_sign_up_activate_sign_in_and_reset_by_code_over_real_mail(site):
    base_url, sink, stack = site
    browser = HttpBrowser(base_url)

    signed_up = browser.submit(
        "/accounts/signup/",
        {
            "username": "ada",
            "email": "ada@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert signed_up.url.endswith("/accounts/signup/done/")

    [activation_mail] = sink.wait_for(1)
    assert activation_mail["To"] == "ada@example.com"
    assert activation_mail.get_body(preferencelist=("html",)) is not None
    link = link_in(text_body(activation_mail), "/accounts/activate/")

    refused = browser.submit("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert "not opened the activation link" in refused.html
    assert "Activate my account" in browser.open(link).html
    activated = browser.submit(link, {"password": PASSWORD})
    assert "Welcome, ada" in activated.html  # activated and signed in
    browser.open("/accounts/logout/", {"csrfmiddlewaretoken": activated.csrf_token()})

    signed_in = browser.submit("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert "Welcome, ada" in signed_in.html
    home = browser.open("/")
    browser.open("/accounts/logout/", {"csrfmiddlewaretoken": home.csrf_token()})

    asked = browser.submit("/accounts/password-reset/", {"email": "ADA@example.com"})
    assert asked.url.endswith("/accounts/password-reset/code/")
    code_mail = sink.wait_for(2)[1]
    code = code_in(text_body(code_mail))
    reset = browser.submit(
        "/accounts/password-reset/code/",
        {
            "email": "ada@example.com",
            "code": code,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert reset.url.endswith("/accounts/login/")
    assert "password was changed" in sink.wait_for(3)[2]["Subject"]

    again = browser.submit("/accounts/login/", {"username": "ada", "password": NEW_PASSWORD})
    assert "Welcome, ada" in again.html
    assert "database is locked" not in stack.log()


def test_change_the_address_by_code_and_undo_it_from_the_old_one_over_real_mail(site):
    base_url, sink, stack = site
    stack.python(
        "from django.utils import timezone; from accounts.models import User;"
        f"User.objects.create_user('ada', 'ada@example.com', {PASSWORD!r}, email_verified_at=timezone.now())"
    )
    browser = HttpBrowser(base_url)
    browser.submit("/accounts/login/", {"username": "ada", "password": PASSWORD})

    asked = browser.submit(
        "/accounts/email/", {"new_email": "ada@new.example.org", "current_password": PASSWORD}
    )
    assert asked.url.endswith("/accounts/email/code/")
    [code_mail] = sink.wait_for(1)
    assert code_mail["To"] == "ada@new.example.org"
    code = code_in(text_body(code_mail))
    changed = browser.submit("/accounts/email/code/", {"code": code})
    assert "ada@new.example.org" in changed.html

    mails = sink.wait_for(3)
    notice = next(m for m in mails if m["To"] == "ada@example.com")
    assert "a***@new.example.org" in text_body(notice)
    undo = link_in(text_body(notice), "/accounts/email/undo/")
    owner = HttpBrowser(base_url)
    assert "Put my address back" in owner.open(undo).html
    # The token rides in the fragment (never sent); the page's script would post it.
    token = parse_qs(urlsplit(undo).fragment)["token"][0]
    undone = owner.submit(undo, {"token": token, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert undone.url.endswith("/accounts/")
    assert "You are not signed in" in browser.open("/").html  # the changer's session is over
    again = HttpBrowser(base_url).submit("/accounts/login/", {"username": "ada", "password": NEW_PASSWORD})
    assert "Welcome, ada" in again.html
    assert "database is locked" not in stack.log()
