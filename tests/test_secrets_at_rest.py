"""SECURITY.md line 6: after delivery, no code, token or nonce rests in any table."""

import base64
import logging

from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_q.models import OrmQ, Task
from django_q.signing import SignedPackage
from itsdangerous import URLSafeTimedSerializer

from harness.smtp_sink import text_body
from tests.factories import UserFactory
from tests.helpers import activate, ask_for_code, sign_up, wrong_code


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


def site_logs(caplog):
    """Everything the site logged (the test's own SMTP server logs under "mail.log")."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))


def _as_text(value):
    if isinstance(value, (bytes, memoryview)):
        value = bytes(value)
        return value.decode("latin-1") + base64.b64encode(value).decode()
    return str(value)


def test_no_code_token_or_nonce_rests_in_the_database_or_the_logs(client, db, deliver, mailoutbox, caplog):
    caplog.set_level(logging.DEBUG)
    path = sign_up(client, deliver, mailoutbox)
    token = path.split("/")[-2]
    _, nonce = URLSafeTimedSerializer("unused").loads_unsafe(token)[1]
    client.get(path)
    activate(client, path)
    activate(Client(), path)  # a replay
    user = UserFactory()
    wrong_then_right = []
    code = ask_for_code(client, deliver, user.email, mailoutbox)
    wrong_then_right.append(
        client.post(
            reverse("accounts:password_reset_confirm"),
            {
                "email": user.email,
                "code": wrong_code(code),
                "password1": "a-brand-new-passphrase-42",
                "password2": "a-brand-new-passphrase-42",
            },
        )
    )
    wrong_then_right.append(
        deliver(
            client.post,
            reverse("accounts:password_reset_confirm"),
            {
                "email": user.email,
                "code": code,
                "password1": "a-brand-new-passphrase-42",
                "password2": "a-brand-new-passphrase-42",
            },
        )
    )
    assert [r.status_code for r in wrong_then_right] == [200, 302]
    assert len(mailoutbox) == 3  # activation, code, notice

    dump = "\n".join(every_stored_value()) + site_logs(caplog)
    assert "/accounts/activate/[redacted]/" in site_logs(caplog)  # the replay was logged, redacted

    for secret in (code, token, nonce):
        assert secret not in dump


def test_no_code_rests_anywhere_after_a_refused_then_retried_delivery(
    client, user, deliver, smtp_sink, monkeypatch, caplog, time_machine, settings
):
    from verification import delivery, tokens
    from verification.models import OutboundEmail

    # Long codes: a six-digit one turned up by chance among the stored timestamps' digits
    # (CI, once), which is no leak; twelve digits do not.
    settings.VERIFICATION_CODE_LENGTH = 12
    caplog.set_level(logging.DEBUG)
    issued = []  # every code made, including the one whose mail the server refused
    real_write_code = tokens.write_code
    monkeypatch.setattr(tokens, "write_code", lambda **kw: issued.append(real_write_code(**kw)) or issued[-1])
    smtp_sink.refuse_next(1, "451 4.3.0 Try again later")

    deliver(client.post, reverse("accounts:password_reset"), {"email": user.email})
    time_machine.advance(minutes=1)
    delivery.deliver_due_mail()  # the retry the outbox planned

    [message] = smtp_sink.wait_for(1)
    assert len(issued) == 2 and issued[1] in text_body(message)
    assert "451" in OutboundEmail.objects.get().last_error
    dump = "\n".join(every_stored_value()) + site_logs(caplog)
    for code in issued:
        assert code not in dump
