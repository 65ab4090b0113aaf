"""Sending through an ESP with django-anymail (its test backend here), and its tracking webhook
(Mailgun's, signed): bounces and complaints feed the bounce and suppression states (issue 22)."""

import hashlib
import hmac
import json
import time

import pytest
import requests
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused

from tests.factories import UserFactory
from tests.test_outbox import record
from verification import delivery, suppression
from verification.models import OutboundEmail, Suppression

pytestmark = pytest.mark.django_db

Status = OutboundEmail.Status
KEY = "mailgun-webhook-signing-key"
WEBHOOK = "/anymail/mailgun/tracking/"


@pytest.fixture
def esp(settings, mailoutbox):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": KEY}
    settings.ROOT_URLCONF = "tests.esp_urls"
    return mailoutbox


def sent_through_the_esp(esp, address="lin@bounce.example"):
    email = record(UserFactory(email=address))
    delivery.deliver_due_mail()
    [message] = esp
    email.refresh_from_db()
    assert email.status == Status.SENT and message.metadata == {"message_id": email.message_id}
    return email


def mailgun_event(message_id, *, event="failed", severity="permanent", key=KEY):
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": {
                "event": event,
                "severity": severity,
                "timestamp": time.time(),
                "recipient": "lin@bounce.example",
                "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"},
                "user-variables": {"message_id": message_id},
            },
        }
    )


def test_a_signed_permanent_failure_bounces_the_mail_and_suppresses_the_address(client, esp):
    email = sent_through_the_esp(esp)

    response = client.post(WEBHOOK, mailgun_event(email.message_id), content_type="application/json")

    assert response.status_code == 200
    email.refresh_from_db()
    assert email.status == Status.BOUNCED and "does not exist" in email.last_error
    assert suppression.is_suppressed("lin@bounce.example")


def test_a_temporary_failure_bounces_the_mail_but_suppresses_nothing(client, esp):
    email = sent_through_the_esp(esp)

    client.post(
        WEBHOOK, mailgun_event(email.message_id, severity="temporary"), content_type="application/json"
    )

    assert OutboundEmail.objects.get().status == Status.BOUNCED
    assert not suppression.is_suppressed("lin@bounce.example")


def test_a_complaint_suppresses_the_address_for_staff_to_see(client, esp):
    email = sent_through_the_esp(esp)

    client.post(WEBHOOK, mailgun_event(email.message_id, event="complained"), content_type="application/json")

    assert Suppression.objects.get().source == Suppression.Source.COMPLAINT
    assert OutboundEmail.objects.get().status == Status.SENT


def test_an_unsigned_or_badly_signed_event_changes_nothing(client, esp):
    email = sent_through_the_esp(esp)

    response = client.post(
        WEBHOOK, mailgun_event(email.message_id, key="a-guess"), content_type="application/json"
    )

    assert response.status_code == 400
    assert OutboundEmail.objects.get().status == Status.SENT and not Suppression.objects.exists()


def test_an_event_about_no_mail_of_ours_changes_nothing(client, esp):
    sent_through_the_esp(esp)

    client.post(WEBHOOK, mailgun_event("<guessed@verify.example.org>"), content_type="application/json")

    assert OutboundEmail.objects.get().status == Status.SENT and not Suppression.objects.exists()


def test_an_esp_webhook_without_authentication_is_an_error_in_manage_py_check(settings):
    from verification.checks import check_esp_webhook

    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token"}
    assert [m.id for m in check_esp_webhook()] == ["verification.E002"]

    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token", "WEBHOOK_SECRET": "hook:a-long-random-secret"}
    assert check_esp_webhook() == []


def test_a_site_that_sends_by_smtp_has_no_esp_webhook(client, db):
    assert client.post("/anymail/mailgun/tracking/", "{}", content_type="application/json").status_code == 404


class RefusingEsp:
    """An ESP's API that refuses the recipients (what anymail raises for a Mailgun 400, say)."""

    error = None

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        raise self.error


class RefusesRecipients(RefusingEsp):
    error = AnymailRecipientsRefused("ESP refused all recipients")


def esp_answer(status, reason):
    answer = requests.Response()
    answer.status_code, answer.reason, answer._content = status, reason, b"{}"
    return answer


class Overloaded(RefusingEsp):
    error = AnymailAPIError("ESP API response 429", status_code=429, response=esp_answer(429, "Too Many"))


@pytest.mark.parametrize(
    "backend, status", [("RefusesRecipients", Status.FAILED), ("Overloaded", Status.RETRYING)]
)
def test_a_permanent_api_rejection_fails_the_mail_and_a_passing_one_is_retried(
    settings, caplog, backend, status
):
    settings.EMAIL_BACKEND = f"tests.test_esp_events.{backend}"
    email = record(UserFactory())

    delivery.deliver_due_mail()

    email.refresh_from_db()
    assert (email.status, email.attempts) == (status, 1)
    assert str(globals()[backend].error) in caplog.text  # the worker log says what went wrong
