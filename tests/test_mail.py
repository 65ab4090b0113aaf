import pytest
from django.urls import reverse
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from tests.helpers import ask_for_code
from verification import mail
from verification.models import OutboundEmail

Status = OutboundEmail.Status


def test_a_reset_mail_has_text_and_html_with_the_same_code_and_a_site_url_link(
    client, user, deliver, mailoutbox, settings
):
    settings.SITE_URL = "https://verify.example.org"

    code = ask_for_code(client, deliver, user.email, mailoutbox)

    [message] = mailoutbox
    [(html, _)] = message.alternatives
    assert code in html
    assert "https://verify.example.org/accounts/password-reset/code/" in message.body
    assert code not in message.subject
    assert message.extra_headers["Message-ID"] == OutboundEmail.objects.get().message_id
    assert "\n" not in message.subject


def test_the_request_only_records_the_mail(client, user, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("accounts:password_reset"), {"email": user.email})

    assert mailoutbox == []
    assert len(callbacks) == 1
    assert OutboundEmail.objects.get().status == Status.QUEUED


def test_a_job_gets_only_the_mail_id(client, user, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)  # let the task reach the ORM queue
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {"email": user.email})

    [queued] = OrmQ.objects.all()
    task = SignedPackage.loads(queued.payload)
    assert task["func"] == "verification.tasks.deliver_email"
    assert task["args"] == (OutboundEmail.objects.get().pk,)
    assert task["kwargs"] == {}


def test_delivering_the_same_mail_twice_sends_it_once(user, mailoutbox):
    email = OutboundEmail.objects.create(user=user, kind=OutboundEmail.Kind.PASSWORD_CHANGED)

    mail.deliver_email(email.pk)
    mail.deliver_email(email.pk)

    assert len(mailoutbox) == 1
    email.refresh_from_db()
    assert email.status == Status.SENT and email.attempts == 1 and email.sent_at


def test_a_failed_send_is_recorded_for_a_retry(user, mailoutbox, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    email = OutboundEmail.objects.create(user=user, kind=OutboundEmail.Kind.PASSWORD_CHANGED)

    with pytest.raises(OSError):  # Django-Q2 records the failure and hands the task out again
        mail.deliver_email(email.pk)

    email.refresh_from_db()
    assert email.status == Status.RETRYING
    assert "ConnectionRefusedError" in email.last_error


def test_the_mail_goes_to_the_stored_address_not_a_typed_one(client, user, deliver, mailoutbox):
    deliver(client.post, reverse("accounts:password_reset"), {"email": user.email.upper()})

    assert mailoutbox[0].to == [user.email]
