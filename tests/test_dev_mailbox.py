"""The development mailbox: mail kept as files outside the database, listed for staff, and
absent when DEBUG is off."""

import io

import pytest
from django.core import mail
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from site_config import dev_mailbox
from tests.factories import UserFactory


def test_the_backend_prints_each_mail_and_keeps_a_copy_outside_the_database(settings, tmp_path, capsys):
    settings.DEV_MAILBOX_DIR = tmp_path / "mailbox"
    message = mail.EmailMultiAlternatives("Your code", "Your code is 123456.", to=["ada@example.com"])
    message.attach_alternative("<p>Your code is <b>123456</b>.</p>", "text/html")

    sent = dev_mailbox.DevMailboxBackend().send_messages([message])

    assert sent == 1
    assert "Your code is 123456." in capsys.readouterr().out
    [kept] = (tmp_path / "mailbox").glob("*.eml")
    assert b"Subject: Your code" in kept.read_bytes()


def test_staff_read_the_newest_mail_first_with_text_and_html(settings, tmp_path, db):
    settings.DEV_MAILBOX_DIR = tmp_path
    backend = dev_mailbox.DevMailboxBackend(stream=io.StringIO())
    for subject in ("first", "second"):
        message = mail.EmailMultiAlternatives(subject, f"{subject} body", to=["ada@example.com"])
        message.attach_alternative(f"<p>{subject} html</p>", "text/html")
        backend.send_messages([message])
    request = RequestFactory().get("/dev/mailbox/")
    request.user = UserFactory(is_staff=True)

    html = dev_mailbox.mailbox(request).content.decode()

    assert html.index("second") < html.index("first")
    assert "first body" in html and "&lt;p&gt;first html&lt;/p&gt;" in html  # in the iframe's srcdoc


def test_a_browser_on_this_machine_reads_it_without_signing_in(db, tmp_path, settings):
    settings.DEV_MAILBOX_DIR, settings.DEBUG = tmp_path, True
    request = RequestFactory().get("/dev/mailbox/", REMOTE_ADDR="127.0.0.1")
    request.user = UserFactory(is_staff=False)  # a test user signed in meanwhile, or nobody

    assert dev_mailbox.mailbox(request).status_code == 200
    forwarded = {"REMOTE_ADDR": "::1", "HTTP_X_FORWARDED_FOR": "192.0.2.7"}  # a tunnel here
    for elsewhere in ({"REMOTE_ADDR": "192.0.2.7"}, forwarded):
        request = RequestFactory().get("/dev/mailbox/", **elsewhere)
        request.user = UserFactory(is_staff=False)
        assert dev_mailbox.mailbox(request).status_code == 302


def test_others_are_sent_to_sign_in(db, tmp_path, settings):
    settings.DEV_MAILBOX_DIR = tmp_path
    request = RequestFactory().get("/dev/mailbox/")
    request.user = UserFactory(is_staff=False)

    assert dev_mailbox.mailbox(request).status_code == 302


def test_with_debug_off_there_is_no_mailbox_page(client):
    with pytest.raises(NoReverseMatch):
        reverse("dev_mailbox")
    assert client.get("/dev/mailbox/").status_code == 404
