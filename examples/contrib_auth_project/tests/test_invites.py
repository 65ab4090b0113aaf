"""The engine as another project uses it: Django's own User, a purpose and a mail kind of this
project's, delivered by a real `manage.py qcluster` to a real SMTP server."""

import re
import time

import pytest
from django.contrib.auth.models import User

from tests.conftest import qcluster
from verification import tokens
from verification.models import OneTimeSecret, OutboundEmail
from verification.outbox import queue_email

ADDRESS = "ada@example.org"


def wait_until_sent(email, timeout=30):
    deadline = time.monotonic() + timeout
    while (status := OutboundEmail.objects.get(pk=email.pk).status) != OutboundEmail.Status.SENT:
        assert time.monotonic() < deadline, f"still {status}"
        time.sleep(0.1)


def ask_for_an_invitation(user):
    """What a view of this project would do: a code asked for, its mail queued."""
    challenge = tokens.open_code_challenge(address=user.email, purpose="invite", user=user)
    return queue_email(user=user, kind="invite_code", secret=challenge)


def guess(user, code):
    challenge = tokens.last_code_challenge(address=user.email, purpose="invite")
    tokens.guess_code(challenge=challenge, user=user, code=code)


@pytest.fixture
def delivered_code(transactional_db, smtp_sink, tmp_path):
    """The code of one invitation, read from the mail the worker sent."""
    user = User.objects.create_user("ada", ADDRESS, "a long enough password")
    email = ask_for_an_invitation(user)
    with qcluster(smtp_port=smtp_sink.port, log_path=tmp_path / "qcluster.log"):
        [message] = smtp_sink.wait_for(1)
        wait_until_sent(email)
    assert message["To"] == ADDRESS and message["Subject"] == "Your invitation code"
    code = re.search(r"invitation code is (\d+)\.", message.get_content()).group(1)
    return user, code


def test_the_worker_mails_a_code_that_passes_once_and_counts_every_guess(delivered_code):
    user, code = delivered_code
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    with pytest.raises(tokens.InvalidCode) as refused:
        guess(user, wrong)
    assert refused.value.reason == "wrong"
    assert refused.value.attempts_left == 4
    guess(user, code)  # a wrong guess counted, and the right one still passes
    with pytest.raises(tokens.InvalidCode):
        guess(user, code)  # used

    secret = OneTimeSecret.objects.get()
    assert secret.attempts == 3 and secret.used_at is not None and code not in secret.digest


def test_the_admin_lists_the_mail_and_the_code_but_never_the_code_itself(delivered_code, client):
    _, code = delivered_code
    User.objects.create_superuser("staff", "staff@example.org", "another long password")
    client.login(username="staff", password="another long password")

    for model in ("outboundemail", "onetimesecret"):
        page = client.get(f"/admin/verification/{model}/")
        assert page.status_code == 200
        assert page.context["cl"].result_count == 1  # the invitation's mail, its code
        assert code not in page.text
