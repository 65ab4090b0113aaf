"""SECURITY.md line 6: after delivery, no code, token or nonce rests in any table."""

import base64
import logging

import pytest

from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import reverse
from django_q.models import OrmQ, Task
from django_q.signing import SignedPackage
from itsdangerous import URLSafeTimedSerializer

from tests.factories import UserFactory
from tests.helpers import activation_path, ask_for_code
from tests.test_activation import sign_up


def every_stored_value():
    """Each value of each row of each table, as text, plus what Django-Q2 and sessions pack."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                yield from (_as_text(value) for value in row)
    for task in Task.objects.all():
        yield repr((task.args, task.kwargs, task.result))
    for queued in OrmQ.objects.all():
        yield repr(SignedPackage.loads(queued.payload))
    for session in Session.objects.all():
        yield repr(session.get_decoded())


def _as_text(value):
    if isinstance(value, (bytes, memoryview)):
        value = bytes(value)
        return value.decode("latin-1") + base64.b64encode(value).decode()
    return str(value)


def test_no_code_token_or_nonce_rests_in_the_database_or_the_logs(
    client, db, deliver, mailoutbox, caplog
):
    caplog.set_level(logging.DEBUG)
    path = sign_up(client, deliver, mailoutbox)
    token = path.split("/")[-2]
    _, nonce = URLSafeTimedSerializer("unused").loads_unsafe(token)[1]
    client.get(path)
    client.post(path)
    client.post(path)  # a replay
    user = UserFactory()
    wrong_then_right = []
    code = ask_for_code(client, deliver, user.email, mailoutbox)
    wrong_then_right.append(client.post(reverse("accounts:password_reset_confirm"), {
        "email": user.email, "code": f"{(int(code) + 1) % 10**6:06d}",
        "password1": "a-brand-new-passphrase-42", "password2": "a-brand-new-passphrase-42",
    }))
    wrong_then_right.append(deliver(client.post, reverse("accounts:password_reset_confirm"), {
        "email": user.email, "code": code,
        "password1": "a-brand-new-passphrase-42", "password2": "a-brand-new-passphrase-42",
    }))
    assert [r.status_code for r in wrong_then_right] == [200, 302]
    assert Task.objects.count() == len(mailoutbox) == 3  # activation, code, notice: rows left

    dump = "\n".join(every_stored_value()) + caplog.text
    assert "/accounts/activate/[redacted]/" in caplog.text  # the replay was logged, redacted

    for secret in (code, token, nonce):
        assert secret not in dump


def test_no_code_rests_anywhere_after_a_failed_then_retried_delivery(
    client, user, deliver, mailoutbox, settings, monkeypatch, caplog
):
    from verification import mail, services
    from verification.models import OutboundEmail

    caplog.set_level(logging.DEBUG)
    issued = []
    real_issue_code = services.issue_code
    monkeypatch.setattr(services, "issue_code", lambda **kw: issued.append(real_issue_code(**kw)) or issued[-1])
    locmem = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens: the job fails

    with pytest.raises(ConnectionRefusedError):  # inline jobs raise; the cluster records it
        deliver(client.post, reverse("accounts:password_reset"), {"email": user.email})
    settings.EMAIL_BACKEND = locmem
    mail.deliver_email(OutboundEmail.objects.get().pk)  # what Django-Q2's retry does

    assert "ConnectionRefusedError" in OutboundEmail.objects.get().last_error
    assert len(issued) == 2 and len(mailoutbox) == 1 and issued[1] in mailoutbox[0].body
    dump = "\n".join(every_stored_value()) + caplog.text
    for code in issued:
        assert code not in dump
